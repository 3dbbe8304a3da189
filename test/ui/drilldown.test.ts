/**
 * UI test of the panel's drill-down in a real workbench (code-server + Chromium) on the H100 BERT
 * trace: a kernel row opens the lines that launched it, ranked as a walk of the trace's own events
 * ranks them (correlation → launch → innermost `transformers/` python_function); a line there opens
 * in the editor; its call tree's root carries the line's total, from the same walk; the pane is
 * reached and used from the keyboard (Enter on a kernel row, Enter on a node); the line's hover
 * links to its drill-down in the panel.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { FrameLocator } from 'playwright-core';
import { formatNs } from '../../src/core/format';
import {
  durNs,
  KERNEL_CATS,
  gpuEvents,
  launchStackFrames,
  loadTrace,
} from '../unit/kineto-helpers';
import { BERT, makeWorkspace, readEvents } from './panel-workspace';
import { type CodeServer, harness, Session } from './session';

const { events } = loadTrace(BERT);
const chains = launchStackFrames(events);
const user = (f: { file: string }) => f.file.startsWith('transformers/');
const key = (f: { file: string; line: number }) => `${f.file}:${f.line}`;

/** The kernel with the most time, and its launching lines (innermost workspace frame) by time. */
const totals = new Map<string, number>();
for (const e of events)
  if (e.ph === 'X' && KERNEL_CATS.has(e.cat ?? ''))
    totals.set(e.name ?? '', (totals.get(e.name ?? '') ?? 0) + durNs(e));
const [topKernel] = [...totals].sort((a, b) => b[1] - a[1])[0];
const launchers = new Map<string, number>();
for (const e of events) {
  if (e.ph !== 'X' || e.name !== topKernel || !KERNEL_CATS.has(e.cat ?? '')) continue;
  const self = (chains.get(e.args?.correlation as number) ?? []).find(user);
  if (self) launchers.set(key(self), (launchers.get(key(self)) ?? 0) + durNs(e));
}
const ranked = [...launchers].sort((a, b) => b[1] - a[1]);
/** A line's total: every GPU op with the line anywhere on its launch chain. */
const totalOf = (ref: string) =>
  gpuEvents(events)
    .filter((e) => (chains.get(e.args?.correlation as number) ?? []).some((f) => key(f) === ref))
    .reduce((s, e) => s + durNs(e), 0);

let server: CodeServer;
let s: Session;
let folder: string;
let view: FrameLocator;

before(async () => {
  ({ folder } = makeWorkspace(readEvents(BERT), 'bert.pt.trace.json.gz'));
  server = await (await harness()).startCodeServer({ folder, linkExtension: true });
  s = await Session.open(server.url, folder);
  view = s.webview();
});
after(async () => {
  await s?.close();
  await server?.stop();
  if (folder) fs.rmSync(folder, { recursive: true, force: true });
});

const pane = () => view.locator('section.drilldown');

void test('a kernel row opens its launching lines, ranked by time; a line there opens in the editor', async () => {
  assert.ok(ranked.length > 1, 'the top kernel is launched from several lines');
  await s.explorerMenu('bert.pt.trace.json.gz', 'Open in GPU Lens');
  await s.waitForStatusBar(/bert\.pt\.trace\.json\.gz/);
  await s.runCommand('GPU Lens: Show Bottleneck Report');
  await s.waitForTab('GPU Lens');
  await s.webviewText(/GPU active/, 60_000);
  await view.locator('vscode-tab-header[data-tab="Kernels"]').click();
  // Keyboard: the table is one tab stop; Home picks the first (largest) kernel, Enter opens it.
  const rows = view.locator('[data-table="kernels"] .vt-viewport');
  await rows.focus();
  await rows.press('Home');
  await rows.press('Enter');
  await s.waitVisible('the drill-down pane', pane());
  assert.match(await pane().locator('h2').innerText(), /^Lines that launched /);
  assert.equal(await pane().locator('h2').getAttribute('title'), topKernel);
  const refs = await pane()
    .locator('li[data-ref]')
    .evaluateAll((els) => els.map((e) => e.getAttribute('data-ref') ?? ''));
  assert.deepEqual(
    refs,
    ranked.slice(0, 10).map(([k]) => k),
    'launching lines, most time first, as the walk ranks them',
  );
  const first = pane().locator('li[data-ref]').first();
  assert.ok(
    (await first.innerText()).includes(formatNs(ranked[0][1])),
    `the first line shows ${formatNs(ranked[0][1])}`,
  );
  await first.locator('button.link').first().click();
  const [file, line] = ranked[0][0].split(/:(?=\d+$)/);
  await s.waitForTab(path.basename(file));
  await s.waitForStatusBar(new RegExp(`Ln ${line}, Col 1`));
});

void test("the line's call tree: its root carries the line's total GPU time", async () => {
  await s.runCommand('GPU Lens: Show Bottleneck Report');
  // The revealed file may share the panel's editor group: bring the panel to the front.
  await (await s.waitForTab('GPU Lens')).click();
  await s.webviewText(/GPU active/);
  // Showing the report renders it afresh: open the kernel's lines again, with a click this time.
  await view.locator('vscode-tab-header[data-tab="Kernels"]').click();
  await view.locator('[data-table="kernels"] .vt-row').first().click();
  const first = pane().locator('li[data-ref]').first();
  await first.locator('button.link', { hasText: 'call tree' }).click();
  const root = pane().locator('.call-tree > li > details > summary').first();
  await s.waitVisible('the call tree', root);
  assert.equal(await pane().locator('h2').getAttribute('title'), ranked[0][0]);
  const total = totalOf(ranked[0][0]);
  assert.ok(
    (await root.innerText()).includes(`total ${formatNs(total)}`),
    `root "${await root.innerText()}" shows total ${formatNs(total)}`,
  );
  // Keyboard: a node folds with Enter on its summary.
  const details = pane().locator('.call-tree > li > details').first();
  assert.equal(await details.getAttribute('open'), '');
  await root.focus();
  await root.press('Enter');
  assert.equal(await details.getAttribute('open'), null);
});

void test("the hover's 'Kernels and call tree' link shows the line's drill-down in the panel", async () => {
  const [file, line] = ranked[0][0].split(/:(?=\d+$)/);
  // Close the pane first, so what the link shows is new.
  await pane().locator('.drilldown-close').click();
  await pane().waitFor({ state: 'hidden' });
  await (await s.waitForTab(path.basename(file))).click();
  // Hovered and clicked together, again if the hover closed in between (a link of a hover being
  // hidden is in the DOM but cannot be clicked).
  const text = await s.until('the drill-down link in the hover, clicked', async () => {
    const t = await s.hoverLine(Number(line), 10_000);
    if (!t.includes('Kernels and call tree')) return false;
    const link = s.page
      .locator('.monaco-hover:not(.hidden) a', { hasText: 'Kernels and call tree' })
      .filter({ visible: true })
      .first();
    try {
      await link.click({ timeout: 2_000 });
      return t;
    } catch {
      return false;
    }
  });
  assert.match(text, /Beneath this line: /);
  await s.waitForTab('GPU Lens');
  await s.waitVisible('the drill-down pane', pane());
  await s.until('the line in the drill-down pane', async () =>
    (await pane().locator('h2').getAttribute('title')) === ranked[0][0] ? true : false,
  );
  await s.waitVisible('its call tree', pane().locator('.call-tree summary').first());
});
