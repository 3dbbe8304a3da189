/**
 * memory-pressure: peak reserved device memory reaches `thresholds.memoryPressurePct` of the GPU's
 * capacity (reference texts: "memory usage exceeding 90 % of GPU capacity" caps the batch size;
 * reserved far above allocated is fragmentation). Needs memory samples (torch.profiler with
 * profile_memory=True) and the device's capacity.
 *
 * A serving engine (vLLM, SGLang …) fills `gpu_memory_utilization` of the GPU with its KV-cache
 * pool on purpose, once, and holds it: that is no pressure, and the rule stays silent when the
 * peak is such a held pool. Outside an engine a held pool (a pre-allocated cache) is reported as
 * info; memory that churns up to the ceiling is the warning.
 *
 * Its locations are the lines holding most of the allocation peak when the trace records
 * allocations with their operators (profile_memory=True), else the operator running at the peak.
 */
import { formatPct, formatBytes } from '../format';
import { memoryAtPeak } from '../memory-lines';
import { findDevice, type Profile } from '../model';
import { adviceFor } from './advice';
import { aggregateLocations } from './locations';
import type { Rule } from './types';

/** Share of capacity that a held pool's memory may move by after it is reached. */
const POOL_BAND = 0.05;

/**
 * True when the device's allocated memory, once within POOL_BAND of its peak, never drops below
 * that band again: tensors allocated and held (a KV-cache pool), not memory that rises and falls
 * with the work. Allocated, not reserved: the caching allocator holds reserved memory in any run.
 */
export function heldPool(allocated: readonly number[], capacity: number): boolean {
  const peak = allocated.reduce((p, bytes) => Math.max(p, bytes), 0);
  const floor = peak - POOL_BAND * capacity;
  const first = allocated.findIndex((bytes) => bytes >= floor);
  // Held for a while: more than two samples from the first one in the band, none below it.
  return (
    first >= 0 &&
    allocated.length - first > 2 &&
    allocated.slice(first).every((bytes) => bytes >= floor)
  );
}

/** The innermost framework op (with a stack) running on the rank at `ts`, for a location. */
function opStackAt(profile: Profile, rank: number, ts: number): number {
  const { thread, stackId, startNs, endNs } = profile.operators;
  const ranks = profile.operators.threads.rank;
  let best = -1;
  let bestStart = -Infinity;
  for (let i = 0; i < profile.operators.length; i++) {
    if (
      ranks[thread[i]] === rank &&
      stackId[i] >= 0 &&
      startNs[i] <= ts &&
      endNs[i] >= ts &&
      startNs[i] > bestStart
    ) {
      best = stackId[i];
      bestStart = startNs[i];
    }
  }
  return best;
}

export const memoryPressure: Rule = (profile, ctx) => {
  const peaks = new Map<
    string,
    { rank: number; deviceId: number; reserved: number; allocated: number; ts: number }
  >();
  const { rank, deviceId, reservedBytes, allocatedBytes, tsNs } = profile.memory;
  for (let i = 0; i < profile.memory.length; i++) {
    const key = `${rank[i]}:${deviceId[i]}`;
    const used = Math.max(reservedBytes[i], allocatedBytes[i]);
    const p = peaks.get(key);
    if (!p || used > Math.max(p.reserved, p.allocated)) {
      peaks.set(key, {
        rank: rank[i],
        deviceId: deviceId[i],
        reserved: reservedBytes[i],
        allocated: allocatedBytes[i],
        ts: tsNs[i],
      });
    }
  }
  let worst: {
    pct: number;
    peak: { rank: number; deviceId: number; reserved: number; allocated: number; ts: number };
    total: number;
  } | null = null;
  for (const peak of peaks.values()) {
    const total = findDevice(profile, peak.rank, peak.deviceId)?.totalMemoryBytes;
    if (!total) continue;
    const pct = (Math.max(peak.reserved, peak.allocated) / total) * 100;
    if (!worst || pct > worst.pct) worst = { pct, peak, total };
  }
  if (!worst || worst.pct < ctx.thresholds.memoryPressurePct) return [];
  const { pct, peak, total } = worst;
  const workload = ctx.workload();
  // The peak device's allocated bytes, sample by sample.
  const samples: number[] = [];
  for (let i = 0; i < profile.memory.length; i++)
    if (rank[i] === peak.rank && deviceId[i] === peak.deviceId) samples.push(allocatedBytes[i]);
  // A pool is the peak itself, not a small allocation under a large reserved-but-unused block.
  const pool =
    heldPool(samples, total) && peak.allocated >= 0.8 * Math.max(peak.reserved, peak.allocated);
  // The engine's KV-cache pool is sized to fill the GPU: deliberate, not pressure.
  if (pool && workload.engine !== null) return [];
  const fragBytes = Math.max(0, peak.reserved - peak.allocated);
  // The lines holding most of the device's allocation peak (core/memory-lines.ts), when the trace
  // records allocations with their operators; else the op running at the sampled peak.
  const memory = memoryAtPeak(profile, (id) => ctx.locate(id));
  const holders =
    memory &&
    memory.peak.device === 'gpu' &&
    memory.peak.rank === peak.rank &&
    memory.peak.deviceId === peak.deviceId
      ? memory.peak.holders
      : [];
  const locations =
    holders.length > 0
      ? holders
      : aggregateLocations(ctx, [{ stackId: opStackAt(profile, peak.rank, peak.ts), ns: 1 }]);
  return [
    {
      rule: 'memory-pressure',
      severity: pool ? 'info' : 'warning',
      title: `GPU memory at ${formatPct(pct)} of capacity${pool ? ', held as one pool' : ''}`,
      message:
        `${profile.rankCount > 1 ? `Rank ${peak.rank}'s ` : ''}GPU ${peak.deviceId} peaked at ${formatBytes(Math.max(peak.reserved, peak.allocated))} of ${formatBytes(total)} ` +
        `(${formatPct(pct)}, threshold ${ctx.thresholds.memoryPressurePct} %): ${formatBytes(peak.allocated)} allocated, ` +
        `${formatBytes(fragBytes)} reserved but unused. ` +
        (pool
          ? 'Once up, it stays within 5 % of the peak to the end: a pre-allocated pool (a cache sized to ' +
            'the GPU) rather than memory that grows with the work. Fine if deliberate; it leaves no room to grow.'
          : 'There is no room to grow the batch.') +
        (holders.length > 0
          ? ` Most of what the trace allocated and still held at the peak comes from ${holders.length === 1 ? 'the marked line' : `the ${holders.length} marked lines`}: free or reuse those buffers first.`
          : ''),
      // Savings: none in time — the cost is capacity (a batch-size ceiling and OOM risk).
      savingsNs: 0,
      savingsFrom: 'kernel-time',
      evidence: {
        peakPct: Number(pct.toFixed(2)),
        peakReservedBytes: peak.reserved,
        peakAllocatedBytes: peak.allocated,
        capacityBytes: total,
        reservedUnusedBytes: fragBytes,
        rank: peak.rank,
        deviceId: peak.deviceId,
        heldPool: pool,
        workload: workload.label,
      },
      locations,
      fix: adviceFor('memory-pressure', workload),
    },
  ];
};
