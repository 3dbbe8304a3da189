/**
 * Host test: line heat on a real H100 torch.profiler trace (the BERT trace of editor.test.ts, its
 * recorded files recreated and path-mapped). The decorations applied to the editor — read through
 * the extension's own record of them — are on the lines an independent walk of the trace's
 * python_function tree gives GPU self time, at the level of each line's share of its file's self
 * time; they follow an edit, and `gpuLens.lineHeat` off (the Toggle Line Heat command) removes them.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { BERT_FILES, fixture } from '../unit/fixtures';
import { heatLevel } from '../../src/server/line-heat';
import { gpuLens, poll, scratchFolder, withSetting } from './helpers';
import { readEvents, walkTrace, writeRecordedFiles } from './trace-walk';

const TRACE = fixture('torch', 'h100-bert-small-stack.json.gz');
const FILE = BERT_FILES[2];

describe('line heat in the editor', function () {
  this.timeout(120_000);
  let root: string;
  let want: { line: number; level: number }[];
  const restore: (() => Promise<void>)[] = [];
  const marks = async (uri: vscode.Uri) =>
    (await gpuLens()).lineHeat(uri).map((m) => ({ line: m.line, level: m.level }));

  before(async () => {
    const events = readEvents(TRACE);
    root = scratchFolder('line-heat-test');
    writeRecordedFiles(events, BERT_FILES, root);
    const walked = [...walkTrace(events, (f) => BERT_FILES.includes(f)).lines.values()].filter(
      (l) => l.file === FILE && l.selfNs > 0,
    );
    const fileNs = walked.reduce((s, l) => s + l.selfNs, 0);
    want = walked
      .map((l) => ({ line: l.line, level: heatLevel((100 * l.selfNs) / fileNs) }))
      .sort((a, b) => a.line - b.line);
    assert.ok(new Set(want.map((w) => w.level)).size > 1, 'the file has lines of several levels');
    restore.push(
      await withSetting('pathMap', [`moca=${root}/moca`, `transformers=${root}/transformers`]),
      await withSetting('lineHeat', true),
    );
    const result = await vscode.commands.executeCommand(
      'gpuLens.openTrace',
      vscode.Uri.file(TRACE),
    );
    assert.ok(result, 'gpuLens.openTrace should load the trace');
  });

  after(async () => {
    for (const r of restore.reverse()) await r();
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("marks the lines with GPU self time, at their share of the file's", async () => {
    const uri = vscode.Uri.file(path.join(root, FILE));
    await vscode.window.showTextDocument(uri);
    await poll(`${want.length} heat marks on ${FILE}`, async () =>
      JSON.stringify(await marks(uri)) === JSON.stringify(want) ? true : false,
    );
  });

  it('the marks follow an edit and come back on undo', async () => {
    const uri = vscode.Uri.file(path.join(root, FILE));
    const editor = await vscode.window.showTextDocument(uri);
    await editor.edit((e) => e.insert(new vscode.Position(0, 0), '# one\n# two\n'));
    const moved = want.map((w) => ({ line: w.line + 2, level: w.level }));
    await poll('heat marks two lines down', async () =>
      JSON.stringify(await marks(uri)) === JSON.stringify(moved) ? true : false,
    );
    await vscode.commands.executeCommand('undo');
    await poll('heat marks back', async () =>
      JSON.stringify(await marks(uri)) === JSON.stringify(want) ? true : false,
    );
  });

  it('GPU Lens: Toggle Line Heat turns gpuLens.lineHeat off and removes the marks, and back', async () => {
    const uri = vscode.Uri.file(path.join(root, FILE));
    await vscode.window.showTextDocument(uri);
    await vscode.commands.executeCommand('gpuLens.toggleLineHeat');
    assert.equal(vscode.workspace.getConfiguration('gpuLens').get('lineHeat'), false);
    await poll('no heat marks', async () => ((await marks(uri)).length === 0 ? true : false));
    await vscode.commands.executeCommand('gpuLens.toggleLineHeat');
    assert.equal(vscode.workspace.getConfiguration('gpuLens').get('lineHeat'), true);
    await poll('heat marks again', async () =>
      JSON.stringify(await marks(uri)) === JSON.stringify(want) ? true : false,
    );
  });

  it('Toggle Line Heat turns it on where a workspace value had turned it off', async () => {
    const uri = vscode.Uri.file(path.join(root, FILE));
    await vscode.window.showTextDocument(uri);
    const c = () => vscode.workspace.getConfiguration('gpuLens', uri);
    await c().update('lineHeat', false, vscode.ConfigurationTarget.Workspace);
    try {
      await poll('no heat marks', async () => ((await marks(uri)).length === 0 ? true : false));
      const user = c().inspect('lineHeat')?.globalValue;
      await vscode.commands.executeCommand('gpuLens.toggleLineHeat');
      assert.equal(c().inspect('lineHeat')?.workspaceValue, true, 'written where it was set');
      assert.equal(c().inspect('lineHeat')?.globalValue, user, 'the user setting is untouched');
      await poll('heat marks again', async () =>
        JSON.stringify(await marks(uri)) === JSON.stringify(want) ? true : false,
      );
    } finally {
      await c().update('lineHeat', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });
});
