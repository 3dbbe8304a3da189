import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Profile } from '../../src/core/model';
import { GpuOps } from '../../src/core/model-gpu-ops';
import { ncclOverhead } from '../../src/core/rules/nccl-overhead';
import { ncclImbalance } from '../../src/core/rules/nccl-imbalance';
import { ALL_RULES, classify, classifyDetail, runRules } from '../../src/core/rules/index';
import { contextFor, readFixture } from './rule-helpers';
import { fixture } from './fixtures';
import { KERNEL_CATS, durNs, loadTrace } from './kineto-helpers';
import { rowsOf } from './table-rows';

/** NCCL kernel ns and all kernel ns summed straight over a Kineto trace's kernel events. */
function rawComm(name: string): { comm: number; all: number; perDevice: Map<string, number> } {
  const { events } = loadTrace(fixture('torch', name));
  let comm = 0;
  let all = 0;
  const perDevice = new Map<string, number>();
  for (const e of events) {
    if (e.ph !== 'X' || !KERNEL_CATS.has(e.cat ?? '')) continue;
    all += durNs(e);
    // Collectives: NCCL kernels and PyTorch's symmetric-memory all-reduce kernels.
    if (!/nccl|rccl|all_?reduce|all_?gather|reduce_?scatter/i.test(e.name ?? '')) continue;
    comm += durNs(e);
    perDevice.set(String(e.pid), (perDevice.get(String(e.pid)) ?? 0) + durNs(e));
  }
  return { comm, all, perDevice };
}

void test('nccl-overhead: the A100 NCCL trace spends more than 10 % of kernel time in collectives', async () => {
  const raw = rawComm('a100-nccl.json.gz');
  const profile = await readFixture('torch', 'a100-nccl.json.gz');
  const [f] = ncclOverhead(profile, contextFor(profile));
  const pct = (raw.comm / raw.all) * 100;
  assert.ok(pct > 10);
  assert.ok(
    Math.abs(Number(f.evidence.commPct) - pct) < 0.1,
    `${String(f.evidence.commPct)} vs ${pct}`,
  );
  assert.ok(f.savingsNs <= Number(f.evidence.commNs));
});

void test('nccl-overhead: quiet without collectives (Qwen forward)', async () => {
  const qwen = await readFixture('torch', 'h100-qwen0.5b-stack.json.gz');
  assert.deepEqual(ncclOverhead(qwen, contextFor(qwen)), []);
});

/**
 * No multi-rank capture is available: two real single-rank NCCL traces (A100 and B200 jobs) are
 * put side by side as ranks 0 and 1. Their collective times differ, as the raw sums show.
 */
void test('nccl-imbalance: per-rank collective time spread, from two real rank traces', async () => {
  const a = await readFixture('torch', 'a100-nccl.json.gz');
  const b = await readFixture('torch', 'b200x8-eager-nccl-stack.json.gz');
  const merged: Profile = {
    ...a,
    gpuOps: GpuOps.from([
      ...rowsOf(a.gpuOps).map((op) => ({ ...op, rank: 0 })),
      ...rowsOf(b.gpuOps).map((op) => ({ ...op, rank: 1, launchIndex: -1, stackId: -1 })),
    ]),
    rankCount: 2,
  };
  // Every GPU of both ranks (GPU events carry the device as pid).
  const times = [
    ...rawComm('a100-nccl.json.gz').perDevice.values(),
    ...rawComm('b200x8-eager-nccl-stack.json.gz').perDevice.values(),
  ];
  const expected = ((Math.max(...times) - Math.min(...times)) / Math.max(...times)) * 100;
  const [f] = ncclImbalance(merged, contextFor(merged));
  assert.ok(
    Math.abs(Number(f.evidence.imbalancePct) - expected) < 0.1,
    `${String(f.evidence.imbalancePct)} vs ${expected}`,
  );
  // Balanced: the same rank twice.
  const twice: Profile = {
    ...a,
    gpuOps: GpuOps.from([
      ...rowsOf(a.gpuOps),
      ...rowsOf(a.gpuOps).map((op) => ({ ...op, rank: 1 })),
    ]),
    rankCount: 2,
  };
  assert.deepEqual(ncclImbalance(twice, contextFor(twice)), []);
  // A single rank has nothing to compare.
  assert.deepEqual(ncclImbalance(a, contextFor(a)), []);
});

void test('classify: the reference classifier on real traces', async () => {
  const cpu = await readFixture('torch', 'cpu-only.pt.trace.json.gz');
  assert.equal(classify(cpu), 'unknown');
  const diff = await readFixture('torch', 'diff-control.json.gz');
  const raw = rawComm('diff-control.json.gz');
  const d = classifyDetail(diff);
  assert.ok(Math.abs(d.commFraction - raw.comm / raw.all) < 0.001);
  assert.ok(d.cpuToGpuRatio !== null && d.cpuToGpuRatio <= 3);
  assert.equal(d.classification, raw.comm / raw.all > 0.2 ? 'communication-bound' : 'memory-bound');
  // nsys without operator ranges: GPU active 10 % → overhead-bound.
  const rtx = await readFixture('nsys', 'rtx5000-attention-nvtx-2026.2.sqlite');
  assert.equal(classify(rtx), 'overhead-bound');
});

void test('runRules: every rule runs; findings come largest savings first', async () => {
  const rtx = await readFixture('nsys', 'rtx5000-attention-nvtx-2026.2.sqlite');
  const findings = runRules(rtx, contextFor(rtx));
  assert.equal(Object.keys(ALL_RULES).length, 14);
  assert.ok(findings.length >= 4);
  for (let i = 1; i < findings.length; i++)
    assert.ok(findings[i - 1].savingsNs >= findings[i].savingsNs);
  for (const f of findings) {
    assert.ok(Number.isInteger(f.savingsNs) && f.fix.snippet.length > 0 && f.message.length > 0);
    assert.ok(f.rule in ALL_RULES);
  }
});
