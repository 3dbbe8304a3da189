/**
 * UI test of the panel's kernel timeline in a real workbench (code-server + Chromium) on a real
 * H100 torch.profiler trace: its kernels are painted where the trace's own timestamps put them (and
 * nothing in the idle time between), a zoom down to one kernel still draws it, clicking a kernel
 * shows the launching line walked here from the trace's own stack and opens it, the keyboard steps
 * to the next kernel, and clicking the largest idle gap (found here from the raw events) shows its
 * length and cause; a kernel opens the drill-down pane of the lines that launched it; with the
 * keyboard alone, ] selects the first kernel and Enter opens its line; dragging pans; a kernel named
 * with markup shows as text.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { after, before, test } from 'node:test';
import type { FrameLocator, Locator } from 'playwright-core';
import { formatNs } from '../../src/core/format';
import { gpuEvents, launchStackLines, type TraceEvent } from '../unit/kineto-helpers';
import { BERT, makeWorkspace, readEvents } from './panel-workspace';
import { type CodeServer, harness, repoRoot, Session } from './session';

const events = readEvents(BERT);
const raw = events.traceEvents as TraceEvent[];
const spanOf = (e: TraceEvent): [number, number] => {
  const s = Math.round((e.ts ?? 0) * 1000);
  return [s, s + Math.round((e.dur ?? 0) * 1000)];
};
/** The stream's ops by start, and the launching line of each (innermost model frame of its stack). */
const ops = gpuEvents(raw).sort((a, b) => (a.ts ?? 0) - (b.ts ?? 0));
const launchLine = launchStackLines(raw, 'transformers/');
const lineOf = (e: TraceEvent) => launchLine.get(e.args?.correlation as number)?.[0] ?? null;
/** The longest kernel: wide enough to click at the whole run's zoom. */
const longest = ops
  .filter((e) => e.cat === 'kernel' && lineOf(e))
  .sort((a, b) => (b.dur ?? 0) - (a.dur ?? 0))[0];
/** The largest idle gap of the GPU: between consecutive ops of the union of their intervals. */
const gap = (() => {
  let best: [number, number] = [0, 0];
  let end = -Infinity;
  for (const e of ops) {
    const [s, en] = spanOf(e);
    if (end > -Infinity && s - end > best[1] - best[0]) best = [end, s];
    end = Math.max(end, en);
  }
  return best;
})();

let server: CodeServer;
let s: Session;
let folder: string;
let view: FrameLocator;
let canvas: Locator;

interface Layout {
  baseNs: number;
  t0: number;
  t1: number;
  left: number;
  width: number;
  rows: { row: string; label: string; y: number; h: number }[];
}

async function layout(): Promise<Layout> {
  const d = await canvas.evaluate((c) => ({ ...(c as HTMLCanvasElement).dataset }));
  return {
    baseNs: Number(d.baseNs),
    t0: Number(d.t0),
    t1: Number(d.t1),
    left: Number(d.plotLeft),
    width: Number(d.plotWidth),
    rows: JSON.parse(d.layout ?? '[]') as Layout['rows'],
  };
}

/** CSS px (in the canvas) of trace-clock ns `t`, and the middle of row `label`. */
function point(l: Layout, t: number, label: RegExp): { x: number; y: number } {
  const row = l.rows.find((r) => label.test(r.label));
  assert.ok(row, `a row ${label} among ${l.rows.map((r) => r.label).join(', ')}`);
  return { x: l.left + ((t - l.baseNs - l.t0) / (l.t1 - l.t0)) * l.width, y: row.y + row.h / 2 };
}

/** Alpha of the canvas pixels under CSS points (x, y) (0: nothing painted there). */
function alphasAt(points: { x: number; y: number }[]): Promise<number[]> {
  return canvas.evaluate((c, qs) => {
    const el = c as HTMLCanvasElement;
    const k = el.width / el.clientWidth; // device px per CSS px of the content box
    const ctx = el.getContext('2d')!;
    return qs.map((q) => ctx.getImageData(Math.round(q.x * k), Math.round(q.y * k), 1, 1).data[3]);
  }, points);
}

async function alphaAt(p: { x: number; y: number }): Promise<number> {
  return (await alphasAt([p]))[0];
}

/** Brings the panel to the front (it draws its Report again) and waits for the new timeline. */
async function showPanel(): Promise<void> {
  await canvas.evaluate((c) => c.setAttribute('data-old', ''));
  await s.runCommand('GPU Lens: Show Bottleneck Report');
  await s.until(
    'the timeline drawn again',
    async () =>
      (await view.locator('canvas.kt-canvas:not([data-old])').count()) > 0 &&
      (await layout()).rows.length > 0,
  );
}

/** A kernel name that is markup: the details must show it as text, and nothing may run. */
const HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>&amp;';

before(async () => {
  ({ folder } = makeWorkspace(events, 'bert.pt.trace.json.gz'));
  // The same trace with its longest kernel renamed to markup.
  const hostile = raw.map((e) => (e === longest ? { ...e, name: HOSTILE } : e));
  fs.writeFileSync(
    path.join(folder, 'hostile.pt.trace.json.gz'),
    zlib.gzipSync(JSON.stringify({ ...events, traceEvents: hostile })),
  );
  server = await (await harness()).startCodeServer({ folder, linkExtension: true });
  s = await Session.open(server.url, folder);
  view = s.webview();
  canvas = view.locator('canvas.kt-canvas');
});
after(async () => {
  await s?.close();
  await server?.stop();
  if (folder) fs.rmSync(folder, { recursive: true, force: true });
});

void test('the kernel timeline paints the trace’s kernels where their timestamps put them, and nothing in the idle gap', async () => {
  await s.explorerMenu('bert.pt.trace.json.gz', 'Open in GPU Lens');
  await s.waitForStatusBar(/bert\.pt\.trace\.json\.gz/);
  await s.runCommand('GPU Lens: Show Bottleneck Report');
  await s.waitForTab('GPU Lens');
  await s.webviewText(/Kernel timeline/, 60_000);
  await s.until('the first timeline window', async () => (await layout()).rows.length > 0);
  await canvas.scrollIntoViewIfNeeded();
  const l = await layout();
  const stream = /GPU 0 · stream 7$/;
  // The whole run, one by one: every op of the stream painted at its middle.
  const alphas = await alphasAt(
    ops.map((e) => point(l, (spanOf(e)[0] + spanOf(e)[1]) / 2, stream)),
  );
  ops.forEach((e, k) => assert.ok(alphas[k] > 0, `${e.name} at ${spanOf(e)[0]} is drawn`));
  // The middle of the largest gap is empty on the stream lane and coloured on the idle lane.
  const mid = (gap[0] + gap[1]) / 2;
  assert.equal(await alphaAt(point(l, mid, stream)), 0, 'nothing drawn in the idle gap');
  assert.ok((await alphaAt(point(l, mid, /GPU 0 idle/))) > 0, 'the gap is drawn on the idle lane');
});

void test('clicking a kernel shows the launching line of its own stack and opens it', async () => {
  const l = await layout();
  const [a, b] = spanOf(longest);
  const p = point(l, (a + b) / 2, /GPU 0 · stream 7$/);
  await canvas.click({ position: p });
  const expected = lineOf(longest)!;
  const link = view.locator('.kt-details .kt-launch');
  await s.until('the launching line in the details', async () =>
    (await link.count()) > 0 ? (await link.innerText()).trim() === expected : false,
  );
  assert.equal((await view.locator('.kt-details .kt-name').innerText()).trim(), longest.name);
  assert.match(await view.locator('.kt-details').innerText(), new RegExp(formatNs(b - a)));
  // The stack lists the recorded frames, the launching one among them.
  const frames = await view.locator('.kt-details .kt-stack li').allInnerTexts();
  assert.ok(
    frames.some((f) => f.endsWith(expected)),
    `stack ${frames.join(' | ')}`,
  );
  await link.click();
  const [file, line] = [expected.slice(0, expected.lastIndexOf(':')), expected.split(':').pop()];
  await s.waitForTab(path.basename(file));
  await s.waitForStatusBar(new RegExp(`Ln ${line}, Col 1`));
});

void test('a kernel in the timeline opens the lines that launched it (the drill-down pane), its own line among them', async () => {
  await showPanel();
  const [a, b] = spanOf(longest);
  await canvas.click({ position: point(await layout(), (a + b) / 2, /GPU 0 · stream 7$/) });
  const all = view.locator('.kt-details button', {
    hasText: 'All lines that launched this kernel',
  });
  await s.until('the kernel selected', async () => (await all.count()) > 0);
  await all.click();
  const pane = view.locator('section.drilldown');
  await s.waitVisible('the drill-down pane', pane);
  assert.equal(await pane.locator('h2').getAttribute('title'), longest.name);
  const refs = await pane
    .locator('li[data-ref]')
    .evaluateAll((els) => els.map((e) => e.getAttribute('data-ref') ?? ''));
  assert.ok(refs.includes(lineOf(longest)!), `${lineOf(longest)} among ${refs.join(', ')}`);
});

void test('keyboard: ] or [ steps to the next or previous op of the lane, + zooms in centred on it and it is still drawn', async () => {
  // The panel comes back to the front (and draws its Report again): select the kernel again.
  await showPanel();
  const [a0, b0] = spanOf(longest);
  await canvas.click({ position: point(await layout(), (a0 + b0) / 2, /GPU 0 · stream 7$/) });
  const k = ops.indexOf(longest);
  const forward = k + 1 < ops.length;
  const next = ops[forward ? k + 1 : k - 1];
  await canvas.press(forward ? ']' : '[');
  await s.until('the next op selected', async () =>
    (await view.locator('.kt-details .kt-name').count()) > 0
      ? (await view.locator('.kt-details .kt-name').innerText()).trim() === next.name
      : false,
  );
  const expected = lineOf(next);
  if (expected)
    assert.equal((await view.locator('.kt-details .kt-launch').innerText()).trim(), expected);
  // Zoom in around the selection until the view is within 20× the op.
  const [a, b] = spanOf(next);
  for (let i = 0; i < 40; i++) {
    const l = await layout();
    if (l.t1 - l.t0 <= Math.max(100, 20 * (b - a))) break;
    await canvas.press('+');
    await s.until(
      'the zoomed window',
      async () => (await layout()).t1 - (await layout()).t0 < l.t1 - l.t0,
    );
  }
  const l = await layout();
  assert.ok(l.t1 - l.t0 <= Math.max(100, 20 * (b - a)), 'zoomed down to the op');
  assert.ok(l.t0 <= a - l.baseNs && b - l.baseNs <= l.t1, 'the op is in view');
  assert.ok((await alphaAt(point(l, (a + b) / 2, /GPU 0 · stream 7$/))) > 0);
  await canvas.press('0');
  await s.until('the whole run again', async () => (await layout()).t0 === 0);
});

void test('clicking the largest idle gap shows its length and cause', async () => {
  await canvas.focus();
  await canvas.press('0');
  await s.until('the whole run', async () => (await layout()).t0 === 0);
  const l = await layout();
  await canvas.click({ position: point(l, (gap[0] + gap[1]) / 2, /GPU 0 idle/) });
  const details = view.locator('.kt-details');
  await s.until(
    'the gap in the details',
    async () => (await details.getAttribute('data-selected')) === 'gap',
  );
  const text = await details.innerText();
  assert.match(text, new RegExp(`idle ${formatNs(gap[1] - gap[0])}`));
  // The op after the gap was launched only after the gap began, by a short launch call: the CPU
  // was late to launch it (the raw events say so), which is the cause shown.
  const after = ops.find((e) => spanOf(e)[0] === gap[1])!;
  const launch = raw.find(
    (e) =>
      (e.cat === 'cuda_runtime' || e.cat === 'cuda_driver') &&
      e.args?.correlation === after.args?.correlation,
  )!;
  const launchStart = Math.round((launch.ts ?? 0) * 1000);
  assert.ok(launchStart > gap[0], 'the launch call began inside the gap');
  assert.ok(Math.round((launch.dur ?? 0) * 1000) < (gap[1] - gap[0]) / 2, 'a short launch call');
  assert.match(await view.locator('.kt-details .kt-cause').innerText(), /late launch/);
});

void test('keyboard only: from the whole run, ] selects the stream’s first kernel and Enter opens its launching line', async () => {
  await canvas.focus();
  await canvas.press('0');
  await s.until('the whole run', async () => (await layout()).t0 === 0);
  const first = ops.find((e) => lineOf(e))!;
  assert.equal(first, ops[0], 'the first op of the stream has a model line');
  await canvas.press(']');
  await s.until('the first kernel selected', async () =>
    (await view.locator('.kt-details .kt-name').count()) > 0
      ? (await view.locator('.kt-details .kt-name').innerText()).trim() === first.name
      : false,
  );
  const expected = lineOf(first)!;
  assert.match(await view.locator('.kt-status').innerText(), new RegExp(`launched at ${expected}`));
  await s.page.locator('iframe.webview.ready').screenshot({
    path: path.join(repoRoot, 'test-results', 'kernel-timeline.png'),
  });
  await canvas.press('Enter');
  const [file, line] = [expected.slice(0, expected.lastIndexOf(':')), expected.split(':').pop()];
  await s.waitForTab(path.basename(file));
  await s.waitForStatusBar(new RegExp(`Ln ${line}, Col 1`));
});

void test('dragging pans the view by as much time as the pointer moved over the plot', async () => {
  await showPanel();
  await canvas.scrollIntoViewIfNeeded();
  await canvas.focus();
  await canvas.press('0');
  await s.until('the whole run', async () => (await layout()).t0 === 0);
  for (let i = 0; i < 3; i++) await canvas.press('+');
  await s.until('zoomed in', async () => (await layout()).t1 - (await layout()).t0 < 1e6);
  const before = await layout();
  const box = (await canvas.boundingBox())!;
  const y = box.y + before.rows[before.rows.length - 1].y + 4;
  const x = box.x + before.left + before.width / 2;
  await s.page.mouse.move(x, y);
  await s.page.mouse.down();
  await s.page.mouse.move(x - 100, y, { steps: 5 });
  await s.page.mouse.up();
  const expected = (100 / before.width) * (before.t1 - before.t0);
  // The answers of the drag's moves come in one by one: wait for the last one's window.
  await s.until(
    `the window panned by ${expected} ns`,
    async () => Math.abs((await layout()).t0 - before.t0 - expected) <= 0.05 * expected,
  );
  const after = await layout();
  const [was, now] = [before.t1 - before.t0, after.t1 - after.t0];
  assert.ok(Math.abs(now - was) <= 1e-6 * was, `the zoom stays: ${was} ns wide, now ${now}`);
});

void test('a kernel named with markup is shown as its text in the details, and nothing runs', async () => {
  await s.explorerMenu('hostile.pt.trace.json.gz', 'Open in GPU Lens');
  await s.waitForStatusBar(/hostile\.pt\.trace\.json\.gz/);
  await showPanel();
  await canvas.focus();
  await canvas.press('0');
  await s.until('the whole run', async () => (await layout()).t0 === 0);
  const [a, b] = spanOf(longest);
  await canvas.click({ position: point(await layout(), (a + b) / 2, /GPU 0 · stream 7$/) });
  const name = view.locator('.kt-details .kt-name');
  await s.until('the hostile kernel selected', async () =>
    (await name.count()) > 0 ? (await name.textContent()) === HOSTILE : false,
  );
  assert.equal(await view.locator('.kt-details img, .kt-details script').count(), 0);
  assert.equal(
    await canvas.evaluate(() => (window as unknown as { __pwned?: number }).__pwned),
    undefined,
  );
});
