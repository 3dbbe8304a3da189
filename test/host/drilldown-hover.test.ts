/**
 * Host test: the hover's drill-down line on a real H100 torch.profiler trace (the BERT trace of
 * editor.test.ts, its recorded files recreated and path-mapped). For the line with the most GPU
 * time it names the frames recorded right beneath the line, with their share of the line's GPU
 * time, as a walk of the trace's own events gives them (correlation → launch → python_function
 * chain), and links to the line's kernels and call tree in the report.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { escapeMarkdown } from '../../src/core/markdown-text';
import { BERT_FILES, fixture } from '../unit/fixtures';
import { durNs, gpuEvents, launchStackFrames, loadTrace } from '../unit/kineto-helpers';
import { hoverText, poll, scratchFolder, withSetting } from './helpers';
import { readEvents, walkTrace, writeRecordedFiles } from './trace-walk';

const TRACE = fixture('torch', 'h100-bert-small-stack.json.gz');
const FILE = BERT_FILES[2];

describe('drill-down in the hover', function () {
  this.timeout(120_000);
  let root: string;
  const restore: (() => Promise<void>)[] = [];

  before(async () => {
    root = scratchFolder('drilldown-hover-test');
    writeRecordedFiles(readEvents(TRACE), BERT_FILES, root);
    restore.push(
      await withSetting('pathMap', [`moca=${root}/moca`, `transformers=${root}/transformers`]),
    );
    assert.ok(await vscode.commands.executeCommand('gpuLens.openTrace', vscode.Uri.file(TRACE)));
  });

  after(async () => {
    for (const r of restore.reverse()) await r();
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('names the frames beneath the line with their share, and links to its call tree', async () => {
    const { events } = loadTrace(TRACE);
    const [hot] = [...walkTrace(readEvents(TRACE), (f) => BERT_FILES.includes(f)).lines.values()]
      .filter((l) => l.file === FILE)
      .sort((a, b) => b.totalNs - a.totalNs);
    // The walk: per GPU op with the line on its chain, the frame right inside its outermost occurrence.
    const chains = launchStackFrames(events);
    const beneath = new Map<string, { fn: string; at: string; ns: number }>();
    let total = 0;
    for (const e of gpuEvents(events)) {
      const chain = chains.get(e.args?.correlation as number) ?? [];
      let i = chain.length - 1;
      while (i >= 0 && !(chain[i].file === FILE && chain[i].line === hot.line)) i--;
      if (i < 0) continue;
      total += durNs(e);
      if (i === 0) continue;
      const c = chain[i - 1];
      const k = `${c.file}:${c.line}:${c.function}`;
      const b = beneath.get(k) ?? {
        fn: c.function,
        at: `${path.basename(c.file)}:${c.line}`,
        ns: 0,
      };
      b.ns += durNs(e);
      beneath.set(k, b);
    }
    const top = [...beneath.values()].sort((a, b) => b.ns - a.ns).slice(0, 3);
    assert.ok(top.length > 0, 'the walk finds frames beneath the line');

    const uri = vscode.Uri.file(path.join(root, FILE));
    await vscode.workspace.openTextDocument(uri);
    const text = await poll('a GPU Lens hover', async () => {
      const hovers = await vscode.commands.executeCommand<vscode.Hover[]>(
        'vscode.executeHoverProvider',
        uri,
        new vscode.Position(hot.line - 1, 2),
      );
      const t = hoverText(hovers ?? []);
      return t.includes('GPU Lens') ? t : false;
    });
    const line = text.split('\n').find((l) => l.startsWith('Beneath this line: '));
    assert.ok(line, `the hover has a drill-down line: ${text}`);
    const shown = line
      .slice('Beneath this line: '.length)
      .split(' · ')
      .filter((p) => !p.startsWith('['));
    assert.equal(shown.length, top.length);
    for (const [i, b] of top.entries()) {
      const m = /^(.+) \((.+)\) ([\d.]+)%$/.exec(shown[i]);
      assert.ok(m, `"${shown[i]}"`);
      assert.equal(m[1], escapeMarkdown(b.fn));
      assert.equal(m[2], escapeMarkdown(b.at));
      assert.ok(
        Math.abs(Number(m[3]) - (100 * b.ns) / total) < 0.2,
        `${shown[i]} vs ${b.ns}/${total}`,
      );
    }
    const link = /\[Kernels and call tree\]\(command:gpuLens\.showReport\?([^)]+)\)/.exec(line);
    assert.ok(link, 'the line links to the report');
    assert.deepEqual(JSON.parse(decodeURIComponent(link[1])), [
      { file: vscode.workspace.asRelativePath(uri, false), line: hot.line },
    ]);
  });
});
