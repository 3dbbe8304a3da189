/**
 * The idle-gap columns: rows read back as they were added (past the columns' first growth), and
 * `where` picks a cause's gaps in order, filtered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GAP_CAUSES, IdleGapTable } from '../../src/core/rules/idle-gap-table';
import type { GapCause } from '../../src/core/rules/gap-causes';
import type { IdleGap } from '../../src/core/rules/types';

/** Gap k of the test table: causes in turn, times past 2^32 ns, a blocker on host-sync gaps. */
function gap(k: number): IdleGap {
  const cause = GAP_CAUSES[k % GAP_CAUSES.length];
  const g: IdleGap = {
    index: k,
    rank: k % 3,
    deviceId: k % 2,
    startNs: 5e12 + k * 1000,
    endNs: 5e12 + k * 1000 + 100 + k,
    cause,
    stackId: k % 5 === 0 ? -1 : k,
    rangeIndex: k % 7 === 0 ? k : -1,
    launchIndex: k - 1,
  };
  if (cause === 'host-sync') g.blocker = 10 * k;
  return g;
}

void test('idle gap table: rows read back as added, past the first growth', () => {
  const table = new IdleGapTable();
  const want = Array.from({ length: 100 }, (_, k) => gap(k));
  for (const g of want) table.add(g.rank, g.deviceId, g.startNs, g.endNs, g, g.launchIndex);
  assert.equal(table.length, 100);
  assert.deepEqual(
    Array.from({ length: table.length }, (_, k) => table.at(k)),
    want,
  );
  assert.equal(table.ns(42), 142);
});

void test('idle gap table: where gives one cause, in order, filtered', () => {
  const table = new IdleGapTable();
  for (let k = 0; k < 60; k++) {
    const g = gap(k);
    table.add(g.rank, g.deviceId, g.startNs, g.endNs, g, g.launchIndex);
  }
  const cause: GapCause = 'host-sync';
  const all = Array.from({ length: 60 }, (_, k) => gap(k)).filter((g) => g.cause === cause);
  assert.ok(all.length > 2);
  assert.deepEqual(table.where(cause), all);
  assert.deepEqual(
    table.where(cause, (g) => g.rank === 1),
    all.filter((g) => g.rank === 1),
  );
});
