/**
 * The busy union keeps zero-duration GPU ops as separators: the V100 ResNet-50 trace has hundreds
 * of kernels Kineto wrote with `dur: 0` (under its 1 µs clock), each of which ends one idle gap and
 * starts the next. The expected gaps are computed here from the raw events.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type Interval,
  IntervalList,
  gapsBetween,
  sortByStart,
  unionIntervals,
} from '../../src/core/intervals';
import { deviceTimelines } from '../../src/core/device-timelines';
import { readFixture } from './rule-helpers';
import { fixture } from './fixtures';
import { durNs, loadTrace, gpuEvents } from './kineto-helpers';

const V100 = 'v100-resnet50-legacy-callstack.pt.trace.json.gz';

void test('busy union (V100 ResNet-50): zero-duration kernels split the idle gaps around them, as the raw events say', async () => {
  const { events } = loadTrace(fixture('torch', V100));
  const gpu = gpuEvents(events);
  const zero = gpu.filter((e) => durNs(e) === 0).length;
  assert.ok(zero > 0, 'the trace has zero-duration GPU ops');
  // Whole µs: relative to the first op, in ns.
  const base = Math.min(...gpu.map((e) => e.ts ?? 0));
  const spans = gpu
    .map((e): [number, number] => [
      ((e.ts ?? 0) - base) * 1000,
      ((e.ts ?? 0) - base) * 1000 + durNs(e),
    ])
    .sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const [s, e] of spans) {
    const last = merged[merged.length - 1];
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else merged.push([s, e]);
  }
  const rawGaps = merged.slice(1).map(([s], k) => `${merged[k][1]}+${s - merged[k][1]}`);

  const profile = await readFixture('torch', V100);
  const [tl] = deviceTimelines(profile);
  assert.equal(deviceTimelines(profile).length, 1);
  const first = tl.firstNs;
  const ours = gapsBetween(tl.busy).map((g) => `${g.startNs - first}+${g.endNs - g.startNs}`);
  assert.deepEqual(ours, rawGaps);
  // Without the zero-length ops the same trace has fewer, longer gaps: they do separate.
  const { startNs, endNs } = profile.gpuOps;
  const longer = tl.ops.filter((i) => endNs[i] > startNs[i]);
  const dropped = IntervalList.ofSorted(startNs, endNs, longer);
  assert.ok(gapsBetween(dropped).length < ours.length);
});

void test('unionIntervals: a zero-length interval inside a gap splits it, one touching a busy interval merges', () => {
  const merged = unionIntervals([
    { startNs: 0, endNs: 10 },
    { startNs: 10, endNs: 10 },
    { startNs: 15, endNs: 15 },
    { startNs: 20, endNs: 30 },
    { startNs: 25, endNs: 25 },
    { startNs: 40, endNs: 35 },
  ]);
  assert.deepEqual(
    merged.map((i) => [i.startNs, i.endNs]),
    [
      [0, 10],
      [15, 15],
      [20, 30],
    ],
  );
});

void test('sortByStart: sorts indexes as a stable comparator sort does (runs, ties, any order)', () => {
  // A small LCG: the same pseudo-random inputs on every run.
  let seed = 7;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  const cases: number[][] = [
    [],
    [5],
    [1, 2, 3],
    [3, 2, 1],
    [0, 4, 4, 8, 1, 4, 9, 0, 4], // three runs with ties across them
    Array.from({ length: 500 }, () => rand(50)), // many short runs, many ties
    [
      ...Array.from({ length: 300 }, (_, k) => k * 2),
      ...Array.from({ length: 200 }, (_, k) => k * 3),
    ],
    // Tiles of two overlapping runs each, one after another (a tiled trace's shape), with ties
    // at the tiles' edges and a tile that overlaps the next.
    ...[0, 1].map((overlap) =>
      Array.from({ length: 40 }, (_, tile) => [
        ...Array.from({ length: 7 }, (_, k) => tile * 100 + k * 10),
        ...Array.from(
          { length: 5 },
          (_, k) => tile * 100 + k * 12 + 3 + (tile === 9 ? overlap * 140 : 0),
        ),
      ]).flat(),
    ),
  ];
  for (const values of cases) {
    const starts = Float64Array.from(values);
    const idx = Int32Array.from(values.keys());
    const expected = Array.from(idx).sort((a, b) => starts[a] - starts[b] || a - b);
    sortByStart(starts, idx);
    assert.deepEqual(Array.from(idx), expected);
  }
});

void test('IntervalList: ofSorted and union merge as unionIntervals does; overlapNs and idleAfter agree with a scan', () => {
  let seed = 11;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  // Three "devices" of spans in start order, some zero-length, some reversed, some touching.
  const devices = [0, 1, 2].map(() => {
    const spans: Interval[] = [];
    let t = 0;
    for (let k = 0; k < 200; k++) {
      t += rand(6);
      spans.push({ startNs: t, endNs: t + rand(8) - 1 });
    }
    return spans;
  });
  const columns = (spans: Interval[]) => ({
    starts: Float64Array.from(spans, (s) => s.startNs),
    ends: Float64Array.from(spans, (s) => s.endNs),
    idx: Int32Array.from(spans.keys()),
  });
  const pairs = (l: IntervalList) => Array.from(l.starts, (s, k) => [s, l.ends[k]]);
  const lists = devices.map((spans) => {
    const { starts, ends, idx } = columns(spans);
    const list = IntervalList.ofSorted(starts, ends, idx);
    assert.deepEqual(
      pairs(list),
      unionIntervals(spans).map((i) => [i.startNs, i.endNs]),
    );
    return list;
  });
  const all = unionIntervals(devices.flat());
  const union = IntervalList.union(lists);
  assert.deepEqual(
    pairs(union),
    all.map((i) => [i.startNs, i.endNs]),
  );
  assert.equal(
    union.totalNs(),
    all.reduce((s, i) => s + i.endNs - i.startNs, 0),
  );
  for (let q = 0; q < 300; q++) {
    const from = rand(500);
    const to = from + rand(40);
    const overlap = all.reduce(
      (s, i) => s + Math.max(0, Math.min(to, i.endNs) - Math.max(from, i.startNs)),
      0,
    );
    assert.equal(union.overlapNs(from, to), overlap, `overlap of [${from}, ${to})`);
    const inside = all.some((i) => i.startNs <= from && i.endNs > from);
    const next = all.find((i) => i.startNs > from);
    assert.equal(
      union.idleAfter(from),
      inside || !next ? 0 : next.startNs - from,
      `idle after ${from}`,
    );
  }
  assert.equal(IntervalList.EMPTY.overlapNs(0, 10), 0);
  assert.equal(IntervalList.EMPTY.idleAfter(5), 0);
});
