/**
 * The replay's timeline, built once per profile: GPU ops in start order with their stream
 * predecessor, their inferred cross-stream dependency and their launch call's end and process,
 * and the blocking calls with the op each waited for (see replay.ts for the model).
 */
import type { CpuCall, GpuOp, Profile } from './model';
import { deviceTimelines, threadKey } from './rules/common';

/** Steps back through ops sorted by end when looking for what a call or an op waited for. */
const MAX_WALK = 32;
/** An op starting this soon after its launch and its stream allow was held by nothing else. */
const LATENCY_NS = 5_000;

/** The recorded timeline the replay re-runs (indexes are into `ops` unless said otherwise). */
export interface Timeline {
  ops: GpuOp[];
  /** For each op (index in `ops`): previous op on its device and stream, or -1. */
  streamPrev: Int32Array;
  /** Inferred cross-stream dependency (index in `ops`), or -1. */
  dep: Int32Array;
  /** Device of each op (index into `devices`). */
  device: Int32Array;
  devices: { first: number; last: number; idle: number }[];
  /** Per op (index in `ops`), as typed arrays for the replay's inner loop. */
  start: Float64Array;
  dur: Float64Array;
  /** End of the op's launch call (NaN: unknown), and the caller's process (-1: unknown). */
  launchEnd: Float64Array;
  launchProc: Int32Array;
  /** Process index of each CPU call. */
  processOfCall: Int32Array;
  /** Process keys (rank:pid). */
  processKeys: string[];
  /** Blocking calls (index into cpuCalls) in end order, the op each waited for (or -1), its tail. */
  blocking: { call: number; target: number; tail: number }[];
}

const memo = new WeakMap<Profile, { n: number; value: Timeline }>();

/** The profile's timeline (memoized per profile: treat as read-only). */
export function timeline(profile: Profile): Timeline {
  const m = memo.get(profile);
  if (m && m.n === profile.gpuOps.length + profile.cpuCalls.length) return m.value;
  const value = buildTimeline(profile);
  memo.set(profile, { n: profile.gpuOps.length + profile.cpuCalls.length, value });
  return value;
}

function buildTimeline(profile: Profile): Timeline {
  const tls = deviceTimelines(profile);
  const ops: GpuOp[] = [];
  const device: number[] = [];
  const devices: Timeline['devices'] = [];
  tls.forEach((tl, d) => {
    for (const op of tl.ops) {
      ops.push(op);
      device.push(d);
    }
    devices.push({ first: tl.firstNs, last: tl.lastNs, idle: tl.lastNs - tl.firstNs - tl.busyNs });
  });
  // Device timelines are each sorted by start; the replay walks all of them in one start order
  // (one device: already in it).
  let sortedOps = ops;
  let sortedDevice = Int32Array.from(device);
  if (tls.length > 1) {
    const order = ops.map((_, i) => i).sort((a, b) => ops[a].startNs - ops[b].startNs);
    sortedOps = order.map((i) => ops[i]);
    sortedDevice = Int32Array.from(order.map((i) => device[i]));
  }
  const { processOfCall, processKeys } = processIndexes(profile.cpuCalls);
  const n = sortedOps.length;
  const start = new Float64Array(n);
  const dur = new Float64Array(n);
  const launchEnd = new Float64Array(n).fill(NaN);
  const launchProc = new Int32Array(n).fill(-1);
  sortedOps.forEach((op, i) => {
    start[i] = op.startNs;
    dur[i] = op.endNs - op.startNs;
    if (op.launchIndex >= 0) {
      launchEnd[i] = profile.cpuCalls[op.launchIndex].endNs;
      launchProc[i] = processOfCall[op.launchIndex];
    }
  });
  const streamPrev = new Int32Array(sortedOps.length).fill(-1);
  const lastOnStream = devices.map(() => new Map<number, number>());
  sortedOps.forEach((op, i) => {
    const streams = lastOnStream[sortedDevice[i]];
    streamPrev[i] = streams.get(op.streamId) ?? -1;
    streams.set(op.streamId, i);
  });
  // Ops of each device by end, for "which op ended right before this one started".
  const byEnd: number[][] = devices.map(() => []);
  sortedOps.forEach((_, i) => byEnd[sortedDevice[i]].push(i));
  for (const list of byEnd)
    if (!endsAscend(list, sortedOps)) list.sort((a, b) => sortedOps[a].endNs - sortedOps[b].endNs);
  const dep = new Int32Array(sortedOps.length).fill(-1);
  sortedOps.forEach((op, i) => {
    const prev = streamPrev[i] >= 0 ? sortedOps[streamPrev[i]].endNs : -Infinity;
    const known = launchEnd[i] === launchEnd[i] ? Math.max(launchEnd[i], prev) : prev;
    // Started within the launch latency of its launch and stream: nothing else held it (and on a
    // device with one stream there is no other stream to wait for).
    if (!(op.startNs > known + LATENCY_NS) || lastOnStream[sortedDevice[i]].size < 2) return;
    // The op waited past its launch and its stream: the latest op on another stream of the
    // device that ended in (known, start] is what it waited for.
    const list = byEnd[sortedDevice[i]];
    let k = lastEndingBy(list, sortedOps, op.startNs);
    for (let w = 0; k >= 0 && w < MAX_WALK; k--, w++) {
      const o = sortedOps[list[k]];
      if (o.endNs <= known) break;
      if (o.streamId !== op.streamId && o.endNs > o.startNs) {
        dep[i] = list[k];
        break;
      }
    }
  });
  // A rank with one device (the usual case) reuses that device's by-end order.
  const rankOfDevice = tls.map((t) => t.rank);
  const byRank = new Map<number, number[]>();
  for (const r of new Set(rankOfDevice)) {
    const ds = rankOfDevice.flatMap((x, d) => (x === r ? [d] : []));
    byRank.set(
      r,
      ds.length === 1
        ? byEnd[ds[0]]
        : ds.flatMap((d) => byEnd[d]).sort((a, b) => sortedOps[a].endNs - sortedOps[b].endNs),
    );
  }
  return {
    start,
    dur,
    launchEnd,
    launchProc,
    ops: sortedOps,
    streamPrev,
    dep,
    device: sortedDevice,
    devices,
    processOfCall,
    processKeys,
    blocking: blockingCalls(profile, sortedOps, byRank),
  };
}

/** Whether the ops of `list` already end in ascending order (one stream: no sort needed). */
function endsAscend(list: number[], ops: GpuOp[]): boolean {
  for (let k = 1; k < list.length; k++)
    if (ops[list[k]].endNs < ops[list[k - 1]].endNs) return false;
  return true;
}

/** Index in `list` (op indexes sorted by end) of the last op ending at or before `t`, or -1. */
function lastEndingBy(list: number[], ops: GpuOp[], t: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ops[list[mid]].endNs <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** The process (rank:pid) of a thread key (rank:pid:tid). */
export const processOf = (threadKey: string) => threadKey.slice(0, threadKey.lastIndexOf(':'));

/** A process number per call (calls of one thread are mostly consecutive: no key string each). */
function processIndexes(calls: readonly CpuCall[]): {
  processOfCall: Int32Array;
  processKeys: string[];
} {
  const processOfCall = new Int32Array(calls.length);
  const byKey = new Map<string, number>();
  const processKeys: string[] = [];
  let last: CpuCall | undefined;
  let id = -1;
  calls.forEach((c, i) => {
    if (!last || c.tid !== last.tid || c.pid !== last.pid || c.rank !== last.rank) {
      const key = processOf(threadKey(c));
      let found = byKey.get(key);
      if (found === undefined) {
        found = processKeys.length;
        byKey.set(key, found);
        processKeys.push(key);
      }
      id = found;
      last = c;
    }
    processOfCall[i] = id;
  });
  return { processOfCall, processKeys };
}

/** Whether a call blocks its thread until GPU work is done. */
const isBlocking = (c: CpuCall) =>
  (c.kind === 'sync' && !/StreamWaitEvent|Query/.test(c.name)) ||
  ((c.kind === 'memcpy' || c.kind === 'memset') && !/Async/i.test(c.name));

/**
 * Blocking calls in end order, each with the op it waited for: the latest-ending op (of its rank)
 * that ended while the call was blocked and was launched before the call started.
 */
function blockingCalls(
  profile: Profile,
  ops: GpuOp[],
  byRank: Map<number, number[]>,
): Timeline['blocking'] {
  const out: Timeline['blocking'] = [];
  profile.cpuCalls.forEach((c, ci) => {
    if (!isBlocking(c)) return;
    const list = byRank.get(c.rank) ?? [];
    let target = -1;
    let k = lastEndingBy(list, ops, c.endNs);
    for (let w = 0; k >= 0 && w < MAX_WALK; k--, w++) {
      const o = ops[list[k]];
      if (o.endNs <= c.startNs) break;
      const launch = o.launchIndex >= 0 ? profile.cpuCalls[o.launchIndex] : undefined;
      if (o.endNs > o.startNs && (!launch || launch.startNs <= c.startNs)) {
        target = list[k];
        break;
      }
    }
    out.push({ call: ci, target, tail: target >= 0 ? c.endNs - ops[target].endNs : 0 });
  });
  return out.sort((a, b) => profile.cpuCalls[a.call].endNs - profile.cpuCalls[b.call].endNs);
}
