/**
 * Sorts Kineto trace events, one at a time as the stream yields them, into the Profile's GPU ops,
 * CPU calls, operators, user ranges and memory samples, and keeps what the stack pass needs
 * (python_function frames, operator call stacks, sequence numbers, flows, exact-line markers). Nothing else of an
 * event is kept, so memory follows the Profile, not the file.
 */
import type { CollectiveTag, CopyKind, CpuRange, MemKind, MemoryEvent } from '../model';
import { classifyCudaApi, isCommKernel } from '../model';
import { ABSENT } from '../model-columns';
import { CPU_CALL_KINDS, CpuCalls } from '../model-cpu-calls';
import { CPU_RANGE_KINDS, CpuRanges } from '../model-cpu-ranges';
import { COPY_KINDS, GpuOps, KERNEL, MEMCPY, MEMSET, MEM_KINDS } from '../model-gpu-ops';
import { MemoryEvents, MemorySamples } from '../model-memory';
import { FlowPoints, Interner, TaggedSpans, ThreadKeys } from './kineto-columns';
import { OpRows } from './kineto-event-tables';
import { isExactLineMarker } from './kineto-exact-lines';
import { PythonTree } from './kineto-python-tree';

/** A raw trace event as JSON.parse gives it. */
export interface RawEvent {
  ph?: string;
  cat?: string;
  name?: string;
  pid?: number | string;
  tid?: number | string;
  ts?: number;
  dur?: number;
  id?: number | string;
  args?: Record<string, unknown>;
}

/** GPU op categories and their `GpuOps.kind` codes. */
const GPU_CATS: Record<string, number> = {
  kernel: KERNEL,
  Kernel: KERNEL,
  gpu_memcpy: MEMCPY,
  Memcpy: MEMCPY,
  gpu_memset: MEMSET,
  Memset: MEMSET,
};
/** ROCm traces use the same categories for their hip… calls. */
const CALL_CATS = new Set(['cuda_runtime', 'cuda_driver', 'Runtime']);
const OP_CATS = new Set(['cpu_op', 'Operator']);
const LAUNCH_FLOWS = new Set(['ac2g', 'async_cpu_to_gpu', 'async']);
const FWDBWD_FLOWS = new Set(['fwdbwd', 'forward_backward']);
/** Precision limit: µs values above this do not survive `* 1000` as exact integers. */
const SAFE_US = Number.MAX_SAFE_INTEGER / 1000;

/** Collects one trace's events. */
export class KinetoEventSink {
  /** GPU ops as read: `launchIndex`, `stackId` and `callerStackId` are linked by the reader. */
  readonly gpuOps = new GpuOps();
  /** Correlation id of each GPU op (parallel to gpuOps), -1 when absent. */
  readonly gpuCorrelation: number[] = [];
  /** CPU calls as read (`stackId` -1, `correlationId` -1 when absent): the reader links them. */
  readonly cpuCalls = new CpuCalls();
  /** Thread (index into `threads.keys`) of each CPU call. */
  readonly callThreads: number[] = [];
  /** User ranges (annotations, steps); `stackId` resolved by the reader. */
  readonly ranges: CpuRange[] = [];
  /** Thread of each user range. */
  readonly rangeThreads: number[] = [];
  /** Row of each user range in the trace's sequence of user ranges and operators (range-order). */
  readonly userRangeRows: number[] = [];
  /** Operators (cpu_op) in columns; `stackId` resolved by the reader (spans also in `ops`). */
  readonly operators = new CpuRanges();
  /**
   * Allocator samples, allocations and frees (`[memory]` events with an `Addr`) and the thread of
   * each memory event, in trace order: the reader replaces them by their time-ordered copies (so
   * the unsorted ones can be freed) and resolves the events' stacks.
   */
  memory = new MemorySamples();
  memoryEvents = new MemoryEvents();
  memoryThreads: number[] = [];
  /** CPU threads by `pid:tid`. */
  readonly threads = new ThreadKeys();
  /** python_function frames, linked into stacks as they arrive (`finish`ed by the reader). */
  readonly pyFrames = new PythonTree();
  readonly ops = new OpRows();
  /** Exact-line markers; tag = index into `markerNames.values`. */
  readonly markers = new TaggedSpans();
  readonly markerNames = new Interner();
  /** Flow endpoints by id: ac2g start (CPU), fwdbwd start (forward) / finish (backward). */
  readonly launchFlowStart = new FlowPoints();
  readonly fwdbwdStart = new FlowPoints();
  readonly fwdbwdEnd = new FlowPoints();
  /** Names of user ranges, held once each (operators, ops and calls intern theirs in `names`). */
  private readonly names = new Interner();
  /** By index into `cpuCalls.names`: the call kind's code. */
  private readonly callKinds: number[] = [];
  /** By index into `gpuOps.names`: whether the kernel is a communication kernel. */
  private readonly commNames: boolean[] = [];
  private readonly collectives = new Map<string, CollectiveTag>();
  /** Index into `gpuOps.collectives` by collective key (as `GpuOps.internCollective`, by hash). */
  private readonly opCollectives = new Map<string, number>();
  spanStart = Infinity;
  spanEnd = -Infinity;
  malformed = 0;
  dropped = 0;
  /** Microsecond offset subtracted from epoch-scale timestamps (see `ns`). */
  baseUs: number;

  constructor(
    private readonly rank: number,
    baseUs?: number,
  ) {
    this.baseUs = baseUs ?? 0;
  }

  /** Files one parsed event element (undefined when it was malformed); never throws. */
  add(value: unknown, text: string | undefined): void {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      this.malformed++;
      return;
    }
    const e = value as RawEvent;
    // Fields used as keys or text must be scalars: an array there would be stringified, and one
    // nested 100 000 deep (JSON.parse reads it fine) overflows the stack in Array#join.
    if (!isScalar(e.pid) || !isScalar(e.tid) || !isScalar(e.id) || !isScalar(e.cat)) {
      this.malformed++;
      return;
    }
    const ph = e.ph;
    if (ph === 'X') this.complete(e, text);
    else if (ph === 'i' || ph === 'I') this.instant(e, text);
    else if (ph === 's' || ph === 'f') this.flow(e, text);
  }

  /** Epoch-scale timestamps need the event's source text to keep their ns digits. */
  needsText(value: unknown): boolean {
    const ts = (value as RawEvent | null)?.ts;
    return typeof ts === 'number' && Math.abs(ts) >= SAFE_US;
  }

  /**
   * Trace µs → integer ns. Kineto writes µs with ns decimals; epoch-based clocks (~1.7e15 µs)
   * lose those decimals in a double, so there the literal is re-read from the text relative to a
   * whole-second base (kept for the whole profile, and shared across ranks by the caller).
   */
  private ns(ts: number, text: string | undefined): number {
    if (Math.abs(ts) < SAFE_US && this.baseUs === 0) return Math.round(ts * 1000);
    const m = text === undefined ? null : /"ts"\s*:\s*(-?\d+)(?:\.(\d{1,9}))?/.exec(text);
    if (this.baseUs === 0) this.baseUs = Math.floor(ts / 1e6) * 1e6;
    if (!m) return Math.round((ts - this.baseUs) * 1000);
    const frac = m[2] ? Math.round(Number(`0.${m[2]}`) * 1000) : 0;
    return (Number(m[1]) - this.baseUs) * 1000 + (m[1].startsWith('-') ? -frac : frac);
  }

  private see(start: number, end: number): void {
    if (start < this.spanStart) this.spanStart = start;
    if (end > this.spanEnd) this.spanEnd = end;
  }

  private complete(e: RawEvent, text: string | undefined): void {
    if (typeof e.ts !== 'number' || typeof e.name !== 'string') {
      this.dropped++;
      return;
    }
    const start = this.ns(e.ts, text);
    const end = start + Math.max(0, Math.round((typeof e.dur === 'number' ? e.dur : 0) * 1000));
    const cat = e.cat ?? '';
    const args = e.args ?? {};
    // The profiler's own span; and cuda_sync records, the GPU-timeline mirror of a sync API call
    // (same correlation id) that is itself in cuda_runtime: read as calls, each sync counted twice.
    if (cat === 'Trace' || cat === 'cuda_sync') return;
    this.see(start, end);
    const thread = this.threads.id(e.pid, e.tid);
    // Own keys only: a cat of "toString" or "__proto__" is no GPU category.
    if (Object.hasOwn(GPU_CATS, cat)) return this.gpuOp(GPU_CATS[cat], e, args, start, end);
    if (CALL_CATS.has(cat)) {
      this.cpuCall(e, args, start, end);
      this.callThreads.push(thread);
      return;
    }
    if (cat === 'python_function') {
      this.pyFrames.add(
        thread,
        start,
        end,
        e.name,
        num(args['Python id'], -1),
        num(args['Python parent id'], -1),
      );
      return;
    }
    if (isExactLineMarker(e.name)) {
      if (cat !== 'gpu_user_annotation')
        this.markers.add(thread, start, end, this.markerNames.id(e.name));
      return;
    }
    if (cat === 'user_annotation') {
      this.range(e.name, 'annotation', thread, e, start, end);
      return;
    }
    // Kineto-less builds (Debian's torch 1.13) write events without any cat: aten ops and
    // record_function ranges are told apart by the operator namespace.
    if (OP_CATS.has(cat) || (cat === '' && e.name.includes('::'))) {
      const range = isStep(e.name)
        ? ~this.range(e.name, 'op', thread, e, start, end)
        : this.operator(e, args, start, end);
      this.ops.add(
        { thread, start, end },
        {
          range,
          seq: num(args['Sequence number'], -1),
          // Forward ops carry `Fwd thread id` 0; a backward op names its forward thread (from 1).
          backward:
            num(args['Fwd thread id'], 0) > 0 || e.name.startsWith('autograd::engine::evaluate'),
          callStack: typeof args['Call stack'] === 'string' ? args['Call stack'] : '',
        },
      );
      return;
    }
    if (cat === '') this.range(e.name, 'annotation', thread, e, start, end);
  }

  private range(
    name: string,
    kind: CpuRange['kind'],
    thread: number,
    e: RawEvent,
    start: number,
    end: number,
  ): number {
    this.userRangeRows.push(this.ranges.length + this.operators.length);
    this.ranges.push({
      name: this.names.canonical(name),
      startNs: start,
      endNs: end,
      pid: int(e.pid),
      tid: int(e.tid),
      rank: this.rank,
      domain: '',
      kind: isStep(name) ? 'step' : kind,
      stackId: -1,
    });
    this.rangeThreads.push(thread);
    return this.ranges.length - 1;
  }

  /** Files an operator (not a step) in `operators`; returns its index. */
  private operator(e: RawEvent, args: Record<string, unknown>, start: number, end: number): number {
    const ops = this.operators;
    const i = ops.length;
    ops.reserve(i + 1);
    ops.name[i] = ops.names.intern(e.name as string);
    ops.kind[i] = OP_KIND;
    ops.startNs[i] = start;
    ops.endNs[i] = end;
    ops.thread[i] = ops.threads.intern(this.rank, int(e.pid), int(e.tid));
    ops.domain[i] = ops.names.intern('');
    ops.stackId[i] = -1;
    // torch's collective metadata op (inside the c10d:: operator): group, name and `Seq`.
    const tag = e.name === 'record_param_comms' ? this.collectiveTag(args) : undefined;
    ops.collective[i] = tag ? ops.internCollective(tag) : -1;
    ops.length = i + 1;
    return i;
  }

  private cpuCall(e: RawEvent, args: Record<string, unknown>, start: number, end: number): void {
    const calls = this.cpuCalls;
    const i = calls.length;
    calls.reserve(i + 1);
    const name = calls.names.intern(e.name as string);
    calls.name[i] = name;
    calls.kind[i] = this.callKind(name);
    calls.startNs[i] = start;
    calls.endNs[i] = end;
    calls.thread[i] = calls.threads.intern(this.rank, int(e.pid), int(e.tid));
    calls.setCorrelation(i, num(args.correlation, -1));
    calls.stackId[i] = -1;
    calls.length = i + 1;
  }

  private gpuOp(
    kind: number,
    e: RawEvent,
    args: Record<string, unknown>,
    start: number,
    end: number,
  ): void {
    const ops = this.gpuOps;
    const i = ops.length;
    ops.reserve(i + 1);
    const name = ops.names.intern(e.name as string);
    const isComm = kind === KERNEL && this.isComm(name);
    ops.kind[i] = kind;
    ops.name[i] = name;
    ops.startNs[i] = start;
    ops.endNs[i] = end;
    ops.deviceId[i] = num(args.device, int(e.pid));
    ops.streamId[i] = num(args.stream, int(e.tid));
    ops.rank[i] = this.rank;
    ops.launchIndex[i] = -1;
    ops.stackId[i] = -1;
    ops.callerStackId[i] = -1;
    ops.isComm[i] = isComm ? 1 : 0;
    ops.setCollective(i, isComm ? this.opCollective(args) : -1);
    const copy = kind === MEMCPY ? copyKinds(ops.names.at(name)) : undefined;
    ops.setCopy(
      i,
      typeof args.bytes === 'number' ? args.bytes : NaN,
      copy ? COPY_KINDS.indexOf(copy.copyKind) : ABSENT,
      copy ? MEM_KINDS.indexOf(copy.srcKind) : ABSENT,
      copy ? MEM_KINDS.indexOf(copy.dstKind) : ABSENT,
    );
    ops.length = i + 1;
    this.gpuCorrelation.push(num(args.correlation, -1));
  }

  /** Index into `gpuOps.collectives` of the collective the kernel's args name, -1 when none. */
  private opCollective(args: Record<string, unknown>): number {
    const tag = this.collectiveTag(args);
    if (!tag) return -1;
    const key =
      tag.seq === undefined ? `${tag.group}\0${tag.name}` : `${tag.group}\0${tag.name}\0${tag.seq}`;
    let id = this.opCollectives.get(key);
    if (id === undefined) {
      id = this.gpuOps.collectives.push(tag) - 1;
      this.opCollectives.set(key, id);
    }
    return id;
  }

  /**
   * The collective that kernel or `record_param_comms` args name (`Collective name`, `Process
   * Group Name`, `Seq`); without a `Seq`, one shared object per group and name.
   */
  private collectiveTag(args: Record<string, unknown>): CollectiveTag | undefined {
    const name = args['Collective name'];
    if (typeof name !== 'string' || name.length > 200) return undefined;
    const g = args['Process Group Name'] ?? args['Process Group ID'];
    const group = typeof g === 'string' || typeof g === 'number' ? String(g).slice(0, 200) : '';
    // torch writes the number bare (std::to_string); a quoted one is read too.
    const s = args.Seq;
    const seq = typeof s === 'string' && /^\d{1,15}$/.test(s) ? Number(s) : s;
    if (typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 0)
      return { group, name, seq };
    const key = `${group}\0${name}`;
    let c = this.collectives.get(key);
    if (!c) this.collectives.set(key, (c = { group, name }));
    return c;
  }

  /** The kind code of the call named `cpuCalls.names` entry `name`. */
  private callKind(name: number): number {
    let kind = this.callKinds[name];
    if (kind === undefined)
      kind = this.callKinds[name] = CPU_CALL_KINDS.indexOf(
        classifyCudaApi(this.cpuCalls.names.at(name)),
      );
    return kind;
  }

  /** Whether the kernel named `gpuOps.names` entry `name` is a communication kernel. */
  private isComm(name: number): boolean {
    let comm = this.commNames[name];
    if (comm === undefined) comm = this.commNames[name] = isCommKernel(this.gpuOps.names.at(name));
    return comm;
  }

  private instant(e: RawEvent, text: string | undefined): void {
    if (e.name !== '[memory]' || typeof e.ts !== 'number' || !e.args) return;
    const a = e.args;
    const tsNs = this.ns(e.ts, text);
    // c10 DeviceType: 0 is host memory; 1 is CUDA, 6 HIP (ROCm). Old traces lack the running totals.
    const host = a['Device Type'] === 0;
    // Old traces lack the address too: such events cannot be paired with their frees.
    if (typeof a.Addr === 'number' && typeof a.Bytes === 'number' && Number.isFinite(a.Bytes)) {
      const ev: MemoryEvent = {
        tsNs,
        rank: this.rank,
        device: host ? 'cpu' : 'gpu',
        deviceId: host ? -1 : num(a['Device Id'], 0),
        addr: a.Addr,
        bytes: a.Bytes,
        stackId: -1,
      };
      if (typeof a['Total Allocated'] === 'number') ev.totalAllocated = a['Total Allocated'];
      this.memoryEvents.push(ev);
      this.memoryThreads.push(this.threads.id(e.pid, e.tid));
    }
    if (host || typeof a['Total Allocated'] !== 'number') return;
    this.memory.push({
      tsNs,
      deviceId: num(a['Device Id'], 0),
      allocatedBytes: a['Total Allocated'],
      reservedBytes: num(a['Total Reserved'], 0),
      rank: this.rank,
    });
  }

  private flow(e: RawEvent, text: string | undefined): void {
    const cat = e.cat ?? '';
    if (typeof e.ts !== 'number' || e.id === undefined) return;
    // Always converted: the first epoch-scale time sets the profile's base (see `ns`).
    const ts = this.ns(e.ts, text);
    // A launch flow's finish (on the GPU side) is not needed: ops carry their correlation id.
    const points = LAUNCH_FLOWS.has(cat)
      ? e.ph === 's'
        ? this.launchFlowStart
        : null
      : FWDBWD_FLOWS.has(cat)
        ? e.ph === 's'
          ? this.fwdbwdStart
          : this.fwdbwdEnd
        : null;
    if (points) points.set(String(e.id), this.threads.id(e.pid, e.tid), ts);
  }
}

/** `kind` code of an operator. */
const OP_KIND = CPU_RANGE_KINDS.indexOf('op');

/** ProfilerStep#N: an iteration range, whatever the event's category. */
function isStep(name: string): boolean {
  return /^ProfilerStep#\d+$/.test(name);
}

/** A JSON scalar (or absent): safe to stringify. */
function isScalar(v: unknown): boolean {
  return v === undefined || v === null || typeof v !== 'object';
}

/** A numeric arg, or `fallback`. */
function num(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}

/** pid/tid as a number: legacy traces write "25738" or "stream 7"; non-numeric ones give 0. */
function int(v: unknown): number {
  if (typeof v === 'number') return v;
  const m = typeof v === 'string' ? /-?\d+/.exec(v) : null;
  return m ? Number(m[0]) : 0;
}

/** Kineto's memory kind names. */
const TRACE_MEM_KINDS: Record<string, MemKind> = {
  Pageable: 'pageable',
  Pinned: 'pinned',
  Device: 'device',
  Managed: 'managed',
};

/** "Memcpy HtoD (Pageable -> Device)" → direction and the two ends' memory kinds. */
function copyKinds(name: string): { copyKind: CopyKind; srcKind: MemKind; dstKind: MemKind } {
  const dir = /\b(HtoD|DtoH|DtoD|PtoP)\b/.exec(name);
  const ends = /\((\w+) -> (\w+)\)/.exec(name);
  return {
    copyKind: dir ? (dir[1] as CopyKind) : 'other',
    srcKind: (ends && TRACE_MEM_KINDS[ends[1]]) || 'unknown',
    dstKind: (ends && TRACE_MEM_KINDS[ends[2]]) || 'unknown',
  };
}
