/**
 * Python stacks for a Kineto trace: python_function trees, legacy `Call stack` arguments, GPU Lens
 * exact-line markers, and the forward op's stack for backward work on the autograd thread.
 *
 * Every lookup is "the innermost span on this thread that holds time t", answered for all queries
 * of a thread at once by one sort and a sweep with a stack of open spans (no O(n²) scans).
 */
import type { Frame, StackTable } from '../model';
import { parseExactLineMarker } from './kineto-exact-lines';
import type { KinetoEventSink, PyFrameEvent, ThreadSpan } from './kineto-events';

/** A point query on one thread. */
export interface ThreadQuery {
  key: string;
  ts: number;
}

/**
 * For each query, the index (into `spans`) of the innermost span on the same thread that holds
 * its time, or -1. Spans are assumed to nest per thread, as profiler ranges do.
 */
export function innermostSpans(
  spans: readonly ThreadSpan[],
  queries: readonly ThreadQuery[],
): Int32Array {
  const result = new Int32Array(queries.length).fill(-1);
  if (spans.length === 0 || queries.length === 0) return result;
  const spansByKey = groupIndices(spans.length, (i) => spans[i].key);
  const queriesByKey = groupIndices(queries.length, (i) => queries[i].key);
  for (const [key, qs] of queriesByKey) {
    const ss = spansByKey.get(key);
    if (!ss) continue;
    // Outer spans first when two start together, so the inner one ends up on top.
    ss.sort((a, b) => spans[a].start - spans[b].start || spans[b].end - spans[a].end);
    qs.sort((a, b) => queries[a].ts - queries[b].ts);
    const open: number[] = [];
    let next = 0;
    for (const q of qs) {
      const t = queries[q].ts;
      while (next < ss.length && spans[ss[next]].start <= t) {
        const s = spans[ss[next++]];
        while (open.length > 0 && spans[open[open.length - 1]].end < s.start) open.pop();
        open.push(ss[next - 1]);
      }
      while (open.length > 0 && spans[open[open.length - 1]].end < t) open.pop();
      if (open.length > 0) result[q] = open[open.length - 1];
    }
  }
  return result;
}

function groupIndices(n: number, keyOf: (i: number) => string): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  for (let i = 0; i < n; i++) {
    const k = keyOf(i);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(i);
  }
  return groups;
}

/** `file(line): function` → a frame, or null for `nn.Module: X_0`, `<built-in …>` and the like. */
export function parsePythonFrame(name: string, precision: Frame['precision']): Frame | null {
  const m = /^(.*)\((\d+)\): (.+)$/.exec(name);
  if (!m || m[1] === '' || name.startsWith('<built-in')) return null;
  return { file: m[1], line: Number(m[2]), function: m[3], precision };
}

/** Stack ids for python_function nodes, walking `Python parent id` (cached per node). */
export class PythonTree {
  private readonly byId = new Map<number, number>();
  private readonly cache = new Map<number, number>();

  constructor(
    private readonly frames: readonly PyFrameEvent[],
    private readonly table: StackTable,
  ) {
    frames.forEach((f, i) => {
      if (f.id >= 0) this.byId.set(f.id, i);
    });
  }

  /** Stack (innermost first) from python_function `index` up to its root; -1 if it has no frames. */
  stackOf(index: number): number {
    const cached = this.cache.get(index);
    if (cached !== undefined) return cached;
    const stack: Frame[] = [];
    const seen = new Set<number>();
    let i: number | undefined = index;
    // The parent walk is guarded: a trace with a `Python parent id` cycle must not hang us.
    while (i !== undefined && !seen.has(i)) {
      seen.add(i);
      const f: PyFrameEvent = this.frames[i];
      const frame = parsePythonFrame(f.name, 'function');
      if (frame) stack.push(frame);
      i = f.parent >= 0 ? this.byId.get(f.parent) : undefined;
    }
    const id = this.table.intern(stack);
    this.cache.set(index, id);
    return id;
  }
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
 * Resolves the stack at each query point, in order of preference: the innermost exact-line marker,
 * the innermost python_function, the innermost operator with a legacy call stack, and for backward
 * operators the stack of their forward operator. Returns a stack id per query (-1 when none).
 */
export function resolveStacks(
  sink: KinetoEventSink,
  table: StackTable,
  queries: readonly ThreadQuery[],
): Int32Array {
  const out = new Int32Array(queries.length).fill(-1);
  const markerStacks = sink.markers.map((m) => table.intern(parseExactLineMarker(m.name) ?? []));
  const tree = new PythonTree(sink.pyFrames, table);
  const legacyOps = sink.ops.filter((o) => o.callStack !== '');
  const legacyStacks = new Map<string, number>();
  const legacyIds = legacyOps.map((o) => {
    let id = legacyStacks.get(o.callStack);
    if (id === undefined) legacyStacks.set(o.callStack, (id = legacyCallStack(o.callStack, table)));
    return id;
  });

  const direct = (qs: readonly ThreadQuery[]): Int32Array => {
    const res = new Int32Array(qs.length).fill(-1);
    const viaMarker = innermostSpans(sink.markers, qs);
    const viaPy = innermostSpans(sink.pyFrames, qs);
    const viaLegacy = innermostSpans(legacyOps, qs);
    for (let i = 0; i < qs.length; i++) {
      if (viaMarker[i] >= 0) res[i] = markerStacks[viaMarker[i]];
      if (res[i] < 0 && viaPy[i] >= 0) res[i] = tree.stackOf(viaPy[i]);
      if (res[i] < 0 && viaLegacy[i] >= 0) res[i] = legacyIds[viaLegacy[i]];
    }
    return res;
  };

  out.set(direct(queries));
  const missing = [...out.keys()].filter((i) => out[i] < 0);
  if (missing.length === 0) return out;
  const backward = backwardSpans(sink, direct);
  if (backward.spans.length === 0) return out;
  const viaBwd = innermostSpans(
    backward.spans,
    missing.map((i) => queries[i]),
  );
  missing.forEach((q, j) => {
    if (viaBwd[j] >= 0) out[q] = backward.stacks[viaBwd[j]];
  });
  return out;
}

/**
 * Backward operators with the stack of their forward operator: matched by `Sequence number`
 * (the forward op on another thread with the same number), else by a `fwdbwd` flow.
 */
function backwardSpans(
  sink: KinetoEventSink,
  direct: (qs: readonly ThreadQuery[]) => Int32Array,
): { spans: ThreadSpan[]; stacks: number[] } {
  const forwardBySeq = new Map<number, number>();
  sink.ops.forEach((o, i) => {
    if (!o.backward && o.seq >= 0 && !forwardBySeq.has(o.seq)) forwardBySeq.set(o.seq, i);
  });
  const forwardOf = new Map<number, number>();
  sink.ops.forEach((o, i) => {
    const f = o.backward && o.seq >= 0 ? forwardBySeq.get(o.seq) : undefined;
    if (f !== undefined && sink.ops[f].key !== o.key) forwardOf.set(i, f);
  });
  // fwdbwd flows: the start point lies in the forward op, the end point in the backward op.
  const ids = [...sink.fwdbwdEnd.keys()].filter((id) => sink.fwdbwdStart.has(id));
  if (ids.length > 0) {
    const starts = innermostSpans(
      sink.ops,
      ids.map((id) => sink.fwdbwdStart.get(id) as ThreadQuery),
    );
    const ends = innermostSpans(
      sink.ops,
      ids.map((id) => sink.fwdbwdEnd.get(id) as ThreadQuery),
    );
    ids.forEach((_, j) => {
      if (starts[j] >= 0 && ends[j] >= 0 && !forwardOf.has(ends[j]))
        forwardOf.set(ends[j], starts[j]);
    });
  }
  const pairs = [...forwardOf];
  const fwdStacks = direct(pairs.map(([, f]) => ({ key: sink.ops[f].key, ts: sink.ops[f].start })));
  const spans: ThreadSpan[] = [];
  const stacks: number[] = [];
  pairs.forEach(([b], j) => {
    if (fwdStacks[j] < 0) return;
    spans.push(sink.ops[b]);
    stacks.push(fwdStacks[j]);
  });
  return { spans, stacks };
}
