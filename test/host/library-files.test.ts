/**
 * Host test: library fallback in the editor. The H100 Qwen trace runs a `transformers` model from
 * a harness (`moca/…`) that is not in the workspace, so no workspace frame is on its stacks and its
 * time goes to the innermost library frame. Opening that library file from an environment on disk
 * (`…/site-packages/transformers/models/qwen2/modeling_qwen2.py`) shows CodeLens marked as library
 * code with the figures of the test's own walk, and the hover says what library time is; turning
 * `gpuLens.libraryFallback` off re-attributes the shown trace, and the same file shows nothing.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { fixture } from '../unit/fixtures';
import { hoverText, lensTitles, poll, withSetting } from './helpers';
import { readEvents, showsDuration, walkTrace, writeRecordedFiles } from './trace-walk';

const TRACE = fixture('torch', 'h100-qwen0.5b-stack.json.gz');
const MODEL = 'transformers/models/qwen2/modeling_qwen2.py';
const LENS = /GPU (.+?) self · (.+?) total/;

describe('library code on no-workspace stacks', function () {
  this.timeout(120_000);
  let site: string;
  const restore: (() => Promise<void>)[] = [];

  before(async () => {
    site = path.join(
      fs.mkdtempSync(path.join(os.tmpdir(), 'gl-env-')),
      'lib/python3.11/site-packages',
    );
    writeRecordedFiles(readEvents(TRACE), [MODEL], site);
    restore.push(await withSetting('libraryFallback', true));
  });

  after(async () => {
    for (const r of restore.reverse()) await r();
    // The restored setting re-attributes the shown trace: let that settle before other tests.
    const file = vscode.Uri.file(path.join(site, MODEL));
    await poll(
      'library CodeLens back with the default',
      async () => (await lensTitles(file)).size > 0,
    );
    fs.rmSync(path.resolve(site, '../../..'), { recursive: true, force: true });
  });

  it('shows the walked self time on the opened library file, marked as library code', async () => {
    await vscode.commands.executeCommand('gpuLens.openTrace', vscode.Uri.file(TRACE));
    // The walk's library frames: the model library and the harness, never torch or the stdlib.
    const walk = walkTrace(readEvents(TRACE), (f) => /^(transformers|moca)\//.test(f));
    const want = [...walk.lines.values()].filter((l) => l.file === MODEL && l.selfNs > 0);
    assert.ok(want.length >= 3, `walked lines of ${MODEL}: ${want.length}`);
    const file = vscode.Uri.file(path.join(site, MODEL));
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(file));
    const lenses = await poll('CodeLenses on the library file', async () => {
      const m = await lensTitles(file);
      return m.size === want.length ? m : false;
    });
    for (const l of want) {
      const title = lenses.get(l.line) ?? '';
      const m = LENS.exec(title);
      assert.ok(m && title.includes('library code'), `line ${l.line}: ${title}`);
      // Self = total on a library line: only the stacks whose innermost library frame it is.
      assert.ok(
        showsDuration(m[1], l.selfNs) && showsDuration(m[2], l.selfNs),
        `line ${l.line}: ${m[0]} vs ${l.selfNs} ns`,
      );
    }
    const hover = hoverText(
      await vscode.commands.executeCommand<vscode.Hover[]>(
        'vscode.executeHoverProvider',
        file,
        new vscode.Position(want[0].line - 1, 0),
      ),
    );
    assert.match(hover, /Library code: time of stacks that reached no workspace frame/);

    // Turning the setting off re-attributes the shown trace by itself.
    restore.push(await withSetting('libraryFallback', false));
    await poll(
      'no CodeLens with the fallback off',
      async () => (await lensTitles(file)).size === 0,
    );
  });
});
