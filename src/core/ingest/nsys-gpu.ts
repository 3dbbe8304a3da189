/**
 * CUDA activity from an nsys export: runtime/driver API calls (CUPTI_ACTIVITY_KIND_RUNTIME) and the
 * GPU operations they launched (KERNEL, MEMCPY, MEMSET), linked by correlationId within a process.
 * One pass per table over `.raw()` rows; names are resolved through the preloaded StringIds array.
 */
import {
  classifyCudaApi,
  isCommKernel,
  type CopyKind,
  type CpuCall,
  type CpuCallKind,
  type GpuOp,
  type MemKind,
} from '../model';
import { pidOf, processKey, tidOf, type NsysDb, type RawRow } from './nsys-db';

/** Running min/max over every event read, for the profile span. */
export interface Span {
  min: number;
  max: number;
}

export function widen(span: Span, start: number, end: number): void {
  if (start < span.min) span.min = start;
  if (end > span.max) span.max = end;
}

/**
 * correlationId → index of the API call, per process. Correlation ids are unique within a process
 * but not across processes: an open-addressing hash on typed arrays (a JS Map of millions of
 * numeric keys costs several times more) serves the common single-process case, and an overflow
 * map keyed by "process:correlation" takes the ids that two processes share.
 */
export class LaunchLinker {
  private keys: Uint32Array;
  /** call index + 1, 0 for an empty slot, -1 for an id shared by several processes. */
  private values: Int32Array;
  private size = 0;
  private readonly overflow = new Map<string, number>();
  /**
   * Process key of each call, indexed like Profile.cpuCalls (runtime calls are read first); null
   * while every call added is `soleProc`'s (one process: the common case, no array of millions).
   */
  private procOfCall: number[] | null = null;
  private soleProc: number | undefined = undefined;
  /** Whether any call added has a stack (GpuOps take their launching call's, else -1). */
  anyStack = false;

  /**
   * `expected`: about how many calls will be added. The table starts large enough to hold them
   * without growing (each growth rehashes every id), capped so that a bogus hint stays cheap.
   */
  constructor(expected = 0) {
    let capacity = 1 << 16;
    while (capacity < 2 * Math.min(expected, MAX_PRESIZED_CALLS)) capacity *= 2;
    this.keys = new Uint32Array(capacity);
    this.values = new Int32Array(capacity);
  }

  add(correlationId: number, proc: number, callIndex: number): void {
    if (this.procOfCall !== null) this.procOfCall[callIndex] = proc;
    else if (this.soleProc === undefined) this.soleProc = proc;
    else if (proc !== this.soleProc) {
      // A second process: from now on one entry per call. The earlier calls were soleProc's
      // (indices never added are never looked up: only added calls are in the table).
      this.procOfCall = new Array<number>(callIndex).fill(this.soleProc);
      this.procOfCall[callIndex] = proc;
    }
    if (!isUint32(correlationId)) {
      // CUPTI ids are uint32; anything else is kept out of the typed table.
      for (const key of [`${proc}:${correlationId}`, `*:${correlationId}`]) {
        if (!this.overflow.has(key)) this.overflow.set(key, callIndex);
      }
      return;
    }
    const slot = this.slot(correlationId);
    const existing = this.values[slot];
    if (existing === 0) {
      this.keys[slot] = correlationId;
      this.values[slot] = callIndex + 1;
      if (++this.size * 2 > this.keys.length) this.grow();
    } else if (existing > 0) {
      const existingProc = this.procOf(existing - 1);
      if (existingProc === proc) return; // same id twice in one process: keep the first call
      this.overflow.set(`${existingProc}:${correlationId}`, existing - 1);
      this.overflow.set(`${proc}:${correlationId}`, callIndex);
      this.values[slot] = -1;
    } else {
      const key = `${proc}:${correlationId}`;
      if (!this.overflow.has(key)) this.overflow.set(key, callIndex);
    }
  }

  /** Index of the launching call, or -1. `proc` null (old schemas without globalPid) skips the check. */
  find(correlationId: number, proc: number | null): number {
    if (!isUint32(correlationId)) {
      return this.overflow.get(`${proc ?? '*'}:${correlationId}`) ?? -1;
    }
    const v = this.values[this.slot(correlationId)];
    if (v === 0) return -1;
    if (v > 0) return proc === null || this.procOf(v - 1) === proc ? v - 1 : -1;
    return proc === null ? -1 : (this.overflow.get(`${proc}:${correlationId}`) ?? -1);
  }

  private procOf(callIndex: number): number | undefined {
    return this.procOfCall === null ? this.soleProc : this.procOfCall[callIndex];
  }

  /** The slot holding `id`, or the empty slot where it would go (linear probing). */
  private slot(id: number): number {
    const mask = this.keys.length - 1;
    // The low 12 bits pass through and the rest is scrambled: ids close together (CUPTI hands
    // them out in increasing order, and tables are stored in time order) land in nearby slots,
    // which keeps memory access local, while strided ids still spread over the table.
    let i = (id ^ Math.imul(id >>> 12, 0x9e3779b1)) & mask;
    while (this.values[i] !== 0 && this.keys[i] !== id) i = (i + 1) & mask;
    return i;
  }

  private grow(): void {
    const { keys, values } = this;
    this.keys = new Uint32Array(keys.length * 2);
    this.values = new Int32Array(keys.length * 2);
    for (let i = 0; i < keys.length; i++) {
      if (values[i] !== 0) {
        const j = this.slot(keys[i]);
        this.keys[j] = keys[i];
        this.values[j] = values[i];
      }
    }
  }
}

/** Presizing stops here (4 M calls: 64 MiB of table); larger traces grow from there. */
const MAX_PRESIZED_CALLS = 1 << 22;

function isUint32(v: number): boolean {
  return v >>> 0 === v;
}

/**
 * Reads CUPTI_ACTIVITY_KIND_RUNTIME into `calls` (runtime and driver calls alike; their sync
 * calls are here, so CUPTI_ACTIVITY_KIND_SYNCHRONIZATION is not read again).
 */
export function readRuntimeCalls(
  ndb: NsysDb,
  strings: readonly string[],
  callchainStacks: Map<number, number>,
  rank: number,
  calls: CpuCall[],
  span: Span,
): LaunchLinker {
  const table = 'CUPTI_ACTIVITY_KIND_RUNTIME';
  if (!ndb.has(table)) return new LaunchLinker();
  const linker = new LaunchLinker(ndb.rowidSpan(table));
  const kindById: (CpuCallKind | undefined)[] = [];
  // callchainId is only worth reading (every column costs per row) when some chain has Python frames.
  const cols = ['start', 'end', 'globalTid', 'correlationId', 'nameId'];
  if (callchainStacks.size > 0) cols.push('callchainId');
  // The thread of the previous row, split once: calls come in runs from one thread, and the
  // splits are float divisions and remainders (globalTid is above 2^32).
  let lastGtid = NaN;
  let proc = 0;
  let pid = 0;
  let tid = 0;
  for (const page of ndb.pages(table, cols))
    for (const row of page) {
      const start = row[0] as number;
      const end = row[1] as number;
      const gtid = (row[2] as number | null) ?? 0;
      if (gtid !== lastGtid) {
        lastGtid = gtid;
        proc = processKey(gtid);
        pid = pidOf(gtid);
        tid = tidOf(gtid);
      }
      const corr = (row[3] as number | null) ?? 0;
      const nameId = row[4] as number;
      const chain = row[5] as number | null | undefined;
      const name = strings[nameId] ?? '';
      let kind = kindById[nameId];
      if (kind === undefined) kindById[nameId] = kind = classifyCudaApi(name);
      const index = calls.length;
      const stackId = chain == null ? -1 : (callchainStacks.get(chain) ?? -1);
      if (stackId >= 0) linker.anyStack = true;
      calls.push({
        name,
        kind,
        startNs: start,
        endNs: end,
        pid,
        tid,
        rank,
        correlationId: corr,
        stackId,
      });
      linker.add(corr, proc, index);
      widen(span, start, end);
    }
  return linker;
}

/** The columns every GPU operation table starts with: start, end, deviceId, streamId, then these two. */
const OP_COLUMNS = ['start', 'end', 'deviceId', 'streamId', 'correlationId', 'globalPid'];

/**
 * The runtime call that launched the GPU operation of a row starting with OP_COLUMNS (by
 * correlationId within its process), or -1.
 */
function launchOf(row: RawRow, linker: LaunchLinker): number {
  const gpid = row[5] as number | null;
  return linker.find((row[4] as number | null) ?? 0, gpid === null ? null : processKey(gpid));
}

/**
 * Reads kernels; the name is demangledName, falling back to shortName (kept as GpuOp.shortName).
 * Each op is one object literal with every field it will have (two shapes: with and without
 * shortName), never a property added afterwards: an added property moves the object's fields to
 * a separate backing store, one more allocation per kernel for the GC to copy.
 */
export function readKernels(
  ndb: NsysDb,
  strings: readonly string[],
  linker: LaunchLinker,
  calls: readonly CpuCall[],
  rank: number,
  ops: GpuOp[],
  span: Span,
): void {
  const table = 'CUPTI_ACTIVITY_KIND_KERNEL';
  if (!ndb.has(table)) return;
  const commById: (boolean | undefined)[] = [];
  // The process of the previous row (kernels come in runs from one process), split once.
  let lastGpid: unknown = undefined;
  let proc: number | null = null;
  for (const page of ndb.pages(table, [...OP_COLUMNS, 'demangledName', 'shortName']))
    for (const row of page) {
      const gpid = row[5] as number | null;
      if (gpid !== lastGpid) {
        lastGpid = gpid;
        proc = gpid === null ? null : processKey(gpid);
      }
      const nameId = (row[6] ?? row[7]) as number | null;
      const name = nameId === null ? '' : (strings[nameId] ?? '');
      let isComm = nameId === null ? false : commById[nameId];
      if (isComm === undefined) commById[nameId as number] = isComm = isCommKernel(name);
      const startNs = row[0] as number;
      const endNs = row[1] as number;
      const deviceId = (row[2] as number | null) ?? 0;
      const streamId = (row[3] as number | null) ?? 0;
      const launchIndex = linker.find((row[4] as number | null) ?? 0, proc);
      const stackId = launchIndex >= 0 && linker.anyStack ? calls[launchIndex].stackId : -1;
      const shortId = row[7] as number | null;
      const short = shortId === null ? undefined : strings[shortId];
      // Field order as in GpuOp, shortName last (where it was always added).
      ops.push(
        short && short !== name
          ? {
              kind: 'kernel',
              name,
              startNs,
              endNs,
              deviceId,
              streamId,
              rank,
              launchIndex,
              stackId,
              isComm,
              shortName: short,
            }
          : {
              kind: 'kernel',
              name,
              startNs,
              endNs,
              deviceId,
              streamId,
              rank,
              launchIndex,
              stackId,
              isComm,
            },
      );
      widen(span, startNs, endNs);
    }
}

/** CUPTI copy kinds (ENUM_CUDA_MEMCPY_OPER), abbreviated as the nsys UI names them. */
const COPY_NAMES = [
  'Unknown',
  'HtoD',
  'DtoH',
  'HtoA',
  'AtoH',
  'AtoA',
  'AtoD',
  'DtoA',
  'DtoD',
  'HtoH',
  'PtoP',
];
const COPY_KINDS: Record<number, CopyKind> = { 1: 'HtoD', 2: 'DtoH', 8: 'DtoD', 10: 'PtoP' };
/** ENUM_CUDA_MEM_KIND: 0 pageable, 1 pinned, 2 device, 3 array, 4 managed, 5 device static, 6 managed static. */
const MEM_KINDS: Record<number, MemKind> = {
  0: 'pageable',
  1: 'pinned',
  2: 'device',
  4: 'managed',
  5: 'device',
  6: 'managed',
};

function memKind(v: unknown): MemKind {
  return typeof v === 'number' ? (MEM_KINDS[v] ?? 'unknown') : 'unknown';
}

/** Reads memcpy (named `Memcpy HtoD` …) and memset (named `Memset`) operations, one literal each. */
export function readCopies(
  ndb: NsysDb,
  linker: LaunchLinker,
  calls: readonly CpuCall[],
  rank: number,
  ops: GpuOp[],
  span: Span,
): void {
  const base = [...OP_COLUMNS, 'bytes'];
  for (const row of ndb.rows('CUPTI_ACTIVITY_KIND_MEMCPY', [
    ...base,
    'copyKind',
    'srcKind',
    'dstKind',
  ])) {
    const launchIndex = launchOf(row, linker);
    const copy = (row[7] as number | null) ?? 0;
    const op: GpuOp = {
      kind: 'memcpy',
      name: `Memcpy ${COPY_NAMES[copy] ?? 'Unknown'}`,
      startNs: row[0] as number,
      endNs: row[1] as number,
      deviceId: (row[2] as number | null) ?? 0,
      streamId: (row[3] as number | null) ?? 0,
      rank,
      launchIndex,
      stackId: launchIndex >= 0 ? calls[launchIndex].stackId : -1,
      isComm: false,
      bytes: (row[6] as number | null) ?? 0,
      copyKind: COPY_KINDS[copy] ?? 'other',
      srcKind: memKind(row[8]),
      dstKind: memKind(row[9]),
    };
    ops.push(op);
    widen(span, op.startNs, op.endNs);
  }
  for (const row of ndb.rows('CUPTI_ACTIVITY_KIND_MEMSET', [...base, 'memKind'])) {
    const launchIndex = launchOf(row, linker);
    const op: GpuOp = {
      kind: 'memset',
      name: 'Memset',
      startNs: row[0] as number,
      endNs: row[1] as number,
      deviceId: (row[2] as number | null) ?? 0,
      streamId: (row[3] as number | null) ?? 0,
      rank,
      launchIndex,
      stackId: launchIndex >= 0 ? calls[launchIndex].stackId : -1,
      isComm: false,
      bytes: (row[6] as number | null) ?? 0,
      dstKind: memKind(row[7]),
    };
    ops.push(op);
    widen(span, op.startNs, op.endNs);
  }
}
