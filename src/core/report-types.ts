/**
 * The Report contract (`gpu-lens/report@1`): what the CLI prints with `--format json`, what the
 * language server serves and what the panel shows. Plain JSON; integer nanoseconds.
 * Field names are stable: tools and checks outside GPU Lens rely on them.
 */
import type { RankAlignment, TraceFormat } from './model';
import type { Drilldown } from './drilldown-types';

export type { RankAlignment } from './model';
export type * from './drilldown-types';

export const REPORT_SCHEMA = 'gpu-lens/report@1';

export type Classification =
  'overhead-bound' | 'communication-bound' | 'compute-bound' | 'memory-bound' | 'idle' | 'unknown';

export type Severity = 'error' | 'warning' | 'info';

export interface SourceRef {
  /** Workspace-relative path with forward slashes when inside the workspace, else as recorded. */
  file: string;
  /** 1-based line. */
  line: number;
}

export interface ReportSource {
  path: string;
  format: TraceFormat;
  producer: string;
  schemaVersion: string;
}

/** One GPU: a (rank, device id) pair, since each rank of a folder numbers its own devices. */
export interface DeviceSummary {
  /** The rank whose process used the device (0 for a single trace). */
  rank: number;
  id: number;
  /** The device's own name (its model); the rank is `rank`, not part of the name. */
  name: string;
  busyNs: number;
}

export interface Summary {
  /** The GPU span: first GPU op start to last GPU op end (the trace window when there are none). */
  wallNs: number;
  /** The trace window: first to last event of any kind (CPU included); at least `wallNs`. */
  traceWallNs: number;
  gpuBusyNs: number;
  gpuIdleNs: number;
  /** Busy / (GPU span × devices), in % (two decimals; three significant digits under 1 %). */
  gpuActivePct: number;
  /** Busy / (trace window × devices), in %, same precision. */
  traceActivePct: number;
  kernelCount: number;
  kernelNs: number;
  memcpyNs: number;
  memsetNs: number;
  commNs: number;
  classification: Classification;
  /** By (rank, id). */
  devices: DeviceSummary[];
  /** Number of ranks merged (multi-rank folders); 1 otherwise. */
  rankCount: number;
  /** Rank folders: how each rank's clock was put on the lowest rank's (empty for one trace). */
  rankAlignment: RankAlignment[];
  /**
   * Every idle ns of `gpuIdleNs` with one cause (gaps of every size between a device's first and
   * last op, plus the time a device sat outside its own span); the `ns` add up to `gpuIdleNs`.
   * Largest first.
   */
  idleBreakdown: IdleCauseStat[];
}

/** Why a GPU idled: ids of Report.gaps[].causeId and idleBreakdown[].cause. */
export type IdleCause =
  | 'late-launch'
  | 'data-loader'
  | 'cpu-range'
  | 'os-wait'
  | 'allocation'
  | 'host-sync'
  | 'slow-launch'
  | 'queued'
  | 'unknown'
  | 'device-edge';

/** One cause's share of the GPU idle time. */
export interface IdleCauseStat {
  cause: IdleCause;
  /** Human wording (the same text as Report.gaps[].cause). */
  label: string;
  ns: number;
  /** Number of gaps (of any size) with this cause. */
  gaps: number;
  /** The source line behind most of this cause's idle time, when there is one. */
  location: SourceRef | null;
}

export interface KernelStat {
  name: string;
  /** The nsys export's short name (no template arguments), when it has one; see kernel-names.ts. */
  shortName?: string;
  count: number;
  totalNs: number;
  avgNs: number;
  minNs: number;
  maxNs: number;
}

export interface LineStat {
  file: string;
  line: number;
  function: string;
  /** GPU time of ops launched while this line was the innermost workspace frame. */
  selfNs: number;
  /** GPU time of ops launched while this line was anywhere on the stack. */
  totalNs: number;
  kernelCount: number;
  precision: 'line' | 'function';
  topKernels: { name: string; ns: number; count: number }[];
  /** CPU operator time (torch cpu_op) whose innermost workspace frame is this line. */
  cpuOpNs: number;
  opCount: number;
  /**
   * Library code (core/library-frames.ts): the innermost library frame of stacks that reached no
   * workspace frame (`file` as recorded, outside the workspace). Its selfNs equals its totalNs,
   * and its figures (GPU and CPU operator time) are those stacks' only. False for workspace lines.
   */
  library: boolean;
  /**
   * Memory on the line (core/memory-lines.ts), on the device of `Report.memoryPeak`; absent when
   * the trace has no allocation events. Bytes allocated by operators whose innermost frame is
   * this line, the part of them still live at the device's peak, and that part's share of the peak.
   */
  allocBytes?: number;
  liveAtPeakBytes?: number;
  peakSharePct?: number;
}

/** The allocation peak of the device the lines' memory figures are about (core/memory-lines.ts). */
export interface MemoryPeak {
  /** GPU memory when the trace records any, else host memory. */
  device: 'gpu' | 'cpu';
  rank: number;
  /** The GPU's id; -1 for host memory. */
  deviceId: number;
  /** When the peak was reached (trace clock). */
  tsNs: number;
  /** Allocated bytes at the peak (the allocator's total; the trace's live allocations without it). */
  peakBytes: number;
  /** The GPU's memory and the peak's share of it (%); null when unknown or host memory. */
  capacityBytes: number | null;
  capacityPct: number | null;
  /** The peak reaches `thresholds.memoryPressurePct` of capacity. */
  nearCapacity: boolean;
  /** Of `peakBytes`: allocated before the trace began (no event of the trace made them). */
  beforeTraceBytes: number;
  /** Of `peakBytes`: live allocations whose operator reached no line. */
  unattributedBytes: number;
  /** The lines holding most of the peak, most first (half of it or five lines). */
  holders: SourceRef[];
}

/**
 * One line's time on each rank of a multi-rank profile: the fastest, median and slowest rank (GPU
 * self time of the ops launched there, or CPU operator time on traces without GPU ops).
 */
export interface RankSpread {
  file: string;
  line: number;
  minNs: number;
  minRank: number;
  medianNs: number;
  maxNs: number;
  maxRank: number;
}

export interface RangeStat {
  name: string;
  count: number;
  wallNs: number;
  gpuNs: number;
  location: SourceRef | null;
  /** Why `location` is null when the name was found at several call sites. */
  ambiguous?: SourceRef[];
}

/** A fix the editor can apply as a local edit of the source (a Quick Fix), by what it changes. */
export type QuickFixKind =
  | 'dataloader-workers'
  | 'non-blocking-copy'
  | 'expandable-segments'
  | 'periodic-sync'
  | 'torch-compile';

export interface Fix {
  title: string;
  detail: string;
  snippet: string;
  /** Set when the fix is that local edit at the finding's line (python/gpu_lens_edits.py makes it). */
  edit?: QuickFixKind;
}

/**
 * Where a finding's saving comes from: GPU idle time the fix removes (no two findings claim the
 * same idle ns; their sum is at most gpuIdleNs), or GPU op time the fix shortens (at most the time
 * of the ops concerned).
 */
export type SavingsFrom = 'gpu-idle' | 'kernel-time';

export interface Finding {
  rule: string;
  severity: Severity;
  title: string;
  message: string;
  savingsNs: number;
  savingsFrom: SavingsFrom;
  evidence: Record<string, number | string | boolean | null>;
  locations: SourceRef[];
  fix: Fix;
}

export interface StepStats {
  count: number;
  p50Ns: number;
  p95Ns: number;
  p99Ns: number;
  meanNs: number;
  /** Step durations in trace order (ns). */
  durationsNs: number[];
}

/** Idle gap on the GPU timeline, with the cause found on the CPU side. */
export interface GapStat {
  /** The gap's device is (rank, deviceId). */
  rank: number;
  deviceId: number;
  startNs: number;
  endNs: number;
  /** Human wording of the cause (idleBreakdown[].label). */
  cause: string;
  causeId: IdleCause;
  location: SourceRef | null;
}

/** GPU activity per device in equal time buckets: busy fraction 0..1 of each bucket. */
export interface TimelineTrack {
  /** The track's device is (rank, deviceId), as in Summary.devices; tracks come by (rank, id). */
  rank: number;
  deviceId: number;
  /** The device's own name. */
  name: string;
  bucketNs: number;
  busy: number[];
}

/** One rank's arrival at a matched collective (CollectiveArrivals.arrivals). */
export interface RankArrival {
  rank: number;
  /** When the rank reached the collective (the merged, aligned clock). */
  startNs: number;
  /** How long after the first rank to reach it (0 for the first). */
  lateNs: number;
}

/**
 * A collective matched across ranks (core/collectives.ts: the n-th of a kind in a process group)
 * and when each rank reached it: a row of the panel's straggler view (collectives × ranks).
 */
export interface CollectiveArrivals {
  /** Normalized kind: `allreduce`, `allgather`, `barrier` … */
  kind: string;
  /** As recorded on the last rank (kernel or range name). */
  name: string;
  /** Process group (communicator) when the trace names it, else ''. */
  group: string;
  /** 0-based occurrence of the kind in its group. */
  index: number;
  /** The call site on the last rank, when known. */
  location: SourceRef | null;
  /** The rank that arrived last. */
  lastRank: number;
  /** Time the other ranks spent waiting for it: Σ (its start − their start). */
  waitNs: number;
  /** Every rank's arrival, by rank. */
  arrivals: RankArrival[];
}

/** What the model is, as the trace shows it (see core/workload.ts). */
export type WorkloadDomain = 'llm' | 'vision' | 'recommender' | 'other';
/** What the run does: training, LLM decode / prefill, or other inference. */
export type WorkloadPhase = 'training' | 'decode' | 'prefill' | 'inference';

/** The detected workload, which the rules fit their advice to. */
export interface Workload {
  domain: WorkloadDomain;
  phase: WorkloadPhase;
  /** Serving engine seen in the trace (vLLM, SGLang, TensorRT-LLM …), or null. */
  engine: string | null;
  /** "vision training", "LLM decode (SGLang)", "inference" … */
  label: string;
  /** What decided it, one short phrase each ("412 backward operators"). */
  signals: string[];
}

/**
 * Where GPU time that reached no workspace frame was recorded: the folders of files that look like
 * the user's code recorded elsewhere (absolute paths outside installed packages, or paths a
 * workspace file matches), and `gpuLens.pathMap` entries (`FROM=TO`) that would map them onto the
 * workspace. GPU ns count each op once per folder / entry.
 */
export interface PathHints {
  /** `prefix` is '.' for bare file names; `examples` are up to three recorded files. */
  unresolved: { prefix: string; files: number; examples: string[]; gpuNs: number }[];
  suggestedPathMap: { entry: string; gpuNs: number }[];
}

export interface Report {
  schema: typeof REPORT_SCHEMA;
  source: ReportSource;
  summary: Summary;
  workload: Workload;
  kernels: KernelStat[];
  lines: LineStat[];
  /** Multi-rank profiles: per-line spread across ranks, widest first (empty for one rank). */
  rankSpread: RankSpread[];
  /**
   * Multi-rank profiles: the matched collectives the ranks waited longest at (most wait first, at
   * most 50), with every rank's arrival; empty for one rank (core/collective-arrivals.ts).
   */
  collectives: CollectiveArrivals[];
  ranges: RangeStat[];
  findings: Finding[];
  unattributedNs: number;
  /** Where GPU time that reached no workspace frame was recorded (PathHints); null when none. */
  pathHints: PathHints | null;
  /** Top idle gaps (for the timeline), largest first. */
  gaps: GapStat[];
  steps: StepStats | null;
  /** Start of the GPU timeline (trace clock, ns); gaps and tracks are drawn from here. */
  timelineStartNs: number;
  timeline: TimelineTrack[];
  /** Allocation peak behind the lines' memory figures; absent without allocation events. */
  memoryPeak?: MemoryPeak;
  /** Kernel → launching lines and line → call tree (core/drilldown-types.ts). */
  drilldown: Drilldown;
  warnings: string[];
}
