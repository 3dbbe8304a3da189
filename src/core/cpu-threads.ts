/** CPU threads of a profile: calls and user ranges per thread, and the time they cover. */
import { type Interval, unionIntervals } from './intervals';
import type { CpuCall, Profile } from './model';

/** Memo of callsByThread per input array (several rules ask for it); dropped when the array grows. */
const threadMemo = new WeakMap<readonly CpuCall[], { n: number; value: Map<string, CpuCall[]> }>();

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
