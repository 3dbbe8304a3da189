/**
 * The bottleneck rules, run together, and the workload classifier.
 *
 * classify() follows the reference texts' classify_bottleneck(): CPU-to-GPU time ratio above 3 →
 * overhead-bound; communication above `commBoundPct` (20 %) of kernel time → communication-bound;
 * GEMMs above half of kernel time → compute-bound; otherwise memory-bound. CPU time is framework
 * operator time (torch cpu_op ranges, nesting merged). nsys traces have no operator ranges: there
 * the decision framework's first question stands in — GPU active under 50 % of its span is
 * overhead-bound (reference texts: "GPU active below 60 %" calls for CUDA Graphs). A trace with no
 * GPU kernels is 'unknown'.
 */
import type { Profile } from '../model';
import { KERNEL } from '../model-gpu-ops';
import type { Classification, Finding } from '../report-types';
import { allocStalls } from './alloc-stalls';
import { topLevelOpNs } from '../cpu-threads';
import { ProfileIndex } from '../profile-index';
import { gpuIdleGaps } from './gpu-idle-gaps';
import { hostSync } from './host-sync';
import { isGemmKernel } from './kernel-classes';
import { launchOverhead } from './launch-overhead';
import { memcpyPageable } from './memcpy-pageable';
import { memcpySync } from './memcpy-sync';
import { memoryBoundDecode } from './memory-bound-decode';
import { memoryPressure } from './memory-pressure';
import { ncclImbalance } from './nccl-imbalance';
import { ncclOverhead } from './nccl-overhead';
import { stepTime } from './step-time';
import { straggler } from './straggler';
import { type ReplayingRule, resolveReplays, settleIdleClaims } from './savings';
import { slowLaunch } from './slow-launch';
import { toolCallGaps } from './tool-call-gaps';
import { DEFAULT_THRESHOLDS, type Rule, type RuleContext, type Thresholds } from './types';

export { gapStats } from './idle-gaps';
export { stepStats } from './step-time';

/** Every rule by id (the id is also Finding.rule). */
export const ALL_RULES: Readonly<Record<string, Rule>> = {
  'gpu-idle-gaps': gpuIdleGaps,
  'launch-overhead': launchOverhead,
  'slow-launch': slowLaunch,
  'host-sync': hostSync,
  'alloc-stalls': allocStalls,
  'memcpy-pageable': memcpyPageable,
  'memcpy-sync': memcpySync,
  'tool-call-gaps': toolCallGaps,
  'nccl-overhead': ncclOverhead,
  'nccl-imbalance': ncclImbalance,
  'memory-pressure': memoryPressure,
  'memory-bound-decode': memoryBoundDecode,
  'step-time': stepTime,
  straggler,
};

/** One line per rule: what it looks for (SARIF rule descriptions, the panel's legend). */
export const RULE_DESCRIPTIONS: Readonly<Record<string, string>> = {
  'gpu-idle-gaps': 'GPU active below the threshold; idle gaps explained by their CPU-side cause',
  'launch-overhead': 'Kernels waiting for the CPU to launch them (Python/dispatch overhead)',
  'slow-launch':
    'GPU idle while a launch call itself ran long (module loading / JIT on first launch)',
  'host-sync': 'Host synchronizations that drain the GPU queue',
  'alloc-stalls': 'Slow cudaMalloc/cudaFree calls',
  'memcpy-pageable': 'Host-device copies through pageable memory',
  'memcpy-sync': 'Copies that block the host',
  'tool-call-gaps':
    'Synchronous external calls (sleeps, socket waits) inside a step that starve the GPU',
  'nccl-overhead': 'Collective communication share of GPU time',
  'nccl-imbalance': 'Communication time spread across ranks',
  'memory-pressure': 'Peak GPU memory near capacity',
  'memory-bound-decode': 'Kernel time dominated by memory-bandwidth-bound kernels',
  'step-time': 'Step-time percentiles and slow outlier steps',
  straggler: 'The rank that arrives last at matched collectives, and the lines that made it late',
};

/**
 * Runs the rules (all, or the ids given) and returns their findings, largest savings first.
 * The what-ifs the rules leave to be replayed are replayed together, in one pass over the ops;
 * then GPU-idle savings are settled: no two findings claim the same idle ns, and together they
 * claim at most summary.gpuIdleNs (savings.ts).
 */
export function runRules(
  profile: Profile,
  ctx: RuleContext,
  ids: readonly string[] = Object.keys(ALL_RULES),
): Finding[] {
  const findings: Finding[] = [];
  for (const id of ids) {
    const rule = ALL_RULES[id];
    if (rule) findings.push(...((rule as Partial<ReplayingRule>).plan ?? rule)(profile, ctx));
  }
  resolveReplays(ctx.index, findings);
  settleIdleClaims(ctx, findings, idleUpperBound(ctx.index));
  return findings.sort((a, b) => b.savingsNs - a.savingsNs || a.rule.localeCompare(b.rule));
}

/**
 * Devices × span − busy over the devices' busy unions: summary.gpuIdleNs, or less when zero-length
 * ops lie outside the unions (their span also counts there). O(devices), from the index's timelines.
 */
function idleUpperBound(index: ProfileIndex): number {
  const timelines = index.timelines;
  if (timelines.length === 0) return 0;
  const first = Math.min(...timelines.map((t) => t.firstNs));
  const last = Math.max(...timelines.map((t) => t.lastNs));
  const busy = timelines.reduce((s, t) => s + t.busyNs, 0);
  return Math.max(0, (last - first) * timelines.length - busy);
}

/** The numbers classify() decides on. */
export interface ClassificationDetail {
  classification: Classification;
  gemmFraction: number;
  commFraction: number;
  /** CPU operator time over GPU kernel time; null without operator ranges. */
  cpuToGpuRatio: number | null;
  gpuActivePct: number;
}

export function classifyDetail(
  profile: Profile,
  thresholds: Thresholds = DEFAULT_THRESHOLDS,
  index = new ProfileIndex(profile),
): ClassificationDetail {
  // Kernel, GEMM and communication time in cells: V8 boxes a double that a hot loop assigns
  // under a condition.
  const sums = new Float64Array(3);
  const ops = profile.gpuOps;
  // Whether each name is a GEMM's, tested once per name (-1: not yet).
  const gemm = new Int8Array(ops.names.size).fill(-1);
  for (let i = 0; i < ops.length; i++) {
    if (ops.kind[i] !== KERNEL) continue;
    const d = ops.endNs[i] - ops.startNs[i];
    sums[0] += d;
    if (ops.isComm[i]) sums[2] += d;
    else {
      const n = ops.name[i];
      if (gemm[n] < 0) gemm[n] = isGemmKernel(ops.names.at(n)) ? 1 : 0;
      if (gemm[n] === 1) sums[1] += d;
    }
  }
  const [kernelNs, gemmNs, commNs] = sums;
  const timelines = index.timelines;
  const span = timelines.reduce((s, t) => s + t.lastNs - t.firstNs, 0);
  const busy = timelines.reduce((s, t) => s + t.busyNs, 0);
  const gpuActivePct = span > 0 ? (busy / span) * 100 : 0;
  const opNs = topLevelOpNs(profile);
  const cpuToGpuRatio = opNs > 0 && kernelNs > 0 ? opNs / kernelNs : null;
  const gemmFraction = kernelNs > 0 ? gemmNs / kernelNs : 0;
  const commFraction = kernelNs > 0 ? commNs / kernelNs : 0;
  let classification: Classification;
  if (kernelNs === 0) classification = 'unknown';
  else if (cpuToGpuRatio !== null ? cpuToGpuRatio > 3 : gpuActivePct < 50)
    classification = 'overhead-bound';
  else if (commFraction * 100 > thresholds.commBoundPct) classification = 'communication-bound';
  else if (gemmFraction > 0.5) classification = 'compute-bound';
  else classification = 'memory-bound';
  return { classification, gemmFraction, commFraction, cpuToGpuRatio, gpuActivePct };
}

/** The workload's bottleneck class (see the file comment for how it is decided). */
export function classify(
  profile: Profile,
  thresholds: Thresholds = DEFAULT_THRESHOLDS,
  index = new ProfileIndex(profile),
): Classification {
  return classifyDetail(profile, thresholds, index).classification;
}
