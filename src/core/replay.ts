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
import type { CpuCall, Profile } from './model';
import type { Interval } from './intervals';
import { type Timeline, processOf, timeline } from './replay-timeline';

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
  // Per process: shift set by its last blocking call, and the cut time before that call's end
  // (kept, so the op loop's cut lookups all move forward).
  const base = new Float64Array(tl.processKeys.length);
  const cutBefore = new Float64Array(tl.processKeys.length);
  const shift = (thread: number, t: number): number => {
    const cuts = cutsOf[thread];
    if (!cuts) return base[thread];
    return base[thread] + cuts.upTo(t) - cutBefore[thread];
  };
  const calls = profile.cpuCalls;
  const { ops, processOfCall, streamPrev, dep } = tl;
  // Every entry is written before it is read (an op's stream predecessor, dependency and the op a
  // blocking call waited for all start earlier): the timeline's buffer serves every replay.
  const newStart = tl.scratch;
  let b = 0;
  const settleBlockingUpTo = (t: number) => {
    for (; b < tl.blocking.length && calls[tl.blocking[b].call].endNs <= t; b++) {
      const { call, target, tail } = tl.blocking[b];
      const c = calls[call];
      const thread = processOfCall[call];
      const start = c.startNs - shift(thread, c.startNs);
      let end: number;
      if (whatIf.nonBlocking?.has(c)) end = start;
      else if (target >= 0) {
        const op = ops[target];
        end = Math.max(start, newStart[target] + (op.endNs - op.startNs)) + tail;
      } else end = start + (c.endNs - c.startNs);
      base[thread] = c.endNs - Math.min(end, c.endNs);
      cutBefore[thread] = cutsOf[thread]?.upTo(c.endNs) ?? 0;
    }
  };
  const nextBlockEnd = () => (b < tl.blocking.length ? calls[tl.blocking[b].call].endNs : Infinity);
  let blockEnd = nextBlockEnd();
  // Ops are read in place (no per-op copies: the arrays of a million-op trace cost more in garbage
  // collection than the property reads).
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    const s = op.startNs;
    if (blockEnd <= s) {
      settleBlockingUpTo(s);
      blockEnd = nextBlockEnd();
    }
    let was = -Infinity;
    let now = -Infinity;
    const li = op.launchIndex;
    if (li >= 0) {
      const le = calls[li].endNs;
      const proc = processOfCall[li];
      const cuts = cutsOf[proc];
      was = le;
      // shift(proc, le), inlined: the hot path of the replay.
      now = le - (cuts ? base[proc] + cuts.upTo(le) - cutBefore[proc] : base[proc]);
    }
    const p = streamPrev[i];
    if (p >= 0) {
      const o = ops[p];
      const dur = o.endNs - o.startNs;
      was = Math.max(was, o.startNs + dur);
      now = Math.max(now, newStart[p] + dur);
    }
    const d = dep[i];
    if (d >= 0) {
      const o = ops[d];
      const dur = o.endNs - o.startNs;
      was = Math.max(was, o.startNs + dur);
      now = Math.max(now, newStart[d] + dur);
    }
    newStart[i] = was === -Infinity ? s : s - (was - now);
  }
  settleBlockingUpTo(Infinity);

  const first = tl.devices.map(() => Infinity);
  const last = tl.devices.map(() => -Infinity);
  for (let i = 0; i < ops.length; i++) {
    const dur = ops[i].endNs - ops[i].startNs;
    if (!(dur > 0)) continue;
    const d = tl.device ? tl.device[i] : 0;
    first[d] = Math.min(first[d], newStart[i]);
    last[d] = Math.max(last[d], newStart[i] + dur);
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
