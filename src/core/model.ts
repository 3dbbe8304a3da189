/**
 * The normalized Profile every reader produces and every later stage consumes.
 * Times are integer nanoseconds on the trace's own clock; readers never mix clocks.
 *
 * The records that number in the millions are columnar tables, one typed array per field with
 * strings interned (model-gpu-ops.ts, model-cpu-calls.ts, model-cpu-ranges.ts; each file states its
 * table's invariants): GPU ops, CPU calls and framework operators. Row indexes are the records'
 * identities: GpuOps.launchIndex points into cpuCalls, every `stackId` into `stacks`, and no row
 * is reordered once read (later stages sort index arrays, never the tables). A rank folder's
 * tables hold every rank's rows, each carrying its rank (ops in a column, calls and operators
 * through their thread). The interfaces below (GpuOp, CpuCall, CpuRange) are the shape of one row,
 * as tests build them and as `get(i)` returns them for cold paths.
 */

import { CpuCalls } from './model-cpu-calls';
import { CpuRanges } from './model-cpu-ranges';
import { GpuOps } from './model-gpu-ops';
import { MemoryEvents, MemorySamples } from './model-memory';

export type TraceFormat = 'nsys-sqlite' | 'kineto-json';

/** A source frame as the trace recorded it (file path not yet mapped to the workspace). */
export interface Frame {
  file: string;
  line: number;
  function: string;
  /**
   * `line` when `line` is the line that was executing (nsys Python backtraces, GPU Lens exact-line
   * annotations); `function` when it is the function's definition line (Kineto python_function).
   */
  precision: 'line' | 'function';
}

/** A call stack, innermost frame first. */
export type Stack = readonly Frame[];

export type GpuOpKind = 'kernel' | 'memcpy' | 'memset';

/** memcpy direction, as CUPTI numbers it (1 HtoD, 2 DtoH, 8 DtoD, 10 PtoP). */
export type CopyKind = 'HtoD' | 'DtoH' | 'DtoD' | 'PtoP' | 'other';
/** Host/device memory kind of a copy's ends. */
export type MemKind = 'pageable' | 'pinned' | 'device' | 'managed' | 'unknown';

export interface GpuOp {
  kind: GpuOpKind;
  /** Demangled kernel name, or "Memcpy HtoD" / "Memset" style names for copies. */
  name: string;
  /** The nsys export's `shortName` of a kernel (no template arguments), when it differs. */
  shortName?: string;
  startNs: number;
  endNs: number;
  deviceId: number;
  streamId: number;
  /** Rank of the process in a multi-rank profile (0 for single traces). */
  rank: number;
  /** Index into Profile.cpuCalls of the API call that launched it, or -1 when unknown. */
  launchIndex: number;
  /** Index into Profile.stacks of the stack at launch time, or -1 when the trace has none. */
  stackId: number;
  /**
   * Work the autograd engine launched on its own thread for a `backward()` call: the stack of the
   * thread that made the call (its lines count the op in their total; self stays with `stackId`,
   * the forward op that created it). Absent otherwise.
   */
  callerStackId?: number;
  /** NCCL / collective communication kernel. */
  isComm: boolean;
  /**
   * The collective a communication kernel runs, when the trace names it (Kineto kernel args
   * `Process Group Name`, `Collective name`, `Seq`): one operation on every rank.
   */
  collective?: CollectiveTag;
  bytes?: number;
  copyKind?: CopyKind;
  srcKind?: MemKind;
  dstKind?: MemKind;
}

/**
 * A collective as the trace names it: Kineto's NCCL kernel args and its `record_param_comms`
 * operator args (torch writes the same fields on both).
 */
export interface CollectiveTag {
  /** `Process Group Name` (or `Process Group ID`), '' when absent. */
  group: string;
  /** `Collective name`: `allreduce`, `_allgather_base`, `broadcast` … */
  name: string;
  /**
   * `Seq` (newer torch): the collective's sequence number in its process group, the same number
   * on every rank for one operation. Absent in older traces.
   */
  seq?: number;
}

/** What a CPU-side call is, for the rules. */
export type CpuCallKind =
  | 'launch' // kernel launch (cudaLaunchKernel, cuLaunchKernel, cudaGraphLaunch, hipLaunchKernel …)
  | 'memcpy' // cudaMemcpy*, cuMemcpy*
  | 'memset'
  | 'sync' // host blocks: cudaDeviceSynchronize, cudaStreamSynchronize, cudaEventSynchronize, hip…
  | 'alloc' // cudaMalloc*, cuMemAlloc*
  | 'free' // cudaFree*, cuMemFree*
  | 'os-wait' // sleeps, poll/select/epoll, socket and file reads, condition waits
  | 'os-other'
  | 'other';

/** A CPU-side call: CUDA runtime/driver API or OS runtime call. */
export interface CpuCall {
  name: string;
  kind: CpuCallKind;
  startNs: number;
  endNs: number;
  pid: number;
  tid: number;
  rank: number;
  correlationId: number;
  /** Index into Profile.stacks, or -1. */
  stackId: number;
}

/** An annotated CPU range: NVTX push/pop or start/end, torch record_function, ProfilerStep#N. */
export interface CpuRange {
  name: string;
  startNs: number;
  endNs: number;
  pid: number;
  tid: number;
  rank: number;
  /** NVTX domain name, '' for the default domain. */
  domain: string;
  /**
   * 'step' marks iteration ranges (ProfilerStep#N) for step-time statistics; 'op' is a framework
   * operator (torch cpu_op such as aten::linear), kept for CPU-side attribution and dispatch overhead.
   */
  kind: 'nvtx' | 'annotation' | 'step' | 'op';
  /** Index into Profile.stacks of the stack when the range was opened, or -1. */
  stackId: number;
  /** Kineto `record_param_comms` operators: the collective their args name. */
  collective?: CollectiveTag;
}

export interface DeviceInfo {
  id: number;
  /** Rank folders: the rank whose process saw the device (ranks own their device ids); absent: 0. */
  rank?: number;
  name: string;
  totalMemoryBytes?: number;
  smCount?: number;
  /** Peak DRAM bandwidth in bytes/s when the trace records it. */
  memoryBandwidth?: number;
}

/** A device memory sample (Kineto [memory] events). */
export interface MemorySample {
  tsNs: number;
  deviceId: number;
  allocatedBytes: number;
  reservedBytes: number;
  rank: number;
}

/**
 * One allocation (bytes > 0) or free (bytes < 0) of a profiler's allocator records (Kineto
 * `[memory]` events with an `Addr`), paired with its counterpart by (rank, device, addr).
 */
export interface MemoryEvent {
  tsNs: number;
  rank: number;
  /** Host memory (c10 DeviceType 0) or a GPU's (CUDA, HIP). */
  device: 'cpu' | 'gpu';
  /** The GPU's id; -1 for host memory. */
  deviceId: number;
  addr: number;
  bytes: number;
  /** The allocator's total allocated on the device after this event, when recorded. */
  totalAllocated?: number;
  /** Index into Profile.stacks of the stack of the operator that made it, or -1. */
  stackId: number;
}

/** A GPU metric sample (nsys --gpu-metrics-devices), value in the metric's unit (mostly %). */
export interface MetricSample {
  tsNs: number;
  deviceId: number;
  metric: string;
  value: number;
}

export interface ProfileSource {
  path: string;
  format: TraceFormat;
  /** e.g. "nsys 2024.6.2", "PyTorch 2.6.0", "Kineto (legacy)". */
  producer: string;
  schemaVersion: string;
}

/** How one rank's clock was put on the merged time base of a multi-rank folder. */
export interface RankAlignment {
  rank: number;
  /** The rank's file, relative to the folder. */
  file: string;
  /** Its node (subfolder, file name or the trace's host name), or null when unknown. */
  host: string | null;
  /** Added to every time of the rank's file. */
  offsetNs: number;
  /**
   * `reference`: the lowest rank, whose clock the others are put on; `collective-ends`: the median
   * difference of matched collectives' ends (the n-th collective of a kind ends together on every
   * rank); `session-start`: nsys session starts on the wall clock, without collectives to match;
   * `trace-clock`: none of these, the file's times as recorded.
   */
  method: 'reference' | 'collective-ends' | 'session-start' | 'trace-clock';
  /** Collectives matched with the reference rank (0 unless `collective-ends`). */
  matched: number;
  /**
   * How the matched collectives were paired (`collective-ends`, else null): `seq` by the
   * sequence number the trace records (the same operation whatever the rank skipped), `position`
   * as the n-th of their kind in their process group (no `Seq` in the trace), `mixed` some kinds
   * one way, some the other.
   */
  matchedBy: 'seq' | 'position' | 'mixed' | null;
  /** Median |end difference| left after the shift (how well the ends agree); 0 without matches. */
  residualNs: number;
}

export interface Profile {
  source: ProfileSource;
  devices: DeviceInfo[];
  /** GPU ops in columns (model-gpu-ops.ts); `GpuOp` is the shape of one row. */
  gpuOps: GpuOps;
  /** CPU calls in columns (model-cpu-calls.ts); `CpuCall` is the shape of one row. */
  cpuCalls: CpuCalls;
  /** User ranges (NVTX, record_function annotations, ProfilerStep#N): kind other than 'op'. */
  ranges: CpuRange[];
  /** Framework operators (torch cpu_op ranges, kind 'op') in columns (model-cpu-ranges.ts). */
  operators: CpuRanges;
  /** Interned stacks; GpuOp/CpuCall/CpuRange refer to them by index. */
  stacks: Stack[];
  /** Allocator samples in columns (model-memory.ts); `MemorySample` is the shape of one row. */
  memory: MemorySamples;
  /**
   * Allocations and frees with their operator's stack, in time order (empty when not recorded),
   * in columns (model-memory.ts); `MemoryEvent` is the shape of one row.
   */
  memoryEvents: MemoryEvents;
  metrics: MetricSample[];
  /** Trace span (first to last event of any kind), for traces with no GPU ops. */
  spanStartNs: number;
  spanEndNs: number;
  /** Number of ranks merged into this profile (1 for a single trace). */
  rankCount: number;
  /** Rank folders: how each rank's clock was aligned (absent for single traces). */
  rankAlignment?: RankAlignment[];
  /** Non-fatal problems met while reading (dropped events, unknown schema …). */
  warnings: string[];
}

/** The device `id` of `rank` (a device is a (rank, device id) pair), if the trace describes it. */
export function findDevice(profile: Profile, rank: number, id: number): DeviceInfo | undefined {
  return profile.devices.find((d) => d.id === id && (d.rank ?? 0) === rank);
}

/** Interns stacks so identical stacks share one index. */
export class StackTable {
  readonly stacks: Stack[] = [];
  private readonly index = new Map<string, number>();

  intern(stack: Stack): number {
    if (stack.length === 0) return -1;
    const key = stack.map((f) => `${f.file}\0${f.line}\0${f.function}\0${f.precision}`).join('\n');
    let id = this.index.get(key);
    if (id === undefined) {
      id = this.stacks.length;
      this.stacks.push(stack);
      this.index.set(key, id);
    }
    return id;
  }
}

export function emptyProfile(source: ProfileSource): Profile {
  return {
    source,
    devices: [],
    gpuOps: new GpuOps(),
    cpuCalls: new CpuCalls(),
    ranges: [],
    operators: new CpuRanges(),
    stacks: [],
    memory: new MemorySamples(),
    memoryEvents: new MemoryEvents(),
    metrics: [],
    spanStartNs: 0,
    spanEndNs: 0,
    rankCount: 1,
    warnings: [],
  };
}

/**
 * Classifies a CUDA runtime/driver or HIP (ROCm) API name (version suffixes like `_v7000` are
 * ignored). ROCm traces name the same calls `hip…`: `hipLaunchKernel`, `hipExtModuleLaunchKernel`,
 * `hipMemcpyWithStream` (a blocking copy), `hipDeviceSynchronize`, `hipMalloc` …
 * `sync` is only what blocks the host until the GPU catches up: cudaStreamWaitEvent makes a
 * *stream* wait (the host goes on) and the Query calls return at once, so they are `other`.
 */
export function classifyCudaApi(rawName: string): CpuCallKind {
  const name = rawName.replace(/_v\d+$/, '').replace(/_ptsz$|_ptds$/, '');
  if (
    /^(cuda|cu)(Launch|GraphLaunch|ModuleLaunch)|^hip(Ext|Hcc)?(Module)?Launch|^hipGraphLaunch/.test(
      name,
    )
  )
    return 'launch';
  if (
    /^(cuda|cu|hip)(DeviceSynchronize|StreamSynchronize|EventSynchronize|CtxSynchronize|ThreadSynchronize)/.test(
      name,
    )
  )
    return 'sync';
  if (/^(cuda|cu|hip)Memset/.test(name)) return 'memset';
  if (/^(cuda|cu|hip)Memcpy/.test(name)) return 'memcpy';
  if (
    /^(cudaMalloc|cuMemAlloc|cudaHostAlloc|cuMemHostAlloc|cuMemCreate|hipMalloc|hipHostMalloc|hipHostAlloc|hipExtMallocWithFlags|hipMemAlloc|hipMemCreate)/.test(
      name,
    )
  )
    return 'alloc';
  if (/^(cudaFree|cuMemFree|cuMemRelease|hipFree|hipHostFree|hipMemRelease)/.test(name))
    return 'free';
  return 'other';
}

/** Classifies an OS runtime call name: waits are the calls during which a thread does nothing. */
export function classifyOsCall(name: string): CpuCallKind {
  if (
    /^(nanosleep|clock_nanosleep|usleep|sleep|poll|ppoll|select|pselect|epoll_wait|epoll_pwait|recv|recvfrom|recvmsg|read|pread|pread64|readv|accept|accept4|connect|pthread_cond_wait|pthread_cond_timedwait|sem_wait|sem_timedwait|futex|waitpid|wait4|pthread_join|fread|fgets|getc)$/.test(
      name,
    )
  )
    return 'os-wait';
  return 'os-other';
}

/** True for NCCL / RCCL collective kernels. */
export function isCommKernel(name: string): boolean {
  return /nccl|rccl|AllReduce|AllGather|ReduceScatter|all_reduce|all_gather|reduce_scatter/i.test(
    name,
  );
}
