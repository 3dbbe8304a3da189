import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { readKineto } from '../../src/core/ingest/kineto';
import { type TraceEvent, frameOf } from './kineto-helpers';
import { rowsOf } from './table-rows';

/** python_function event on thread 1:1 spanning [ts, ts + dur) µs. */
function py(name: string, ts: number, dur: number, id: unknown, parent: unknown): TraceEvent {
  const args = { 'Python id': id, 'Python parent id': parent };
  return { ph: 'X', cat: 'python_function', name, pid: 1, tid: 1, ts, dur, args };
}

/** A cudaLaunchKernel call at `ts` on thread 1:1. */
function call(ts: number): TraceEvent {
  return { ph: 'X', cat: 'cuda_runtime', name: 'cudaLaunchKernel', pid: 1, tid: 1, ts, dur: 1 };
}

/**
 * The stack of the innermost python_function holding `ts`, by a plain walk of `Python parent id`
 * (the last node with an id wins; the walk stops at the first node seen twice).
 */
function expectedStack(events: TraceEvent[], ts: number): string[] {
  const frames = events.filter((e) => e.cat === 'python_function');
  const byId = new Map<unknown, TraceEvent>();
  for (const e of frames) byId.set(e.args?.['Python id'], e);
  const holding = frames
    .filter((e) => (e.ts ?? 0) <= ts && (e.ts ?? 0) + (e.dur ?? 0) >= ts)
    .sort((a, b) => (b.ts ?? 0) - (a.ts ?? 0));
  const out: string[] = [];
  const seen = new Set<TraceEvent>();
  for (let e: TraceEvent | undefined = holding[0]; e && !seen.has(e);) {
    seen.add(e);
    const f = frameOf(e.name ?? '');
    if (f) out.push(`${f.file}:${f.line}:${f.function}`);
    const parent: unknown = e.args?.['Python parent id'];
    e = typeof parent === 'number' && parent >= 0 ? byId.get(parent) : undefined;
  }
  return out;
}

async function stacksOfCalls(events: TraceEvent[]): Promise<string[][]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpulens-pytree-'));
  const file = path.join(dir, 'trace.json');
  fs.writeFileSync(file, JSON.stringify({ traceEvents: events }));
  const profile = await readKineto(file);
  fs.rmSync(dir, { recursive: true, force: true });
  return rowsOf(profile.cpuCalls).map((c) =>
    c.stackId < 0 ? [] : profile.stacks[c.stackId].map((f) => `${f.file}:${f.line}:${f.function}`),
  );
}

void test('python tree: shared parents, module frames and siblings give each call its own stack', async () => {
  const events = [
    py('train.py(5): main', 0, 1000, 1, -1),
    py('nn.Module: Model_0', 10, 900, 2, 1),
    py('model.py(20): forward', 20, 400, 3, 2),
    py('model.py(30): block', 30, 100, 4, 3),
    py('model.py(40): head', 500, 300, 5, 2),
    py('<built-in method relu>', 510, 50, 6, 5),
    call(50),
    call(300),
    call(520),
    call(700),
    call(950),
  ];
  const got = await stacksOfCalls(events);
  const want = [50, 300, 520, 700, 950].map((ts) => expectedStack(events, ts));
  assert.deepEqual(got, want);
  // Sanity of the expectation itself: the innermost call sees three source frames.
  assert.deepEqual(want[0], ['model.py:30:block', 'model.py:20:forward', 'train.py:5:main']);
});

void test('python tree: a parent-id cycle ends each walk at the first node seen twice', async () => {
  // A -> C -> B -> A: each call's stack starts at its own innermost node and goes once around.
  const events = [
    py('a.py(1): a', 0, 100, 1, 3),
    py('b.py(2): b', 10, 80, 2, 1),
    py('c.py(3): c', 20, 60, 3, 2),
    py('d.py(4): d', 200, 10, 4, 4),
    call(50),
    call(15),
    call(5),
    call(205),
  ];
  const got = await stacksOfCalls(events);
  const want = [50, 15, 5, 205].map((ts) => expectedStack(events, ts));
  assert.deepEqual(got, want);
  assert.deepEqual(want[0], ['c.py:3:c', 'b.py:2:b', 'a.py:1:a']);
  assert.deepEqual(want[3], ['d.py:4:d']);
});

void test('python tree: sparse, fractional and repeated ids link like a plain id lookup', async () => {
  const events = [
    py('x.py(1): outer', 0, 1000, 1e12, -1),
    py('x.py(2): mid', 10, 900, 2.5, 1e12),
    py('x.py(3): inner', 20, 100, 7, 2.5),
    // Id 7 again: the last node with an id is the one its children link to.
    py('y.py(9): again', 500, 300, 7, -1),
    py('y.py(10): child', 510, 50, 8, 7),
    call(50),
    call(520),
  ];
  const got = await stacksOfCalls(events);
  const want = [50, 520].map((ts) => expectedStack(events, ts));
  assert.deepEqual(got, want);
  assert.deepEqual(want[0], ['x.py:3:inner', 'x.py:2:mid', 'x.py:1:outer']);
});

void test('python tree: children written before their parents link once the trace is read', async () => {
  // Reverse order: every node arrives before its parent (pending until the end of the trace).
  const events = [
    py('<built-in method relu>', 510, 50, 6, 5),
    py('model.py(40): head', 500, 300, 5, 2),
    py('model.py(30): block', 30, 100, 4, 3),
    py('model.py(20): forward', 20, 400, 3, 2),
    py('nn.Module: Model_0', 10, 900, 2, 1),
    py('train.py(5): main', 0, 1000, 1, -1),
    call(50),
    call(300),
    call(520),
    call(950),
  ];
  const got = await stacksOfCalls(events);
  const want = [50, 300, 520, 950].map((ts) => expectedStack(events, ts));
  assert.deepEqual(got, want);
  assert.deepEqual(want[2], ['model.py:40:head', 'train.py:5:main']);
});

void test('python tree: a frame-less node outside its parent span still gives its own stack', async () => {
  // The built-in ends after its parent (clock skew): a call in that tail still has the
  // parent's frames, not those of whatever else holds its time.
  const events = [
    py('train.py(5): main', 0, 1000, 1, -1),
    py('model.py(20): forward', 20, 100, 2, 1),
    py('<built-in method relu>', 100, 50, 3, 2),
    call(110),
    call(140),
  ];
  const got = await stacksOfCalls(events);
  const want = [110, 140].map((ts) => expectedStack(events, ts));
  assert.deepEqual(got, want);
  assert.deepEqual(want[1], ['model.py:20:forward', 'train.py:5:main']);
});
