/** Each GPU's timeline (its ops and the union of their busy intervals) and each rank's busy union. */
import { pushTo } from './collections';
import { type Interval, unionIntervals } from './intervals';
import type { GpuOp, Profile } from './model';

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
 * Memo of deviceTimelines and rankBusy per input array: several rules and the report ask for
 * the same grouping of millions of ops. The length check drops a memo when the array has grown.
 */
const timelineMemo = new WeakMap<readonly GpuOp[], { n: number; value: DeviceTimeline[] }>();
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
