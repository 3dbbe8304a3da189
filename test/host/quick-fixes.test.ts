/**
 * Host test: Quick Fixes on GPU Lens diagnostics, on a captured scenario (the DataLoader-bound
 * loop's nsys capture). The loop's fix is refused while its DataLoader call passes **kwargs, then
 * offered once the call is plain; its edit, applied to the text, re-parses with the promised
 * keywords. "Re-profile and compare" runs a real torch capture again with the previous trace as
 * the baseline.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { CaptureOutcome } from '../../src/extension/tasks/capture-service';
import { ReportRequest, type ReportResult } from '../../src/shared/protocol';
import { gpuLens, poll, workspaceFolder } from './helpers';

const repo = path.resolve(__dirname, '..', '..', '..');
const TRACE = path.join(repo, 'test', 'fixtures', 'scenarios', 'dataloader_inline.sqlite');
const SOURCE = path.join(repo, 'test', 'scenarios', 'dataloader_loop.py');

/** The GPU Lens Quick Fixes VS Code offers at a line. */
async function fixesAt(uri: vscode.Uri, line: number): Promise<vscode.CodeAction[]> {
  const actions =
    (await vscode.commands.executeCommand<vscode.CodeAction[]>(
      'vscode.executeCodeActionProvider',
      uri,
      new vscode.Range(line - 1, 0, line - 1, 0),
      vscode.CodeActionKind.QuickFix.value,
    )) ?? [];
  return actions.filter((a) => a.title.startsWith('GPU Lens:'));
}

/** Keywords of the file's DataLoader(...) call, read by Python's ast. */
function loaderKeywords(source: string): Record<string, string> {
  const program =
    'import ast, json, sys\nsrc = sys.stdin.read()\n' +
    'c = [n for n in ast.walk(ast.parse(src)) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "DataLoader"][0]\n' +
    'print(json.dumps({k.arg: ast.get_source_segment(src, k.value) for k in c.keywords if k.arg}))';
  const r = spawnSync('/usr/bin/python3', ['-c', program], { input: source, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, string>;
}

describe('Quick Fixes', function () {
  this.timeout(180_000);
  let root: string;

  before(() => {
    // Not under .gpu-lens/: the range-name search that places the scenario's NVTX ranges skips
    // hidden folders. scratch/ is git-ignored.
    root = path.join(workspaceFolder().uri.fsPath, 'scratch', `quick-fix-${process.pid}`);
    fs.mkdirSync(root, { recursive: true });
    fs.copyFileSync(SOURCE, path.join(root, 'dataloader_loop.py'));
  });
  after(async () => {
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    fs.rmSync(path.dirname(root), { recursive: true, force: true });
  });

  it('refuses the DataLoader fix on a **kwargs call, offers it on a plain one, edit re-parses', async () => {
    const uri = vscode.Uri.file(path.join(root, 'dataloader_loop.py'));
    const loaded = await vscode.commands.executeCommand(
      'gpuLens.openTrace',
      vscode.Uri.file(TRACE),
    );
    assert.ok(loaded, 'the scenario capture loads');
    const text = fs.readFileSync(uri.fsPath, 'utf8');
    const fetchLine =
      text.split('\n').findIndex((l) => l.includes('annotate("enumerate(DataLoader).__next__")')) +
      1;
    const editor = await vscode.window.showTextDocument(uri);
    await poll('the DataLoader diagnostic', () =>
      vscode.languages
        .getDiagnostics(uri)
        .some((d) => d.source === 'GPU Lens' && d.range.start.line + 1 === fetchLine),
    );
    // Refused: the action is disabled, with the reason (shown in the light-bulb menu), and the
    // API command that lists actions leaves disabled ones out. The reason itself is checked in
    // test/unit/quick-fix-edits.test.ts.
    assert.deepEqual(
      (await fixesAt(uri, fetchLine)).map((a) => a.title),
      [],
      'no Quick Fix to apply while the call passes **kwargs',
    );

    // The same loop with a plain DataLoader call (the line count stays, so the mark stays put).
    const callLine = text.split('\n').findIndex((l) => l.includes('DataLoader(SlowDisk()'));
    await editor.edit((e) =>
      e.replace(
        new vscode.Range(callLine, 0, callLine, editor.document.lineAt(callLine).text.length),
        '    loader = DataLoader(SlowDisk(), batch_size=BATCH, num_workers=workers)',
      ),
    );
    const [offered] = await poll('an enabled Quick Fix', async () => {
      const a = await fixesAt(uri, fetchLine);
      return a.length === 1 && !a[0].disabled ? a : false;
    });
    assert.ok(offered.edit, 'the fix is an edit');
    const edits = offered.edit.get(uri);
    assert.ok(edits.length > 0);
    let fixed = editor.document.getText();
    for (const e of [...edits].sort(
      (a, b) => editor.document.offsetAt(b.range.start) - editor.document.offsetAt(a.range.start),
    ))
      fixed =
        fixed.slice(0, editor.document.offsetAt(e.range.start)) +
        e.newText +
        fixed.slice(editor.document.offsetAt(e.range.end));
    assert.deepEqual(loaderKeywords(fixed), {
      batch_size: 'BATCH',
      num_workers: 'workers',
      pin_memory: 'True',
      persistent_workers: 'True',
      prefetch_factor: '2',
    });
    assert.equal(offered.command?.command, 'gpuLens.afterQuickFix');
  });

  it('re-profile and compare runs the capture again against the previous trace', async () => {
    const script = path.join(workspaceFolder().uri.fsPath, 'torch_mlp.py');
    const first = await vscode.commands.executeCommand<CaptureOutcome>(
      'gpuLens.profileTorch',
      vscode.Uri.file(script),
    );
    assert.equal(first.status, 'succeeded', first.message);
    const again = await vscode.commands.executeCommand<CaptureOutcome>('gpuLens.reprofileCompare');
    assert.ok(again, 'the capture ran again');
    assert.equal(again.status, 'succeeded', again.message);
    const client = await (await gpuLens()).client();
    const shown = await client.sendRequest<ReportResult | null>(ReportRequest, {});
    assert.equal(shown?.path, again.tracePath, 'the new trace is shown');
    assert.equal(shown?.comparison?.baseline.path, first.tracePath, 'against the previous one');
    await vscode.commands.executeCommand('gpuLens.clearBaseline');
  });
});
