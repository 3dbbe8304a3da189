/** Helpers shared by the bottleneck rules: GPU timelines per device, locations, number formatting. */
import type { CpuCall, CpuRange, GpuOp, Profile } from '../model';
import { type Interval, unionIntervals } from '../intervals';
import type { SourceRef } from '../report-types';
import type { RuleContext } from './types';

/** One GPU's timeline: its ops in start order and the merged union of their busy intervals. */
export interface DeviceTimeline {
  rank: number;
  deviceId: number;
  ops: GpuOp[];
  busy: Interval[];
  busyNs: number;
  firstNs: number;
  lastNs: number;
}

/**
 * Memo of deviceTimelines and callsByThread per input array: several rules and the report ask for
 * the same grouping of millions of ops. The length check drops a memo when the array has grown.
 */
const timelineMemo = new WeakMap<readonly GpuOp[], { n: number; value: DeviceTimeline[] }>();
const threadMemo = new WeakMap<readonly CpuCall[], { n: number; value: Map<string, CpuCall[]> }>();
const rankBusyMemo = new WeakMap<readonly GpuOp[], { n: number; value: Map<number, Interval[]> }>();

/**
 * Groups GPU ops (kernels, copies, memsets) per (rank, device) and merges their intervals. The
 * result is shared between callers (memoized per profile): treat it as read-only.
 */
export function deviceTimelines(profile: Profile): DeviceTimeline[] {
  const memo = timelineMemo.get(profile.gpuOps);
  if (memo && memo.n === profile.gpuOps.length) return memo.value;
  const value = computeDeviceTimelines(profile);
  timelineMemo.set(profile.gpuOps, { n: profile.gpuOps.length, value });
  return value;
}

function computeDeviceTimelines(profile: Profile): DeviceTimeline[] {
  const groups = new Map<string, GpuOp[]>();
  // Consecutive ops are mostly on the same device: reuse its list instead of a key string per op.
  let last: GpuOp | null = null;
  let list: GpuOp[] = [];
  for (const op of profile.gpuOps) {
    if (!last || op.deviceId !== last.deviceId || op.rank !== last.rank) {
      const key = `${op.rank}:${op.deviceId}`;
      const found = groups.get(key);
      if (found) list = found;
      else groups.set(key, (list = []));
      last = op;
    }
    list.push(op);
  }
  const out: DeviceTimeline[] = [];
  for (const ops of groups.values()) {
    ops.sort((a, b) => a.startNs - b.startNs);
    const busy = unionIntervals(ops);
    let busyNs = 0;
    for (const i of busy) busyNs += i.endNs - i.startNs;
    out.push({
      rank: ops[0].rank,
      deviceId: ops[0].deviceId,
      ops,
      busy,
      busyNs,
      firstNs: busy[0]?.startNs ?? 0,
      lastNs: busy[busy.length - 1]?.endNs ?? 0,
    });
  }
  return out.sort((a, b) => a.rank - b.rank || a.deviceId - b.deviceId);
}

/**
 * Union of all devices' busy intervals per rank (the rank's GPUs are busy when any of them is).
 * Memoized per profile like deviceTimelines: treat the result as read-only.
 */
export function rankBusy(profile: Profile): Map<number, Interval[]> {
  const memo = rankBusyMemo.get(profile.gpuOps);
  if (memo && memo.n === profile.gpuOps.length) return memo.value;
  const value = computeRankBusy(profile);
  rankBusyMemo.set(profile.gpuOps, { n: profile.gpuOps.length, value });
  return value;
}

function computeRankBusy(profile: Profile): Map<number, Interval[]> {
  const byDevices = new Map<number, Interval[][]>();
  for (const tl of deviceTimelines(profile)) pushTo(byDevices, tl.rank, tl.busy);
  const byRank = new Map<number, Interval[]>();
  for (const [rank, lists] of byDevices) {
    // One device: its busy list is already a merged union (unionIntervals would copy it as is).
    byRank.set(rank, lists.length === 1 ? lists[0] : unionIntervals(lists.flat()));
  }
  return byRank;
}

/**
 * GPU idle time from `ts` until the next busy interval of a merged union starts: 0 when the GPU was
 * busy at `ts` or never busy again (nothing was waiting for it).
 */
export function idleAfter(merged: readonly Interval[], ts: number): number {
  let lo = 0;
  let hi = merged.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (merged[mid].endNs <= ts) lo = mid + 1;
    else hi = mid;
  }
  const next = merged[lo];
  if (!next || next.startNs <= ts) return 0;
  return next.startNs - ts;
}

/** A cost tied to a stack (ops, calls) that is to be shown at its workspace line. */
export interface LocatedCost {
  stackId: number;
  ns: number;
}

/**
 * Resolves stacks to their innermost workspace line and sums the cost per line; the most costly
 * line comes first. Stacks that reach no workspace frame are left out.
 */
export function aggregateLocations(
  ctx: RuleContext,
  costs: Iterable<LocatedCost>,
  max = 10,
): SourceRef[] {
  const byLine = new Map<string, { ref: SourceRef; ns: number }>();
  const cache = new Map<number, SourceRef | null>();
  for (const c of costs) {
    let ref = cache.get(c.stackId);
    if (ref === undefined) {
      ref = c.stackId >= 0 ? ctx.locate(c.stackId) : null;
      cache.set(c.stackId, ref);
    }
    if (!ref) continue;
    addRef(byLine, ref, c.ns);
  }
  return sortRefs(byLine, max);
}

/** Same as aggregateLocations for annotated ranges (Profile.ranges indexes). */
export function aggregateRangeLocations(
  ctx: RuleContext,
  costs: Iterable<{ rangeIndex: number; ns: number }>,
  max = 10,
): SourceRef[] {
  const byLine = new Map<string, { ref: SourceRef; ns: number }>();
  for (const c of costs) {
    const ref = ctx.locateRange(c.rangeIndex);
    if (ref) addRef(byLine, ref, c.ns);
  }
  return sortRefs(byLine, max);
}

/** Sums costs already resolved to lines (null: not in the workspace); the most costly line first. */
export function aggregateRefs(
  costs: Iterable<{ ref: SourceRef | null; ns: number }>,
  max = 10,
): SourceRef[] {
  const byLine = new Map<string, { ref: SourceRef; ns: number }>();
  for (const c of costs) if (c.ref) addRef(byLine, c.ref, c.ns);
  return sortRefs(byLine, max);
}

function addRef(
  byLine: Map<string, { ref: SourceRef; ns: number }>,
  ref: SourceRef,
  ns: number,
): void {
  const key = `${ref.file}:${ref.line}`;
  const entry = byLine.get(key);
  if (entry) entry.ns += ns;
  else byLine.set(key, { ref: { file: ref.file, line: ref.line }, ns });
}

function sortRefs(byLine: Map<string, { ref: SourceRef; ns: number }>, max: number): SourceRef[] {
  return [...byLine.values()]
    .sort((a, b) => b.ns - a.ns)
    .slice(0, max)
    .map((e) => e.ref);
}

/** Key of a CPU thread across ranks. */
export function threadKey(x: { rank: number; pid: number; tid: number }): string {
  return `${x.rank}:${x.pid}:${x.tid}`;
}

/** CPU calls per thread, each list sorted by start (memoized per array: treat as read-only). */
export function callsByThread(calls: readonly CpuCall[]): Map<string, CpuCall[]> {
  const memo = threadMemo.get(calls);
  if (memo && memo.n === calls.length) return memo.value;
  const value = groupCallsByThread(calls);
  threadMemo.set(calls, { n: calls.length, value });
  return value;
}

function groupCallsByThread(calls: readonly CpuCall[]): Map<string, CpuCall[]> {
  const map = new Map<string, CpuCall[]>();
  // Consecutive calls are mostly on the same thread: reuse its list instead of a key string each.
  let last: CpuCall | null = null;
  let list: CpuCall[] = [];
  for (const c of calls) {
    if (!last || c.tid !== last.tid || c.pid !== last.pid || c.rank !== last.rank) {
      const key = threadKey(c);
      const found = map.get(key);
      if (found) list = found;
      else map.set(key, (list = []));
      last = c;
    }
    list.push(c);
  }
  for (const list of map.values()) list.sort((a, b) => a.startNs - b.startNs);
  return map;
}

/**
 * Spans sorted by start with the running maximum of their ends, for window queries on one thread's
 * history: every span that ends after `t` lies at or after `firstEndingAfter(t)` (binary search),
 * so per-gap and per-range lookups do not rescan the whole thread (which made reports quadratic in
 * trace length: a 1 M-kernel export took minutes).
 */
export class SortedSpans<T extends Interval> {
  private readonly maxEnd: Float64Array;

  /** `items` must be sorted by startNs (as callsByThread / userRangesByThread lists are). */
  constructor(readonly items: readonly T[]) {
    this.maxEnd = new Float64Array(items.length);
    let m = -Infinity;
    for (let i = 0; i < items.length; i++) this.maxEnd[i] = m = Math.max(m, items[i].endNs);
  }

  /** Index of the first item whose end, or an earlier item's end, is after `t`. */
  firstEndingAfter(t: number): number {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.maxEnd[mid] > t) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** Items with endNs > from and startNs < to, in start order (same as a filter of `items`). */
  overlapping(from: number, to: number): T[] {
    const out: T[] = [];
    for (let i = this.firstEndingAfter(from); i < this.items.length; i++) {
      const x = this.items[i];
      if (x.startNs >= to) break;
      if (x.endNs > from) out.push(x);
    }
    return out;
  }

  /** Whether some item starts in [from, to). */
  anyStartIn(from: number, to: number): boolean {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.items[mid].startNs >= from) hi = mid;
      else lo = mid + 1;
    }
    return lo < this.items.length && this.items[lo].startNs < to;
  }
}

/** Kernel launches, copies and memsets: the calls that put work on the GPU. */
export const isLaunchLike = (c: CpuCall): boolean =>
  c.kind === 'launch' || c.kind === 'memcpy' || c.kind === 'memset';

/** Sum of the parts of `calls` (sorted by start) that overlap [startNs, endNs), nesting merged. */
export function overlapWithCalls(
  calls: readonly Interval[],
  startNs: number,
  endNs: number,
): number {
  const clipped: Interval[] = [];
  for (const c of calls) {
    if (c.startNs >= endNs) break;
    const s = Math.max(c.startNs, startNs);
    const e = Math.min(c.endNs, endNs);
    if (e > s) clipped.push({ startNs: s, endNs: e });
  }
  let total = 0;
  for (const i of unionIntervals(clipped)) total += i.endNs - i.startNs;
  return total;
}

/** The innermost annotated range (nvtx/annotation/step) on a thread that holds `ts`, or -1. */
export function innermostRangeAt(
  profile: Profile,
  rangesOfThread: readonly number[],
  ts: number,
  accept: (r: CpuRange) => boolean = () => true,
): number {
  let best = -1;
  for (const idx of rangesOfThread) {
    const r = profile.ranges[idx];
    if (r.startNs > ts) break;
    if (r.endNs > ts && accept(r)) {
      if (best < 0 || r.startNs >= profile.ranges[best].startNs) best = idx;
    }
  }
  return best;
}

/** Indexes of user ranges (not framework ops) per thread, sorted by start. */
export function userRangesByThread(profile: Profile): Map<string, number[]> {
  const map = new Map<string, number[]>();
  profile.ranges.forEach((r, idx) => {
    if (r.kind === 'op') return;
    const key = threadKey(r);
    const list = map.get(key);
    if (list) list.push(idx);
    else map.set(key, [idx]);
  });
  for (const list of map.values())
    list.sort((a, b) => profile.ranges[a].startNs - profile.ranges[b].startNs);
  return map;
}

/** Appends to the list under `key`, creating it: linear, unlike re-spreading the list each time. */
export function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** Framework operator CPU time (torch cpu_op ranges) per thread with nesting merged; 0 when none. */
export function topLevelOpNs(profile: Profile): number {
  // Threads by rank, pid and tid (no key string per range: there can be millions).
  const byThread = new Map<number, Map<number, Map<number, Interval[]>>>();
  for (const r of profile.ranges) {
    if (r.kind !== 'op') continue;
    let pids = byThread.get(r.rank);
    if (!pids) byThread.set(r.rank, (pids = new Map<number, Map<number, Interval[]>>()));
    let tids = pids.get(r.pid);
    if (!tids) pids.set(r.pid, (tids = new Map<number, Interval[]>()));
    const list = tids.get(r.tid);
    if (list) list.push(r);
    else tids.set(r.tid, [r]);
  }
  let total = 0;
  for (const pids of byThread.values())
    for (const tids of pids.values())
      for (const list of tids.values())
        for (const i of unionIntervals(list)) total += i.endNs - i.startNs;
  return total;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sortedAsc: readonly number[], p: number): number {
  if (sortedAsc.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sortedAsc.length);
  return sortedAsc[Math.min(sortedAsc.length - 1, Math.max(0, rank - 1))];
}

/** Rounds to integer ns (the Report contract holds integers). */
export function ns(x: number): number {
  return Math.max(0, Math.round(x));
}
