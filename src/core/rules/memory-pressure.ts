/**
 * memory-pressure: peak reserved device memory reaches `thresholds.memoryPressurePct` of the GPU's
 * capacity (reference texts: "memory usage exceeding 90 % of GPU capacity" caps the batch size;
 * reserved far above allocated is fragmentation). Needs memory samples (torch.profiler with
 * profile_memory=True) and the device's capacity.
 */
import { formatPct, formatBytes } from '../format';
import type { Profile } from '../model';
import { aggregateLocations } from './common';
import type { Rule } from './types';

/** The innermost framework op (with a stack) running on the rank at `ts`, for a location. */
function opStackAt(profile: Profile, rank: number, ts: number): number {
  let best = -1;
  let bestStart = -Infinity;
  for (const r of profile.ranges) {
    if (
      r.kind === 'op' &&
      r.rank === rank &&
      r.stackId >= 0 &&
      r.startNs <= ts &&
      r.endNs >= ts &&
      r.startNs > bestStart
    ) {
      best = r.stackId;
      bestStart = r.startNs;
    }
  }
  return best;
}

export const memoryPressure: Rule = (profile, ctx) => {
  const peaks = new Map<
    string,
    { rank: number; deviceId: number; reserved: number; allocated: number; ts: number }
  >();
  for (const m of profile.memory) {
    const key = `${m.rank}:${m.deviceId}`;
    const used = Math.max(m.reservedBytes, m.allocatedBytes);
    const p = peaks.get(key);
    if (!p || used > Math.max(p.reserved, p.allocated)) {
      peaks.set(key, {
        rank: m.rank,
        deviceId: m.deviceId,
        reserved: m.reservedBytes,
        allocated: m.allocatedBytes,
        ts: m.tsNs,
      });
    }
  }
  let worst: {
    pct: number;
    peak: { rank: number; deviceId: number; reserved: number; allocated: number; ts: number };
    total: number;
  } | null = null;
  for (const peak of peaks.values()) {
    const total = profile.devices.find((d) => d.id === peak.deviceId)?.totalMemoryBytes;
    if (!total) continue;
    const pct = (Math.max(peak.reserved, peak.allocated) / total) * 100;
    if (!worst || pct > worst.pct) worst = { pct, peak, total };
  }
  if (!worst || worst.pct < ctx.thresholds.memoryPressurePct) return [];
  const { pct, peak, total } = worst;
  const fragBytes = Math.max(0, peak.reserved - peak.allocated);
  const stackId = opStackAt(profile, peak.rank, peak.ts);
  return [
    {
      rule: 'memory-pressure',
      severity: 'warning',
      title: `GPU memory at ${formatPct(pct)} of capacity`,
      message:
        `GPU ${peak.deviceId} peaked at ${formatBytes(Math.max(peak.reserved, peak.allocated))} of ${formatBytes(total)} ` +
        `(${formatPct(pct)}, threshold ${ctx.thresholds.memoryPressurePct} %): ${formatBytes(peak.allocated)} allocated, ` +
        `${formatBytes(fragBytes)} reserved but unused. There is no room to grow the batch.`,
      // Savings: none in time — the cost is capacity (a batch-size ceiling and OOM risk).
      savingsNs: 0,
      savingsFrom: 'kernel-time',
      evidence: {
        peakPct: Number(pct.toFixed(2)),
        peakReservedBytes: peak.reserved,
        peakAllocatedBytes: peak.allocated,
        capacityBytes: total,
        reservedUnusedBytes: fragBytes,
        deviceId: peak.deviceId,
      },
      locations: aggregateLocations(ctx, [{ stackId, ns: 1 }]),
      fix: {
        title: 'Shrink the KV cache and weights, page the cache',
        detail:
          'Quantize weights (FP8/INT4) and the KV cache, use paged attention (vLLM) so the cache is allocated ' +
          'in blocks, and cap the memory fraction; expandable segments reduce fragmentation.',
        snippet:
          'PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True\n' +
          'llm = LLM(model, gpu_memory_utilization=0.9, kv_cache_dtype="fp8", quantization="fp8")',
      },
    },
  ];
};
