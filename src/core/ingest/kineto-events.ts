/**
 * Sorts Kineto trace events, one at a time as the stream yields them, into the Profile's GPU ops,
 * CPU calls, ranges and memory samples, and keeps what the stack pass needs (python_function
 * frames, operator call stacks, sequence numbers, flows, exact-line markers). Nothing else of an
 * event is kept, so memory follows the Profile, not the file.
 */
import type {
  CollectiveTag,
  CopyKind,
  CpuCall,
  CpuRange,
  GpuOp,
  MemKind,
  MemoryEvent,
  MemorySample,
} from '../model';
import { classifyCudaApi, isCommKernel } from '../model';
import {
  Columns,
  FlowPoints,
  INITIAL_CAPACITY,
  Interner,
  SpanTable,
  TaggedSpans,
  ThreadKeys,
  grown,
} from './kineto-columns';
import { isExactLineMarker } from './kineto-exact-lines';

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

/** python_function events: the span, its name (index into `names`), `Python id` and parent id. */
export class PyFrames extends SpanTable {
  readonly names = new Interner();
  name = new Int32Array(INITIAL_CAPACITY);
  /** `Python id` and parent id, -1 when absent or negative, `WIDE` when kept in `wide`. */
  private id = new Int32Array(INITIAL_CAPACITY);
  private parent = new Int32Array(INITIAL_CAPACITY);
  /** Ids that are not 31-bit integers (none in real traces), by row * 2 (+ 1 for the parent). */
  private readonly wide = new Map<number, number>();

  add(thread: number, start: number, end: number, name: string, id: number, parent: number): void {
    const i = this.addSpan(thread, start, end);
    this.name[i] = this.names.id(name);
    this.id[i] = this.narrow(i * 2, id);
    this.parent[i] = this.narrow(i * 2 + 1, parent);
  }

  /** `Python id` of row `i` (negative: none). */
  idOf(i: number): number {
    const v = this.id[i];
    return v === WIDE ? (this.wide.get(i * 2) as number) : v;
  }

  /** `Python parent id` of row `i` (negative: none). */
  parentOf(i: number): number {
    const v = this.parent[i];
    return v === WIDE ? (this.wide.get(i * 2 + 1) as number) : v;
  }

  private narrow(key: number, v: number): number {
    // Only the sign of a negative id matters (-0 counts as 0, as it did as a Map key).
    if (v < 0) return -1;
    if (Number.isInteger(v) && v <= 0x7fffffff) return v;
    this.wide.set(key, v);
    return WIDE;
  }

  protected override resize(capacity: number): void {
    super.resize(capacity);
    this.name = grown(this.name, capacity);
    this.id = grown(this.id, capacity);
    this.parent = grown(this.parent, capacity);
  }
}

/** Marks an id kept outside the Int32 columns. */
const WIDE = -0x80000000;

/**
 * Operator events (cpu_op): their range (whose thread, start and end are the op's), sequence
 * number, direction and legacy call stack.
 */
export class OpRows extends Columns {
  /** Distinct `Call stack` argument texts. */
  readonly callStacks = new Interner();
  /** Index into the sink's `ranges`. */
  range = new Int32Array(INITIAL_CAPACITY);
  seq = new Float64Array(INITIAL_CAPACITY);
  /** 1 for a backward op (autograd thread): `Fwd thread id` > 0 or an autograd engine name. */
  backward = new Uint8Array(INITIAL_CAPACITY);
  /** Index into `callStacks`, -1 when the op has none. */
  callStack = new Int32Array(INITIAL_CAPACITY);

  add(op: { range: number; seq: number; backward: boolean; callStack: string }): void {
    const i = this.nextRow();
    this.range[i] = op.range;
    this.seq[i] = op.seq;
    this.backward[i] = op.backward ? 1 : 0;
    this.callStack[i] = op.callStack === '' ? -1 : this.callStacks.id(op.callStack);
  }

  protected resize(capacity: number): void {
    this.range = grown(this.range, capacity);
    this.seq = grown(this.seq, capacity);
    this.backward = grown(this.backward, capacity);
    this.callStack = grown(this.callStack, capacity);
  }
}

const GPU_CATS: Record<string, GpuOp['kind']> = {
  kernel: 'kernel',
  Kernel: 'kernel',
  gpu_memcpy: 'memcpy',
  Memcpy: 'memcpy',
  gpu_memset: 'memset',
  Memset: 'memset',
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
  readonly gpuOps: GpuOp[] = [];
  /** Correlation id of each GPU op (parallel to gpuOps), -1 when absent. */
  readonly gpuCorrelation: number[] = [];
  readonly cpuCalls: CpuCall[] = [];
  /** Thread (index into `threads.keys`) of each CPU call. */
  readonly callThreads: number[] = [];
  readonly ranges: CpuRange[] = [];
  /** Thread of each range. */
  readonly rangeThreads: number[] = [];
  readonly memory: MemorySample[] = [];
  /** Allocations and frees (`[memory]` events with an `Addr`); stacks resolved by the reader. */
  readonly memoryEvents: MemoryEvent[] = [];
  /** Thread of each memory event. */
  readonly memoryThreads: number[] = [];
  /** CPU threads by `pid:tid`. */
  readonly threads = new ThreadKeys();
  readonly pyFrames = new PyFrames();
  readonly ops = new OpRows();
  /** Exact-line markers; tag = index into `markerNames.values`. */
  readonly markers = new TaggedSpans();
  readonly markerNames = new Interner();
  /** Flow endpoints by id: ac2g start (CPU), fwdbwd start (forward) / finish (backward). */
  readonly launchFlowStart = new FlowPoints();
  readonly fwdbwdStart = new FlowPoints();
  readonly fwdbwdEnd = new FlowPoints();
  /** Names of ops, calls and ranges, held once each. */
  private readonly names = new Interner();
  private readonly callKinds = new Map<string, CpuCall['kind']>();
  private readonly commNames = new Map<string, boolean>();
  private readonly collectives = new Map<string, CollectiveTag>();
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
    const gpuKind = Object.hasOwn(GPU_CATS, cat) ? GPU_CATS[cat] : undefined;
    if (gpuKind) return this.gpuOp(gpuKind, e, args, start, end);
    if (CALL_CATS.has(cat)) {
      const name = this.names.canonical(e.name);
      this.cpuCalls.push({
        name,
        kind: this.callKind(name),
        startNs: start,
        endNs: end,
        pid: int(e.pid),
        tid: int(e.tid),
        rank: this.rank,
        correlationId: num(args.correlation, -1),
        stackId: -1,
      });
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
      const range = this.range(e.name, 'op', thread, e, start, end);
      // torch's collective metadata op (inside the c10d:: operator): group, name and `Seq`.
      if (e.name === 'record_param_comms') {
        const tag = this.collectiveTag(args);
        if (tag) this.ranges[range].collective = tag;
      }
      this.ops.add({
        range,
        seq: num(args['Sequence number'], -1),
        // Forward ops carry `Fwd thread id` 0; a backward op names its forward thread (ids from 1).
        backward:
          num(args['Fwd thread id'], 0) > 0 || e.name.startsWith('autograd::engine::evaluate'),
        callStack: typeof args['Call stack'] === 'string' ? args['Call stack'] : '',
      });
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
    const isStep = /^ProfilerStep#\d+$/.test(name);
    this.ranges.push({
      name: this.names.canonical(name),
      startNs: start,
      endNs: end,
      pid: int(e.pid),
      tid: int(e.tid),
      rank: this.rank,
      domain: '',
      kind: isStep ? 'step' : kind,
      stackId: -1,
    });
    this.rangeThreads.push(thread);
    return this.ranges.length - 1;
  }

  private gpuOp(
    kind: GpuOp['kind'],
    e: RawEvent,
    args: Record<string, unknown>,
    start: number,
    end: number,
  ): void {
    const name = this.names.canonical(e.name as string);
    const op: GpuOp = {
      kind,
      name,
      startNs: start,
      endNs: end,
      deviceId: num(args.device, int(e.pid)),
      streamId: num(args.stream, int(e.tid)),
      rank: this.rank,
      launchIndex: -1,
      stackId: -1,
      isComm: kind === 'kernel' && this.isComm(name),
    };
    if (typeof args.bytes === 'number') op.bytes = args.bytes;
    if (op.isComm) this.collective(op, args);
    if (kind === 'memcpy') Object.assign(op, copyKinds(name));
    this.gpuOps.push(op);
    this.gpuCorrelation.push(num(args.correlation, -1));
  }

  /** Names the collective from the kernel's args. */
  private collective(op: GpuOp, args: Record<string, unknown>): void {
    const tag = this.collectiveTag(args);
    if (tag) op.collective = tag;
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

  private callKind(name: string): CpuCall['kind'] {
    let kind = this.callKinds.get(name);
    if (kind === undefined) this.callKinds.set(name, (kind = classifyCudaApi(name)));
    return kind;
  }

  private isComm(name: string): boolean {
    let comm = this.commNames.get(name);
    if (comm === undefined) this.commNames.set(name, (comm = isCommKernel(name)));
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

const MEM_KINDS: Record<string, MemKind> = {
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
    srcKind: (ends && MEM_KINDS[ends[1]]) || 'unknown',
    dstKind: (ends && MEM_KINDS[ends[2]]) || 'unknown',
  };
}
