/**
 * UI test: names from a trace are data, never markup. A real trace, with its kernels and annotations
 * renamed to HTML/script payloads, is opened in a real workbench; the panel must show the payloads as
 * literal text, run none of them and create no element from them.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, before, test } from 'node:test';
import type { Frame } from 'playwright-core';
import { BERT, makeWorkspace, readEvents } from './panel-workspace';
import { type CodeServer, harness, Session } from './session';

const PAYLOADS = [
  '<script>window.__pwned=1</script>',
  '<img src=x onerror=window.__pwned=2>',
  '"quoted"',
];

let server: CodeServer;
let s: Session;
let folder: string;

before(async () => {
  const events = readEvents(BERT);
  // Every kernel name becomes one of the payloads (so all three reach the kernel table), and so do
  // the annotation ranges (the NVTX table).
  const names = [
    ...new Set(events.traceEvents.filter((e) => e.cat === 'kernel').map((e) => e.name)),
  ];
  for (const e of events.traceEvents) {
    if (e.cat === 'kernel') e.name = PAYLOADS[names.indexOf(e.name) % PAYLOADS.length];
    if (e.cat === 'user_annotation' || e.cat === 'gpu_user_annotation') e.name = PAYLOADS[0];
    // torch's frames get a payload for a function name: the drill-down's call trees show them.
    if (e.cat === 'python_function' && e.name.startsWith('torch/'))
      e.name = e.name.replace(/\): .*$/, `): ${PAYLOADS[1]}`);
  }
  ({ folder } = makeWorkspace(events, 'xss.pt.trace.json'));
  server = await (await harness()).startCodeServer({ folder, linkExtension: true });
  s = await Session.open(server.url, folder);
});
after(async () => {
  await s?.close();
  await server?.stop();
  if (folder) fs.rmSync(folder, { recursive: true, force: true });
});

/** The frame that holds the panel's page (the one with #app). */
async function panelFrame(): Promise<Frame> {
  return s.until('the panel frame', async () => {
    for (const f of s.page.frames()) {
      if (await f.evaluate(() => !!document.getElementById('app')).catch(() => false)) return f;
    }
    return undefined;
  });
}

void test('kernel and range names are shown as literal text and nothing runs', async () => {
  await s.explorerMenu('xss.pt.trace.json', 'Open in GPU Lens');
  await s.waitForStatusBar(/xss\.pt\.trace\.json/);
  await s.runCommand('GPU Lens: Show Bottleneck Report');
  await s.webviewText(/GPU active/, 60_000);
  const view = s.webview();
  await view.locator('vscode-tab-header[data-tab="Kernels"]').click();
  const kernelNames = await view
    .locator('[data-table="kernels"] .vt-row [role="gridcell"]:first-child')
    .allInnerTexts();
  assert.deepEqual(kernelNames.map((t) => t.trim()).sort(), [...PAYLOADS].sort());
  await view.locator('vscode-tab-header[data-tab="Ranges"]').click();
  await view.locator('[data-table="ranges"] .vt-row').first().waitFor();
  const rangeNames = await view
    .locator('[data-table="ranges"] .vt-row [role="gridcell"]:first-child')
    .allInnerTexts();
  assert.ok(
    rangeNames.map((t) => t.trim()).includes(PAYLOADS[0]),
    `ranges: ${rangeNames.join(', ')}`,
  );

  const frame = await panelFrame();
  const probe = await frame.evaluate(() => ({
    pwned: (window as unknown as { __pwned?: unknown }).__pwned,
    imgs: document.querySelectorAll('img').length,
    // A payload that became a <script> element would show up here even if it did not run.
    scripts: [...document.querySelectorAll('script')].filter((e) =>
      e.textContent?.includes('pwned'),
    ).length,
  }));
  assert.equal(probe.pwned, undefined);
  assert.equal(probe.imgs, 0);
  assert.equal(probe.scripts, 0);
  await s.screenshot('panel-xss');
});

void test('the drill-down shows kernel and frame names as literal text and nothing runs', async () => {
  const view = s.webview();
  await s.runCommand('GPU Lens: Show Bottleneck Report');
  await view.locator('vscode-tab-header[data-tab="Kernels"]').click();
  await view.locator('[data-table="kernels"] .vt-row').first().click();
  const pane = view.locator('section.drilldown');
  const heading = (await pane.locator('h2').innerText()).trim();
  assert.ok(
    PAYLOADS.some((p) => heading === `Lines that launched ${p}`),
    `heading: ${heading}`,
  );
  await pane.locator('li[data-ref] button.link', { hasText: 'call tree' }).first().click();
  await pane.locator('.call-tree summary').first().waitFor();
  const frames = await pane.locator('.call-tree summary').allInnerTexts();
  assert.ok(
    frames.some((t) => t.startsWith(`${PAYLOADS[1]} · torch/`)),
    `frames: ${frames.slice(0, 5).join(' | ')}`,
  );
  const frame = await panelFrame();
  const probe = await frame.evaluate(() => ({
    pwned: (window as unknown as { __pwned?: unknown }).__pwned,
    imgs: document.querySelectorAll('img').length,
  }));
  assert.deepEqual(probe, { pwned: undefined, imgs: 0 });
});
