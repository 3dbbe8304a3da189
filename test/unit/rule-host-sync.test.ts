/**
 * host-sync detection on real traces, against values computed here from the raw events: one sync
 * per runtime call (Kineto's cuda_sync mirrors and "Stream Wait Event" records are not host
 * blocks), the drain clamped to the GPU span, and ROCm's hip… calls recognised.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blockingSyncs, hostSync } from '../../src/core/rules/host-sync';
import { classifyDetail } from '../../src/core/rules';
import { classifyCudaApi } from '../../src/core/model';
import { CpuCalls } from '../../src/core/model-cpu-calls';
import { contextFor, readFixture } from './rule-helpers';
import { fixture } from './fixtures';
import {
  KERNEL_CATS,
  MEMCPY_CATS,
  MEMSET_CATS,
  type TraceEvent,
  durNs,
  loadTrace,
} from './kineto-helpers';
import { rowAt, rowsOf } from './table-rows';
import { ProfileIndex } from '../../src/core/profile-index';

const ALEXNET = 'a100-alexnet-nostack.json.gz';
const ROCM = 'torch-compile-triton.json.gz';
const SYNC_NAMES = /^(cuda|hip)(Device|Stream|Event)Synchronize$/;

/** Whole µs relative to the first event, in ns (the trace's µs are epoch-scale integers). */
function nsOf(events: TraceEvent[]): (us: number) => number {
  const base = Math.min(...events.filter((e) => typeof e.ts === 'number').map((e) => e.ts ?? 0));
  return (us) => Math.round((us - base) * 1000);
}

/** Busy union of the raw GPU events (zero-length ones kept: they separate gaps), sorted. */
function rawBusy(events: TraceEvent[], ns: (us: number) => number): [number, number][] {
  const gpu = events
    .filter(
      (e) =>
        e.ph === 'X' &&
        (KERNEL_CATS.has(e.cat ?? '') ||
          MEMCPY_CATS.has(e.cat ?? '') ||
          MEMSET_CATS.has(e.cat ?? '')),
    )
    .map((e): [number, number] => [ns(e.ts ?? 0), ns(e.ts ?? 0) + durNs(e)])
    .sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [s, e] of gpu) {
    const last = out[out.length - 1];
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else out.push([s, e]);
  }
  return out;
}

void test('host-sync on a100-alexnet: one sync per cudaStream/DeviceSynchronize call, drain as the raw events give it', async () => {
  const { events } = loadTrace(fixture('torch', ALEXNET));
  const ns = nsOf(events);
  const runtime = events
    .filter((e) => e.ph === 'X' && e.cat === 'cuda_runtime')
    .sort((a, b) => (a.ts ?? 0) - (b.ts ?? 0));
  const syncs = runtime.filter((e) => SYNC_NAMES.test(e.name ?? ''));
  const mirrors = events.filter((e) => e.cat === 'cuda_sync');
  assert.ok(
    mirrors.some((e) => e.name === 'Stream Wait Event'),
    'the trace has event waits',
  );
  assert.ok(mirrors.length > 0 && syncs.length > 0);
  const busy = rawBusy(events, ns);
  let drain = 0;
  let afterCopy = 0;
  for (const s of syncs) {
    const end = ns((s.ts ?? 0) + (s.dur ?? 0));
    const next = busy.find(([, e]) => e > end);
    // Inside the GPU span only: no drain before the first GPU op or after the last.
    if (next && end >= busy[0][0] && next[0] > end) drain += next[0] - end;
    const prev = runtime[runtime.indexOf(s) - 1];
    if (
      prev?.name === 'cudaMemcpyAsync' &&
      ns(s.ts ?? 0) - ns((prev.ts ?? 0) + (prev.dur ?? 0)) <= 50_000
    )
      afterCopy++;
  }
  const profile = await readFixture('torch', ALEXNET);
  const [f] = hostSync(profile, contextFor(profile));
  assert.equal(f.evidence.syncCount, syncs.length);
  assert.equal(f.evidence.drainNs, drain);
  assert.equal(f.evidence.afterCopyCount, afterCopy);
  assert.equal(
    f.evidence.blockedNs,
    syncs.reduce((t, e) => t + durNs(e), 0),
  );
  // Neither the mirrors nor cudaStreamWaitEvent are host blocks.
  const counted = blockingSyncs(new ProfileIndex(profile)).calls;
  assert.ok(counted.every((i) => SYNC_NAMES.test(profile.cpuCalls.nameOf(i))));
});

void test('host-sync: a sync before the first GPU op drains nothing (the wait for the first launch is start-up)', async () => {
  const profile = await readFixture('torch', ALEXNET);
  const [before] = hostSync(profile, contextFor(profile));
  const firstOp = Math.min(...rowsOf(profile.gpuOps).map((o) => o.startNs));
  const real = profile.cpuCalls.get(blockingSyncs(new ProfileIndex(profile)).calls[0]);
  // The same call, moved to 200 ms before the first GPU op (the trace without it drains the same).
  const early = { ...real, startNs: firstOp - 200_000_000, endNs: firstOp - 199_990_000 };
  const shifted = { ...profile, cpuCalls: CpuCalls.from([early, ...rowsOf(profile.cpuCalls)]) };
  const [after] = hostSync(shifted, contextFor(shifted));
  assert.equal(after.evidence.syncCount, Number(before.evidence.syncCount) + 1);
  assert.equal(after.evidence.drainNs, before.evidence.drainNs);
});

void test('ROCm (torch-compile-triton): hip… launches and syncs are recognised, Cijk_ GEMMs count as GEMMs', async () => {
  const { events } = loadTrace(fixture('torch', ROCM));
  const runtime = events.filter((e) => e.ph === 'X' && e.cat === 'cuda_runtime');
  const kernels = events.filter((e) => e.ph === 'X' && KERNEL_CATS.has(e.cat ?? ''));
  const profile = await readFixture('torch', ROCM);
  // Every kernel's launching call (by correlation) is a hip…Launch… call, and is read as a launch.
  const byCorrelation = new Map(runtime.map((e) => [e.args?.correlation, e.name ?? '']));
  assert.ok(
    kernels.every((k) => /^hip\w*Launch/.test(byCorrelation.get(k.args?.correlation) ?? '')),
  );
  const launched = rowsOf(profile.gpuOps).filter(
    (o) => o.kind === 'kernel' && rowAt(profile.cpuCalls, o.launchIndex)?.kind === 'launch',
  );
  assert.equal(launched.length, kernels.length);
  const rawSyncs = runtime.filter((e) => SYNC_NAMES.test(e.name ?? '')).length;
  assert.ok(rawSyncs > 0);
  assert.equal(blockingSyncs(new ProfileIndex(profile)).calls.length, rawSyncs);
  const rawAllocs = runtime.filter((e) => e.name === 'hipMalloc').length;
  assert.equal(rowsOf(profile.cpuCalls).filter((c) => c.kind === 'alloc').length, rawAllocs);
  // Tensile GEMMs: their share of kernel time, summed over the raw events.
  const total = kernels.reduce((t, e) => t + durNs(e), 0);
  const gemm = kernels.filter((e) => e.name?.startsWith('Cijk_')).reduce((t, e) => t + durNs(e), 0);
  const detail = classifyDetail(profile);
  assert.ok(Math.abs(detail.gemmFraction - gemm / total) < 1e-9);
  assert.ok(gemm / total > 0.5);
  assert.equal(detail.classification, 'compute-bound');
});

void test('HIP names: the calls PyTorch on ROCm makes are classified like their CUDA twins', () => {
  const pairs: [string, string][] = [
    ['hipLaunchKernel', 'cudaLaunchKernel'],
    ['hipExtModuleLaunchKernel', 'cuLaunchKernel'],
    ['hipModuleLaunchKernel', 'cuLaunchKernel'],
    ['hipGraphLaunch', 'cudaGraphLaunch'],
    ['hipMemcpyWithStream', 'cudaMemcpy'],
    ['hipMemcpyAsync', 'cudaMemcpyAsync'],
    ['hipMemsetAsync', 'cudaMemsetAsync'],
    ['hipDeviceSynchronize', 'cudaDeviceSynchronize'],
    ['hipStreamSynchronize', 'cudaStreamSynchronize'],
    ['hipEventSynchronize', 'cudaEventSynchronize'],
    ['hipMalloc', 'cudaMalloc'],
    ['hipHostMalloc', 'cudaHostAlloc'],
    ['hipFree', 'cudaFree'],
    ['hipStreamWaitEvent', 'cudaStreamWaitEvent'],
  ];
  for (const [hip, cuda] of pairs) assert.equal(classifyCudaApi(hip), classifyCudaApi(cuda), hip);
  assert.equal(classifyCudaApi('cudaStreamWaitEvent'), 'other');
  assert.equal(classifyCudaApi('cudaStreamQuery'), 'other');
});

void test('host-sync: a driver sync traced inside the runtime sync that made it is the same sync (RTX 5000 with driver calls)', async () => {
  const profile = await readFixture('nsys', 'rtx5000-attention-nvtx-2026.2.sqlite');
  const [before] = hostSync(profile, contextFor(profile));
  // What nsys records with driver tracing on: cuStreamSynchronize within each cudaStreamSynchronize.
  const calls = rowsOf(profile.cpuCalls);
  const nested = calls
    .filter((c) => /^cudaStreamSynchronize/.test(c.name))
    .map((c) => ({
      ...c,
      name: 'cuStreamSynchronize',
      startNs: c.startNs + 1,
      endNs: c.endNs - 1,
    }));
  assert.ok(nested.length > 0);
  const withDriver = { ...profile, cpuCalls: CpuCalls.from([...calls, ...nested]) };
  const [after] = hostSync(withDriver, contextFor(withDriver));
  assert.equal(after.evidence.syncCount, before.evidence.syncCount);
  assert.equal(after.evidence.drainNs, before.evidence.drainNs);
});
