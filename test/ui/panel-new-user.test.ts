/**
 * UI test of what a new user meets in the panel page (real Chromium, the panel's bundle and CSP):
 * a CPU-only capture (test/workspace/traces/torch_mlp.pt.trace.json) says what it can and cannot
 * show and lists CPU operator time per line, checked against a walk of the trace's own events;
 * the baseline tab shows kernels by short name with the full name on hover (diff fixtures); a
 * model run from outside the workspace (H100 Qwen: transformers driven by a `moca` harness) shows
 * its time on library lines, marked so, with the library total walked from the events.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { compare } from '../../src/core/compare';
import { formatNs } from '../../src/core/format';
import { loadTrace } from '../../src/core/load';
import { buildReport } from '../../src/core/report';
import { fixture } from '../unit/fixtures';
import {
  durNs,
  KERNEL_CATS,
  launchStackLines,
  loadTrace as loadEvents,
  MEMCPY_CATS,
  MEMSET_CATS,
} from '../unit/kineto-helpers';
import { type PanelPage, sendToPage, startPanelPage } from './panel-page';
import { harness, repoRoot } from './session';
import { walkCpuOps } from './cpu-ops-walk';

const WORKSPACE = path.join(repoRoot, 'test', 'workspace');
const CPU_TRACE = path.join(WORKSPACE, 'traces', 'torch_mlp.pt.trace.json');

let server: PanelPage;
let browser: BrowserContext;
let page: Page;

before(async () => {
  server = await startPanelPage();
  browser = await (await harness()).launchBrowser();
  page = browser.pages()[0] ?? (await browser.newPage());
  await page.goto(server.url);
});
after(async () => {
  await browser?.close();
  await server?.close();
});

const cells = (table: string, row: number) =>
  page.locator(`[data-table="${table}"] .vt-row`).nth(row).locator('[role="gridcell"]');

void test('a CPU-only capture says what it shows, and hot lines list CPU operator time', async () => {
  const report = buildReport(await loadTrace(CPU_TRACE), { workspaceRoot: WORKSPACE });
  await sendToPage(page, {
    type: 'report',
    report,
    tracePath: CPU_TRACE,
    capture: null,
    comparison: null,
  });
  const walk = [...walkCpuOps(CPU_TRACE)].sort((a, b) => b[1].ns - a[1].ns);
  assert.ok(walk.length >= 3, `${walk.length} lines walked`);
  const totalNs = walk.reduce((s, [, v]) => s + v.ns, 0);
  const totalOps = walk.reduce((s, [, v]) => s + v.ops, 0);

  const note = await page.locator('.cpu-only-note').innerText();
  assert.match(note, /CPU-only capture: no GPU work .* was recorded, so there is no GPU time/);
  assert.ok(
    note.includes(
      `Hot lines: ${formatNs(totalNs)} in ${totalOps} operators on ${walk.length} lines`,
    ),
    note,
  );
  assert.match(note, /NVTX \/ record_function ranges/);

  await page.locator('vscode-tab-header[data-tab="Hot lines"]').click();
  assert.match(
    await page.locator('[data-tab="Hot lines"] .table-note').innerText(),
    /CPU operator time/,
  );
  assert.equal(await page.locator('[data-table="lines"] .vt-row').count(), walk.length);
  for (let i = 0; i < walk.length; i++) {
    const [key, v] = walk[i];
    const row = cells('lines', i);
    assert.equal((await row.nth(0).innerText()).trim(), key, `row ${i}`);
    assert.equal((await row.nth(2).innerText()).trim(), formatNs(v.ns), `${key} CPU time`);
    assert.equal((await row.nth(4).innerText()).trim(), String(v.ops), `${key} operators`);
  }
  const cpuHeader = page.locator('[data-table="lines"] .vt-sort[data-key="cpu"]');
  assert.match((await cpuHeader.getAttribute('title')) ?? '', /innermost workspace frame/);
});

void test('the baseline tab names kernels short, in full on hover', async () => {
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'gl-names-'));
  const control = buildReport(await loadTrace(fixture('torch', 'diff-control.json.gz')), {
    workspaceRoot: ws,
  });
  const current = buildReport(await loadTrace(fixture('torch', 'diff-test.json.gz')), {
    workspaceRoot: ws,
  });
  await sendToPage(page, {
    type: 'report',
    report: current,
    tracePath: '/tmp/diff-test.json.gz',
    capture: null,
    comparison: compare(control, current),
  });
  await page.locator('vscode-tab-header[data-tab="vs baseline"]').click();
  const rows = page.locator('[data-table="changes"] .vt-row');
  await rows.first().waitFor();
  const n = Math.min(await rows.count(), 12);
  let templated = 0;
  for (let i = 0; i < n; i++) {
    const c = rows.nth(i).locator('[role="gridcell"]');
    if ((await c.nth(0).innerText()).trim() !== 'kernel') continue;
    const text = (await c.nth(1).innerText()).trim();
    const full = (await c.nth(1).getAttribute('title')) ?? '';
    assert.ok(
      current.kernels.some((k) => k.name === full) || control.kernels.some((k) => k.name === full),
      `the tooltip is a kernel's full name: ${full.slice(0, 120)}`,
    );
    assert.ok(text.length <= 120, `short: ${text}`);
    // A kernel name is cut at its end if at all, never at its start (where kernels differ least).
    assert.doesNotMatch((await c.nth(1).getAttribute('class')) ?? '', /clip-start/);
    if (full.includes('<') && full.length > 200) {
      templated++;
      // The qualified name (after the return type) leads the short name; arguments are elided.
      const head = full.replace(/^void /, '').split('<')[0];
      assert.ok(text.startsWith(head), `${text} starts with ${head}`);
      assert.ok(text.length < full.length / 2, `${text} elides the arguments`);
    }
  }
  assert.ok(templated > 0, 'a long templated kernel is among the top changes');
});

void test('library lines: marked in hot lines, their total in the summary', async () => {
  const file = fixture('torch', 'h100-qwen0.5b-stack.json.gz');
  // The walk: GPU ops whose launch stack holds a frame of the trace's model libraries.
  const { events } = loadEvents(file);
  const stacks = launchStackLines(events, '');
  let libraryNs = 0;
  for (const e of events) {
    const cat = e.cat ?? '';
    if (e.ph !== 'X' || !(KERNEL_CATS.has(cat) || MEMCPY_CATS.has(cat) || MEMSET_CATS.has(cat)))
      continue;
    const keys = stacks.get(e.args?.correlation as number) ?? [];
    if (keys.some((k) => /^(transformers|moca)\//.test(k))) libraryNs += durNs(e);
  }
  assert.ok(libraryNs > 0);
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'gl-lib-ui-'));
  const report = buildReport(await loadTrace(file), { workspaceRoot: ws });
  await sendToPage(page, {
    type: 'report',
    report,
    tracePath: file,
    capture: null,
    comparison: null,
  });
  assert.match(
    await page.locator('.summary').innerText(),
    new RegExp(`${formatNs(libraryNs)}\\s*Library code`),
  );
  await page.locator('vscode-tab-header[data-tab="Hot lines"]').click();
  const n = await page.locator('[data-table="lines"] .vt-row').count();
  assert.ok(n >= 5, `${n} rows`);
  for (let i = 0; i < n; i++) {
    const row = cells('lines', i);
    const where = (await row.nth(0).innerText()).trim();
    assert.equal((await row.nth(7).innerText()).trim(), 'library', where);
    assert.match(
      (await row.nth(7).getAttribute('title')) ?? '',
      new RegExp(
        `^Library code: .*Recorded at ${where.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, outside the workspace`,
      ),
    );
  }
});
