/**
 * The streaming scanner (core/ingest/json-stream.ts) cut at every byte: whatever the chunk
 * boundaries, it yields the events JSON.parse finds and the other top-level keys, in order.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JsonTraceScanner } from '../../src/core/ingest/json-stream';

/**
 * Events with the patterns the fast path guesses on (`}, {`) inside strings and nested values, and
 * non-ASCII names.
 */
const EVENTS = [
  {
    ph: 'X',
    cat: 'kernel',
    name: 'k"}, {"x',
    ts: 1,
    dur: 2,
    args: { nested: [{ a: '}, {' }, {}] },
  },
  { ph: 'X', cat: 'cpu_op', name: 'aten::mm', ts: 3.5, dur: 1, args: { s: '\\"}, {\\\\' } },
  { ph: 'i', name: '[memory]', ts: 4, args: { Bytes: -512 } },
  // Multi-byte UTF-8, cut inside its sequences by the byte-wise chunkings below.
  { ph: 'X', name: 'ядро 😀 ü', ts: 5, dur: 1 },
  ...Array.from({ length: 40 }, (_, i) => ({ ph: 'X', name: `f${i}`, ts: 10 + i, dur: i % 3 })),
  { ph: 'X', name: 'last', ts: 99, dur: 0, args: { deep: { a: [[{ b: [] }], {}] } } },
];
const TEXT = `{"schemaVersion": 1, "traceEvents": [\n${EVENTS.map(
  (e, i) => (i % 2 ? ' ' : '\n') + JSON.stringify(e),
).join(',')}\n], "deviceProperties": [{"id": 0}], "tail": "}, {"}`;

function scanInChunks(sizes: (k: number) => number): {
  events: unknown[];
  top: [string, unknown][];
} {
  const events: unknown[] = [];
  const top: [string, unknown][] = [];
  const scanner = new JsonTraceScanner({
    onEvent: (v) => events.push(v),
    needsText: () => false,
    onTopLevel: (key, v) => top.push([key, v]),
  });
  const bytes = Buffer.from(TEXT);
  for (let at = 0, k = 0; at < bytes.length; k++) {
    const n = Math.max(1, sizes(k));
    // A fresh copy per chunk, overwritten after the push: the scanner must not keep the chunk.
    const chunk = Buffer.from(bytes.subarray(at, at + n));
    scanner.push(chunk);
    chunk.fill(0x20);
    at += n;
  }
  scanner.end();
  return { events, top };
}

void test('json stream: every chunking gives the events and top-level keys of JSON.parse', () => {
  const parsed = JSON.parse(TEXT) as Record<string, unknown>;
  const want = {
    events: parsed.traceEvents,
    top: Object.entries(parsed).filter(([k]) => k !== 'traceEvents'),
  };
  const length = Buffer.byteLength(TEXT);
  // Two chunks cut at every byte, then fixed and uneven sizes.
  for (let cut = 1; cut < length; cut++)
    assert.deepEqual(
      scanInChunks((k) => (k === 0 ? cut : length)),
      want,
      `cut at ${cut}`,
    );
  for (const size of [1, 2, 3, 5, 64, 100, 1000])
    assert.deepEqual(
      scanInChunks(() => size),
      want,
      `chunks of ${size}`,
    );
  assert.deepEqual(
    scanInChunks((k) => ((k * 37) % 97) + 1),
    want,
    'uneven chunks',
  );
});
