/** What every bottleneck rule sees: the profile plus the pieces of attribution and settings it needs. */
import type { Profile } from '../model';
import type { ProfileIndex } from '../profile-index';
import type { Finding, SourceRef, Workload } from '../report-types';
import type { GapCause } from './gap-causes';
import type { IdleGapTable } from './idle-gap-table';

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

/** One GPU idle gap of at least minGapNs and what caused it (rules/idle-gaps.ts). */
export interface IdleGap {
  /** The gap's row in the report's IdleGapTable (rules/idle-gap-table.ts). */
  index: number;
  rank: number;
  deviceId: number;
  startNs: number;
  endNs: number;
  cause: GapCause;
  /** Stack to show the gap at (the late launch, the sync, the allocation, the wait), or -1. */
  stackId: number;
  /** Profile.ranges index for 'cpu-range', 'data-loader' and for waits inside a range, else -1. */
  rangeIndex: number;
  /** Profile.cpuCalls index of the call that launched the op after the gap, or -1 when unknown. */
  launchIndex: number;
  /** host-sync: Profile.cpuCalls index of the sync or blocking copy that returned into the gap. */
  blocker?: number;
}

/** Idle time and gap count of one cause over the gaps smaller than minGapNs. */
export interface SmallGapTally {
  ns: number;
  gaps: number;
  /** Idle ns per stack of the op after the gap (for the cause's source line). */
  byStack: Map<number, number>;
}

/** Every idle gap inside the devices' spans: those ≥ minGapNs one by one, the rest per cause. */
export interface GapSet {
  gaps: IdleGapTable;
  small: ReadonlyMap<GapCause, SmallGapTally>;
}

export interface RuleContext {
  thresholds: Thresholds;
  /** The profile's timelines, threads and replay timeline, built once for the report. */
  index: ProfileIndex;
  /** The idle gaps at thresholds.minGapNs, found on first use (rules/idle-gaps.ts). */
  gaps(): GapSet;
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
