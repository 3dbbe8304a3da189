/**
 * Who asked for backward work: the stack of the thread that called `backward()` (or
 * `torch.autograd.grad`) while the autograd engine launched kernels on its own thread.
 *
 * The engine runs a CUDA graph's backward on a device thread with no Python frames; the calling
 * thread sits inside `torch/_tensor.py: backward` until it is done. A "backward call" is found on
 * the calling thread either as a python_function span of such an entry point (torch.profiler
 * `with_stack`), or, in traces with operator stacks only (the legacy `Call stack`), from the first
 * operator whose stack passes through an entry point (the `ones_like` that seeds the gradient) up
 * to the next operator of that thread whose stack does not (the thread has resumed the user's
 * code). Launches on an autograd thread during such a call get the call's stack.
 */
import type { Frame, StackTable } from '../model';
import { SpanTable, type ThreadPoints, newPoints } from './kineto-columns';
import type { KinetoEventSink } from './kineto-events';
import { parsePythonFrame } from './kineto-python-tree';

/** Resolves the stack a thread had at given points (without backward mapping). */
export type OwnStacks = (points: ThreadPoints) => Int32Array;

/** True for the torch frames a `backward()` / `autograd.grad()` call runs through. */
export function isBackwardEntry(frame: Pick<Frame, 'file' | 'function'>): boolean {
  return (
    /(^|[\\/])torch[\\/](_tensor|autograd[\\/]__init__|autograd[\\/]graph)\.py$/.test(frame.file) &&
    /^(backward|grad|_engine_run_backward)$/.test(frame.function)
  );
}

/** A backward call on one thread: its span and the stack it was made with. */
interface BackwardCall {
  pid: string;
  thread: number;
  start: number;
  end: number;
  stackId: number;
}

/**
 * For each query point on an autograd thread (one that ran backward operators), the stack of a
 * backward call on another thread of the same process that holds the point's time; -1 elsewhere.
 * When calls overlap, the one that started last wins.
 */
export function backwardCallerStacks(
  sink: KinetoEventSink,
  table: StackTable,
  ownStacks: OwnStacks,
  queries: ThreadPoints,
): Int32Array {
  const out = new Int32Array(queries.length).fill(-1);
  const { ops } = sink;
  const autograd = new Set<number>();
  for (let i = 0; i < ops.length; i++) if (ops.backward[i]) autograd.add(ops.thread[i]);
  if (autograd.size === 0) return out;
  const calls = findCalls(sink, table, ownStacks);
  if (calls.length === 0) return out;
  calls.sort((a, b) => a.start - b.start);
  // Running maximum of the calls' ends: the backward scan stops once no earlier call can hold t.
  const maxEnd: number[] = [];
  for (const c of calls) maxEnd.push(Math.max(c.end, maxEnd[maxEnd.length - 1] ?? -Infinity));
  const pids = sink.threads.keys.values.map(pidOf);
  for (let q = 0; q < queries.length; q++) {
    const thread = queries.thread[q];
    if (!autograd.has(thread)) continue;
    const t = queries.ts[q];
    for (let k = lastStartingBy(calls, t); k >= 0 && maxEnd[k] >= t; k--) {
      const c = calls[k];
      if (c.end >= t && c.thread !== thread && c.pid === pids[thread]) {
        out[q] = c.stackId;
        break;
      }
    }
  }
  return out;
}

/**
 * Backward calls on any thread (the calling thread can run backward ops of its own: the engine
 * runs CPU work there); a launch only takes a call made on another thread.
 */
function findCalls(sink: KinetoEventSink, table: StackTable, ownStacks: OwnStacks): BackwardCall[] {
  const pids = sink.threads.keys.values.map(pidOf);
  const calls: BackwardCall[] = [];
  const entryStack = new Map<number, boolean>();
  const passesEntry = (id: number): boolean => {
    let v = entryStack.get(id);
    if (v === undefined)
      entryStack.set(id, (v = id >= 0 && table.stacks[id].some(isBackwardEntry)));
    return v;
  };
  // python_function spans of an entry point: the call's exact span.
  const py = sink.pyFrames;
  // Each distinct name parsed once: millions of python_function events share a few thousand.
  const entryName = py.names.values.map((name) => {
    const frame = parsePythonFrame(name, 'function');
    return frame !== null && isBackwardEntry(frame);
  });
  const pyCalls: number[] = [];
  for (let i = 0; i < py.length; i++) if (entryName[py.name[i]]) pyCalls.push(i);
  const pyStacks = ownStacks(pointsAt(pyCalls, py));
  pyCalls.forEach((i, j) => {
    if (pyStacks[j] >= 0)
      calls.push({
        pid: pids[py.thread[i]],
        thread: py.thread[i],
        start: py.start[i],
        end: py.end[i],
        stackId: pyStacks[j],
      });
  });
  // Operators: a call runs from the first op through an entry point to the next op that is not.
  const opSpans = new SpanTable();
  for (let i = 0; i < sink.ops.length; i++) {
    if (sink.ops.backward[i]) continue;
    opSpans.addSpan(sink.ops.thread[i], sink.ops.start[i], sink.ops.end[i]);
  }
  const all = Array.from({ length: opSpans.length }, (_, i) => i);
  const opStacks = ownStacks(pointsAt(all, opSpans));
  const { order, groups } = opSpans.byThread();
  for (const [thread, g] of groups) {
    let open: BackwardCall | null = null;
    for (let k = g.from; k < g.to; k++) {
      const s = order[k];
      const stackId = opStacks[s];
      if (stackId < 0) continue;
      if (passesEntry(stackId)) {
        open ??= { pid: pids[thread], thread, start: opSpans.start[s], end: Infinity, stackId };
      } else if (open && opSpans.start[s] > open.start) {
        open.end = opSpans.start[s];
        calls.push(open);
        open = null;
      }
    }
    if (open) calls.push({ ...open, end: sink.spanEnd });
  }
  return calls;
}

/** The points where the given spans start. */
function pointsAt(indices: readonly number[], spans: SpanTable): ThreadPoints {
  const points = newPoints(indices.length);
  indices.forEach((i, j) => {
    points.thread[j] = spans.thread[i];
    points.ts[j] = spans.start[i];
  });
  return points;
}

/** Index of the last call starting at or before t (calls sorted by start), -1 when none. */
function lastStartingBy(calls: readonly BackwardCall[], t: number): number {
  let lo = 0;
  let hi = calls.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (calls[mid].start <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** The pid part of a `pid:tid` thread key. */
function pidOf(key: string): string {
  return key.slice(0, key.indexOf(':'));
}
