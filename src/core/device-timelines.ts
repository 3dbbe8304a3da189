/** Each GPU's timeline (its ops and the union of their busy intervals) and each rank's busy union. */
import { pushTo } from './collections';
import { opsPerDevice } from './model-op-order';
import { IntervalList, sortByStart } from './intervals';
import type { Profile } from './model';

/** One GPU's timeline: its ops in start order and the merged union of their busy intervals. */
export interface DeviceTimeline {
  rank: number;
  deviceId: number;
  /** Indexes into Profile.gpuOps of the device's ops, in start order (ties in trace order). */
  ops: Int32Array;
  /** The merged union of the ops' intervals (gap k − 1 lies before interval k). */
  busy: IntervalList;
  busyNs: number;
  firstNs: number;
  lastNs: number;
}

/**
 * Groups GPU ops (kernels, copies, memsets) per (rank, device) and merges their intervals, the
 * devices in (rank, device) order. Built once per report by ProfileIndex (profile-index.ts).
 */
export function deviceTimelines(profile: Profile): DeviceTimeline[] {
  const ops = profile.gpuOps;
  const { startNs, endNs } = ops;
  const out: DeviceTimeline[] = [];
  for (const list of opsPerDevice(ops)) {
    // Readers append kernels, then copies, then memsets, each in start order: a few sorted runs.
    sortByStart(startNs, list);
    const busy = IntervalList.ofSorted(startNs, endNs, list);
    const empty = busy.length === 0;
    out.push({
      rank: ops.rank[list[0]],
      deviceId: ops.deviceId[list[0]],
      ops: list,
      busy,
      busyNs: busy.totalNs(),
      firstNs: empty ? 0 : busy.starts[0],
      lastNs: empty ? 0 : busy.ends[busy.length - 1],
    });
  }
  return out.sort((a, b) => a.rank - b.rank || a.deviceId - b.deviceId);
}

/** Union of all devices' busy intervals per rank (the rank's GPUs are busy when any of them is). */
export function rankBusy(timelines: readonly DeviceTimeline[]): Map<number, IntervalList> {
  const byDevices = new Map<number, IntervalList[]>();
  for (const tl of timelines) pushTo(byDevices, tl.rank, tl.busy);
  const byRank = new Map<number, IntervalList>();
  for (const [rank, lists] of byDevices) {
    // One device: its busy list is the rank's union as it is.
    byRank.set(rank, lists.length === 1 ? lists[0] : IntervalList.union(lists));
  }
  return byRank;
}
