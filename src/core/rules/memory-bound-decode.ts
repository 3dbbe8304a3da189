/**
 * memory-bound-decode: the reference texts' pattern 4. During decode each token reads all weights
 * and the KV cache once, so time goes to kernels bound by DRAM bandwidth (GEMV, split-KV attention,
 * norms, elementwise) rather than to GEMMs. Fires when those kernels hold at least
 * `thresholds.memoryBoundPct` of kernel time and GEMMs less than half (the classifier's
 * memory-bound branch). Without Nsight Compute counters the kernel family is the evidence; where
 * the trace has GPU metrics (DRAM throughput %) their mean is added. The fix fits the workload
 * (advice.ts): KV-cache/FP8/GQA advice only for LLM inference.
 */
import { formatNs, formatPct } from '../format';
import type { Finding } from '../report-types';
import { ns } from '../numbers';
import { type LocatedCost, aggregateLocations } from './locations';
import { isGemmKernel, isMemoryBoundKernel } from './kernel-classes';
import type { Rule } from './types';
import { adviceFor } from './advice';

/**
 * Halving the bytes a memory-bound kernel moves about halves its time: FP16 → FP8 weights and KV
 * cache in LLM inference, bf16 and fused chains (no intermediate round trips) in training.
 */
const QUANT_BYTES_SAVED = 0.5;

export const memoryBoundDecode: Rule = (profile, ctx) => {
  let kernelNs = 0;
  let gemmNs = 0;
  let memNs = 0;
  const byName = new Map<string, number>();
  for (const op of profile.gpuOps) {
    if (op.kind !== 'kernel' || op.isComm) continue;
    const d = op.endNs - op.startNs;
    kernelNs += d;
    if (isGemmKernel(op.name)) gemmNs += d;
    else if (isMemoryBoundKernel(op.name)) {
      memNs += d;
      byName.set(op.name, (byName.get(op.name) ?? 0) + d);
    }
  }
  if (kernelNs < ctx.thresholds.minGapNs) return [];
  const memPct = (memNs / kernelNs) * 100;
  const gemmPct = (gemmNs / kernelNs) * 100;
  if (memPct < ctx.thresholds.memoryBoundPct || gemmPct >= 50) return [];
  // Per-kernel costs only once the rule fires: millions of them otherwise become garbage at once.
  const costs: LocatedCost[] = [];
  for (const op of profile.gpuOps) {
    if (op.kind !== 'kernel' || op.isComm) continue;
    if (!isGemmKernel(op.name) && isMemoryBoundKernel(op.name))
      costs.push({ stackId: op.stackId, ns: op.endNs - op.startNs });
  }
  const top = [...byName.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3);
  const evidence: Finding['evidence'] = {
    memoryBoundPct: Number(memPct.toFixed(2)),
    gemmPct: Number(gemmPct.toFixed(2)),
    memoryBoundNs: memNs,
    kernelNs,
    topKernel: top[0]?.[0] ?? null,
    workload: ctx.workload().label,
  };
  const dram = profile.metrics.filter((m) => /DRAM.*(Throughput|Bandwidth)/i.test(m.metric));
  if (dram.length > 0)
    evidence.meanDramPct = Number((dram.reduce((s, m) => s + m.value, 0) / dram.length).toFixed(2));
  return [
    {
      rule: 'memory-bound-decode',
      severity: 'info',
      title: `Memory-bandwidth-bound kernels take ${formatPct(memPct)} of GPU time`,
      message:
        `${formatNs(memNs)} of ${formatNs(kernelNs)} kernel time (${formatPct(memPct)}) went to memory-bound kernels ` +
        `(GEMV, decode attention, norms, elementwise); GEMMs took ${formatPct(gemmPct)}. Top: ` +
        `${top.map(([n, d]) => `${n.slice(0, 60)} ${formatNs(d)}`).join('; ')}. More FLOPs will not help; fewer bytes will.`,
      // Savings: half the bytes these kernels move, so about half their time (QUANT_BYTES_SAVED).
      savingsNs: ns(memNs * QUANT_BYTES_SAVED),
      savingsFrom: 'kernel-time',
      evidence,
      locations: aggregateLocations(ctx, costs),
      fix: adviceFor('memory-bound', ctx.workload()),
    },
  ];
};
