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
 * unionIntervals of the spans `idx` picks from the `starts` / `ends` columns, `idx` in start order,
 * as objects (IntervalList.ofSorted has the columnar union).
 */
export function unionOfSorted(
  starts: Float64Array,
  ends: Float64Array,
  idx: ArrayLike<number>,
): Interval[] {
  const merged = IntervalList.ofSorted(starts, ends, idx);
  const out = new Array<Interval>(merged.length);
  for (let k = 0; k < merged.length; k++)
    out[k] = { startNs: merged.starts[k], endNs: merged.ends[k] };
  return out;
}

/**
 * A merged union of [start, end) intervals as two columns: interval k is [starts[k], ends[k]), in
 * start order, none overlapping or touching the next, so the ends ascend too. The idle gap before
 * interval k (k ≥ 1) is [ends[k - 1], starts[k]). A device's busy time takes this form because a
 * trace whose GPU ops are all apart has one interval per op: millions of {startNs, endNs} objects
 * cost hundreds of MB and seconds of garbage collection, two columns cost 16 bytes an interval.
 */
export class IntervalList {
  static readonly EMPTY = new IntervalList(new Float64Array(0), new Float64Array(0));
  readonly length: number;

  /** `starts` / `ends` must already be a merged union (ofSorted and union build them). */
  constructor(
    readonly starts: Float64Array,
    readonly ends: Float64Array,
  ) {
    this.length = starts.length;
  }

  /**
   * The union of the spans `idx` picks from the `starts` / `ends` columns, `idx` in start order (a
   * device's ops): reversed spans are dropped, the rest merged as unionIntervals merges them.
   */
  static ofSorted(starts: Float64Array, ends: Float64Array, idx: ArrayLike<number>): IntervalList {
    // A range of rows none of which overlaps or touches the next (a device's ops in device order,
    // model-op-order.ts) is its own union: views of the columns, no copy.
    if (isApartRange(starts, ends, idx)) {
      const from = idx[0];
      const to = from + idx.length;
      return new IntervalList(starts.subarray(from, to), ends.subarray(from, to));
    }
    const outStarts = new Float64Array(idx.length);
    const outEnds = new Float64Array(idx.length);
    let n = 0;
    for (let k = 0; k < idx.length; k++) {
      const s = starts[idx[k]];
      const e = ends[idx[k]];
      if (!(e >= s)) continue;
      if (n > 0 && s <= outEnds[n - 1]) {
        if (e > outEnds[n - 1]) outEnds[n - 1] = e;
      } else {
        outStarts[n] = s;
        outEnds[n] = e;
        n++;
      }
    }
    // Apart spans (the common case at scale) fill the columns: only merged ones leave rows to drop.
    return n === idx.length
      ? new IntervalList(outStarts, outEnds)
      : new IntervalList(outStarts.slice(0, n), outEnds.slice(0, n));
  }

  /** The union of several merged lists (a rank's devices): each list is one sorted run to merge. */
  static union(lists: readonly IntervalList[]): IntervalList {
    const total = lists.reduce((n, l) => n + l.length, 0);
    const starts = new Float64Array(total);
    const ends = new Float64Array(total);
    let at = 0;
    for (const l of lists) {
      starts.set(l.starts, at);
      ends.set(l.ends, at);
      at += l.length;
    }
    const idx = new Int32Array(total);
    for (let k = 0; k < total; k++) idx[k] = k;
    sortByStart(starts, idx);
    return IntervalList.ofSorted(starts, ends, idx);
  }

  /** Total length of the intervals, summed in start order. */
  totalNs(): number {
    let total = 0;
    for (let k = 0; k < this.length; k++) total += this.ends[k] - this.starts[k];
    return total;
  }

  /** Index of the first interval ending after `t` (this.length when none does). */
  firstEndingAfter(t: number): number {
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.ends[mid] > t) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** Length of the overlap of [startNs, endNs) with the union (binary search, then a walk). */
  overlapNs(startNs: number, endNs: number): number {
    let total = 0;
    for (let k = this.firstEndingAfter(startNs); k < this.length && this.starts[k] < endNs; k++)
      total += Math.min(endNs, this.ends[k]) - Math.max(startNs, this.starts[k]);
    return total;
  }

  /**
   * Idle time from `ts` until the next interval starts: 0 when `ts` lies in an interval or after
   * the last one (for a GPU's busy union: it was busy, or nothing was waiting for it).
   */
  idleAfter(ts: number): number {
    const k = this.firstEndingAfter(ts);
    if (k >= this.length || this.starts[k] <= ts) return 0;
    return this.starts[k] - ts;
  }
}

/** Whether `idx` is rows idx[0], idx[0] + 1, … whose spans are well formed and apart. */
function isApartRange(starts: Float64Array, ends: Float64Array, idx: ArrayLike<number>): boolean {
  if (idx.length === 0) return false;
  const first = idx[0];
  let prevEnd = -Infinity;
  for (let k = 0; k < idx.length; k++) {
    const i = first + k;
    if (idx[k] !== i || !(ends[i] >= starts[i]) || !(starts[i] > prevEnd)) return false;
    prevEnd = ends[i];
  }
  return true;
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

/** The gaps between consecutive intervals of a union, one object each (for small unions). */
export function gapsBetween(merged: IntervalList): Interval[] {
  const gaps: Interval[] = [];
  for (let k = 1; k < merged.length; k++)
    gaps.push({ startNs: merged.ends[k - 1], endNs: merged.starts[k] });
  return gaps;
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
