/**
 * The replay's timeline, built once per profile: GPU ops in start order with their stream, their
 * inferred cross-stream dependency and their launch call's process, the blocking calls with the op
 * each waited for, and which ops something waits for (see replay.ts for the model).
 */
import type { CpuCall, GpuOp, Profile } from './model';
import { threadKey } from './cpu-threads';
import { deviceTimelines } from './device-timelines';

/** Steps back through ops sorted by end when looking for what a call or an op waited for. */
const MAX_WALK = 32;
/** An op starting this soon after its launch and its stream allow was held by nothing else. */
const LATENCY_NS = 5_000;

/** The recorded timeline the replay re-runs (indexes are into `ops` unless said otherwise). */
export interface Timeline {
  /** GPU ops of all devices in start order (read in place: no per-op copies of their times). */
  ops: GpuOp[];
  /**
   * For each op (index in `ops`): its stream (device and stream id) as 0 … streamCount - 1. The
   * previous op on the stream is the one before it in `ops` with the same number.
   */
  streamOf: Int32Array;
  streamCount: number;
  /** Inferred cross-stream dependency (index in `ops`), or -1. */
  dep: Int32Array;
  /**
   * For each op that another op depends on (`dep`) or a blocking call waited for: its number
   * among them, 0 … waitedCount - 1; else -1. Only their replayed ends need keeping.
   */
  waited: Int32Array;
  waitedCount: number;
  /** Device of each op (index into `devices`); null with one device (all 0). */
  device: Int32Array | null;
  devices: { first: number; last: number; idle: number }[];
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
  const devices: Timeline['devices'] = tls.map((tl) => ({
    first: tl.firstNs,
    last: tl.lastNs,
    idle: tl.lastNs - tl.firstNs - tl.busyNs,
  }));
  // Device timelines are each sorted by start; the replay walks all of them in one start order
  // (one device, the usual case: its ops as they are, no copy).
  let ops: GpuOp[];
  let device: Int32Array | null = null;
  if (tls.length === 1) ops = tls[0].ops;
  else {
    const all: GpuOp[] = [];
    const deviceOf: number[] = [];
    tls.forEach((tl, d) => {
      for (const op of tl.ops) {
        all.push(op);
        deviceOf.push(d);
      }
    });
    const order = all.map((_, i) => i).sort((a, b) => all[a].startNs - all[b].startNs);
    ops = order.map((i) => all[i]);
    device = Int32Array.from(order, (i) => deviceOf[i]);
  }
  const deviceOfOp = (i: number) => (device ? device[i] : 0);
  const n = ops.length;
  const streamPrev = new Int32Array(n).fill(-1);
  const streamOf = new Int32Array(n);
  const lastOnStream: number[] = [];
  // Per device: stream id → its number (ops of one stream mostly follow each other: no lookup).
  const numberOf = tls.map(() => new Map<number, number>());
  const perDevice = new Int32Array(tls.length);
  let lastDevice = -1;
  let lastStreamId = NaN;
  let stream = -1;
  for (let i = 0; i < n; i++) {
    const d = deviceOfOp(i);
    const streamId = ops[i].streamId;
    if (d !== lastDevice || streamId !== lastStreamId) {
      let found = numberOf[d].get(streamId);
      if (found === undefined) {
        found = lastOnStream.length;
        numberOf[d].set(streamId, found);
        lastOnStream.push(-1);
      }
      stream = found;
      lastDevice = d;
      lastStreamId = streamId;
    }
    streamOf[i] = stream;
    streamPrev[i] = lastOnStream[stream];
    lastOnStream[stream] = i;
    perDevice[d]++;
  }
  const byEnd = byEndPerDevice(ops, deviceOfOp, perDevice);
  const calls = profile.cpuCalls;
  const dep = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    // Started within the launch latency of its launch and stream: nothing else held it (and on a
    // device with one stream there is no other stream to wait for).
    if (numberOf[deviceOfOp(i)].size < 2) continue;
    const op = ops[i];
    const p = streamPrev[i];
    const prev = p >= 0 ? ops[p].endNs : -Infinity;
    const known = op.launchIndex >= 0 ? Math.max(calls[op.launchIndex].endNs, prev) : prev;
    if (!(op.startNs > known + LATENCY_NS)) continue;
    // The op waited past its launch and its stream: the latest op on another stream of the
    // device that ended in (known, start] is what it waited for.
    const list = byEnd[deviceOfOp(i)];
    let k = lastEndingBy(list, ops, op.startNs);
    for (let w = 0; k >= 0 && w < MAX_WALK; k--, w++) {
      const o = ops[list[k]];
      if (o.endNs <= known) break;
      if (o.streamId !== op.streamId && o.endNs > o.startNs) {
        dep[i] = list[k];
        break;
      }
    }
  }
  // A rank with one device (the usual case) reuses that device's by-end order.
  const rankOfDevice = tls.map((t) => t.rank);
  const byRank = new Map<number, Int32Array>();
  for (const r of new Set(rankOfDevice)) {
    const ds = rankOfDevice.flatMap((x, d) => (x === r ? [d] : []));
    byRank.set(
      r,
      ds.length === 1
        ? byEnd[ds[0]]
        : Int32Array.from(
            ds.flatMap((d) => Array.from(byEnd[d])).sort((a, b) => ops[a].endNs - ops[b].endNs),
          ),
    );
  }
  const { processOfCall, processKeys } = processIndexes(calls);
  const blocking = blockingCalls(profile, ops, byRank);
  const waited = new Int32Array(n).fill(-1);
  let waitedCount = 0;
  const mark = (i: number) => {
    if (i >= 0 && waited[i] < 0) waited[i] = waitedCount++;
  };
  for (let i = 0; i < n; i++) mark(dep[i]);
  for (const b of blocking) mark(b.target);
  return {
    ops,
    streamOf,
    streamCount: lastOnStream.length,
    dep,
    waited,
    waitedCount,
    device,
    devices,
    processOfCall,
    processKeys,
    blocking,
  };
}

/**
 * Op indexes of each device sorted by end (stable: ties keep start order). A device whose ops
 * already end in start order (one stream, the usual case) needs no sort.
 */
function byEndPerDevice(
  ops: GpuOp[],
  deviceOfOp: (i: number) => number,
  perDevice: Int32Array,
): Int32Array[] {
  const lists = Array.from(perDevice, (count) => new Int32Array(count));
  const fill = new Int32Array(perDevice.length);
  for (let i = 0; i < ops.length; i++) {
    const d = deviceOfOp(i);
    lists[d][fill[d]++] = i;
  }
  return lists.map((list) => {
    let ascending = true;
    for (let k = 1; k < list.length && ascending; k++)
      ascending = ops[list[k]].endNs >= ops[list[k - 1]].endNs;
    return ascending
      ? list
      : Int32Array.from(Array.from(list).sort((a, b) => ops[a].endNs - ops[b].endNs));
  });
}

/** Index in `list` (op indexes sorted by end) of the last op ending at or before `t`, or -1. */
function lastEndingBy(list: Int32Array, ops: GpuOp[], t: number): number {
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
  for (let i = 0; i < calls.length; i++) {
    const c = calls[i];
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
  }
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
  byRank: Map<number, Int32Array>,
): Timeline['blocking'] {
  const out: Timeline['blocking'] = [];
  const calls = profile.cpuCalls;
  const none = new Int32Array(0);
  for (let ci = 0; ci < calls.length; ci++) {
    const c = calls[ci];
    if (!isBlocking(c)) continue;
    const list = byRank.get(c.rank) ?? none;
    let target = -1;
    let k = lastEndingBy(list, ops, c.endNs);
    for (let w = 0; k >= 0 && w < MAX_WALK; k--, w++) {
      const o = ops[list[k]];
      if (o.endNs <= c.startNs) break;
      const launch = o.launchIndex >= 0 ? calls[o.launchIndex] : undefined;
      if (o.endNs > o.startNs && (!launch || launch.startNs <= c.startNs)) {
        target = list[k];
        break;
      }
    }
    out.push({ call: ci, target, tail: target >= 0 ? c.endNs - ops[target].endNs : 0 });
  }
  return out.sort((a, b) => calls[a.call].endNs - calls[b.call].endNs);
}
