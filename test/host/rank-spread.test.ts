/**
 * Host test: a real 4-rank folder in the editor. The gloo job of test/scenarios/gloo_straggler.py
 * (rank 2 runs extra matmuls at `# straggler work`; captured per rank with the torch launcher's
 * exact lines, test/fixtures/ranks/gloo-torch) is opened as one trace; the hover of the straggler's
 * line shows the line's spread across ranks (min / median / max and which rank) and the straggler
 * sentence, with every number computed here from the raw per-rank events (../unit/rank-walk.ts).
 *
 * The captures record the script relative to the folder it ran in, so a copy of it goes into the
 * workspace's git-ignored scratch/ folder for the trace's lines to resolve to (by file name).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { formatNs } from '../../src/core/format';
import { ownFixture, repoRoot } from '../unit/fixtures';
import { lateness, lineOpNs, offsetsFrom, rawTorch } from '../unit/rank-walk';
import { hoverText, poll, workspaceFolder } from './helpers';

const FOLDER = ownFixture('ranks', 'gloo-torch');
const SCRIPT = 'gloo_straggler.py';
const RANKS = [0, 1, 2, 3];
const UNITS: Record<string, number> = { ns: 1, µs: 1e3, ms: 1e6, s: 1e9 };

/** "291 ms" → ns. */
function parseNs(text: string): number {
  const m = /^([\d.]+) (ns|µs|ms|s)$/.exec(text.trim());
  assert.ok(m, `a duration: ${text}`);
  return Number(m[1]) * UNITS[m[2]];
}

/** Equal to the three significant digits the hover shows. */
function close(shown: string, want: number): boolean {
  return Math.abs(parseNs(shown) - want) <= 0.006 * Math.abs(want) + 1;
}

describe('rank spread and straggler in the hover (real 4-rank gloo folder)', function () {
  this.timeout(120_000);
  let scratch: string;
  let uri: vscode.Uri;
  const source = fs.readFileSync(path.join(repoRoot, 'test', 'scenarios', SCRIPT), 'utf8');
  const lineOf = (needle: string): number =>
    source.split('\n').findIndex((l) => l.includes(needle)) + 1;
  const line = lineOf('# straggler work');

  before(async () => {
    assert.ok(line > 0 && lineOf('dist.all_reduce(y)') > 0, 'the scenario script has its markers');
    const root = path.join(workspaceFolder().uri.fsPath, 'scratch');
    // A copy left by an interrupted run would make the file name match twice.
    if (fs.existsSync(root))
      for (const d of fs.readdirSync(root))
        if (d.startsWith('rank-spread-')) fs.rmSync(path.join(root, d), { recursive: true });
    scratch = path.join(root, `rank-spread-${process.pid}`);
    fs.mkdirSync(scratch, { recursive: true });
    fs.writeFileSync(path.join(scratch, SCRIPT), source);
    uri = vscode.Uri.file(path.join(scratch, SCRIPT));
    const result = await vscode.commands.executeCommand(
      'gpuLens.openTrace',
      vscode.Uri.file(FOLDER),
    );
    assert.ok(result, 'gpuLens.openTrace should load the rank folder');
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it("shows the line's spread across ranks and the straggler sentence", async () => {
    // Expected, from the raw events: the line's operator time on every rank …
    const perRank = RANKS.map((r) => lineOpNs(path.join(FOLDER, `rank${r}.json.gz`), SCRIPT, line));
    const sorted = RANKS.map((rank) => ({ rank, ns: perRank[rank] })).sort(
      (a, b) => a.ns - b.ns || a.rank - b.rank,
    );
    const min = sorted[0];
    const max = sorted[sorted.length - 1];
    const median = Math.round((sorted[1].ns + sorted[2].ns) / 2);
    assert.ok(max.ns > 0 && max.rank === 2, `rank 2 works on the line: ${String(perRank)}`);
    // … and the collectives: rank 2 is last at every all_reduce once the clocks are aligned.
    const raw = RANKS.map((r) => rawTorch(path.join(FOLDER, `rank${r}.json.gz`)));
    const late = lateness(raw, offsetsFrom(raw), 'allreduce');
    assert.deepEqual(late.late, Array<number>(late.n).fill(2));

    await vscode.workspace.openTextDocument(uri);
    const text = await poll(`a hover with the rank spread on line ${line}`, async () => {
      const hovers = await vscode.commands.executeCommand<vscode.Hover[]>(
        'vscode.executeHoverProvider',
        uri,
        new vscode.Position(line - 1, 12),
      );
      const t = hoverText(hovers ?? []);
      return t.includes('Across 4 ranks') && t.includes('arrives') ? t : false;
    });
    const spread =
      /\| Across 4 ranks \| min (.+?) \(rank (\d+)\) · median (.+?) · max (.+?) \(rank (\d+)\) \|/.exec(
        text,
      );
    assert.ok(spread, text);
    assert.deepEqual(
      [spread[1], Number(spread[2]), spread[3], spread[4], Number(spread[5])],
      [formatNs(min.ns), min.rank, formatNs(median), formatNs(max.ns), max.rank],
    );
    const sentence =
      /rank (\d+) arrives ([\d.]+ [µm]?s) late at allreduce \((.+?):(\d+)\) over (\d+) collectives; (\d+) ranks wait ([\d.]+ [µm]?s)\./.exec(
        text,
      );
    assert.ok(sentence, text);
    assert.equal(Number(sentence[1]), 2);
    assert.ok(close(sentence[2], late.lateNs), `late ${sentence[2]} vs ${late.lateNs} ns`);
    // The collective's own line, in the workspace copy of the script.
    assert.equal(sentence[3].replace(/\\/g, ''), `scratch/rank-spread-${process.pid}/${SCRIPT}`);
    assert.equal(Number(sentence[4]), lineOf('dist.all_reduce(y)'));
    assert.equal(Number(sentence[5]), late.n);
    assert.equal(Number(sentence[6]), RANKS.length - 1);
    assert.ok(close(sentence[7], late.waitNs), `wait ${sentence[7]} vs ${late.waitNs} ns`);
  });
});
