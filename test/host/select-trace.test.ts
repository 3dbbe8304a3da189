/**
 * Host test: with several traces loaded, the latest one is shown for its workspace folder, and
 * *GPU Lens: Switch Trace…* (given the trace's id instead of a quick-pick answer) brings an earlier
 * one back: its CodeLenses return.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { StatusRequest, type StatusResult } from '../../src/shared/protocol';
import { fixture } from '../unit/fixtures';
import { gpuLens, lensTitles, poll, scratchFolder, withSetting } from './helpers';
import { readEvents, walkTrace, writeRecordedFiles } from './trace-walk';

const BERT = fixture('torch', 'h100-bert-small-stack.json.gz');
const NSYS = fixture('nsys', 'rtx5000-attention-nvtx-2026.2.sqlite');
const FILE = 'transformers/models/bert/modeling_bert.py';

describe('switching between loaded traces', function () {
  this.timeout(120_000);
  let root: string;
  let restore: () => Promise<void>;

  before(async () => {
    root = scratchFolder('select-test');
    writeRecordedFiles(readEvents(BERT), [FILE], root);
    restore = await withSetting('pathMap', [`transformers=${root}/transformers`]);
  });

  after(async () => {
    await restore();
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('shows the latest trace, and Switch Trace… shows an earlier one again', async () => {
    const uri = vscode.Uri.file(path.join(root, FILE));
    await vscode.workspace.openTextDocument(uri);
    const lines = [...walkTrace(readEvents(BERT), (f) => f === FILE).lines.values()].filter(
      (l) => l.totalNs > 0,
    );
    assert.ok(lines.length > 0);

    assert.ok(await vscode.commands.executeCommand('gpuLens.openTrace', vscode.Uri.file(BERT)));
    await poll('the BERT lenses', async () => (await lensTitles(uri)).size === lines.length);
    // A second trace of the same folder becomes the one shown: it has no frame in this file.
    assert.ok(await vscode.commands.executeCommand('gpuLens.openTrace', vscode.Uri.file(NSYS)));
    await poll('the lenses to go', async () => (await lensTitles(uri)).size === 0);

    const client = await (await gpuLens()).client();
    const before = await client.sendRequest<StatusResult>(StatusRequest);
    const bert = before.loaded.filter((t) => t.path === BERT).at(-1);
    assert.ok(bert && !bert.active, 'the BERT trace is loaded but not shown');

    assert.equal(await vscode.commands.executeCommand('gpuLens.selectTrace', bert.id), true);
    const after = await client.sendRequest<StatusResult>(StatusRequest);
    assert.ok(after.loaded.find((t) => t.id === bert.id)?.active, 'the BERT trace is shown again');
    await poll('the BERT lenses back', async () => (await lensTitles(uri)).size === lines.length);
  });
});
