/**
 * A trace recorded elsewhere: the H100 BERT trace's `moca/…` files live under `proj/` in this
 * workspace, so their GPU time is unattributed. The Report names the recorded folders, suggests
 * the path map that fixes it, and, with the suggestion applied, the lines carry the figures an
 * independent walk of the raw events gives.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { loadTrace } from '../../src/core/load';
import type { Profile } from '../../src/core/model';
import { buildReport } from '../../src/core/report';
import { parsePathMap } from '../../src/core/workspace-paths';
import { readEvents, walkTrace, writeRecordedFiles } from '../host/trace-walk';
import { fixture } from './fixtures';

const TRACE = fixture('torch', 'h100-bert-small-stack.json.gz');
const MOCA = [
  'moca/library/model_hub/huggingface/model/adapters/text_base_model.py',
  'moca/library/profiling/profile.py',
];

let ws: string;
let profile: Profile;

before(async () => {
  ws = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-lens-hints-'));
  writeRecordedFiles(readEvents(TRACE), MOCA, ws);
  fs.renameSync(path.join(ws, 'moca'), path.join(ws, 'proj'));
  profile = await loadTrace(TRACE);
});
after(() => fs.rmSync(ws, { recursive: true, force: true }));

void test('unresolved folders are named and the path map that resolves them is suggested', () => {
  const report = buildReport(profile, { workspaceRoot: ws });
  // GPU time that reached no workspace frame: unattributed, or placed on library lines.
  const noWorkspaceNs =
    report.unattributedNs + report.lines.filter((l) => l.library).reduce((n, l) => n + l.selfNs, 0);
  assert.ok(noWorkspaceNs > 0);
  const hints = report.pathHints;
  assert.ok(hints, 'hints when GPU time is unattributed');
  const prefixes = hints.unresolved.map((u) => u.prefix);
  assert.ok(
    prefixes.some((p) => p.startsWith('moca/library')),
    prefixes.join(', '),
  );
  for (const u of hints.unresolved) assert.ok(u.gpuNs > 0 && u.gpuNs <= noWorkspaceNs);
  assert.equal(hints.suggestedPathMap[0]?.entry, `moca=${ws}/proj`);
  assert.ok(
    report.warnings.some((w) => w.includes(`"moca=${ws}/proj"`) && w.includes('moca/library')),
    report.warnings.join(' | '),
  );
  // Library modules (relative paths no workspace file matches) are never offered for mapping.
  assert.ok(!prefixes.some((p) => /^(torch|transformers)\//.test(p)), prefixes.join(', '));
});

void test('with the suggested map the lines get the walked figures and the hints go', () => {
  const events = readEvents(TRACE);
  const walk = walkTrace(events, (f) => MOCA.includes(f));
  const want = [...walk.lines.values()].filter((l) => l.totalNs > 0);
  assert.ok(want.length > 0);
  const entry = buildReport(profile, { workspaceRoot: ws }).pathHints!.suggestedPathMap[0].entry;
  const mapped = buildReport(profile, { workspaceRoot: ws, pathMap: parsePathMap([entry]).map });
  for (const l of want) {
    const file = l.file.replace(/^moca\//, 'proj/');
    const got = mapped.lines.find((x) => x.file === file && x.line === l.line);
    assert.ok(got, `${file}:${l.line} attributed`);
    assert.deepEqual([got.selfNs, got.totalNs], [l.selfNs, l.totalNs], `${file}:${l.line}`);
  }
  const stillMoca = (mapped.pathHints?.unresolved ?? []).filter((u) => u.prefix.startsWith('moca'));
  assert.deepEqual(stillMoca, []);
});

void test('a trace whose GPU time all reaches workspace code has no hints', () => {
  const full = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-lens-hints-'));
  try {
    const events = readEvents(TRACE);
    const all = [
      ...new Set(
        events
          .filter((e) => e.cat === 'python_function')
          .map((e) => /^(.+)\(\d+\): /.exec(e.name)?.[1] ?? ''),
      ),
    ].filter((f) => f && !f.startsWith('<') && !path.isAbsolute(f));
    writeRecordedFiles(events, all, full);
    const report = buildReport(profile, { workspaceRoot: full });
    assert.equal(report.unattributedNs, 0, 'every stack has a recorded relative file');
    assert.equal(report.pathHints, null);
  } finally {
    fs.rmSync(full, { recursive: true, force: true });
  }
});
