/** What every bottleneck rule sees: the profile plus the pieces of attribution and settings it needs. */
import type { Profile } from '../model';
import type { Finding, SourceRef, Workload } from '../report-types';

export interface Thresholds {
  /** GPU active % under which `gpu-idle-gaps` fires (reference texts: < 80 %). */
  gpuActivePct: number;
  /** Idle gaps shorter than this are not reported one by one (ns). */
  minGapNs: number;
  /** cudaMalloc/cudaFree calls slower than this are stalls (ns); reference texts: 1 ms. */
  slowAllocNs: number;
  /** Communication share of GPU time that warns / marks the run communication-bound (%). */
  commWarnPct: number;
  commBoundPct: number;
  /** Relative spread of per-rank communication time that counts as imbalance (%). */
  rankImbalancePct: number;
  /** Peak reserved memory over device capacity that counts as pressure (%). */
  memoryPressurePct: number;
  /** Relative change counted as a regression in comparisons (%). */
  regressionPct: number;
  /**
   * Share of the GPU span lost in small (< minGapNs) gaps before kernels the CPU had not yet
   * launched, that marks a run launch-bound (%).
   */
  launchStarvedPct: number;
  /** Share of a step (the enclosing range) spent blocked in a tool call that gets reported (%). */
  toolCallPct: number;
  /** Share of kernel time in memory-bound decode kernels (GEMV, split-KV attention, norms …) (%). */
  memoryBoundPct: number;
  /** A step slower than this multiple of the median step is an outlier. */
  stepOutlierFactor: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = {
  gpuActivePct: 80,
  minGapNs: 100_000,
  slowAllocNs: 1_000_000,
  commWarnPct: 10,
  commBoundPct: 20,
  rankImbalancePct: 15,
  memoryPressurePct: 90,
  regressionPct: 10,
  launchStarvedPct: 10,
  toolCallPct: 20,
  memoryBoundPct: 50,
  stepOutlierFactor: 1.5,
};

export interface RuleContext {
  thresholds: Thresholds;
  /**
   * The innermost workspace source line of a stack (Profile.stacks index), or null when the stack
   * has no frame inside the workspace (or stackId is -1).
   */
  locate(stackId: number): SourceRef | null;
  /** Where an annotated range (by index into Profile.ranges) was opened, when known. */
  locateRange(rangeIndex: number): SourceRef | null;
  /** The detected workload (detected on first use), for advice that fits it (see rules/advice.ts). */
  workload(): Workload;
}

export type Rule = (profile: Profile, ctx: RuleContext) => Finding[];
