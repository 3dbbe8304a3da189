/** GPU-side totals of a profile: busy time per device, wall span, kernel table. */
import { findDevice, type Profile } from './model';
import { KERNEL, MEMCPY } from './model-gpu-ops';
import type { DeviceSummary, KernelStat, Summary, TimelineTrack } from './report-types';
import type { ProfileIndex } from './profile-index';

/** The summary's GPU totals (classification and the idle breakdown need the rules' context). */
export type GpuTotals = Omit<Summary, 'classification' | 'idleBreakdown'>;

/**
 * Busy time is the union of kernel, memcpy and memset intervals per device, summed over devices.
 * Wall time runs from the first GPU op's start to the last one's end (the trace span when there are
 * none). Idle time is the wall time of every device that ran something, less its busy time.
 * Active % is busy over that wall time (the GPU span), and over the whole trace window.
 */
export function gpuTotals(index: ProfileIndex): GpuTotals {
  const { profile } = index;
  let kernelCount = 0;
  // First start, last end and the sums by kind, in cells: V8 boxes a double that a hot loop
  // assigns under a condition on every assignment (millions of garbage numbers here).
  const acc = Float64Array.of(Infinity, -Infinity, 0, 0, 0, 0);
  const [FIRST, LAST, KERNEL_NS, MEMCPY_NS, MEMSET_NS, COMM_NS] = [0, 1, 2, 3, 4, 5];
  const ops = profile.gpuOps;
  for (let i = 0; i < ops.length; i++) {
    const start = ops.startNs[i];
    const end = ops.endNs[i];
    const ns = end - start;
    if (start < acc[FIRST]) acc[FIRST] = start;
    if (end > acc[LAST]) acc[LAST] = end;
    if (ops.kind[i] === KERNEL) {
      kernelCount++;
      acc[KERNEL_NS] += ns;
      if (ops.isComm[i] === 1) acc[COMM_NS] += ns;
    } else if (ops.kind[i] === MEMCPY) acc[MEMCPY_NS] += ns;
    else acc[MEMSET_NS] += ns;
  }
  const [first, last, kernelNs, memcpyNs, memsetNs, commNs] = acc;
  const wallNs =
    profile.gpuOps.length > 0 ? last - first : Math.max(0, profile.spanEndNs - profile.spanStartNs);
  const devices: DeviceSummary[] = [];
  let gpuBusyNs = 0;
  // A device is a (rank, device id) pair (ranks own their device ids); timelines come in that order.
  const timelines = index.timelines;
  for (const { rank, deviceId: id, busyNs: busy } of timelines) {
    gpuBusyNs += busy;
    devices.push({ rank, id, name: deviceName(profile, rank, id), busyNs: busy });
  }
  const capacity = wallNs * timelines.length;
  // The trace window (first to last event of any kind) holds the GPU span: 11 µs of GPU work in a
  // 34 ms trace is 100 % of its own span and 0.03 % of the window.
  const traceWallNs = Math.max(wallNs, profile.spanEndNs - profile.spanStartNs);
  const window = traceWallNs * timelines.length;
  return {
    wallNs,
    traceWallNs,
    gpuBusyNs,
    gpuIdleNs: Math.max(0, capacity - gpuBusyNs),
    gpuActivePct: capacity > 0 ? roundPct((100 * gpuBusyNs) / capacity) : 0,
    traceActivePct: window > 0 ? roundPct((100 * gpuBusyNs) / window) : 0,
    kernelCount,
    kernelNs,
    memcpyNs,
    memsetNs,
    commNs,
    devices,
    rankCount: profile.rankCount,
    rankAlignment: profile.rankAlignment ?? [],
  };
}

/** The device's own name, else `GPU N`. */
function deviceName(profile: Profile, rank: number, id: number): string {
  return findDevice(profile, rank, id)?.name ?? `GPU ${id}`;
}

/** Two decimals, three significant digits under 1 % (0.05 % must not read as 0). */
function roundPct(x: number): number {
  return x > 0 && x < 1 ? Number(x.toPrecision(3)) : Math.round(x * 100) / 100;
}

/** Kernels grouped by name, by total time descending. */
export function kernelTable(profile: Profile): KernelStat[] {
  // By name id (the table interns names, so one id is one name). Names are interned as the ops are
  // read, so ties stay in order of first launch as read, whatever order the ops are in now.
  const ops = profile.gpuOps;
  const byName = new Array<KernelStat | undefined>(ops.names.size);
  for (let i = 0; i < ops.length; i++) {
    if (ops.kind[i] !== KERNEL) continue;
    const ns = ops.endNs[i] - ops.startNs[i];
    const k = byName[ops.name[i]];
    if (k) {
      k.count++;
      k.totalNs += ns;
      if (ns < k.minNs) k.minNs = ns;
      if (ns > k.maxNs) k.maxNs = ns;
    } else {
      const stat: KernelStat = {
        name: ops.nameOf(i),
        count: 1,
        totalNs: ns,
        avgNs: 0,
        minNs: ns,
        maxNs: ns,
      };
      // A short name belongs to the name (GpuOps keeps one per name).
      const short = ops.shortNameOf(i);
      if (short) stat.shortName = short;
      byName[ops.name[i]] = stat;
    }
  }
  const out = byName.filter((k) => k !== undefined);
  for (const k of out) k.avgNs = Math.round(k.totalNs / k.count);
  return out.sort((a, b) => b.totalNs - a.totalNs);
}

/**
 * Busy fraction per device in `buckets` equal slices of [startNs, startNs + wallNs): enough for the
 * panel's zoomable overview without shipping every op. One track per (rank, device id), in that order.
 */
export function timelineTracks(
  index: ProfileIndex,
  startNs: number,
  wallNs: number,
  buckets = 2000,
): TimelineTrack[] {
  if (wallNs <= 0 || index.profile.gpuOps.length === 0) return [];
  const bucketNs = Math.max(1, Math.ceil(wallNs / buckets));
  const tracks: TimelineTrack[] = [];
  for (const { rank, deviceId: id, busy: merged } of index.timelines) {
    const busy = new Array<number>(buckets).fill(0);
    for (let k = 0; k < merged.length; k++) {
      let t = merged.starts[k] - startNs;
      const end = merged.ends[k] - startNs;
      while (t < end) {
        const b = Math.min(buckets - 1, Math.floor(t / bucketNs));
        const bucketEnd = (b + 1) * bucketNs;
        const piece = Math.min(end, bucketEnd) - t;
        // Beyond 2^53 ns (absurd timestamps in a hostile trace) a step can round to nothing.
        if (!(piece > 0)) break;
        busy[b] += piece / bucketNs;
        t += piece;
        if (b === buckets - 1) break;
      }
    }
    tracks.push({
      rank,
      deviceId: id,
      name: deviceName(index.profile, rank, id),
      bucketNs,
      busy: busy.map((x) => Math.round(Math.min(1, x) * 1000) / 1000),
    });
  }
  return tracks;
}
