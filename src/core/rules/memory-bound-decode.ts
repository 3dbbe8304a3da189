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
import { KERNEL } from '../model-gpu-ops';

/**
 * Halving the bytes a memory-bound kernel moves about halves its time: FP16 → FP8 weights and KV
 * cache in LLM inference, bf16 and fused chains (no intermediate round trips) in training.
 */
const QUANT_BYTES_SAVED = 0.5;

const OTHER = 0;
const GEMM = 1;
const MEMORY_BOUND = 2;

/** Per interned name: GEMM, MEMORY_BOUND (and not a GEMM) or OTHER (one regex test per name). */
function memoryBoundNames(names: readonly string[]): Uint8Array {
  return Uint8Array.from(names, (n) =>
    isGemmKernel(n) ? GEMM : isMemoryBoundKernel(n) ? MEMORY_BOUND : OTHER,
  );
}

export const memoryBoundDecode: Rule = (profile, ctx) => {
  // The sums in cells: V8 boxes a double that a hot loop assigns under a condition.
  const sums = new Float64Array(3);
  const [KERNELS, GEMMS, MEMORY_BOUND_NS] = [0, 1, 2];
  const ops = profile.gpuOps;
  const { kind, isComm, startNs, endNs } = ops;
  const memoryBound = memoryBoundNames(ops.names.values);
  // Time per memory-bound name id, and the ids in order of first kernel (no string per kernel).
  const nameNs = new Float64Array(ops.names.size);
  const seen: number[] = [];
  const isSeen = new Uint8Array(ops.names.size);
  for (let i = 0; i < ops.length; i++) {
    if (kind[i] !== KERNEL || isComm[i]) continue;
    const d = endNs[i] - startNs[i];
    sums[KERNELS] += d;
    const family = memoryBound[ops.name[i]];
    if (family === GEMM) sums[GEMMS] += d;
    else if (family === MEMORY_BOUND) {
      sums[MEMORY_BOUND_NS] += d;
      const name = ops.name[i];
      if (!isSeen[name]) {
        isSeen[name] = 1;
        seen.push(name);
      }
      nameNs[name] += d;
    }
  }
  const [kernelNs, gemmNs, memNs] = sums;
  if (kernelNs < ctx.thresholds.minGapNs) return [];
  const memPct = (memNs / kernelNs) * 100;
  const gemmPct = (gemmNs / kernelNs) * 100;
  if (memPct < ctx.thresholds.memoryBoundPct || gemmPct >= 50) return [];
  // Per-kernel costs only once the rule fires: millions of them otherwise become garbage at once.
  const costs: LocatedCost[] = [];
  for (let i = 0; i < ops.length; i++) {
    if (kind[i] !== KERNEL || isComm[i]) continue;
    if (memoryBound[ops.name[i]] === MEMORY_BOUND)
      costs.push({ stackId: ops.stackId[i], ns: endNs[i] - startNs[i] });
  }
  const top = seen
    .map((id): [string, number] => [ops.names.at(id), nameNs[id]])
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3);
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
