import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gpuIdleGaps } from '../../src/core/rules/gpu-idle-gaps';
import { launchOverhead } from '../../src/core/rules/launch-overhead';
import { hostSync } from '../../src/core/rules/host-sync';
import { contextFor, readFixture, sql, unionLength, workspaceWith } from './rule-helpers';
import { fixture } from './fixtures';
import { LAUNCH_CATS, durNs, frameOf, loadTrace, gpuEvents } from './kineto-helpers';
import { rowsOf } from './table-rows';

const RTX = 'rtx5000-attention-nvtx-2026.2.sqlite';

/** GPU active % straight from the export: union of kernel, memcpy and memset intervals. */
function nsysActivePct(name: string): number {
  const rows = sql<{ start: number; end: number }>(
    name,
    `SELECT start, end FROM CUPTI_ACTIVITY_KIND_KERNEL UNION ALL SELECT start, end FROM CUPTI_ACTIVITY_KIND_MEMCPY
     UNION ALL SELECT start, end FROM CUPTI_ACTIVITY_KIND_MEMSET`,
  );
  const span = Math.max(...rows.map((r) => r.end)) - Math.min(...rows.map((r) => r.start));
  return (unionLength(rows.map((r) => [r.start, r.end])) / span) * 100;
}

/** Same from a Kineto trace's GPU events (single device). */
function kinetoActivePct(name: string): number {
  const { events } = loadTrace(fixture('torch', name));
  const gpu = gpuEvents(events);
  const iv = gpu.map((e): [number, number] => [
    Math.round((e.ts ?? 0) * 1000),
    Math.round((e.ts ?? 0) * 1000) + durNs(e),
  ]);
  const span = Math.max(...iv.map((i) => i[1])) - Math.min(...iv.map((i) => i[0]));
  return (unionLength(iv) / span) * 100;
}

void test('gpu-idle-gaps: fires on the RTX 5000 attention trace with the active % of the raw intervals', async () => {
  const profile = await readFixture('nsys', RTX);
  const [f] = gpuIdleGaps(profile, contextFor(profile));
  const expected = nsysActivePct(RTX);
  assert.ok(expected < 80);
  assert.ok(
    Math.abs(Number(f.evidence.gpuActivePct) - expected) < 0.01,
    `${String(f.evidence.gpuActivePct)} vs ${expected}`,
  );
  assert.ok(f.savingsNs > 0 && f.savingsNs <= Number(f.evidence.wallNs));
  assert.ok(Number(f.evidence.lowUtilChunks) > 0);
});

void test('gpu-idle-gaps: quiet where the GPU is busy (Qwen forward, > 80 %) and on CPU-only traces', async () => {
  assert.ok(kinetoActivePct('h100-qwen0.5b-stack.json.gz') >= 80);
  const qwen = await readFixture('torch', 'h100-qwen0.5b-stack.json.gz');
  assert.deepEqual(gpuIdleGaps(qwen, contextFor(qwen)), []);
  const cpu = await readFixture('torch', 'cpu-only.pt.trace.json.gz');
  assert.deepEqual(gpuIdleGaps(cpu, contextFor(cpu)), []);
});

void test('launch-overhead: BERT-small kernels wait for their launches, located in modeling_bert.py', async () => {
  const file = 'transformers/models/bert/modeling_bert.py';
  const profile = await readFixture('torch', 'h100-bert-small-stack.json.gz');
  const [f] = launchOverhead(profile, contextFor(profile, workspaceWith([file])));
  assert.ok(f, 'fires');
  // Independent: the modeling_bert.py functions that were on the stack when a kernel was launched.
  const { events } = loadTrace(fixture('torch', 'h100-bert-small-stack.json.gz'));
  const launches = events.filter(
    (e) => e.ph === 'X' && LAUNCH_CATS.has(e.cat ?? '') && /Launch/.test(e.name ?? ''),
  );
  const launchingLines = new Set<number>();
  for (const e of events) {
    const fr = e.cat === 'python_function' ? frameOf(e.name ?? '') : null;
    if (!fr || fr.file !== file) continue;
    const s = e.ts ?? 0;
    const end = s + (e.dur ?? 0);
    if (launches.some((l) => l.tid === e.tid && (l.ts ?? 0) >= s && (l.ts ?? 0) <= end))
      launchingLines.add(fr.line);
  }
  assert.ok(f.locations.length > 0);
  for (const loc of f.locations) {
    assert.equal(loc.file, file);
    assert.ok(launchingLines.has(loc.line), `line ${loc.line} launched no kernel`);
  }
  assert.ok(
    Number(f.evidence.starvedKernels) <=
      rowsOf(profile.gpuOps).filter((o) => o.kind === 'kernel').length,
  );
});

void test('launch-overhead: quiet on the busy Qwen forward pass', async () => {
  const qwen = await readFixture('torch', 'h100-qwen0.5b-stack.json.gz');
  assert.deepEqual(launchOverhead(qwen, contextFor(qwen)), []);
});

void test('host-sync: the RTX 5000 trace synchronizes and then idles; counts stay within the raw sync calls', async () => {
  const profile = await readFixture('nsys', RTX);
  const [f] = hostSync(profile, contextFor(profile));
  const [raw] = sql<{ n: number; ns: number }>(
    RTX,
    `SELECT COUNT(*) AS n, SUM(r.end - r.start) AS ns FROM CUPTI_ACTIVITY_KIND_RUNTIME r JOIN StringIds s ON s.id = r.nameId
     WHERE s.value LIKE '%Synchronize%'`,
  );
  assert.ok(Number(f.evidence.syncCount) > 0 && Number(f.evidence.syncCount) <= raw.n);
  assert.ok(Number(f.evidence.blockedNs) <= raw.ns);
  assert.ok(f.savingsNs >= 100_000);
});

void test('host-sync: a sync that returns while the GPU is still busy costs nothing (ns-resolution trace)', async () => {
  const profile = await readFixture('torch', 'ns-resolution-rank0.pt.trace.json.gz');
  assert.ok(
    rowsOf(profile.cpuCalls).some((c) => c.kind === 'sync' && /DeviceSynchronize/.test(c.name)),
  );
  assert.deepEqual(hostSync(profile, contextFor(profile)), []);
});
