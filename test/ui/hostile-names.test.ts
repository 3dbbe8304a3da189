/**
 * UI test: hostile trace strings in a real workbench. A `$(bug)` range name is drawn as the text
 * `$(bug)` in its CodeLens (no codicon element), a 200 000-character name as a short lens; and a
 * `reveal` message crafted inside the panel's webview (what injected script could send) opens
 * neither a file outside the workspace nor a workspace file the Report does not name, while the
 * Report's own file still opens. The trace comes from ../unit/long-names-trace.ts.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { Frame } from 'playwright-core';
import { ICON_LINE, LONG_LINE, writeLongNamesWorkspace } from '../unit/long-names-trace';
import { type CodeServer, harness, Session } from './session';

let server: CodeServer;
let s: Session;
let top: string;
let folder: string;

before(async () => {
  top = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-lens-names-')));
  folder = path.join(top, 'ws');
  fs.mkdirSync(path.join(folder, '.vscode'), { recursive: true });
  writeLongNamesWorkspace(folder);
  fs.writeFileSync(path.join(folder, 'other.py'), 'print("not in the report")\n');
  fs.writeFileSync(path.join(top, 'secret.py'), 'token = "outside the workspace"\n');
  server = await (await harness()).startCodeServer({ folder, linkExtension: true });
  s = await Session.open(server.url, folder);
});
after(async () => {
  await s?.close();
  await server?.stop();
  if (top) fs.rmSync(top, { recursive: true, force: true });
});

void test('CodeLens: $(bug) in a range name is drawn as text, a 200k-character name as a short lens', async () => {
  await s.explorerMenu('trace.json', 'Open in GPU Lens');
  await s.waitForStatusBar(/trace\.json/);
  await s.openFile('serve.py');
  const icon = await s.waitForCodeLens(/^NVTX "/);
  assert.match(icon, /^NVTX "\$\(bug\) decode \$\(zap~spin\)" ×1 · wall /);
  const long = await s.waitForCodeLens(/NVTX "prefill_/);
  assert.ok(long.length < 200, `a ${long.length}-character lens`);
  assert.equal(await s.page.locator('.codelens-decoration .codicon').count(), 0);
  // Both lenses sit on their lines (ranges found by name in serve.py).
  assert.ok(ICON_LINE < LONG_LINE);
});

/** The outer webview frame of the panel: where the page's acquireVsCodeApi() posts to. */
async function panelHostFrame(): Promise<Frame> {
  return s.until('the panel webview frame', async () => {
    for (const f of s.page.frames()) {
      const ok = await f
        .evaluate(
          () => typeof (window as unknown as Record<string, unknown>).__vscode_post_message__,
        )
        .catch(() => 'none');
      // The panel is the only webview open in this workbench.
      if (ok === 'function') return f;
    }
    return false;
  });
}

void test('panel: crafted reveal messages open nothing outside the Report; its own file opens', async () => {
  await s.runCommand('GPU Lens: Show Bottleneck Report');
  await s.waitForTab('GPU Lens');
  await s.webviewText(/GPU active/, 60_000);
  const frame = await panelHostFrame();
  const post = (message: unknown) =>
    frame.evaluate((m) => {
      const w = window as unknown as { __vscode_post_message__: (c: string, d: unknown) => void };
      w.__vscode_post_message__('onmessage', { message: m });
    }, message);
  for (const file of ['../secret.py', path.join(top, 'secret.py'), 'other.py'])
    await post({ type: 'reveal', file, line: 1 });
  await post({ type: 'reveal', file: 'serve.py', line: LONG_LINE });
  await s.waitForTab('serve.py');
  await s.waitForStatusBar(new RegExp(`Ln ${LONG_LINE}, Col 1`));
  // A second accepted reveal after the refused ones: they had all the time to open a tab.
  await post({ type: 'reveal', file: 'serve.py', line: ICON_LINE });
  await s.waitForStatusBar(new RegExp(`Ln ${ICON_LINE}, Col 1`));
  const tabs = await s.page.locator('.tabs-container .tab').allInnerTexts();
  assert.ok(!tabs.some((t) => /secret\.py|other\.py/.test(t)), tabs.join(' | '));
});
