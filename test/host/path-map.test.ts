/**
 * Host test: a trace recorded elsewhere. The H100 BERT trace's `moca/…` sources sit under `proj/`
 * in the workspace, so their GPU time reaches no workspace file: the load names the path map that
 * fixes it, the one-click command adds it to the folder's settings, and the server re-attributes
 * the shown trace by itself — CodeLens then carry the figures of the test's own trace walk.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { OpenTraceResult } from '../../src/shared/protocol';
import { fixture } from '../unit/fixtures';
import { lensTitles, poll, withSetting, workspaceFolder } from './helpers';
import { readEvents, showsDuration, walkTrace, writeRecordedFiles } from './trace-walk';

const TRACE = fixture('torch', 'h100-bert-small-stack.json.gz');
const MOCA = ['moca/library/profiling/profile.py'];
const LENS = /GPU (.+?) self · (.+?) total/;

describe('a trace recorded elsewhere', function () {
  this.timeout(120_000);
  const settingsFile = path.join(workspaceFolder().uri.fsPath, '.vscode', 'settings.json');
  let settingsBefore: string;
  let root: string;
  const restore: (() => Promise<void>)[] = [];

  before(async () => {
    settingsBefore = fs.readFileSync(settingsFile, 'utf8');
    // Not under .gpu-lens/ like other scratch folders: the workspace index skips hidden folders,
    // and the suggestion is found by matching the workspace's files. scratch/ is git-ignored.
    root = path.join(
      workspaceFolder().uri.fsPath,
      'scratch',
      `path-map-${process.pid}-${Date.now()}`,
    );
    fs.mkdirSync(root, { recursive: true });
    writeRecordedFiles(readEvents(TRACE), MOCA, root);
    fs.renameSync(path.join(root, 'moca'), path.join(root, 'proj'));
    // The other recorded sources are nowhere in the workspace: only moca/ can be mapped.
    restore.push(await withSetting('pathMap', []));
  });

  after(async () => {
    await vscode.workspace
      .getConfiguration('gpuLens', workspaceFolder().uri)
      .update('pathMap', undefined, vscode.ConfigurationTarget.WorkspaceFolder);
    // The folder's committed settings are left byte for byte as they were.
    fs.writeFileSync(settingsFile, settingsBefore);
    for (const r of restore.reverse()) await r();
    fs.rmSync(path.dirname(root), { recursive: true, force: true });
  });

  it('suggests the path map, adds it in one click and re-attributes the shown trace', async () => {
    const result = await vscode.commands.executeCommand<OpenTraceResult | undefined>(
      'gpuLens.openTrace',
      vscode.Uri.file(TRACE),
    );
    assert.ok(result, 'the trace loads');
    const entry = `moca=${root}/proj`;
    assert.equal(result.pathMapSuggestion, entry);
    assert.ok(
      result.warnings.some((w) => w.includes('moca/library')),
      result.warnings.join(' | '),
    );

    const file = vscode.Uri.file(path.join(root, 'proj/library/profiling/profile.py'));
    await vscode.workspace.openTextDocument(file);
    assert.equal((await lensTitles(file)).size, 0, 'nothing on the moved file before the map');
    assert.equal(
      await vscode.commands.executeCommand('gpuLens.addPathMap', entry, workspaceFolder().uri),
      true,
    );
    assert.deepEqual(
      vscode.workspace.getConfiguration('gpuLens', workspaceFolder().uri).inspect('pathMap')
        ?.workspaceFolderValue ??
        vscode.workspace.getConfiguration('gpuLens').inspect('pathMap')?.workspaceValue,
      [entry],
    );
    const walk = walkTrace(readEvents(TRACE), (f) => MOCA.includes(f));
    const want = [...walk.lines.values()].filter((l) => l.totalNs > 0);
    assert.ok(want.length > 0);
    const lenses = await poll('CodeLenses after re-attribution', async () => {
      const m = await lensTitles(file);
      return m.size === want.length ? m : false;
    });
    for (const l of want) {
      const m = LENS.exec(lenses.get(l.line) ?? '');
      assert.ok(m, `line ${l.line}: ${lenses.get(l.line)}`);
      assert.ok(
        showsDuration(m[1], l.selfNs) && showsDuration(m[2], l.totalNs),
        `line ${l.line}: ${m[0]}`,
      );
    }
  });
});
