import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allocStalls } from '../../src/core/rules/alloc-stalls';
import { memcpyPageable } from '../../src/core/rules/memcpy-pageable';
import { memoryPressure } from '../../src/core/rules/memory-pressure';
import { memoryBoundDecode } from '../../src/core/rules/memory-bound-decode';
import type { MemorySample } from '../../src/core/model';
import { contextFor, readFixture, sql } from './rule-helpers';
import { fixture } from './fixtures';
import { KERNEL_CATS, durNs, loadTrace } from './kineto-helpers';

const RTX = 'rtx5000-attention-nvtx-2026.2.sqlite';

void test('alloc-stalls: the RTX 5000 trace has allocation calls over 1 ms, as SQL counts them', async () => {
  const profile = await readFixture('nsys', RTX);
  const [f] = allocStalls(profile, contextFor(profile));
  const [raw] = sql<{ n: number; worst: number }>(
    RTX,
    `SELECT COUNT(*) AS n, MAX(r.end - r.start) AS worst FROM CUPTI_ACTIVITY_KIND_RUNTIME r JOIN StringIds s ON s.id = r.nameId
     WHERE (s.value LIKE 'cudaMalloc%' OR s.value LIKE 'cudaFree%') AND r.end - r.start > 1000000`,
  );
  assert.ok(raw.n > 0);
  assert.equal(f.evidence.slowCount, raw.n);
  assert.equal(f.evidence.worstNs, raw.worst);
});

void test('alloc-stalls: quiet when every allocation is under the threshold', async () => {
  const profile = await readFixture('nsys', RTX);
  const [raw] = sql<{ worst: number }>(
    RTX,
    `SELECT MAX(r.end - r.start) AS worst FROM CUPTI_ACTIVITY_KIND_RUNTIME r JOIN StringIds s ON s.id = r.nameId
     WHERE s.value LIKE 'cudaMalloc%' OR s.value LIKE 'cudaFree%' OR s.value LIKE 'cuMem%'`,
  );
  assert.deepEqual(
    allocStalls(profile, contextFor(profile, undefined, { slowAllocNs: raw.worst })),
    [],
  );
  const qwen = await readFixture('torch', 'h100-qwen0.5b-stack.json.gz');
  assert.deepEqual(allocStalls(qwen, contextFor(qwen)), []);
});

void test('memcpy-pageable: host-to-device copies from pageable memory, counted in SQL', async () => {
  const profile = await readFixture('nsys', RTX);
  const [f] = memcpyPageable(profile, contextFor(profile));
  const [raw] = sql<{ n: number; bytes: number }>(
    RTX,
    `SELECT COUNT(*) AS n, SUM(bytes) AS bytes FROM CUPTI_ACTIVITY_KIND_MEMCPY
     WHERE (copyKind = 1 AND srcKind = 0) OR (copyKind = 2 AND dstKind = 0)`,
  );
  assert.equal(f.evidence.copyCount, raw.n);
  assert.equal(f.evidence.bytes, raw.bytes);
  assert.equal(f.savingsNs, Math.round(Number(f.evidence.copyNs) * 0.5));
});

void test('memcpy-pageable: quiet on BERT-small (one tiny copy)', async () => {
  const bert = await readFixture('torch', 'h100-bert-small-stack.json.gz');
  assert.deepEqual(memcpyPageable(bert, contextFor(bert)), []);
});

void test('memory-pressure: SGLang decode peak reserved / capacity from the raw [memory] events', async () => {
  const file = fixture('torch', 'sglang-decode-graph-capture.json.gz');
  const { top, events } = loadTrace(file);
  const total = Number((top.deviceProperties as { totalGlobalMem: number }[])[0].totalGlobalMem);
  const samples: MemorySample[] = [];
  for (const e of events) {
    const a = e.args ?? {};
    if (e.name !== '[memory]' || a['Device Type'] === 0) continue; // 0: host memory
    samples.push({
      tsNs: Math.round((e.ts ?? 0) * 1000),
      deviceId: Number(a['Device Id']),
      allocatedBytes: Number(a['Total Allocated'] ?? 0),
      reservedBytes: Number(a['Total Reserved'] ?? 0),
      rank: 0,
    });
  }
  const peak = Math.max(...samples.map((m) => Math.max(m.allocatedBytes, m.reservedBytes)));
  const pct = (peak / total) * 100;
  const profile = await readFixture('torch', 'sglang-decode-graph-capture.json.gz');
  // The reader keeps every device sample (this ROCm trace marks them Device Type 6, HIP).
  assert.equal(profile.memory.length, samples.length);
  // Default threshold (90 %) is above this run's peak: quiet.
  assert.ok(pct < 90);
  assert.deepEqual(memoryPressure(profile, contextFor(profile)), []);
  // Under a threshold below the peak it stays quiet still: SGLang's KV pool (mem_fraction_static)
  // is allocated once and held, the raw samples never leave 5 % of capacity below the peak.
  const low = contextFor(profile, undefined, { memoryPressurePct: Math.floor(pct) - 1 });
  const peakAllocated = Math.max(...samples.map((m) => m.allocatedBytes));
  const first = samples.findIndex((m) => m.allocatedBytes >= peakAllocated - 0.05 * total);
  assert.ok(samples.slice(first).every((m) => m.allocatedBytes >= peakAllocated - 0.05 * total));
  assert.deepEqual(memoryPressure(profile, low), []);
  // Without the engine the same held pool is reported (info), with the peak the raw events give.
  const noEngine = { ...low, workload: () => ({ ...low.workload(), engine: null }) };
  const [f] = memoryPressure(profile, noEngine);
  assert.equal(f.severity, 'info');
  assert.ok(
    Math.abs(Number(f.evidence.peakPct) - pct) < 0.01,
    `${String(f.evidence.peakPct)} vs ${pct}`,
  );
  assert.equal(f.evidence.capacityBytes, total);
});

void test('memory-bound-decode: the Qwen forward pass is dominated by memory-bound kernels; RTX attention by GEMMs', async () => {
  const { events } = loadTrace(fixture('torch', 'h100-qwen0.5b-stack.json.gz'));
  const kernelNs = events
    .filter((e) => e.ph === 'X' && KERNEL_CATS.has(e.cat ?? ''))
    .reduce((s, e) => s + durNs(e), 0);
  const qwen = await readFixture('torch', 'h100-qwen0.5b-stack.json.gz');
  const [f] = memoryBoundDecode(qwen, contextFor(qwen));
  assert.ok(
    Math.abs(Number(f.evidence.kernelNs) - kernelNs) <= events.length,
    `${String(f.evidence.kernelNs)} vs ${kernelNs}`,
  );
  assert.ok(Number(f.evidence.memoryBoundPct) >= 50 && Number(f.evidence.gemmPct) < 50);
  const rtx = await readFixture('nsys', RTX);
  const [gemm] = sql<{ share: number }>(
    RTX,
    `SELECT SUM(CASE WHEN s.value LIKE '%gemm%' OR s.value LIKE '%cutlass%' OR s.value LIKE '%xmma%' THEN k.end - k.start ELSE 0 END) * 1.0
            / SUM(k.end - k.start) AS share
     FROM CUPTI_ACTIVITY_KIND_KERNEL k JOIN StringIds s ON s.id = k.demangledName`,
  );
  assert.ok(gemm.share > 0.5);
  assert.deepEqual(memoryBoundDecode(rtx, contextFor(rtx)), []);
});
