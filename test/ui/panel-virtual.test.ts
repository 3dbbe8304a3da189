/**
 * UI test of the panel page alone (no workbench): a Report with 100,000 kernels renders only the
 * rows in view, sorts and filters in well under a second, keyboard Enter on a hot line posts
 * `reveal`, and the page runs under the panel's strict CSP without a single violation.
 */
import * as assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import {
  REPORT_SCHEMA,
  type KernelStat,
  type LineStat,
  type Report,
} from '../../src/core/report-types';
import { compare } from '../../src/core/compare';
import { type PanelPage, sendToPage, startPanelPage } from './panel-page';
import { harness } from './session';

const N = 100_000;

/** Deterministic pseudo-random integers (a small LCG), so a failure reproduces. */
function lcg(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2 ** 31);
}

function bigReport(): Report {
  const rnd = lcg(7);
  const kernels: KernelStat[] = [];
  for (let i = 0; i < N; i++) {
    const count = (rnd() % 1000) + 1;
    const avgNs = (rnd() % 100_000) + 1;
    kernels.push({
      name: `kernel_${i}`,
      count,
      totalNs: count * avgNs,
      avgNs,
      minNs: avgNs,
      maxNs: avgNs,
    });
  }
  kernels.sort((a, b) => b.totalNs - a.totalNs);
  const lines: LineStat[] = [1, 2, 3].map((i) => ({
    file: `pkg/mod${i}.py`,
    line: 10 * i,
    function: `f${i}`,
    selfNs: 1000 * i,
    totalNs: 2000 * i,
    kernelCount: i,
    precision: 'line',
    topKernels: [],
    cpuOpNs: 0,
    opCount: 0,
    library: false,
  }));
  const kernelNs = kernels.reduce((s, k) => s + k.totalNs, 0);
  return {
    schema: REPORT_SCHEMA,
    source: { path: '/tmp/big.json', format: 'kineto-json', producer: 'test', schemaVersion: '1' },
    summary: {
      wallNs: kernelNs,
      traceWallNs: kernelNs,
      gpuBusyNs: kernelNs,
      gpuIdleNs: 0,
      gpuActivePct: 100,
      traceActivePct: 100,
      kernelCount: kernels.reduce((s, k) => s + k.count, 0),
      kernelNs,
      memcpyNs: 0,
      memsetNs: 0,
      commNs: 0,
      classification: 'compute-bound',
      devices: [{ rank: 0, id: 0, name: 'GPU', busyNs: kernelNs }],
      idleBreakdown: [],
      rankCount: 1,
      rankAlignment: [],
    },
    workload: {
      domain: 'other',
      phase: 'inference',
      engine: null,
      label: 'inference',
      signals: [],
    },
    kernels,
    lines,
    rankSpread: [],
    collectives: [],
    ranges: [],
    findings: [],
    unattributedNs: 0,
    pathHints: null,
    gaps: [],
    steps: null,
    timelineStartNs: 0,
    timeline: [
      {
        rank: 0,
        deviceId: 0,
        name: 'GPU',
        bucketNs: Math.ceil(kernelNs / 100),
        busy: new Array<number>(100).fill(1),
      },
    ],
    drilldown: { kernels: [], callTrees: [] },
    warnings: [],
  };
}

/** The same run before a change: line 1 spent twice the self time, the top 10 kernels half. */
function baselineOf(current: Report): Report {
  return {
    ...current,
    lines: current.lines.map((l, i) => (i === 0 ? { ...l, selfNs: l.selfNs * 2 } : l)),
    kernels: current.kernels.map((k, i) => (i < 10 ? { ...k, totalNs: k.totalNs / 2 } : k)),
  };
}

let server: PanelPage;
let browser: BrowserContext;
let page: Page;
let renderMs = 0;
const report = bigReport();

before(async () => {
  server = await startPanelPage();
  browser = await (await harness()).launchBrowser();
  page = browser.pages()[0] ?? (await browser.newPage());
  await page.goto(server.url);
  renderMs = await sendToPage(page, {
    type: 'report',
    report,
    tracePath: '/tmp/big.json',
    capture: null,
    comparison: compare(baselineOf(report), report),
  });
  await page.locator('vscode-tab-header[data-tab="Kernels"]').click();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

const kernelRows = () => page.locator('[data-table="kernels"] .vt-row');
const firstCell = async () =>
  (await kernelRows().first().locator('[role="gridcell"]').first().innerText()).trim();

void test('only the visible rows of 100,000 are in the DOM', async () => {
  assert.ok(renderMs < 2000, `rendering the report took ${Math.round(renderMs)} ms`);
  await kernelRows().first().waitFor();
  const n = await kernelRows().count();
  assert.ok(n > 5 && n < 80, `${n} rows rendered`);
  assert.equal(await firstCell(), report.kernels[0].name);
  assert.match(await page.locator('[data-table="kernels"] .vt-count').innerText(), /100,000 rows/);
  // Scroll to the end: the last kernel by total time shows up, still with few rows rendered.
  await page
    .locator('[data-table="kernels"] .vt-viewport')
    .evaluate((v) => (v.scrollTop = v.scrollHeight));
  const lastCell = page.locator(
    `[data-table="kernels"] .vt-row[aria-rowindex="${N + 1}"] [role="gridcell"]`,
  );
  await lastCell.first().waitFor();
  assert.equal((await lastCell.first().innerText()).trim(), report.kernels[N - 1].name);
  assert.ok((await kernelRows().count()) < 80);
});

void test('sorting by count ascending puts the smallest count first, fast', async () => {
  const min = Math.min(...report.kernels.map((k) => k.count));
  const header = page.locator('[data-table="kernels"] .vt-sort[data-key="count"]');
  const started = Date.now();
  await header.click(); // numeric columns sort descending first
  await header.click();
  const rowCount = Number(
    (await kernelRows().first().locator('[role="gridcell"]').nth(1).innerText()).replace(/,/g, ''),
  );
  assert.ok(Date.now() - started < 3000, `two sorts took ${Date.now() - started} ms`);
  assert.equal(rowCount, min);
  assert.equal(
    await page
      .locator('[data-table="kernels"] [role="columnheader"][aria-sort="ascending"]')
      .count(),
    1,
  );
});

void test('the filter box narrows 100,000 rows to the matches', async () => {
  const needle = 'kernel_9999';
  const expected = report.kernels.filter((k) => k.name.includes(needle)).length;
  await page.locator('[data-table="kernels"] vscode-textfield input').fill(needle);
  await page.waitForFunction(
    (want) => document.querySelector('[data-table="kernels"] .vt-count')?.textContent === want,
    `${expected} of 100,000`,
  );
  assert.equal(await kernelRows().count(), expected);
});

void test('Enter on a hot line posts reveal for the line with the most self time', async () => {
  await page.locator('vscode-tab-header[data-tab="Hot lines"]').click();
  const viewport = page.locator('[data-table="lines"] .vt-viewport');
  await viewport.focus();
  await page.keyboard.press('Enter');
  const top = [...report.lines].sort((a, b) => b.selfNs - a.selfNs)[0];
  const posted = await page.evaluate(() => (window as unknown as { __posted: unknown[] }).__posted);
  assert.deepEqual(posted.at(-1), { type: 'reveal', file: top.file, line: top.line });
});

void test('with a baseline, a tab lists each changed line and kernel, largest change first', async () => {
  const header = page.locator('vscode-tab-header[data-tab="vs baseline"]');
  // 1 line and 10 kernels differ from the baseline.
  assert.equal((await header.locator('vscode-badge').innerText()).trim(), '11');
  await header.click();
  const rows = page.locator('[data-table="changes"] .vt-row');
  await rows.first().waitFor();
  // The largest change is the top kernel's: it doubled against a baseline of half its total.
  const cells = rows.first().locator('[role="gridcell"]');
  assert.equal((await cells.nth(0).innerText()).trim(), 'kernel');
  assert.equal((await cells.nth(1).innerText()).trim(), report.kernels[0].name);
  assert.equal((await cells.nth(5).innerText()).trim(), '+100.0%');
  assert.equal((await cells.nth(6).innerText()).trim(), 'regression');
});

void test('no Content-Security-Policy violations', async () => {
  const csp = await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp);
  assert.deepEqual(csp, []);
});
