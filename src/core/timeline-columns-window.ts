/**
 * Window queries over a trace's timeline columns (timeline-columns.ts), for the panel's kernel
 * timeline: per lane either the ops in a time window, when few enough to draw one by one, or one
 * aggregate per pixel (the busy fraction of the union of the lane's ops there, and the longest op in
 * it). Answers are bounded whatever the trace: at most MAX_PIXELS pixels, MAX_LANES lanes and
 * MAX_OPS single ops; the columns themselves never leave the server.
 */
import {
  BLOCK,
  type LaneAggregate,
  type LaneOps,
  type LaunchSite,
  type OpAnswer,
  type OpQuery,
  type TimelineAnswer,
  type TimelineColumns,
  type TimelineQuery,
  type WindowAnswer,
  type WindowLane,
  type WindowQuery,
} from './timeline-columns-types';

export const MAX_PIXELS = 4096;
export const MAX_LANES = 256;
/** Single ops in one answer, all lanes together; a lane that would go over is aggregated. */
export const MAX_OPS = 10_000;

/** Answers a query; out-of-range numbers are clamped, never an error. */
export function queryTimeline(c: TimelineColumns, q: TimelineQuery): TimelineAnswer {
  return q.kind === 'op' ? queryOp(c, q) : queryWindow(c, q);
}

/** First index in [lo, hi) whose value is >= x, in a non-decreasing array. */
function firstAtLeast(a: Float64Array, x: number, lo: number, hi: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] >= x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

const finite = (x: unknown, fallback: number): number =>
  typeof x === 'number' && Number.isFinite(x) ? x : fallback;

/**
 * The index range of a lane's ops that may reach into [t0, t1): from the first whose running
 * maximum end passes t0 to the last starting before t1 (ops in between that ended before t0 are
 * skipped by the callers; with nested ranges there are a few).
 */
function laneSlice(c: TimelineColumns, lane: number, t0: number, t1: number): [number, number] {
  const lo = c.laneStart[lane];
  const hi = c.laneStart[lane + 1];
  // From the first op reaching t0 (a zero-length op at t0 ran too, only below the clock's
  // resolution) to the last one starting before t1. The running end is end[reach[i]].
  let from = lo;
  let top = hi;
  while (from < top) {
    const mid = (from + top) >>> 1;
    if (c.end[c.reach[mid]] >= t0) top = mid;
    else from = mid + 1;
  }
  return [from, firstAtLeast(c.start, t1, from, hi)];
}

function queryWindow(c: TimelineColumns, q: WindowQuery): WindowAnswer {
  const pixels = Math.max(1, Math.min(MAX_PIXELS, Math.floor(finite(q.pixels, 1))));
  let t0 = Math.max(0, finite(q.t0, 0));
  let t1 = Math.min(c.spanNs, finite(q.t1, c.spanNs));
  if (!(t1 > t0)) [t0, t1] = [Math.min(t0, c.spanNs), Math.min(t0, c.spanNs) + 1];
  const wanted = (Array.isArray(q.lanes) ? q.lanes : c.lanes.map((_, i) => i))
    .filter((l) => Number.isInteger(l) && l >= 0 && l < c.lanes.length)
    .slice(0, MAX_LANES);
  const names: Record<number, string> = {};
  const sites: Record<number, LaunchSite> = {};
  const rows: WindowLane[] = [];
  let budget = MAX_OPS;
  for (const lane of wanted) {
    const [from, to] = laneSlice(c, lane, t0, t1);
    const count = to - from;
    // One by one while they average at least two pixels each and the answer has room.
    if (count <= pixels / 2 && count <= budget) {
      budget -= count;
      const ops = laneOps(c, lane, from, to, t0, names, sites);
      rows.push({ lane, count: ops.index.length, ops });
    } else {
      const agg = aggregate(c, lane, t0, t1, pixels);
      for (const id of agg.top) if (id >= 0) names[id] = c.names[id];
      rows.push({ lane, count, agg });
    }
  }
  return {
    kind: 'window',
    baseNs: c.baseNs,
    spanNs: c.spanNs,
    t0,
    t1,
    pixels,
    lanes: c.lanes,
    rows,
    names,
    sites,
  };
}

function laneOps(
  c: TimelineColumns,
  lane: number,
  from: number,
  to: number,
  t0: number,
  names: Record<number, string>,
  sites: Record<number, LaunchSite>,
): LaneOps {
  const ops: LaneOps = { index: [], start: [], end: [], name: [], kind: [], site: [] };
  const first = c.laneStart[lane];
  for (let i = from; i < to; i++) {
    if (c.end[i] < t0 || (c.end[i] === t0 && c.start[i] < t0)) continue;
    ops.index.push(i - first);
    ops.start.push(c.start[i]);
    ops.end.push(c.end[i]);
    ops.name.push(c.name[i]);
    ops.kind.push(c.kind[i]);
    ops.site.push(c.site[i]);
    names[c.name[i]] = c.names[c.name[i]];
    if (c.site[i] >= 0) sites[c.site[i]] = c.sites[c.site[i]];
  }
  return ops;
}

/**
 * Per pixel of [t0, t1): the busy fraction of the union of the lane's ops there, from the
 * cumulative union column (exact, two binary searches per pixel boundary, whatever the number of
 * ops), and the longest op starting in the pixel, else the op running at its start (block maxima:
 * at most 2·BLOCK ops and a few blocks per pixel). `from`/`to` is the lane's slice (laneSlice).
 */
export function aggregate(
  c: TimelineColumns,
  lane: number,
  t0: number,
  t1: number,
  pixels: number,
): LaneAggregate {
  const lo = c.laneStart[lane];
  const hi = c.laneStart[lane + 1];
  const px = (t1 - t0) / pixels;
  const busy = new Array<number>(pixels);
  const top = new Array<number>(pixels);
  // k: the index of the first op starting at or after the pixel's start.
  let k = firstAtLeast(c.start, t0, lo, hi);
  let before = unionBefore(c, lo, k, t0);
  for (let p = 0; p < pixels; p++) {
    const end = p === pixels - 1 ? t1 : t0 + (p + 1) * px;
    const next = firstAtLeast(c.start, end, k, hi);
    const after = unionBefore(c, lo, next, end);
    // Rounded to 1e-4: the answer travels as JSON, and a pixel cannot show finer shades.
    busy[p] = Math.min(1, Math.round(((after - before) / px) * 1e4) / 1e4);
    let best = next > k ? longestIn(c, k, next) : -1;
    if (best < 0 && k > lo) {
      const running = c.reach[k - 1];
      if (c.end[running] > t0 + p * px) best = running;
    }
    top[p] = best >= 0 ? c.name[best] : -1;
    k = next;
    before = after;
  }
  return { busy, top };
}

/** Union length of the lane's ops before t; `k` is the first op of the lane starting at or after t. */
function unionBefore(c: TimelineColumns, lo: number, k: number, t: number): number {
  if (k <= lo) return 0;
  return c.union[k - 1] - Math.max(0, c.end[c.reach[k - 1]] - t);
}

/** Index of the longest op in [i, j) (j > i), through the block maxima (first of equals). */
function longestIn(c: TimelineColumns, i: number, j: number): number {
  const { start, end, blockLongest, superLongest } = c;
  let best = i;
  let bestLen = end[i] - start[i];
  const SUPER = BLOCK * BLOCK;
  while (i < j) {
    let x: number;
    if (i % SUPER === 0 && i + SUPER <= j) {
      x = superLongest[i / SUPER];
      i += SUPER;
    } else if (i % BLOCK === 0 && i + BLOCK <= j) {
      x = blockLongest[i / BLOCK];
      i += BLOCK;
    } else x = i++;
    const len = end[x] - start[x];
    if (len > bestLen || (len === bestLen && x < best)) [best, bestLen] = [x, len];
  }
  return best;
}

function queryOp(c: TimelineColumns, q: OpQuery): OpAnswer {
  const lane = Number.isInteger(q.lane) && q.lane >= 0 && q.lane < c.lanes.length ? q.lane : -1;
  if (lane < 0) return { kind: 'op', baseNs: c.baseNs, lane: q.lane, laneCount: 0, op: null };
  const lo = c.laneStart[lane];
  const hi = c.laneStart[lane + 1];
  let i: number;
  if (q.index !== undefined) i = lo + Math.floor(finite(q.index, -1));
  else i = firstAtLeast(c.start, finite(q.atNs, 0), lo, hi);
  const op =
    i >= lo && i < hi
      ? {
          index: i - lo,
          start: c.start[i],
          end: c.end[i],
          name: c.names[c.name[i]],
          kind: c.kind[i],
          site: c.site[i] >= 0 ? c.sites[c.site[i]] : null,
        }
      : null;
  return { kind: 'op', baseNs: c.baseNs, lane, laneCount: hi - lo, op };
}
