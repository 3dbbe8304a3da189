/** Interval arithmetic on [start, end) ns intervals: unions, busy time, idle gaps. */

export interface Interval {
  startNs: number;
  endNs: number;
}

/**
 * Merges overlapping or touching intervals; returns a new sorted array (of new objects).
 * Zero-length intervals are kept where they touch nothing: a GPU op shorter than the clock's
 * resolution (Kineto writes µs, so `dur: 0`) still ran, and it splits the idle time around it
 * into two gaps. Reversed intervals (end before start) are dropped.
 */
export function unionIntervals(intervals: readonly Interval[]): Interval[] {
  // Sorts references and copies only the merged intervals: the inputs may be millions of ops, and
  // are often already sorted and well-formed (a device's ops): then they are used as they are.
  const sorted = isSortedWellFormed(intervals)
    ? intervals
    : intervals.filter((i) => i.endNs >= i.startNs).sort((a, b) => a.startNs - b.startNs);
  const out: Interval[] = [];
  let last: Interval | undefined;
  for (const i of sorted) {
    if (last && i.startNs <= last.endNs) {
      if (i.endNs > last.endNs) last.endNs = i.endNs;
    } else {
      last = { startNs: i.startNs, endNs: i.endNs };
      out.push(last);
    }
  }
  return out;
}

/**
 * unionIntervals of the spans `idx` picks from the `starts` / `ends` columns, `idx` in start order
 * (a device's ops): reversed spans are dropped, the rest merged as unionIntervals merges them.
 */
export function unionOfSorted(
  starts: Float64Array,
  ends: Float64Array,
  idx: ArrayLike<number>,
): Interval[] {
  const out: Interval[] = [];
  let last: Interval | undefined;
  for (let k = 0; k < idx.length; k++) {
    const s = starts[idx[k]];
    const e = ends[idx[k]];
    if (!(e >= s)) continue;
    if (last && s <= last.endNs) {
      if (e > last.endNs) last.endNs = e;
    } else {
      last = { startNs: s, endNs: e };
      out.push(last);
    }
  }
  return out;
}

/** Whether no interval ends before it starts and none starts before the previous one. */
function isSortedWellFormed(intervals: readonly Interval[]): boolean {
  let prev = -Infinity;
  for (const i of intervals) {
    if (!(i.endNs >= i.startNs) || !(i.startNs >= prev)) return false;
    prev = i.startNs;
  }
  return true;
}

/** Total length of a union (input need not be merged). */
export function busyNs(intervals: readonly Interval[]): number {
  let total = 0;
  for (const i of unionIntervals(intervals)) total += i.endNs - i.startNs;
  return total;
}

/** Gaps between consecutive intervals of a merged, sorted union. */
export function gapsBetween(merged: readonly Interval[]): Interval[] {
  const gaps: Interval[] = [];
  for (let k = 1; k < merged.length; k++) {
    gaps.push({ startNs: merged[k - 1].endNs, endNs: merged[k].startNs });
  }
  return gaps;
}

/** Length of the overlap of [a) with a merged, sorted union (binary search, then a walk). */
export function overlapNs(a: Interval, merged: readonly Interval[]): number {
  let lo = 0;
  let hi = merged.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (merged[mid].endNs <= a.startNs) lo = mid + 1;
    else hi = mid;
  }
  let total = 0;
  for (let k = lo; k < merged.length && merged[k].startNs < a.endNs; k++) {
    total += Math.min(a.endNs, merged[k].endNs) - Math.max(a.startNs, merged[k].startNs);
  }
  return total;
}

/**
 * Sorts span indexes `idx` by `starts[idx[k]]`, in place and stable (ties keep their order): a
 * natural merge sort. Traces' rows are mostly a few runs already in start order (a reader appends
 * kernels, then copies; tiled exports repeat the runs), so merging the runs pairwise costs a few
 * linear passes where a comparator sort of millions of rows cost seconds. Any order sorts (more
 * runs, more passes); `idx` already sorted costs one pass.
 */
export function sortByStart(starts: Float64Array, idx: Int32Array): void {
  let runs = runBounds(starts, idx);
  if (runs.length <= 2) return;
  let from: Int32Array = idx;
  let to: Int32Array = new Int32Array(idx.length);
  while (runs.length > 2) {
    const next = [0];
    // Merges runs pairwise; an odd last run is copied as it is.
    for (let r = 0; r + 1 < runs.length; r += 2) {
      const end = runs[Math.min(r + 2, runs.length - 1)];
      mergeRuns(starts, from, to, runs[r], runs[r + 1], end);
      next.push(end);
    }
    [from, to] = [to, from];
    runs = next;
  }
  if (from !== idx) idx.set(from);
}

/** Where each run of `idx` ascending by start begins, then idx.length. */
function runBounds(starts: Float64Array, idx: Int32Array): number[] {
  const bounds = [0];
  for (let k = 1; k < idx.length; k++) if (starts[idx[k]] < starts[idx[k - 1]]) bounds.push(k);
  bounds.push(idx.length);
  return bounds;
}

/** Merges from[lo, mid) and from[mid, hi), each sorted, into to[lo, hi); ties take the left run. */
function mergeRuns(
  starts: Float64Array,
  from: Int32Array,
  to: Int32Array,
  lo: number,
  mid: number,
  hi: number,
): void {
  // The left run's part before the right run's first start is copied as it is (neighbouring runs
  // of a tiled trace overlap only partly), as is what is left of either run at the end.
  let a = lo;
  let top = mid;
  const first = starts[from[mid]];
  while (a < top) {
    const m = (a + top) >> 1;
    if (starts[from[m]] <= first) a = m + 1;
    else top = m;
  }
  to.set(from.subarray(lo, a), lo);
  let b = mid;
  let k = a;
  while (a < mid && b < hi) to[k++] = starts[from[b]] < starts[from[a]] ? from[b++] : from[a++];
  to.set(from.subarray(a, mid), k);
  to.set(from.subarray(b, hi), k + mid - a);
}
