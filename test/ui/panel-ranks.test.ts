/**
 * UI test of the panel on multi-rank Reports (the panel page alone, in Chromium, under the panel's
 * CSP): a real two-rank nsys folder shows one labelled timeline lane per (rank, device), the rank
 * selector (keyboard) narrows lanes, gaps and devices to one rank, and the 4-rank gloo capture's
 * straggler grid lists its matched collectives × ranks with each rank's lateness, and its lines
 * across ranks table the straggler line's fastest and slowest rank, recomputed here from the raw
 * per-rank events.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import type { BrowserContext, Page } from 'playwright-core';
import { formatNs } from '../../src/core/format';
import { loadTrace } from '../../src/core/load';
import { buildReport } from '../../src/core/report';
import type { Report } from '../../src/core/report-types';
import { DEFAULT_THRESHOLDS } from '../../src/core/rules/types';
import { fixture, ownFixture } from '../unit/fixtures';
import { lineOpNs, offsetsFrom, rawTorch } from '../unit/rank-walk';
import { lineOf, scenariosDir } from '../unit/rule-helpers';
import { type PanelPage, sendToPage, startPanelPage } from './panel-page';
import { harness } from './session';

const RTX = fixture('nsys', 'rtx5000-attention-nvtx-2026.2.sqlite');
const H200 = fixture('nsys', 'h200-nvfuser-nvtx-2024.6.sqlite');

let server: PanelPage;
let browser: BrowserContext;

before(async () => {
  server = await startPanelPage();
  browser = await (await harness()).launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

/** A fresh panel page (its own saved state) showing `report`. */
async function pageWith(report: Report, tracePath: string): Promise<Page> {
  const page = await browser.newPage();
  page.setDefaultTimeout(10_000);
  await page.goto(server.url);
  await sendToPage(page, { type: 'report', report, tracePath, capture: null, comparison: null });
  return page;
}

/** An nsys export's CUDA GPU name and its count of idle gaps ≥ minGapNs (union per device), by SQL. */
function nsysFacts(file: string): { name: string; gaps: number } {
  const db = new Database(file, { readonly: true });
  try {
    const name = db
      .prepare('SELECT name FROM TARGET_INFO_GPU WHERE smCount > 0 ORDER BY id')
      .pluck()
      .get() as string;
    const ops = db
      .prepare(
        `SELECT start s, "end" e, deviceId d FROM CUPTI_ACTIVITY_KIND_KERNEL
         UNION ALL SELECT start, "end", deviceId FROM CUPTI_ACTIVITY_KIND_MEMCPY
         UNION ALL SELECT start, "end", deviceId FROM CUPTI_ACTIVITY_KIND_MEMSET ORDER BY d, s`,
      )
      .all() as { s: number; e: number; d: number }[];
    let gaps = 0;
    for (let i = 1, end = ops[0].e; i < ops.length; i++) {
      // A new device starts its own run of busy intervals.
      if (ops[i].d === ops[i - 1].d && ops[i].s - end >= DEFAULT_THRESHOLDS.minGapNs) gaps++;
      end = ops[i].d === ops[i - 1].d ? Math.max(end, ops[i].e) : ops[i].e;
    }
    return { name, gaps };
  } finally {
    db.close();
  }
}

const laneTexts = (page: Page) =>
  page.locator('.timeline-lane').evaluateAll((els) => els.map((e) => e.textContent));
const visibleDevices = (page: Page) =>
  page
    .locator('ul.devices li')
    .evaluateAll((els) =>
      els.filter((e) => !(e as HTMLElement).hidden).map((e) => e.textContent ?? ''),
    );

void test('two ranks: one labelled lane per (rank, device); the rank selector narrows them', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gl-ui-ranks-'));
  fs.copyFileSync(RTX, path.join(dir, 'rank0.sqlite'));
  fs.copyFileSync(H200, path.join(dir, 'r1.sqlite'));
  const facts = [nsysFacts(RTX), nsysFacts(H200)];
  const page = await pageWith(buildReport(await loadTrace(dir), { workspaceRoot: dir }), dir);
  const canvas = page.locator('canvas.timeline-canvas');
  // The Report keeps the 50 largest gaps of each rank.
  const gapsOf = (rank: number) => Math.min(50, facts[rank].gaps);
  assert.deepEqual(await laneTexts(page), [
    `rank 0 · GPU 0 (${facts[0].name})`,
    `rank 1 · GPU 0 (${facts[1].name})`,
  ]);
  assert.match(
    (await canvas.getAttribute('aria-label')) ?? '',
    new RegExp(`on 2 lane\\(s\\), ${gapsOf(0) + gapsOf(1)} idle gap`),
  );
  const twoLanes = await canvas.evaluate((c: HTMLCanvasElement) => c.clientHeight);

  // Keyboard only: focus the selector, step from "All 2 ranks" to rank 0, then rank 1.
  const select = page.locator('select.rank-select');
  assert.deepEqual(await select.locator('option').allTextContents(), [
    'All 2 ranks',
    'rank 0',
    'rank 1',
  ]);
  await select.focus();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  await page.waitForFunction(() => document.querySelectorAll('.timeline-lane').length === 1);
  assert.deepEqual(await laneTexts(page), [`rank 1 · GPU 0 (${facts[1].name})`]);
  assert.match(
    (await canvas.getAttribute('aria-label')) ?? '',
    new RegExp(`on 1 lane\\(s\\), ${gapsOf(1)} idle gap`),
  );
  assert.ok((await canvas.evaluate((c: HTMLCanvasElement) => c.clientHeight)) < twoLanes);
  const devices = await visibleDevices(page);
  assert.equal(devices.length, 1);
  assert.match(devices[0], new RegExp(`^rank 1 · GPU 0 \\(${facts[1].name}\\)`));
  // Back to every rank.
  await page.keyboard.press('Home');
  await page.waitForFunction(() => document.querySelectorAll('.timeline-lane').length === 2);
  assert.equal((await visibleDevices(page)).length, 2);
  const csp = await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp);
  assert.deepEqual(csp, []);
  await page.close();
});

void test('straggler grid: the gloo job’s collectives × ranks with each rank’s lateness', async () => {
  const dir = ownFixture('ranks', 'gloo-torch');
  const ranks = [0, 1, 2, 3];
  const raw = ranks.map((r) => rawTorch(path.join(dir, `rank${r}.json.gz`)));
  const offsets = offsetsFrom(raw);
  const report = buildReport(await loadTrace(dir), { workspaceRoot: scenariosDir });
  const page = await pageWith(report, dir);
  const rows = page.locator('table.straggler-grid tbody tr');
  assert.deepEqual(
    await page.locator('table.straggler-grid thead th[data-rank]').allTextContents(),
    ranks.map((r) => `rank ${r}`),
  );
  // Every matched collective of the raw work records (the n-th of a kind on every rank): 6.
  const matched = [...raw[0].keys()].reduce(
    (n, kind) => n + Math.min(...raw.map((r) => r.get(kind)?.length ?? 0)),
    0,
  );
  assert.equal(await rows.count(), matched);
  for (let i = 0; i < matched; i++) {
    const row = rows.nth(i);
    const [kind, num] = ((await row.locator('th').textContent()) ?? '').split(' #');
    const starts = raw.map((r, rank) => (r.get(kind) ?? [])[Number(num) - 1][0] + offsets[rank]);
    const first = Math.min(...starts);
    const last = starts.indexOf(Math.max(...starts));
    const cells = await row.locator('td[data-rank]').allTextContents();
    assert.deepEqual(
      cells,
      starts.map((s, r) => `${r === last ? '◆ ' : ''}${formatNs(s - first)}`),
      `${kind} #${num}`,
    );
  }
  // One rank: its column only.
  const select = page.locator('select.rank-select');
  await select.focus();
  for (let k = 0; k < 3; k++) await page.keyboard.press('ArrowDown');
  await page.waitForFunction(
    () =>
      [...document.querySelectorAll<HTMLElement>('table.straggler-grid [data-rank]')].filter(
        (e) => !e.hidden,
      ).length === 7,
  );
  assert.deepEqual(
    await page.locator('table.straggler-grid thead th[data-rank]:not([hidden])').allTextContents(),
    ['rank 2'],
  );
  // Enter on the top row's call site reveals the collective's line.
  await rows.first().locator('button.link').focus();
  await page.keyboard.press('Enter');
  const posted = await page.evaluate(() => (window as unknown as { __posted: unknown[] }).__posted);
  assert.deepEqual(posted.at(-1), {
    type: 'reveal',
    file: 'gloo_straggler.py',
    line: lineOf('gloo_straggler.py', 'dist.all_reduce(y)'),
  });
  const csp = await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp);
  assert.deepEqual(csp, []);
  await page.close();
});

void test('lines across ranks: the straggler line first, its fastest and slowest rank from the raw operators', async () => {
  const dir = ownFixture('ranks', 'gloo-torch');
  const script = 'gloo_straggler.py';
  const line = lineOf(script, '# straggler work');
  const byRank = [0, 1, 2, 3].map((r) =>
    lineOpNs(path.join(dir, `rank${r}.json.gz`), script, line),
  );
  const slow = byRank.indexOf(Math.max(...byRank));
  const fast = byRank.indexOf(Math.min(...byRank));
  const report = buildReport(await loadTrace(dir), { workspaceRoot: scenariosDir });
  const page = await pageWith(report, dir);
  const first = page.locator('section.rank-spread tbody tr').first();
  assert.deepEqual(await first.locator('td').allTextContents(), [
    `${script}:${line}`,
    `${formatNs(byRank[fast])} (rank ${fast})`,
    formatNs(
      [...byRank]
        .sort((a, b) => a - b)
        .slice(1, 3)
        .reduce((a, b) => a + b) / 2,
    ),
    `${formatNs(byRank[slow])} (rank ${slow})`,
    formatNs(byRank[slow] - byRank[fast]),
  ]);
  await first.locator('button.link').focus();
  await page.keyboard.press('Enter');
  const posted = await page.evaluate(() => (window as unknown as { __posted: unknown[] }).__posted);
  assert.deepEqual(posted.at(-1), { type: 'reveal', file: script, line });
  await page.close();
});
