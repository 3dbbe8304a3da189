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
import type { Interval } from './intervals';
import type { ProfileIndex } from './profile-index';
import { type Timeline, processOf } from './replay-timeline';

/** What a fix removes. */
export interface WhatIf {
  /** Per thread key (rank:pid:tid): CPU intervals that no longer run on that thread. */
  cuts?: Map<string, Interval[]>;
  /**
   * CPU calls (syncs, blocking copies; indexes into Profile.cpuCalls) that return at once instead
   * of waiting for the GPU.
   */
  nonBlocking?: ReadonlySet<number>;
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

/** Per-process cut intervals, merged, with prefix sums for "cut time in (a, b]". */
class Cuts {
  private readonly starts: Float64Array;
  private readonly ends: Float64Array;
  private readonly before: Float64Array;

  constructor(intervals: readonly Interval[]) {
    const sorted = intervals
      .filter((i) => i.endNs > i.startNs)
      .sort((a, b) => a.startNs - b.startNs);
    // Merged into plain arrays (a what-if can cut hundreds of thousands of intervals).
    const starts: number[] = [];
    const ends: number[] = [];
    for (const i of sorted) {
      const last = ends.length - 1;
      if (last >= 0 && i.startNs <= ends[last]) ends[last] = Math.max(ends[last], i.endNs);
      else {
        starts.push(i.startNs);
        ends.push(i.endNs);
      }
    }
    this.starts = Float64Array.from(starts);
    this.ends = Float64Array.from(ends);
    this.before = new Float64Array(starts.length + 1);
    for (let k = 0; k < starts.length; k++)
      this.before[k + 1] = this.before[k] + (ends[k] - starts[k]);
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

/** One what-if to replay, and optionally the thread whose run length it also measures. */
export interface ReplayRequest {
  whatIf: WhatIf;
  /** A thread whose run length is also measured (CPU-only traces: the loop's thread) and its end. */
  run?: { threadKey: string; endNs: number };
}

/**
 * Replays the profile with `whatIf` applied. `run` names a thread whose run length is also
 * measured (CPU-only traces: the loop's thread) and the end of its last event.
 */
export function replay(
  index: ProfileIndex,
  whatIf: WhatIf,
  run?: { threadKey: string; endNs: number },
): ReplayResult {
  return replayAll(index, [{ whatIf, run }])[0];
}

/**
 * Replays every request in one pass over the ops: the ops' recorded times and constraints are read
 * once for all of them, and each request keeps its own shifts and replayed ends. Each result is
 * exactly what `replay` gives for that request alone.
 */
export function replayAll(index: ProfileIndex, requests: readonly ReplayRequest[]): ReplayResult[] {
  const K = requests.length;
  if (K === 0) return [];
  const { profile } = index;
  const tl = index.replayTimeline;
  const P = tl.processKeys.length;
  // Per request k and process p, at k * P + p: its cuts, the shift set by its last blocking call
  // and the cut time before that call's end (kept, so the op loop's cut lookups all move forward).
  const cutsOf: (Cuts | undefined)[] = requests.flatMap(({ whatIf }) => processCuts(tl, whatIf));
  const base = new Float64Array(K * P);
  const cutBefore = new Float64Array(K * P);
  const shift = (at: number, t: number): number => {
    const cuts = cutsOf[at];
    if (!cuts) return base[at];
    return base[at] + cuts.upTo(t) - cutBefore[at];
  };
  const calls = profile.cpuCalls;
  const { startNs, endNs, launchIndex, processOfThread, streamOf, depOp, depOn, depSlot } = tl;
  const { waitedOps } = tl;
  const callThread = calls.thread;
  // An op waits for the previous op on its stream and for its dependency, a blocking call for its
  // target: all started earlier, so only these ends are kept (no array per op and request). Per
  // stream its last op's recorded end (`s + dur`, the same for every request) and replayed end
  // (request k at k * S + stream); per waited-for op its replayed end (at k * W + its slot in
  // waitedOps).
  const S = tl.streamCount;
  const W = waitedOps.length;
  const streamWas = new Float64Array(S).fill(-Infinity);
  const streamNow = new Float64Array(K * S).fill(-Infinity);
  const waitedNow = new Float64Array(K * W);
  let b = 0;
  const settleBlockingUpTo = (t: number) => {
    for (; b < tl.blocking.length && calls.endNs[tl.blocking[b].call] <= t; b++) {
      const { call, target, targetSlot, tail } = tl.blocking[b];
      const cStart = calls.startNs[call];
      const cEnd = calls.endNs[call];
      const thread = processOfThread[callThread[call]];
      for (let k = 0; k < K; k++) {
        const at = k * P + thread;
        const start = cStart - shift(at, cStart);
        let end: number;
        if (requests[k].whatIf.nonBlocking?.has(call)) end = start;
        else if (target >= 0) {
          end = Math.max(start, waitedNow[k * W + targetSlot]) + tail;
        } else end = start + (cEnd - cStart);
        base[at] = cEnd - Math.min(end, cEnd);
        cutBefore[at] = cutsOf[at]?.upTo(cEnd) ?? 0;
      }
    }
  };
  const nextBlockEnd = () => (b < tl.blocking.length ? calls.endNs[tl.blocking[b].call] : Infinity);
  let blockEnd = nextBlockEnd();
  // Each request's replayed span per device (k * devices + d).
  const D = tl.devices.length;
  const first = new Float64Array(K * D).fill(Infinity);
  const last = new Float64Array(K * D).fill(-Infinity);
  // Cursors into depOp and waitedOps (the op loop meets their ops in ascending order).
  let dp = 0;
  let wp = 0;
  for (let i = 0; i < startNs.length; i++) {
    const s = startNs[i];
    if (blockEnd <= s) {
      settleBlockingUpTo(s);
      blockEnd = nextBlockEnd();
    }
    // The recorded constraints (`was`) are the same for every request; each moved (`now`) its own.
    let was = -Infinity;
    const li = launchIndex[i];
    let le = 0;
    let proc = 0;
    if (li >= 0) {
      le = calls.endNs[li];
      proc = processOfThread[callThread[li]];
      was = le;
    }
    const stream = streamOf[i];
    was = Math.max(was, streamWas[stream]);
    // The next op with a dependency and the next waited-for op: both lists ascend with i.
    let d = -1;
    let dw = -1;
    if (dp < depOp.length && depOp[dp] === i) {
      d = depOn[dp];
      dw = depSlot[dp++];
    }
    if (d >= 0) was = Math.max(was, startNs[d] + (endNs[d] - startNs[d]));
    const dur = endNs[i] - s;
    streamWas[stream] = s + dur;
    const dev = tl.device ? tl.device[i] : 0;
    const w = wp < W && waitedOps[wp] === i ? wp++ : -1;
    for (let k = 0; k < K; k++) {
      let now = -Infinity;
      if (li >= 0) {
        const at = k * P + proc;
        const cuts = cutsOf[at];
        // shift(at, le), inlined: the hot path of the replay.
        now = le - (cuts ? base[at] + cuts.upTo(le) - cutBefore[at] : base[at]);
      }
      now = Math.max(now, streamNow[k * S + stream]);
      if (d >= 0) now = Math.max(now, waitedNow[k * W + dw]);
      const start = was === -Infinity ? s : s - (was - now);
      const end = start + dur;
      streamNow[k * S + stream] = end;
      if (w >= 0) waitedNow[k * W + w] = end;
      if (dur > 0) {
        const at = k * D + dev;
        first[at] = Math.min(first[at], start);
        last[at] = Math.max(last[at], end);
      }
    }
  }
  settleBlockingUpTo(Infinity);

  return requests.map(({ whatIf, run }, k) => {
    let gpuSavedNs = 0;
    tl.devices.forEach((dv, d) => {
      const at = k * D + d;
      if (first[at] === Infinity) return;
      const saved = dv.last - dv.first - (last[at] - first[at]);
      gpuSavedNs += Math.min(dv.idle, Math.max(0, saved));
    });
    const own = cutsOf.slice(k * P, (k + 1) * P);
    const shiftK = (thread: number, t: number) => shift(k * P + thread, t);
    return {
      gpuSavedNs: Math.round(gpuSavedNs),
      threadSavedNs: run ? threadSaved(tl, own, shiftK, whatIf, run) : 0,
    };
  });
}

/** The what-if's cuts per process of the timeline (in `processKeys` order). */
function processCuts(tl: Timeline, whatIf: WhatIf): (Cuts | undefined)[] {
  const byProcess = new Map<string, Interval[]>();
  for (const [key, list] of whatIf.cuts ?? []) {
    const proc = processOf(key);
    byProcess.set(proc, [...(byProcess.get(proc) ?? []), ...list]);
  }
  return tl.processKeys.map((key) => {
    const list = byProcess.get(key);
    return list && list.length > 0 ? new Cuts(list) : undefined;
  });
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
