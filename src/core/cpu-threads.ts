/** CPU threads of a profile: calls and user ranges per thread, and the time they cover. */
import { sortByStart, unionOfSorted } from './intervals';
import type { Profile } from './model';
import type { CpuCalls } from './model-cpu-calls';

/** Key of a CPU thread across ranks. */
export function threadKey(x: { rank: number; pid: number; tid: number }): string {
  return `${x.rank}:${x.pid}:${x.tid}`;
}

/** Key of the thread of call i (threadKey of its rank, pid and tid). */
export const callThreadKey = (calls: CpuCalls, i: number): string =>
  calls.threads.key(calls.thread[i]);

/** Calls per block of ThreadCalls' running maximum of ends (one double per block, not per call). */
const BLOCK = 32;

/**
 * One CPU thread's calls in start order (indexes into Profile.cpuCalls) with the running maximum
 * of their ends per block of calls, for window queries on the thread's history: every call that
 * ends after `t` lies at or after `firstEndingAfter(t)` (binary search over the blocks, then a
 * scan of one block), so per-gap and per-range lookups do not rescan the whole thread (which made
 * reports quadratic in trace length).
 */
export class ThreadCalls {
  private blockMaxMemo: Float64Array | undefined;

  /** `idx` must be in start order (ties in trace order). */
  constructor(
    readonly calls: CpuCalls,
    readonly idx: Int32Array,
  ) {}

  get length(): number {
    return this.idx.length;
  }

  /**
   * The calls of this thread of one kind (a CpuCalls kind code), in the same order: counted, then
   * filled, so no array of the thread's length is made for a few.
   */
  ofKind(kind: number): ThreadCalls {
    const { calls, idx } = this;
    const kinds = calls.kind;
    let n = 0;
    for (let k = 0; k < idx.length; k++) if (kinds[idx[k]] === kind) n++;
    const out = new Int32Array(n);
    n = 0;
    for (let k = 0; k < idx.length; k++) if (kinds[idx[k]] === kind) out[n++] = idx[k];
    return new ThreadCalls(calls, out);
  }

  /**
   * The calls of this thread that put work on the GPU (CpuCalls.isLaunchLike), in the same order:
   * counted, then filled, so no array of the thread's length is made for them.
   */
  launches(): ThreadCalls {
    const { calls, idx } = this;
    let n = 0;
    for (let k = 0; k < idx.length; k++) if (calls.isLaunchLike(idx[k])) n++;
    const out = new Int32Array(n);
    n = 0;
    for (let k = 0; k < idx.length; k++) if (calls.isLaunchLike(idx[k])) out[n++] = idx[k];
    return new ThreadCalls(calls, out);
  }

  some(test: (i: number) => boolean): boolean {
    for (let n = 0; n < this.idx.length; n++) if (test(this.idx[n])) return true;
    return false;
  }

  /** Position (in `idx`) of the first call whose end, or an earlier call's end, is after `t`. */
  firstEndingAfter(t: number): number {
    // The first block whose running maximum passes t; every call before it ends by t, so the
    // answer is that block's first call ending after t.
    const blockMax = this.blockMax();
    let lo = 0;
    let hi = blockMax.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (blockMax[mid] > t) hi = mid;
      else lo = mid + 1;
    }
    if (lo === blockMax.length) return this.idx.length;
    const { endNs } = this.calls;
    let k = lo * BLOCK;
    while (endNs[this.idx[k]] <= t) k++;
    return k;
  }

  /** Indexes of the calls with endNs > from and startNs < to, in start order. */
  overlapping(from: number, to: number): number[] {
    const { startNs, endNs } = this.calls;
    const out: number[] = [];
    for (let k = this.firstEndingAfter(from); k < this.idx.length; k++) {
      const i = this.idx[k];
      if (startNs[i] >= to) break;
      if (endNs[i] > from) out.push(i);
    }
    return out;
  }

  /** Whether some call starts in [from, to). */
  anyStartIn(from: number, to: number): boolean {
    const { startNs } = this.calls;
    let lo = 0;
    let hi = this.idx.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (startNs[this.idx[mid]] >= from) hi = mid;
      else lo = mid + 1;
    }
    return lo < this.idx.length && startNs[this.idx[lo]] < to;
  }

  /** Running maximum of the calls' ends at the end of each block of BLOCK calls. */
  private blockMax(): Float64Array {
    if (!this.blockMaxMemo) {
      const { endNs } = this.calls;
      const m = new Float64Array(Math.ceil(this.idx.length / BLOCK));
      let max = -Infinity;
      for (let k = 0; k < this.idx.length; k++) {
        max = Math.max(max, endNs[this.idx[k]]);
        m[(k / BLOCK) | 0] = max;
      }
      this.blockMaxMemo = m;
    }
    return this.blockMaxMemo;
  }
}

/**
 * CPU calls per thread (threadKey), each in start order, the threads in order of their first call.
 * Built once per report by ProfileIndex (profile-index.ts).
 */
export function callsByThread(calls: CpuCalls): Map<string, ThreadCalls> {
  const { thread, startNs } = calls;
  const counts = new Int32Array(calls.threads.size);
  for (let i = 0; i < calls.length; i++) counts[thread[i]]++;
  const lists = Array.from(counts, (n) => new Int32Array(n));
  const filled = new Int32Array(counts.length);
  for (let i = 0; i < calls.length; i++) lists[thread[i]][filled[thread[i]]++] = i;
  // Threads in order of their first call, as callers iterate them.
  const order = Array.from(lists.keys())
    .filter((t) => counts[t] > 0)
    .sort((a, b) => lists[a][0] - lists[b][0]);
  const map = new Map<string, ThreadCalls>();
  for (const t of order) {
    const list = lists[t];
    // In trace order: runs sorted by start (a reader's tables one after another, per tiled copy).
    sortByStart(startNs, list);
    map.set(calls.threads.key(t), new ThreadCalls(calls, list));
  }
  return map;
}

/**
 * The union (nesting merged) of a kind of calls' parts inside a window, built call by call in
 * start order, and the longest of those calls (the first of equals), or -1.
 */
export class ClippedUnion {
  ns = 0;
  longest = -1;
  private longestNs = 0;
  private fromNs = 0;
  private toNs = -Infinity;

  constructor(
    private readonly windowStart: number,
    private readonly windowEnd: number,
  ) {}

  add(calls: CpuCalls, i: number): void {
    const dur = calls.endNs[i] - calls.startNs[i];
    if (this.longest < 0 || dur > this.longestNs) {
      this.longest = i;
      this.longestNs = dur;
    }
    const s = Math.max(calls.startNs[i], this.windowStart);
    const e = Math.min(calls.endNs[i], this.windowEnd);
    if (!(e > s)) return;
    if (s <= this.toNs) {
      if (e > this.toNs) this.toNs = e;
      return;
    }
    this.finish();
    this.fromNs = s;
    this.toNs = e;
  }

  /** Adds the open merged interval to `ns` (when a disjoint one starts; once after the last add). */
  finish(): void {
    if (this.toNs !== -Infinity) this.ns += this.toNs - this.fromNs;
  }
}

/**
 * Sum of the parts of the calls `idx` (in start order) that overlap [startNs, endNs), nesting
 * merged.
 */
export function overlapWithCalls(
  calls: CpuCalls,
  idx: readonly number[],
  startNs: number,
  endNs: number,
): number {
  const union = new ClippedUnion(startNs, endNs);
  for (let n = 0; n < idx.length; n++) {
    const i = idx[n];
    if (calls.startNs[i] >= endNs) break;
    union.add(calls, i);
  }
  union.finish();
  return union.ns;
}

/** Indexes of user ranges (Profile.ranges) per thread, sorted by start. */
export function userRangesByThread(profile: Profile): Map<string, number[]> {
  const map = new Map<string, number[]>();
  profile.ranges.forEach((r, idx) => {
    const key = threadKey(r);
    const list = map.get(key);
    if (list) list.push(idx);
    else map.set(key, [idx]);
  });
  for (const list of map.values())
    list.sort((a, b) => profile.ranges[a].startNs - profile.ranges[b].startNs);
  return map;
}

/** Framework operator CPU time (torch cpu_op ranges) per thread with nesting merged; 0 when none. */
export function topLevelOpNs(profile: Profile): number {
  const ops = profile.operators;
  // Operator indexes by thread (index into the table's threads: there can be millions).
  const byThread = new Map<number, number[]>();
  for (let i = 0; i < ops.length; i++) {
    const list = byThread.get(ops.thread[i]);
    if (list) list.push(i);
    else byThread.set(ops.thread[i], [i]);
  }
  const { startNs, endNs } = ops;
  let total = 0;
  for (const list of byThread.values()) {
    list.sort((a, b) => startNs[a] - startNs[b]);
    for (const i of unionOfSorted(startNs, endNs, list)) total += i.endNs - i.startNs;
  }
  return total;
}
