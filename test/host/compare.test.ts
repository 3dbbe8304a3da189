/**
 * Host test: *GPU Lens: Compare with Baseline…* on a real H100 trace. The baseline is the same trace
 * with every GPU operation half as long (written to a scratch folder); CodeLens and hover must show
 * each line's self-time change, checked against the test's own walks of both traces.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { fixture } from '../unit/fixtures';
import { hoverText, lensTitles, poll, scratchFolder, withSetting } from './helpers';
import { parseDuration, readEvents, walkTrace, writeRecordedFiles } from './trace-walk';

const TRACE = fixture('torch', 'h100-bert-small-stack.json.gz');
const FILE = 'transformers/models/bert/modeling_bert.py';
const GPU_CATS = new Set(['kernel', 'gpu_memcpy', 'gpu_memset']);
const DELTA = /([+−])(\S+ \S+) vs baseline \(([+-]?\d+)%\)/;

describe('comparison with a baseline in the editor', function () {
  this.timeout(120_000);
  let root: string;
  let restore: () => Promise<void>;

  before(async () => {
    const events = readEvents(TRACE);
    root = scratchFolder('compare-test');
    writeRecordedFiles(events, [FILE], root);
    const baseline = events.map((e) =>
      GPU_CATS.has(e.cat ?? '') && e.ph === 'X' ? { ...e, dur: (e.dur ?? 0) / 2 } : e,
    );
    fs.writeFileSync(path.join(root, 'baseline.json'), JSON.stringify({ traceEvents: baseline }));
    restore = await withSetting('pathMap', [`transformers=${root}/transformers`]);
    assert.ok(await vscode.commands.executeCommand('gpuLens.openTrace', vscode.Uri.file(TRACE)));
    const result = await vscode.commands.executeCommand<{ flaggedLines: number }>(
      'gpuLens.compareWithBaseline',
      vscode.Uri.file(path.join(root, 'baseline.json')),
    );
    assert.ok(result && result.flaggedLines > 0, 'doubling every op flags lines');
  });

  after(async () => {
    await vscode.commands.executeCommand('gpuLens.clearBaseline');
    await restore();
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('CodeLens shows each line’s self-time change against the baseline', async () => {
    const events = readEvents(TRACE);
    const now = walkTrace(events, (f) => f === FILE).lines;
    const before = walkTrace(
      events.map((e) =>
        GPU_CATS.has(e.cat ?? '') && e.ph === 'X' ? { ...e, dur: (e.dur ?? 0) / 2 } : e,
      ),
      (f) => f === FILE,
    ).lines;
    const uri = vscode.Uri.file(path.join(root, FILE));
    await vscode.workspace.openTextDocument(uri);
    const selfLines = [...now.values()].filter((l) => l.file === FILE && l.selfNs > 0);
    assert.ok(selfLines.length > 0);
    const lenses = await poll('CodeLenses with baseline deltas', async () => {
      const m = await lensTitles(uri);
      return selfLines.every((l) => DELTA.test(m.get(l.line) ?? '')) ? m : false;
    });
    for (const l of selfLines) {
      const m = DELTA.exec(lenses.get(l.line)!)!;
      const expected = l.selfNs - (before.get(`${l.file}:${l.line}`)?.selfNs ?? 0);
      const shown = (m[1] === '−' ? -1 : 1) * parseDuration(m[2]);
      assert.ok(
        Math.abs(shown - expected) <= Math.max(2, Math.abs(expected) * 0.006),
        `line ${l.line}: shown ${m[1]}${m[2]} vs expected ${expected} ns`,
      );
      assert.equal(Number(m[3]), 100, `line ${l.line}: twice the baseline is +100%`);
      assert.ok(lenses.get(l.line)!.includes('⚠'), 'a +100% change is flagged');
    }
    const hottest = selfLines.sort((a, b) => b.selfNs - a.selfNs)[0];
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>(
      'vscode.executeHoverProvider',
      uri,
      new vscode.Position(hottest.line - 1, 0),
    );
    assert.match(hoverText(hovers), /Self vs baseline/);
  });
});
