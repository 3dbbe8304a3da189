/**
 * SpanTable.byThread (core/ingest/kineto-columns.ts): each thread's spans by start, then end
 * descending, then index, exactly as a comparator sort orders them, on inputs in order, in
 * reverse, in tiled runs and at random with many equal starts and ends.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SpanTable } from '../../src/core/ingest/kineto-columns';

/** A small deterministic generator (xorshift), so a failure replays. */
function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function expected(t: SpanTable): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (let i = 0; i < t.length; i++) {
    const g = out.get(t.thread[i]) ?? [];
    g.push(i);
    out.set(t.thread[i], g);
  }
  for (const g of out.values())
    g.sort((a, b) => t.start[a] - t.start[b] || t.end[b] - t.end[a] || a - b);
  return out;
}

function assertOrder(t: SpanTable, what: string): void {
  const { order, groups } = t.byThread();
  const want = expected(t);
  assert.deepEqual([...groups.keys()], [...want.keys()], what);
  for (const [thread, g] of groups)
    assert.deepEqual(
      [...order.subarray(g.from, g.to)],
      want.get(thread),
      `${what}, thread ${thread}`,
    );
}

void test('spans by thread: start, then end descending, then index, as a comparator sort', () => {
  const shapes: Record<string, (i: number, r: () => number) => [number, number, number]> = {
    // Nested frames in start order, parents first (a real trace's python_function order).
    inOrder: (i) => [i % 3, Math.floor(i / 4) * 10, Math.floor(i / 4) * 10 + 10 - (i % 4)],
    reversed: (i) => [0, 1e6 - i * 7, 1e6 - i * 7 + (i % 5)],
    // Copies of one run shifted in time, the copies appended one after another.
    tiled: (i) => [i % 2, (i % 50) * 3 + Math.floor(i / 50) * 100, (i % 50) * 3 + 5],
    // Few distinct starts and ends: long runs of ties on both.
    ties: (_i, r) => [Math.floor(r() * 3), Math.floor(r() * 8), Math.floor(r() * 8) + 8],
    random: (_i, r) => [Math.floor(r() * 4), Math.floor(r() * 1000), Math.floor(r() * 1000) + 1000],
  };
  for (const [name, shape] of Object.entries(shapes))
    for (const n of [0, 1, 2, 17, 1000, 5000]) {
      const r = rng(n + 1);
      const t = new SpanTable();
      for (let i = 0; i < n; i++) {
        const [thread, start, end] = shape(i, r);
        t.addSpan(thread, start, end);
      }
      assertOrder(t, `${name}, ${n} spans`);
    }
});
