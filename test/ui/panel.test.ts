/**
 * UI test of the bottleneck panel in a real workbench (code-server + Chromium): a real torch.profiler
 * trace is opened through "GPU Lens: Open Trace…", the panel's figures are checked against sums over
 * the trace's own events, a hot line click opens that line in the editor, the kernel table sorts and
 * filters, screenshots in a light and a dark theme go to test-results/, and after a window reload the
 * panel comes back with its trace (webview serializer).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { FrameLocator } from 'playwright-core';
import { formatNs } from '../../src/core/format';
import { BERT, frameOf, makeWorkspace, readEvents, writeSettings } from './panel-workspace';
import { type CodeServer, harness, repoRoot, Session } from './session';

const events = readEvents(BERT);
const ns = (us: number | undefined) => Math.round((us ?? 0) * 1000);

/** Per kernel name: launches and total time, straight from the trace's `kernel` events. */
const kernels = new Map<string, { count: number; totalNs: number }>();
for (const e of events.traceEvents) {
  if (e.cat !== 'kernel') continue;
  const k = kernels.get(e.name) ?? { count: 0, totalNs: 0 };
  kernels.set(e.name, { count: k.count + 1, totalNs: k.totalNs + ns(e.dur) });
}
const byTotal = [...kernels].sort((a, b) => b[1].totalNs - a[1].totalNs);
const gpuOpNs = events.traceEvents
  .filter((e) => e.cat === 'kernel' || e.cat === 'gpu_memcpy' || e.cat === 'gpu_memset')
  .reduce((s, e) => s + ns(e.dur), 0);
/** The outermost model frame (longest python_function in transformers/): every GPU op runs under it. */
const outer = events.traceEvents
  .filter((e) => e.cat === 'python_function' && frameOf(e.name))
  .sort((a, b) => (b.dur ?? 0) - (a.dur ?? 0))[0];
const [outerFile, outerLine] = frameOf(outer.name)!;

let server: CodeServer;
let s: Session;
let folder: string;
let view: FrameLocator;
/** Console messages of every frame (the webview's included) that report a CSP refusal. */
const cspErrors: string[] = [];

before(async () => {
  ({ folder } = makeWorkspace(events, 'bert.pt.trace.json.gz', {
    'workbench.colorTheme': 'Default Light Modern',
  }));
  server = await (await harness()).startCodeServer({ folder, linkExtension: true });
  s = await Session.open(server.url, folder);
  s.page.on('console', (m) => {
    if (/Content Security Policy|Refused to (load|apply|execute)/i.test(m.text()))
      cspErrors.push(m.text());
  });
  view = s.webview();
});
after(async () => {
  await s?.close();
  await server?.stop();
  if (folder) fs.rmSync(folder, { recursive: true, force: true });
});

const tab = (name: string) => view.locator(`vscode-tab-header[data-tab="${name}"]`);
const cells = (table: string, row = 0) =>
  view.locator(`[data-table="${table}"] .vt-row`).nth(row).locator('[role="gridcell"]');

void test('the panel shows the trace: kernel count, top kernel and its total', async () => {
  await s.explorerMenu('bert.pt.trace.json.gz', 'Open in GPU Lens');
  await s.waitForStatusBar(/bert\.pt\.trace\.json\.gz/);
  await s.runCommand('GPU Lens: Show Bottleneck Report');
  await s.waitForTab('GPU Lens');
  const text = await s.webviewText(/GPU active/, 60_000);
  const launches = [...kernels.values()].reduce((n, k) => n + k.count, 0);
  assert.match(
    text,
    new RegExp(`${launches} · `),
    `summary should show ${launches} kernel launches`,
  );
  await tab('Kernels').click();
  assert.match(await tab('Kernels').innerText(), new RegExp(`\\b${kernels.size}\\b`));
  // Names are shown short, in full on hover. The two top kernels are `void cutlass::Kernel2<flat
  // args>(params)`: short, each keeps its distinct template argument, without return type or params.
  for (const row of [0, 1]) {
    const full = byTotal[row][0];
    const flat = /^void ([\w:]+<[^<>()]+>)\(.*\)$/.exec(full);
    assert.ok(flat, `top kernel ${row} is a flat template: ${full}`);
    const cell = view
      .locator('[data-table="kernels"] .vt-row')
      .nth(row)
      .locator('[role="gridcell"]');
    assert.equal((await cell.nth(0).innerText()).trim(), flat[1]);
    assert.equal(await cell.nth(0).getAttribute('title'), full);
  }
  assert.equal((await cells('kernels').nth(2).innerText()).trim(), formatNs(byTotal[0][1].totalNs));
  // Findings: as many cards as the tab's badge says, each with its fix.
  await tab('Findings').click();
  const shown = await view.locator('article.finding').count();
  assert.match(await tab('Findings').innerText(), new RegExp(`\\b${shown}\\b`));
  assert.equal(await view.locator('article.finding .fix').count(), shown);
  assert.deepEqual(cspErrors, [], 'the panel must run under its CSP without refusals');
});

void test('the summary shows where the GPU idle time went: every cause with its share, adding up to all of it', async () => {
  const items = view.locator('.idle-breakdown li');
  const n = await items.count();
  assert.ok(n > 0, 'the BERT forward pass idles the GPU');
  const shares = await view.locator('.idle-breakdown .idle-share').allInnerTexts();
  const total = shares.reduce((sum, t) => sum + Number.parseFloat(t), 0);
  // Each share is rounded for display: the sum is 100 % within that rounding.
  assert.ok(Math.abs(total - 100) <= n, `shares add up to ${total}`);
  assert.match(await items.first().innerText(), /late launch/);
  // The bars are sized through the CSSOM, which the panel's CSP allows.
  assert.ok(
    ((await view.locator('.idle-bar').first().getAttribute('style')) ?? '').includes('width'),
  );
  assert.deepEqual(cspErrors, []);
});

void test('fix snippets read as their text: no line is painted over by the next', async () => {
  await tab('Findings').click();
  const code = view.locator('article.finding .snippet code');
  const n = await code.count();
  assert.ok(n > 0, 'the trace has findings with a snippet');
  const drawn = await code.evaluateAll((els) =>
    els.map((el) => ({
      rendered: (el as HTMLElement).innerText,
      text: el.textContent ?? '',
      background: getComputedStyle(el).backgroundColor,
      // One box per line for an inline element: where its background is painted.
      boxes: [...el.getClientRects()].map((r) => ({ top: r.top, bottom: r.bottom })),
    })),
  );
  assert.ok(
    drawn.some((d) => d.text.includes('_') && d.text.includes('\n')),
    'a multi-line snippet with underscores is shown',
  );
  for (const d of drawn) {
    assert.equal(d.rendered.trimEnd(), d.text.trimEnd(), 'the rendered text is the snippet');
    // CSS paints an inline element line by line: each line's background after the text of the
    // line above, over the ink that hangs below that line's box (underscores). So a snippet's code
    // must not be an inline box with a background spanning several lines.
    const painted = !/^(transparent|rgba\(0, 0, 0, 0\))$/.test(d.background);
    assert.ok(
      !painted || d.boxes.length <= 1,
      `"${d.text.split('\n')[0]}…" paints a background on each of its ${d.boxes.length} lines ` +
        `(${d.background}), over the underscores of the line above`,
    );
  }
});

void test('hot lines: the outermost model line carries all GPU time; clicking it reveals it', async () => {
  await tab('Hot lines').click();
  await view.locator('[data-table="lines"] .vt-sort[data-key="total"]').click();
  // Self vs total is explained above the table, in the tab's and the columns' tooltips.
  const selfHint =
    /Self: GPU time of work launched while this line was the innermost workspace frame/;
  assert.match(await view.locator('[data-tab="Hot lines"] .table-note').innerText(), selfHint);
  assert.match((await tab('Hot lines').getAttribute('title')) ?? '', selfHint);
  const header = (key: string) =>
    view.locator(`[data-table="lines"] .vt-sort[data-key="${key}"]`).getAttribute('title');
  assert.match((await header('self')) ?? '', selfHint);
  assert.match((await header('total')) ?? '', /anywhere on the stack/);
  assert.equal((await cells('lines').nth(0).innerText()).trim(), `${outerFile}:${outerLine}`);
  assert.equal((await cells('lines').nth(3).innerText()).trim(), formatNs(gpuOpNs));
  await cells('lines').nth(0).click();
  await s.waitForTab(path.basename(outerFile));
  await s.waitForStatusBar(new RegExp(`Ln ${outerLine}, Col 1`));
});

void test('the kernel table sorts by count and filters by name', async () => {
  await s.runCommand('GPU Lens: Show Bottleneck Report');
  await tab('Kernels').click();
  await view.locator('[data-table="kernels"] .vt-sort[data-key="count"]').click();
  const maxCount = Math.max(...[...kernels.values()].map((k) => k.count));
  assert.equal((await cells('kernels').nth(1).innerText()).trim(), String(maxCount));
  const needle = 'elementwise';
  const matches = [...kernels.keys()].filter((n) => n.toLowerCase().includes(needle)).length;
  await view.locator('[data-table="kernels"] vscode-textfield input').fill(needle);
  await s.until('the filtered kernel count', async () =>
    (await view.locator('[data-table="kernels"] .vt-count').innerText()).includes(
      `${matches} of ${kernels.size}`,
    ),
  );
  assert.equal(await view.locator('[data-table="kernels"] .vt-row').count(), matches);
  await view.locator('[data-table="kernels"] vscode-textfield input').fill('');
});

void test('screenshots in a light and a dark theme', async () => {
  await tab('Hot lines').click();
  // Into the ignored test-results/: a test run never rewrites the committed README images
  // (copy test-results/panel-*.png to docs/images/ to refresh them).
  const out = path.join(repoRoot, 'test-results');
  fs.mkdirSync(out, { recursive: true });
  for (const [theme, cls, file] of [
    ['Default Light Modern', 'vscode-light', 'panel-light.png'],
    ['Default Dark Modern', 'vscode-dark', 'panel-dark.png'],
  ]) {
    writeSettings(folder, { 'workbench.colorTheme': theme });
    await s.until(`the ${theme} theme in the panel`, async () =>
      (await view.locator('body').getAttribute('class'))?.includes(cls),
    );
    await s.page.locator('iframe.webview.ready').screenshot({ path: path.join(out, file) });
  }
});

void test('after a window reload the panel comes back with its trace', async () => {
  // The workbench's own reload flushes its state (a bare page reload can race the state save).
  await s.runCommand('Developer: Reload Window');
  // The serializer restores the panel; the page's saved state names the trace, which loads again.
  const restored = await s.waitForTab('GPU Lens: bert.pt.trace.json.gz', 60_000);
  // It may come back behind the editor the hot-line click opened: bring it to the front.
  await restored.click();
  const text = await s.webviewText(/GPU active/, 60_000);
  const launches = [...kernels.values()].reduce((n, k) => n + k.count, 0);
  assert.match(text, new RegExp(`${launches} · `));
});
