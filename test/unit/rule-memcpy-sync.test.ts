/**
 * memcpy-sync is NVIDIA's cuda_memcpy_sync (synchronous copy APIs), checked here against NVIDIA's
 * own query written out in SQL; PyTorch's blocking copy (cudaMemcpyAsync + synchronize) is
 * host-sync's; no copy is claimed by both memcpy-sync and memcpy-pageable.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Profile } from '../../src/core/model';
import { CpuCalls } from '../../src/core/model-cpu-calls';
import { blockingSyncs, hostSync } from '../../src/core/rules/host-sync';
import { memcpySync, syncCopyCalls } from '../../src/core/rules/memcpy-sync';
import { memcpyPageable, pageableCopies } from '../../src/core/rules/memcpy-pageable';
import { contextFor, readFixture, sql } from './rule-helpers';
import { rowsOf } from './table-rows';
import { ProfileIndex } from '../../src/core/profile-index';

const RTX = 'rtx5000-attention-nvtx-2026.2.sqlite';

/** NVIDIA's cuda-sync-memcpy query (nsys 2022.4 rules/cuda-sync-memcpy.py), as a count. */
const NVIDIA_SYNC_MEMCPY = `
  SELECT COUNT(*) AS n FROM CUPTI_ACTIVITY_KIND_MEMCPY m
  JOIN CUPTI_ACTIVITY_KIND_RUNTIME r ON r.correlationId = m.correlationId
  JOIN StringIds s ON s.id = r.nameId
  WHERE s.value LIKE 'cudaMemcpy%' AND s.value NOT LIKE '%Async%'
    AND NOT (m.bytes <= 64000 AND m.copyKind = 1)
    AND NOT (m.srcDeviceId IS NOT NULL AND m.srcDeviceId = m.dstDeviceId)`;

void test("memcpy-sync on the RTX 5000 trace: as many copies as NVIDIA's cuda-sync-memcpy query finds (none: PyTorch copies async)", async () => {
  const profile = await readFixture('nsys', RTX);
  const [nvidia] = sql<{ n: number }>(RTX, NVIDIA_SYNC_MEMCPY);
  assert.equal(syncCopyCalls(new ProfileIndex(profile)).length, nvidia.n);
  const [asyncCopies] = sql<{ n: number }>(
    RTX,
    `SELECT COUNT(*) AS n FROM CUPTI_ACTIVITY_KIND_RUNTIME r JOIN StringIds s ON s.id = r.nameId
     WHERE s.value LIKE 'cudaMemcpyAsync%'`,
  );
  assert.ok(asyncCopies.n > 0);
  if (nvidia.n === 0) assert.deepEqual(memcpySync(profile, contextFor(profile)), []);
});

void test("PyTorch's blocking copy (cudaMemcpyAsync, then a stream synchronize) is counted by host-sync, as SQL finds it", async () => {
  const profile = await readFixture('nsys', RTX);
  const [raw] = sql<{ n: number }>(
    RTX,
    `SELECT COUNT(*) AS n FROM (
       SELECT s.value AS nm,
              LAG(s.value) OVER (PARTITION BY r.globalTid ORDER BY r.start) AS prev,
              r.start - LAG(r.end) OVER (PARTITION BY r.globalTid ORDER BY r.start) AS gap
       FROM CUPTI_ACTIVITY_KIND_RUNTIME r JOIN StringIds s ON s.id = r.nameId)
     WHERE nm LIKE '%Synchronize%' AND prev LIKE 'cudaMemcpy%Async%' AND gap <= 50000`,
  );
  assert.ok(raw.n > 0);
  const [f] = hostSync(profile, contextFor(profile));
  assert.equal(f.evidence.afterCopyCount, raw.n);
  assert.equal(blockingSyncs(new ProfileIndex(profile)).afterCopy.filter(Boolean).length, raw.n);
});

/**
 * The RTX 5000 trace as if its copies had used the synchronous API: the launching calls of its
 * copies renamed from cudaMemcpyAsync to cudaMemcpy (times, sizes and memory kinds as recorded).
 */
function withSyncCopyApi(profile: Profile): Profile {
  const cpuCalls = CpuCalls.from(
    rowsOf(profile.cpuCalls).map((c) =>
      c.kind === 'memcpy' ? { ...c, name: c.name.replace('cudaMemcpyAsync', 'cudaMemcpy') } : c,
    ),
  );
  return { ...profile, cpuCalls };
}

void test('memcpy-sync and memcpy-pageable never claim the same copy (the RTX 5000 copies, async and as sync API calls)', async () => {
  const asRecorded = await readFixture('nsys', RTX);
  const pageableBefore = pageableCopies(asRecorded);
  assert.ok(pageableBefore.length > 0);
  assert.equal(syncCopyCalls(new ProfileIndex(asRecorded)).length, 0);

  const sync = withSyncCopyApi(asRecorded);
  const claimedBySync = new Set(syncCopyCalls(new ProfileIndex(sync)).map((c) => c.op));
  // NVIDIA's cut, counted over the raw rows: host-to-device copies over 64,000 bytes and every
  // other direction (no copy of this trace is within one device).
  const [big] = sql<{ n: number }>(
    RTX,
    `SELECT COUNT(*) AS n FROM CUPTI_ACTIVITY_KIND_MEMCPY WHERE NOT (bytes <= 64000 AND copyKind = 1)
       AND NOT (srcDeviceId IS NOT NULL AND srcDeviceId = dstDeviceId)`,
  );
  assert.equal(claimedBySync.size, big.n);
  assert.ok(pageableCopies(sync).every((op) => !claimedBySync.has(op)));
  // Synchronous API calls are memcpy-sync's whatever their memory: none is left to memcpy-pageable.
  assert.deepEqual(memcpyPageable(sync, contextFor(sync)), []);
  assert.equal(memcpySync(sync, contextFor(sync)).length, 1);
});

void test('memcpy-sync: quiet on the Qwen forward pass', async () => {
  const qwen = await readFixture('torch', 'h100-qwen0.5b-stack.json.gz');
  assert.deepEqual(memcpySync(qwen, contextFor(qwen)), []);
});
