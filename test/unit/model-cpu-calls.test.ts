/**
 * CpuCalls (core/model-cpu-calls.ts): correlation ids in a Uint32Array, any other value kept beside
 * it, each read back as the reader set it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CpuCall } from '../../src/core/model';
import { CpuCalls, ODD_ID } from '../../src/core/model-cpu-calls';

const call = (correlationId: number): CpuCall => ({
  name: 'cudaLaunchKernel',
  kind: 'launch',
  startNs: 0,
  endNs: 1,
  pid: 1,
  tid: 2,
  rank: 0,
  correlationId,
  stackId: -1,
});

void test('cpu calls: every correlation id reads back as set, odd ones beside the column', () => {
  const ids = [0, 1, 7, 2 ** 32 - 2, ODD_ID, -1, -3, 2 ** 40, 11.5, NaN, 12];
  const calls = CpuCalls.from(ids.map(call));
  ids.forEach((id, i) => assert.equal(calls.get(i).correlationId, id, `call ${i}`));
  // Only the values a uint32 cell cannot hold take a map entry; -1 (none) takes none.
  assert.deepEqual(
    [...calls.oddIds.keys()],
    ids.flatMap((id, i) => ((id >>> 0 === id && id !== ODD_ID) || id === -1 ? [] : [i])),
  );
  // Setting again replaces the odd value, and text is read as a number (a reader's odd row).
  calls.setCorrelation(6, -1);
  calls.setCorrelation(7, '11' as unknown as number);
  assert.equal(calls.correlationOf(6), -1);
  assert.equal(calls.correlationOf(7), 11);
  assert.ok(!calls.oddIds.has(6) && !calls.oddIds.has(7));
});
