/**
 * A what-if replay of the trace's own launch timeline: remove a cause (CPU time on a thread, a
 * blocking call) and measure how much shorter each GPU's run gets. The model (docs/savings-replay.md):
 *
 * - CPU: each process runs its recorded calls in order. A removed interval pulls everything after
 *   it in that process earlier by its length (the shift Δ). The threads of a process move
 *   together: the trace does not say which thread waits for which, and the usual helper threads
 *   (autograd's backward thread, a DataLoader pin thread) run when the main thread gets to them.
 *   A blocking call (synchronize, a copy that returns when done) that waited for a GPU op returns
 *   `tail` ns after that op's replayed end, so time the CPU gains before a sync is absorbed when
 *   the GPU was the slower side.
 * - GPU: an op starts when its binding constraint is met: its launch call returned, the previous op
 *   on its stream ended, or (inferred) an op on another stream ended — the one whose end, not the
 *   launch or the stream, the op's start followed. The op moves by as much as that constraint
 *   moved; its duration is kept. With nothing removed, the replay reproduces the trace exactly.
 *
 * Dependencies are inferred from the recorded times (which op a sync or a queued op waited for),
 * not from event records, which the Profile does not carry. Linear in ops and calls after sorts.
 */
import type { CpuCall, GpuOp, Profile } from './model';
import type { Interval } from './intervals';
import { deviceTimelines, threadKey } from './rules/common';

/** What a fix removes. */
export interface WhatIf {
  /** Per thread key (rank:pid:tid): CPU intervals that no longer run on that thread. */
  cuts?: Map<string, Interval[]>;
  /** CPU calls (syncs, blocking copies) that return at once instead of waiting for the GPU. */
  nonBlocking?: ReadonlySet<CpuCall>;
  /**
   * Whether the cut work still runs elsewhere (a thread pool, DataLoader workers): the run cannot
   * end before it does. Only used for the CPU-side run length.
   */
  moved?: boolean;
}

/** Replay outcome. */
export interface ReplayResult {
  /** Σ over devices of how much shorter the device's span got (never more than its idle time). */
  gpuSavedNs: number;
  /** How much earlier the given thread's last event ends (CPU-only runs), when one was asked. */
  threadSavedNs: number;
}

/** Steps back through ops sorted by end when looking for what a call or an op waited for. */
const MAX_WALK = 32;
/** An op starting this soon after its launch and its stream allow was held by nothing else. */
const LATENCY_NS = 5_000;

interface Timeline {
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

function timeline(profile: Profile): Timeline {
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
const processOf = (threadKey: string) => threadKey.slice(0, threadKey.lastIndexOf(':'));

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

/** Per-process cut intervals, merged, with prefix sums for "cut time in (a, b]". */
class Cuts {
  private readonly starts: Float64Array;
  private readonly ends: Float64Array;
  private readonly before: Float64Array;

  constructor(intervals: readonly Interval[]) {
    const merged = [...intervals]
      .filter((i) => i.endNs > i.startNs)
      .sort((a, b) => a.startNs - b.startNs)
      .reduce<Interval[]>((acc, i) => {
        const last = acc[acc.length - 1];
        if (last && i.startNs <= last.endNs) last.endNs = Math.max(last.endNs, i.endNs);
        else acc.push({ startNs: i.startNs, endNs: i.endNs });
        return acc;
      }, []);
    this.starts = Float64Array.from(merged.map((i) => i.startNs));
    this.ends = Float64Array.from(merged.map((i) => i.endNs));
    this.before = new Float64Array(merged.length + 1);
    merged.forEach((i, k) => (this.before[k + 1] = this.before[k] + (i.endNs - i.startNs)));
  }

  /** Index of the first cut starting at or after the last query (queries mostly ascend). */
  private cursor = 0;

  /** Cut time before `t`. */
  upTo(t: number): number {
    let lo: number;
    const n = this.starts.length;
    const c = this.cursor;
    if ((c === 0 || this.starts[c - 1] < t) && (c === n || this.starts[c] >= t)) lo = c;
    else if (c < n && this.starts[c] < t && (c + 1 === n || this.starts[c + 1] >= t)) lo = c + 1;
    else {
      lo = 0;
      let hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (this.starts[mid] < t) lo = mid + 1;
        else hi = mid;
      }
    }
    this.cursor = lo;
    if (lo === 0) return 0;
    return this.before[lo - 1] + (Math.min(t, this.ends[lo - 1]) - this.starts[lo - 1]);
  }

  get intervals(): Interval[] {
    return Array.from(this.starts, (s, k) => ({ startNs: s, endNs: this.ends[k] }));
  }
}

/**
 * Replays the profile with `whatIf` applied. `run` names a thread whose run length is also
 * measured (CPU-only traces: the loop's thread) and the end of its last event.
 */
export function replay(
  profile: Profile,
  whatIf: WhatIf,
  run?: { threadKey: string; endNs: number },
): ReplayResult {
  const tl = timeline(profile);
  const byProcess = new Map<string, Interval[]>();
  for (const [key, list] of whatIf.cuts ?? []) {
    const proc = processOf(key);
    byProcess.set(proc, [...(byProcess.get(proc) ?? []), ...list]);
  }
  const cutsOf: (Cuts | undefined)[] = tl.processKeys.map((key) => {
    const list = byProcess.get(key);
    return list && list.length > 0 ? new Cuts(list) : undefined;
  });
  // Per process: shift set by its last blocking call, and where that call ended.
  const base = new Float64Array(tl.processKeys.length);
  const lastEnd = new Float64Array(tl.processKeys.length).fill(-Infinity);
  const shift = (thread: number, t: number): number => {
    const cuts = cutsOf[thread];
    if (!cuts) return base[thread];
    const from = lastEnd[thread];
    return base[thread] + cuts.upTo(t) - (from === -Infinity ? 0 : cuts.upTo(from));
  };
  const calls = profile.cpuCalls;
  const newStart = new Float64Array(tl.ops.length);
  let b = 0;
  const settleBlockingUpTo = (t: number) => {
    for (; b < tl.blocking.length && calls[tl.blocking[b].call].endNs <= t; b++) {
      const { call, target, tail } = tl.blocking[b];
      const c = calls[call];
      const thread = tl.processOfCall[call];
      const start = c.startNs - shift(thread, c.startNs);
      let end: number;
      if (whatIf.nonBlocking?.has(c)) end = start;
      else if (target >= 0) {
        const op = tl.ops[target];
        end = Math.max(start, newStart[target] + (op.endNs - op.startNs)) + tail;
      } else end = start + (c.endNs - c.startNs);
      base[thread] = c.endNs - Math.min(end, c.endNs);
      lastEnd[thread] = c.endNs;
    }
  };
  const { start: opStart, dur, launchEnd, launchProc, streamPrev, dep } = tl;
  const nextBlockEnd = () => (b < tl.blocking.length ? calls[tl.blocking[b].call].endNs : Infinity);
  let blockEnd = nextBlockEnd();
  for (let i = 0; i < opStart.length; i++) {
    const s = opStart[i];
    if (blockEnd <= s) {
      settleBlockingUpTo(s);
      blockEnd = nextBlockEnd();
    }
    let was = -Infinity;
    let now = -Infinity;
    const le = launchEnd[i];
    if (le === le) {
      was = le;
      now = le - shift(launchProc[i], le);
    }
    const p = streamPrev[i];
    if (p >= 0) {
      was = Math.max(was, opStart[p] + dur[p]);
      now = Math.max(now, newStart[p] + dur[p]);
    }
    const d = dep[i];
    if (d >= 0) {
      was = Math.max(was, opStart[d] + dur[d]);
      now = Math.max(now, newStart[d] + dur[d]);
    }
    newStart[i] = was === -Infinity ? s : s - (was - now);
  }
  settleBlockingUpTo(Infinity);

  const first = tl.devices.map(() => Infinity);
  const last = tl.devices.map(() => -Infinity);
  for (let i = 0; i < opStart.length; i++) {
    if (!(dur[i] > 0)) continue;
    const d = tl.device[i];
    first[d] = Math.min(first[d], newStart[i]);
    last[d] = Math.max(last[d], newStart[i] + dur[i]);
  }
  let gpuSavedNs = 0;
  tl.devices.forEach((d, k) => {
    if (first[k] === Infinity) return;
    const saved = d.last - d.first - (last[k] - first[k]);
    gpuSavedNs += Math.min(d.idle, Math.max(0, saved));
  });
  return {
    gpuSavedNs: Math.round(gpuSavedNs),
    threadSavedNs: run ? threadSaved(tl, cutsOf, shift, whatIf, run) : 0,
  };
}

/** How much earlier the run's thread finishes; moved work still has to finish somewhere. */
function threadSaved(
  tl: Timeline,
  cutsOf: (Cuts | undefined)[],
  shift: (thread: number, t: number) => number,
  whatIf: WhatIf,
  run: { threadKey: string; endNs: number },
): number {
  const thread = tl.processKeys.indexOf(processOf(run.threadKey));
  if (thread < 0) return 0;
  let end = run.endNs - shift(thread, run.endNs);
  if (whatIf.moved) {
    for (const i of cutsOf[thread]?.intervals ?? []) {
      end = Math.max(end, i.startNs - shift(thread, i.startNs) + (i.endNs - i.startNs));
    }
  }
  return Math.max(0, Math.round(run.endNs - end));
}
