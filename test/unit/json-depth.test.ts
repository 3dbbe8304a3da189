/** Nesting depth and hostile scalar fields in Kineto JSON: clear errors or skipped events, never a stack overflow. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readKineto } from '../../src/core/ingest/kineto';
import { MAX_TOP_LEVEL_DEPTH } from '../../src/core/ingest/json-stream';
import { rowsOf } from './table-rows';

const KERNEL = '{"ph":"X","cat":"kernel","name":"k","pid":1,"tid":7,"ts":1,"dur":2}';

function write(text: string): string {
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gl-depth-')), 'trace.json');
  fs.writeFileSync(f, text);
  return f;
}

const nested = (depth: number, open: string, inner: string, close: string) =>
  open.repeat(depth) + inner + close.repeat(depth);

void test('a top-level value at the depth limit loads; one level deeper is a one-line error', async () => {
  for (const [open, inner, close] of [
    ['[', '', ']'],
    ['{"a":', '1', '}'],
  ]) {
    const at = nested(MAX_TOP_LEVEL_DEPTH, open, inner, close);
    const profile = await readKineto(write(`{"distributedInfo":${at},"traceEvents":[${KERNEL}]}`));
    assert.equal(profile.gpuOps.length, 1);
    const over = nested(MAX_TOP_LEVEL_DEPTH + 1, open, inner, close);
    await assert.rejects(
      readKineto(write(`{"traceEvents":[${KERNEL}],"deviceProperties":${over}}`)),
      (e: Error) => {
        assert.match(
          e.message,
          /the top-level "deviceProperties" value is nested deeper than 1000 levels$/,
        );
        assert.ok(!e.message.includes('\n'));
        return true;
      },
    );
  }
});

void test('events whose pid, tid, id or cat is nested deeply are skipped; the others are read', async () => {
  const deep = nested(100_000, '[', '', ']');
  const events = [
    KERNEL,
    `{"ph":"X","cat":"kernel","name":"k","pid":${deep},"tid":7,"ts":5,"dur":2}`,
    `{"ph":"X","cat":"kernel","name":"k","pid":1,"tid":${deep},"ts":5,"dur":2}`,
    `{"ph":"X","cat":${deep},"name":"k","pid":1,"tid":7,"ts":5,"dur":2}`,
    `{"ph":"s","cat":"ac2g","name":"f","pid":1,"tid":7,"ts":5,"id":${deep}}`,
    // Deep args are fine: the reader only reads scalar args.
    `{"ph":"X","cat":"kernel","name":"k2","pid":1,"tid":7,"ts":9,"dur":3,"args":{"x":${deep}}}`,
  ];
  const profile = await readKineto(write(`{"traceEvents":[${events.join(',')}]}`));
  assert.deepEqual(
    rowsOf(profile.gpuOps).map((o) => o.name),
    ['k', 'k2'],
  );
  assert.ok(
    profile.warnings.includes('4 malformed trace events were skipped'),
    profile.warnings.join(),
  );
});

void test('a cat named after an Object.prototype member is not a GPU category', async () => {
  const profile = await readKineto(
    write(
      `{"traceEvents":[${KERNEL},` +
        ['toString', '__proto__', 'constructor', 'hasOwnProperty']
          .map((cat) => `{"ph":"X","cat":"${cat}","name":"x","pid":1,"tid":1,"ts":3,"dur":2}`)
          .join(',') +
        ']}',
    ),
  );
  assert.equal(profile.gpuOps.length, 1);
});
