/**
 * Python stacks for a Kineto trace: python_function trees, legacy `Call stack` arguments, GPU Lens
 * exact-line markers, and the forward op's stack for backward work on the autograd thread.
 *
 * Every lookup is "the innermost span on this thread that holds time t", answered for all queries
 * of a thread at once by one sort and a sweep with a stack of open spans (no O(n²) scans).
 */
import type { Frame, StackTable } from '../model';
import { parseExactLineMarker } from './kineto-exact-lines';
import { SpanTable, TaggedSpans, type ThreadPoints, newPoints } from './kineto-columns';
import type { KinetoEventSink } from './kineto-events';
import { parsePythonFrame } from './kineto-python-tree';

/**
 * For each query point, the index (into `spans`) of the innermost span on the same thread that
 * holds its time, or -1. Spans are assumed to nest per thread, as profiler ranges do.
 */
export function innermostSpans(spans: SpanTable, queries: ThreadPoints): Int32Array {
  const result = new Int32Array(queries.length).fill(-1);
  if (spans.length === 0 || queries.length === 0) return result;
  const { order, groups } = spans.byThread();
  const { start, end } = spans;
  const { ts } = queries;
  const queriesByThread = new Map<number, number[]>();
  for (let q = 0; q < queries.length; q++) {
    const t = queries.thread[q];
    let g = queriesByThread.get(t);
    if (!g) queriesByThread.set(t, (g = []));
    g.push(q);
  }
  const open: number[] = [];
  for (const [thread, qs] of queriesByThread) {
    const g = groups.get(thread);
    if (!g) continue;
    qs.sort((a, b) => ts[a] - ts[b]);
    open.length = 0;
    let next = g.from;
    for (const q of qs) {
      const t = ts[q];
      while (next < g.to && start[order[next]] <= t) {
        const s = order[next++];
        while (open.length > 0 && end[open[open.length - 1]] < start[s]) open.pop();
        open.push(s);
      }
      while (open.length > 0 && end[open[open.length - 1]] < t) open.pop();
      if (open.length > 0) result[q] = open[open.length - 1];
    }
  }
  return result;
}

/** Legacy `Call stack` argument (`;`-joined, innermost first) → stack id. */
export function legacyCallStack(text: string, table: StackTable): number {
  // Old with_stack recorded the executing line of each frame (lines differ within one function).
  const frames = text
    .split(';')
    .map((s) => parsePythonFrame(s.trim(), 'line'))
    .filter((f): f is Frame => f !== null);
  return table.intern(frames);
}

/**
 * Resolves the stack at query points, in order of preference: the innermost exact-line marker,
 * the innermost python_function, the innermost operator with a legacy call stack, and for backward
 * operators the stack of their forward operator. Built once per trace: the span indexes, parsed
 * frames and backward matches are shared by every `resolve` call.
 */
export class KinetoStacks {
  private readonly markerStacks: number[];
  /** Operators with a legacy call stack; tag = its stack id. */
  private readonly legacy = new TaggedSpans();
  private backward: TaggedSpans | null = null;

  constructor(
    private readonly sink: KinetoEventSink,
    /** Where the resolved stacks are interned. */
    readonly table: StackTable,
  ) {
    this.markerStacks = sink.markerNames.values.map((name) =>
      table.intern(parseExactLineMarker(name) ?? []),
    );
    const { ops } = sink;
    const legacyIds = ops.callStacks.values.map(() => -2);
    for (let i = 0; i < ops.length; i++) {
      const cs = ops.callStack[i];
      if (cs < 0) continue;
      if (legacyIds[cs] === -2) legacyIds[cs] = legacyCallStack(ops.callStacks.values[cs], table);
      this.legacy.add(ops.thread[i], ops.start[i], ops.end[i], legacyIds[cs]);
    }
  }

  /** A stack id per query point (-1 when none). */
  resolve(queries: ThreadPoints): Int32Array {
    const out = this.ownStacks(queries);
    const missing: number[] = [];
    for (let i = 0; i < out.length; i++) if (out[i] < 0) missing.push(i);
    if (missing.length === 0) return out;
    const backward = (this.backward ??= this.backwardSpans());
    if (backward.length === 0) return out;
    const points = newPoints(missing.length);
    missing.forEach((q, j) => {
      points.thread[j] = queries.thread[q];
      points.ts[j] = queries.ts[q];
    });
    const viaBwd = innermostSpans(backward, points);
    missing.forEach((q, j) => {
      if (viaBwd[j] >= 0) out[q] = backward.tag[viaBwd[j]];
    });
    return out;
  }

  /**
   * The stack each point's own thread had (marker, python_function or legacy call stack), without
   * the backward-to-forward mapping; -1 when none.
   */
  ownStacks(qs: ThreadPoints): Int32Array {
    const res = new Int32Array(qs.length).fill(-1);
    const viaMarker = innermostSpans(this.sink.markers, qs);
    const viaPy = innermostSpans(this.sink.pyFrames, qs);
    const viaLegacy = innermostSpans(this.legacy, qs);
    const markerTag = this.sink.markers.tag;
    for (let i = 0; i < qs.length; i++) {
      if (viaMarker[i] >= 0) res[i] = this.markerStacks[markerTag[viaMarker[i]]];
      if (res[i] < 0 && viaPy[i] >= 0) res[i] = this.sink.pyFrames.stackOf(viaPy[i], this.table);
      if (res[i] < 0 && viaLegacy[i] >= 0) res[i] = this.legacy.tag[viaLegacy[i]];
    }
    return res;
  }

  /**
   * Backward operators with the stack of their forward operator (tag): matched by `Sequence
   * number` (the forward op on another thread with the same number), else by a `fwdbwd` flow.
   */
  private backwardSpans(): TaggedSpans {
    const { ops, fwdbwdStart, fwdbwdEnd } = this.sink;
    const thread = ops.thread;
    // The first forward op of each sequence number that a backward op asks for (only those: an
    // inference trace numbers every op and has no backward op).
    const forwardBySeq = new Map<number, number>();
    for (let i = 0; i < ops.length; i++)
      if (ops.backward[i] && ops.seq[i] >= 0) forwardBySeq.set(ops.seq[i], -1);
    for (let i = 0; i < ops.length && forwardBySeq.size > 0; i++)
      if (!ops.backward[i] && forwardBySeq.get(ops.seq[i]) === -1) forwardBySeq.set(ops.seq[i], i);
    const forwardOf = new Map<number, number>();
    for (let i = 0; i < ops.length; i++) {
      const f = ops.backward[i] && ops.seq[i] >= 0 ? (forwardBySeq.get(ops.seq[i]) ?? -1) : -1;
      if (f >= 0 && thread[f] !== thread[i]) forwardOf.set(i, f);
    }
    // fwdbwd flows: the start point lies in the forward op, the end point in the backward op.
    const ids = [...fwdbwdEnd.ids()].filter((id) => fwdbwdStart.has(id));
    if (ids.length > 0) {
      const starts = innermostSpans(ops, fwdbwdStart.points(ids));
      const ends = innermostSpans(ops, fwdbwdEnd.points(ids));
      ids.forEach((_, j) => {
        if (starts[j] >= 0 && ends[j] >= 0 && !forwardOf.has(ends[j]))
          forwardOf.set(ends[j], starts[j]);
      });
    }
    const pairs = [...forwardOf];
    const fwd = newPoints(pairs.length);
    pairs.forEach(([, f], j) => {
      fwd.thread[j] = thread[f];
      fwd.ts[j] = ops.start[f];
    });
    const fwdStacks = this.ownStacks(fwd);
    const spans = new TaggedSpans();
    pairs.forEach(([b], j) => {
      if (fwdStacks[j] >= 0) spans.add(thread[b], ops.start[b], ops.end[b], fwdStacks[j]);
    });
    return spans;
  }
}
