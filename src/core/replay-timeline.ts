/**
 * The replay's timeline: GPU ops in start order with their stream, their inferred cross-stream
 * dependency and their launch call's process, the blocking calls with the op each waited for, and
 * which ops something waits for (see replay.ts for the model).
 */
import { lowerBound } from './collections';
import type { Profile } from './model';
import { CALL_MEMCPY, CALL_MEMSET, CALL_SYNC, type CpuCalls } from './model-cpu-calls';
import type { DeviceTimeline } from './device-timelines';

/** Steps back through ops sorted by end when looking for what a call or an op waited for. */
const MAX_WALK = 32;
/** An op starting this soon after its launch and its stream allow was held by nothing else. */
const LATENCY_NS = 5_000;

/** The recorded timeline the replay re-runs (indexes are into `ops` unless said otherwise). */
export interface Timeline {
  /** Profile.gpuOps index of each op, the ops of all devices in start order. */
  order: Int32Array;
  /** The ops' start, end and launch call (Profile.cpuCalls index or -1), in `order`. */
  startNs: Float64Array;
  endNs: Float64Array;
  launchIndex: Int32Array;
  /**
   * For each op (index in `ops`): its stream (device and stream id) as 0 … streamCount - 1. The
   * previous op on the stream is the one before it in `ops` with the same number.
   */
  streamOf: Uint8Array | Int32Array;
  streamCount: number;
  /**
   * The ops with an inferred cross-stream dependency (ascending), the op each depends on, and that
   * op's slot in `waitedOps`.
   */
  depOp: Int32Array;
  depOn: Int32Array;
  depSlot: Int32Array;
  /**
   * The ops another op depends on or a blocking call waited for, ascending: only their replayed
   * ends need keeping (an op's slot is its position here).
   */
  waitedOps: Int32Array;
  /** Device of each op (index into `devices`); null with one device (all 0). */
  device: Int32Array | null;
  devices: { first: number; last: number; idle: number }[];
  /** Process index of each thread of the calls' thread table (CpuCalls.thread). */
  processOfThread: Int32Array;
  /** Process keys (rank:pid). */
  processKeys: string[];
  /**
   * Blocking calls (index into cpuCalls) in end order, the op each waited for (or -1) and its slot
   * in `waitedOps`, and its tail.
   */
  blocking: { call: number; target: number; targetSlot: number; tail: number }[];
}

/**
 * The replay's view of a profile's ops, in one start order over its device timelines. Built once
 * per report by ProfileIndex (profile-index.ts).
 */
export function replayTimeline(profile: Profile, tls: readonly DeviceTimeline[]): Timeline {
  const devices: Timeline['devices'] = tls.map((tl) => ({
    first: tl.firstNs,
    last: tl.lastNs,
    idle: tl.lastNs - tl.firstNs - tl.busyNs,
  }));
  // Device timelines are each sorted by start; the replay walks all of them in one start order
  // (one device, the usual case: its order as it is).
  const gpu = profile.gpuOps;
  let order: Int32Array;
  let device: Int32Array | null = null;
  if (tls.length === 1) order = tls[0].ops;
  else {
    const all: number[] = [];
    const deviceOf: number[] = [];
    tls.forEach((tl, d) => {
      for (let n = 0; n < tl.ops.length; n++) {
        const op = tl.ops[n];
        all.push(op);
        deviceOf.push(d);
      }
    });
    const byStart = all.map((_, k) => k).sort((a, b) => gpu.startNs[all[a]] - gpu.startNs[all[b]]);
    order = new Int32Array(byStart.length);
    device = new Int32Array(byStart.length);
    for (let k = 0; k < byStart.length; k++) {
      order[k] = all[byStart[k]];
      device[k] = deviceOf[byStart[k]];
    }
  }
  const deviceOfOp = (i: number) => (device ? device[i] : 0);
  const n = order.length;
  // The op columns the replay reads, gathered in start order (sequential reads in its hot loop;
  // plain loops: TypedArray.from with a map function is several times slower). One device whose
  // ops are all apart (no overlap, none dropped) has them already: its busy union is its ops.
  const apart = tls.length === 1 && tls[0].busy.length === n;
  const startNs = apart ? tls[0].busy.starts : new Float64Array(n);
  const endNs = apart ? tls[0].busy.ends : new Float64Array(n);
  // Ops in device order (model-op-order.ts) are their own start order: a view, no copy.
  const inOrder = isIdentity(order);
  const launchIndex = inOrder ? gpu.launchIndex.subarray(0, n) : new Int32Array(n);
  for (let k = 0; k < n && !(apart && inOrder); k++) {
    const o = order[k];
    if (!apart) {
      startNs[k] = gpu.startNs[o];
      endNs[k] = gpu.endNs[o];
    }
    if (!inOrder) launchIndex[k] = gpu.launchIndex[o];
  }
  const streamIdOf = (i: number) => gpu.streamId[order[i]];
  const streamPrev = new Int32Array(n).fill(-1);
  // One byte per op while there are at most 256 streams (widened when a 257th appears).
  let streamOf: Uint8Array | Int32Array = new Uint8Array(n);
  const lastOnStream: number[] = [];
  // Per device: stream id → its number (ops of one stream mostly follow each other: no lookup).
  const numberOf = tls.map(() => new Map<number, number>());
  const perDevice = new Int32Array(tls.length);
  let lastDevice = -1;
  let lastStreamId = NaN;
  let stream = -1;
  for (let i = 0; i < n; i++) {
    const d = deviceOfOp(i);
    const streamId = streamIdOf(i);
    if (d !== lastDevice || streamId !== lastStreamId) {
      let found = numberOf[d].get(streamId);
      if (found === undefined) {
        found = lastOnStream.length;
        numberOf[d].set(streamId, found);
        lastOnStream.push(-1);
        if (found === 256) streamOf = Int32Array.from(streamOf);
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
  const byEnd = byEndPerDevice(endNs, deviceOfOp, perDevice);
  const calls = profile.cpuCalls;
  // Ops with an inferred dependency, ascending, and the op each depends on (few: none on a device
  // with one stream).
  const depOpList: number[] = [];
  const depOnList: number[] = [];
  for (let i = 0; i < n; i++) {
    // Started within the launch latency of its launch and stream: nothing else held it (and on a
    // device with one stream there is no other stream to wait for).
    if (numberOf[deviceOfOp(i)].size < 2) continue;
    const p = streamPrev[i];
    const prev = p >= 0 ? endNs[p] : -Infinity;
    const li = launchIndex[i];
    const known = li >= 0 ? Math.max(calls.endNs[li], prev) : prev;
    if (!(startNs[i] > known + LATENCY_NS)) continue;
    // The op waited past its launch and its stream: the latest op on another stream of the
    // device that ended in (known, start] is what it waited for.
    const list = byEnd[deviceOfOp(i)];
    const streamId = streamIdOf(i);
    let k = lastEndingBy(list, endNs, startNs[i]);
    for (let w = 0; k >= 0 && w < MAX_WALK; k--, w++) {
      const o = list[k];
      if (endNs[o] <= known) break;
      if (streamIdOf(o) !== streamId && endNs[o] > startNs[o]) {
        depOpList.push(i);
        depOnList.push(o);
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
            ds.flatMap((d) => Array.from(byEnd[d])).sort((a, b) => endNs[a] - endNs[b]),
          ),
    );
  }
  const { processOfThread, processKeys } = processIndexes(calls);
  const blocking = blockingCalls(calls, startNs, endNs, launchIndex, byRank);
  const waitedOps = Int32Array.from(
    new Set([...depOnList, ...blocking.flatMap((b) => (b.target >= 0 ? [b.target] : []))]),
  ).sort();
  const slotOf = (op: number) => lowerBound(waitedOps, op);
  for (const b of blocking) b.targetSlot = b.target >= 0 ? slotOf(b.target) : -1;
  return {
    order,
    startNs,
    endNs,
    launchIndex,
    streamOf,
    streamCount: lastOnStream.length,
    depOp: Int32Array.from(depOpList),
    depOn: Int32Array.from(depOnList),
    depSlot: Int32Array.from(depOnList, slotOf),
    waitedOps,
    device,
    devices,
    processOfThread,
    processKeys,
    blocking,
  };
}

/**
 * Op indexes of each device sorted by end (stable: ties keep start order). A device whose ops
 * already end in start order (one stream, the usual case) needs no sort.
 */
function byEndPerDevice(
  endNs: Float64Array,
  deviceOfOp: (i: number) => number,
  perDevice: Int32Array,
): Int32Array[] {
  const lists = Array.from(perDevice, (count) => new Int32Array(count));
  const fill = new Int32Array(perDevice.length);
  for (let i = 0; i < endNs.length; i++) {
    const d = deviceOfOp(i);
    lists[d][fill[d]++] = i;
  }
  return lists.map((list) => {
    let ascending = true;
    for (let k = 1; k < list.length && ascending; k++)
      ascending = endNs[list[k]] >= endNs[list[k - 1]];
    return ascending ? list : Int32Array.from(Array.from(list).sort((a, b) => endNs[a] - endNs[b]));
  });
}

/** Index in `list` (op indexes sorted by end) of the last op ending at or before `t`, or -1. */
function lastEndingBy(list: Int32Array, endNs: Float64Array, t: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (endNs[list[mid]] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** The process (rank:pid) of a thread key (rank:pid:tid). */
export const processOf = (threadKey: string) => threadKey.slice(0, threadKey.lastIndexOf(':'));

/** A process number per call (from its thread: no key string per call). */
function processIndexes(calls: CpuCalls): {
  processOfThread: Int32Array;
  processKeys: string[];
} {
  const { threads, thread, length } = calls;
  const byKey = new Map<string, number>();
  const processKeys: string[] = [];
  // Processes numbered in order of their first call, as a walk over the calls meets them.
  const ofThread = new Int32Array(threads.size).fill(-1);
  for (let i = 0; i < length; i++) {
    const t = thread[i];
    if (ofThread[t] < 0) {
      const key = `${threads.rank[t]}:${threads.pid[t]}`;
      let found = byKey.get(key);
      if (found === undefined) {
        found = processKeys.length;
        byKey.set(key, found);
        processKeys.push(key);
      }
      ofThread[t] = found;
    }
  }
  return { processOfThread: ofThread, processKeys };
}

/** Whether call i blocks its thread until GPU work is done. */
function isBlocking(calls: CpuCalls, i: number): boolean {
  const kind = calls.kind[i];
  if (kind === CALL_SYNC) return !/StreamWaitEvent|Query/.test(calls.nameOf(i));
  return (kind === CALL_MEMCPY || kind === CALL_MEMSET) && !/Async/i.test(calls.nameOf(i));
}

/**
 * Blocking calls in end order, each with the op it waited for: the latest-ending op (of its rank)
 * that ended while the call was blocked and was launched before the call started. Ops are
 * positions in the timeline's start order (`startNs`, `endNs`, `launchIndex`).
 */
function blockingCalls(
  calls: CpuCalls,
  startNs: Float64Array,
  endNs: Float64Array,
  launchIndex: Int32Array,
  byRank: Map<number, Int32Array>,
): Timeline['blocking'] {
  const out: Timeline['blocking'] = [];
  const none = new Int32Array(0);
  // The name tests run once per distinct name.
  const blockingName = new Map<number, boolean>();
  for (let ci = 0; ci < calls.length; ci++) {
    const kind = calls.kind[ci];
    if (kind !== CALL_SYNC && kind !== CALL_MEMCPY && kind !== CALL_MEMSET) continue;
    let blocks = blockingName.get(calls.name[ci] * 16 + kind);
    if (blocks === undefined)
      blockingName.set(calls.name[ci] * 16 + kind, (blocks = isBlocking(calls, ci)));
    if (!blocks) continue;
    const cStart = calls.startNs[ci];
    const cEnd = calls.endNs[ci];
    const list = byRank.get(calls.rankOf(ci)) ?? none;
    let target = -1;
    let k = lastEndingBy(list, endNs, cEnd);
    for (let w = 0; k >= 0 && w < MAX_WALK; k--, w++) {
      const o = list[k];
      if (endNs[o] <= cStart) break;
      const li = launchIndex[o];
      if (endNs[o] > startNs[o] && (li < 0 || calls.startNs[li] <= cStart)) {
        target = o;
        break;
      }
    }
    out.push({ call: ci, target, targetSlot: -1, tail: target >= 0 ? cEnd - endNs[target] : 0 });
  }
  return out.sort((a, b) => calls.endNs[a.call] - calls.endNs[b.call]);
}

/** Whether `idx` is 0, 1, …, idx.length - 1. */
function isIdentity(idx: Int32Array): boolean {
  for (let k = 0; k < idx.length; k++) if (idx[k] !== k) return false;
  return true;
}
