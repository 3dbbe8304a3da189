/**
 * Host test: trace names that are hostile to the editor (200 000 characters; `$(bug)` codicon
 * syntax) give short CodeLens titles with the icon syntax escaped, and capped hovers whose Markdown
 * does not render theme icons. The trace and its source file are written by ../unit/long-names-trace.ts
 * into the workspace's ignored `scratch/` folder (the literal name search skips hidden folders).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { hoverText, lensTitles, poll, workspaceFolder } from './helpers';
import { ICON_LINE, LONG_LINE, writeLongNamesWorkspace } from '../unit/long-names-trace';

describe('long and icon-like trace names in CodeLens and hover', function () {
  this.timeout(120_000);
  let root: string;

  before(async () => {
    root = path.join(
      workspaceFolder().uri.fsPath,
      'scratch',
      `long-names-${process.pid}-${Date.now()}`,
    );
    fs.mkdirSync(root, { recursive: true });
    const trace = writeLongNamesWorkspace(root);
    const result = await vscode.commands.executeCommand(
      'gpuLens.openTrace',
      vscode.Uri.file(trace),
    );
    assert.ok(result, 'gpuLens.openTrace should load the trace');
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('CodeLens titles are capped and show $(bug) as text, not as an icon', async () => {
    const uri = vscode.Uri.file(path.join(root, 'serve.py'));
    await vscode.workspace.openTextDocument(uri);
    const lenses = await poll('CodeLenses on serve.py', async () => {
      const m = await lensTitles(uri);
      return m.has(ICON_LINE) && m.has(LONG_LINE) ? m : false;
    });
    const icon = lenses.get(ICON_LINE)!;
    // renderLabelWithIcons shows `\$(bug)` as the literal text `$(bug)`.
    assert.ok(icon.startsWith('NVTX "\\$(bug) decode \\$(zap~spin)" ×1 · wall '), icon);
    const long = lenses.get(LONG_LINE)!;
    assert.ok(long.length < 200, `a ${long.length}-character CodeLens title`);
    assert.match(long, /NVTX "prefill_x{71}…" ×1 · wall /);
  });

  it('hovers are capped and their Markdown renders no theme icons', async () => {
    const uri = vscode.Uri.file(path.join(root, 'serve.py'));
    const hoverAt = (line: number) =>
      poll(`a GPU Lens hover on line ${line}`, async () => {
        const hovers = await vscode.commands.executeCommand<vscode.Hover[]>(
          'vscode.executeHoverProvider',
          uri,
          new vscode.Position(line - 1, 4),
        );
        const t = hoverText(hovers ?? []);
        return t.includes('NVTX range') ? (hovers ?? []) : false;
      });
    const long = await hoverAt(LONG_LINE);
    const text = hoverText(long);
    assert.ok(text.length < 2000, `a ${text.length}-character hover`);
    assert.ok(text.includes(`**GPU Lens** · $(bug)serve\\_${'x'.repeat(67)}…`), text.slice(0, 200));
    const icon = await hoverAt(ICON_LINE);
    assert.ok(hoverText(icon).includes('| $(bug) decode $(zap\\~spin) | 1 |'), hoverText(icon));
    for (const c of icon.flatMap((h) => h.contents))
      if (c instanceof vscode.MarkdownString) assert.ok(!c.supportThemeIcons, 'supportThemeIcons');
  });
});
