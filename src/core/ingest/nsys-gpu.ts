/**
 * CUDA activity from an nsys export: runtime/driver API calls (CUPTI_ACTIVITY_KIND_RUNTIME) and the
 * GPU operations they launched (KERNEL, MEMCPY, MEMSET), linked by correlationId within a process.
 * One pass per table over `.raw()` rows, written straight into the Profile's column tables; names
 * are interned once per StringIds id.
 */
import { classifyCudaApi, isCommKernel } from '../model';
import { ABSENT } from '../model-columns';
import { CPU_CALL_KINDS, type CpuCalls } from '../model-cpu-calls';
import { COPY_KINDS, KERNEL, MEM_KINDS, MEMCPY, MEMSET, type GpuOps } from '../model-gpu-ops';
import { pidOf, processKey, StringIdInterner, tidOf, type NsysDb, type RawRow } from './nsys-db';
import type { RuntimeColumns } from './nsys-runtime-scan';

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
   * `expected`: about how many calls will be added (NsysDb.rowCount, which the event budget has
   * bounded). The table starts large enough to hold them without growing: each growth rehashes
   * every id.
   */
  constructor(expected = 0) {
    let capacity = 1 << 16;
    while (capacity < 2 * expected) capacity *= 2;
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

function isUint32(v: number): boolean {
  return v >>> 0 === v;
}

/**
 * Reads the runtime table's rows (nsys-runtime-scan.ts) into `calls`, a chunk at a time (runtime
 * and driver calls alike; their sync calls are here, so CUPTI_ACTIVITY_KIND_SYNCHRONIZATION is not
 * read again), and links their correlation ids in `linker`.
 */
export class RuntimeCallReader {
  readonly linker: LaunchLinker;
  private readonly names: StringIdInterner;
  /** CpuCalls kind code by index in calls.names. */
  private readonly kindByName: number[] = [];
  // The thread of the previous row, split once: calls come in runs from one thread, and the
  // splits are float divisions and remainders (globalTid is above 2^32).
  private lastGtid = NaN;
  private proc = 0;
  private thread = 0;

  /** `expected`: about how many rows will be added, to size the linker. */
  constructor(
    strings: readonly string[],
    private readonly callchainStacks: Map<number, number>,
    private readonly rank: number,
    private readonly calls: CpuCalls,
    private readonly span: Span,
    expected: number,
  ) {
    this.linker = new LaunchLinker(expected);
    this.names = new StringIdInterner(strings, calls.names);
  }

  /** Appends the rows of `rows` to the calls. */
  add(rows: RuntimeColumns): void {
    const { calls, linker, names, kindByName, span } = this;
    const { startNs, endNs, globalTid, correlationId, nameId, callchainId, odd } = rows;
    let { lastGtid, proc, thread } = this;
    let nextOdd = 0;
    calls.reserve(calls.length + rows.length);
    const first = calls.length;
    for (let r = 0; r < rows.length; r++) {
      let start: number, end: number, gtid: number, corr: number, nameOf: unknown, chain: unknown;
      if (nextOdd < odd.length && odd[nextOdd][0] === r) {
        // A row as read (the typed columns would change its values): what a raw row reader does.
        const row = odd[nextOdd++][1];
        start = row[0] as number;
        end = row[1] as number;
        gtid = (row[2] as number | null) ?? 0;
        corr = (row[3] as number | null) ?? 0;
        nameOf = row[4];
        chain = row[5];
      } else {
        start = startNs[r];
        end = endNs[r];
        gtid = globalTid[r];
        corr = correlationId[r];
        nameOf = nameId[r];
        chain = callchainId === null || Number.isNaN(callchainId[r]) ? null : callchainId[r];
      }
      const i = first + r;
      if (gtid !== lastGtid) {
        lastGtid = gtid;
        proc = processKey(gtid);
        thread = calls.threads.intern(this.rank, pidOf(gtid), tidOf(gtid));
      }
      const name = names.of(nameOf);
      let kind = kindByName[name];
      if (kind === undefined)
        kindByName[name] = kind = CPU_CALL_KINDS.indexOf(classifyCudaApi(calls.names.at(name)));
      const stackId = chain == null ? -1 : (this.callchainStacks.get(chain as number) ?? -1);
      if (stackId >= 0) linker.anyStack = true;
      calls.name[i] = name;
      calls.kind[i] = kind;
      calls.startNs[i] = start;
      calls.endNs[i] = end;
      calls.thread[i] = thread;
      calls.setCorrelation(i, corr);
      calls.stackId[i] = stackId;
      linker.add(corr, proc, i);
      widen(span, start, end);
    }
    calls.length = first + rows.length;
    this.lastGtid = lastGtid;
    this.proc = proc;
    this.thread = thread;
  }
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
 * What links the kernels read by `readKernels` to their launching calls once the runtime table is
 * read (`linkKernels`): each kernel's correlationId and process, and its own span.
 */
export interface KernelLinks {
  /** Index in ops of the first kernel. */
  first: number;
  correlationId: Uint32Array;
  /** processKey of globalPid; NaN where globalPid is null (old schemas). */
  proc: Float64Array;
  /** Kernels with a value the columns above would change (see RuntimeColumns.odd), as read. */
  odd: Map<number, RawRow>;
  /** Whether an odd row has a non-number start or end (its span is taken row by row). */
  oddSpan: boolean;
  span: Span;
}

/**
 * Reads kernels; the name is demangledName, falling back to shortName (kept as the op's shortName
 * when it differs from the name). Their launching calls are filled in by `linkKernels`.
 * `afterPage` runs after each page of rows.
 */
export function readKernels(
  ndb: NsysDb,
  strings: readonly string[],
  rank: number,
  ops: GpuOps,
  afterPage: () => void = () => undefined,
): KernelLinks {
  const table = 'CUPTI_ACTIVITY_KIND_KERNEL';
  const count = ndb.has(table) ? ndb.rowCount(table) : 0;
  const links: KernelLinks = {
    first: ops.length,
    correlationId: new Uint32Array(count),
    proc: new Float64Array(count),
    odd: new Map(),
    oddSpan: false,
    span: { min: Infinity, max: -Infinity },
  };
  if (!ndb.has(table)) return links;
  const names = new StringIdInterner(strings, ops.names);
  /** isComm (0 / 1) by index in ops.names. */
  const commByName: number[] = [];
  // The process of the previous row (kernels come in runs from one process), split once.
  let lastGpid: unknown = undefined;
  let proc = NaN;
  let { correlationId: corrs, proc: procs } = links;
  for (const page of ndb.pages(table, [...OP_COLUMNS, 'demangledName', 'shortName'])) {
    ops.reserve(ops.length + page.length);
    let i = ops.length;
    if (i - links.first + page.length > corrs.length) {
      // More rows than rowCount said (a table without rowids).
      const size = 2 * (i - links.first + page.length);
      const [oldCorrs, oldProcs] = [corrs, procs];
      corrs = links.correlationId = new Uint32Array(size);
      procs = links.proc = new Float64Array(size);
      corrs.set(oldCorrs);
      procs.set(oldProcs);
    }
    for (const row of page) {
      const gpid = row[5] as number | null;
      if (gpid !== lastGpid) {
        lastGpid = gpid;
        proc = gpid === null ? NaN : processKey(gpid);
      }
      const name = names.of(row[6] ?? row[7]);
      let isComm = commByName[name];
      if (isComm === undefined)
        commByName[name] = isComm = isCommKernel(ops.names.at(name)) ? 1 : 0;
      const shortId = row[7] as number | null;
      // Equal strings have equal indices: a shortName equal to the name is not kept.
      const short = shortId === null || !strings[shortId] ? -1 : names.of(shortId);
      const startNs = row[0] as number;
      const endNs = row[1] as number;
      const corr = (row[4] as number | null) ?? 0;
      const k = i - links.first;
      const numbers = typeof startNs === 'number' && typeof endNs === 'number';
      if (numbers) widen(links.span, startNs, endNs);
      else links.oddSpan = true;
      if (
        numbers &&
        typeof corr === 'number' &&
        isUint32(corr) &&
        typeof (gpid ?? 0) === 'number'
      ) {
        corrs[k] = corr;
        procs[k] = proc;
      } else {
        links.odd.set(k, row);
      }
      ops.kind[i] = KERNEL;
      ops.name[i] = name;
      if (short >= 0 && short !== name) ops.setShortName(i, short);
      ops.startNs[i] = startNs;
      ops.endNs[i] = endNs;
      ops.deviceId[i] = (row[2] as number | null) ?? 0;
      ops.streamId[i] = (row[3] as number | null) ?? 0;
      ops.rank[i] = rank;
      ops.callerStackId[i] = -1;
      ops.isComm[i] = isComm;
      i++;
    }
    ops.length = i;
    afterPage();
  }
  return links;
}

/**
 * Fills the launchIndex and stackId of the kernels `readKernels` read, once `linker` holds the
 * runtime calls, and widens `span` by them: after the runtime calls, as a reader of the runtime
 * table then the kernel table would.
 */
export function linkKernels(
  ops: GpuOps,
  links: KernelLinks,
  linker: LaunchLinker,
  calls: CpuCalls,
  span: Span,
): void {
  const { first, correlationId, proc, odd } = links;
  const count = ops.length - first;
  const withStack = linker.anyStack;
  for (let k = 0; k < count; k++) {
    const row = odd.size > 0 ? odd.get(k) : undefined;
    const p = proc[k];
    const launchIndex = row
      ? launchOf(row, linker)
      : linker.find(correlationId[k], Number.isNaN(p) ? null : p);
    ops.launchIndex[first + k] = launchIndex;
    ops.stackId[first + k] = launchIndex >= 0 && withStack ? calls.stackId[launchIndex] : -1;
  }
  if (!links.oddSpan) {
    // The span of numbers is the same whichever order they come in.
    widen(span, links.span.min, links.span.max);
    return;
  }
  for (let k = 0; k < count; k++) {
    const row = odd.get(k);
    if (row) widen(span, row[0] as number, row[1] as number);
    else widen(span, ops.startNs[first + k], ops.endNs[first + k]);
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
/** GpuOps copyKind code by CUPTI copy kind (the others: 'other'). */
const COPY_CODES: Record<number, number> = {
  1: COPY_KINDS.indexOf('HtoD'),
  2: COPY_KINDS.indexOf('DtoH'),
  8: COPY_KINDS.indexOf('DtoD'),
  10: COPY_KINDS.indexOf('PtoP'),
};
const OTHER_COPY = COPY_KINDS.indexOf('other');
/**
 * GpuOps memory kind code by ENUM_CUDA_MEM_KIND: 0 pageable, 1 pinned, 2 device, 3 array,
 * 4 managed, 5 device static, 6 managed static (the others: 'unknown').
 */
const MEM_CODES: Record<number, number> = {
  0: MEM_KINDS.indexOf('pageable'),
  1: MEM_KINDS.indexOf('pinned'),
  2: MEM_KINDS.indexOf('device'),
  4: MEM_KINDS.indexOf('managed'),
  5: MEM_KINDS.indexOf('device'),
  6: MEM_KINDS.indexOf('managed'),
};
const UNKNOWN_MEM = MEM_KINDS.indexOf('unknown');

function memCode(v: unknown): number {
  return typeof v === 'number' ? (MEM_CODES[v] ?? UNKNOWN_MEM) : UNKNOWN_MEM;
}

/**
 * Writes the columns a memcpy and a memset op share, at row `i`, from a row starting with
 * OP_COLUMNS then bytes (the caller writes the kinds of memory).
 */
function writeCopyOp(
  ops: GpuOps,
  i: number,
  row: RawRow,
  kind: number,
  name: number,
  rank: number,
  linker: LaunchLinker,
  calls: CpuCalls,
): void {
  const launchIndex = launchOf(row, linker);
  ops.kind[i] = kind;
  ops.name[i] = name;
  ops.startNs[i] = row[0] as number;
  ops.endNs[i] = row[1] as number;
  ops.deviceId[i] = (row[2] as number | null) ?? 0;
  ops.streamId[i] = (row[3] as number | null) ?? 0;
  ops.rank[i] = rank;
  ops.launchIndex[i] = launchIndex;
  ops.stackId[i] = launchIndex >= 0 ? calls.stackId[launchIndex] : -1;
  ops.callerStackId[i] = -1;
  ops.isComm[i] = 0;
}

/** Reads memcpy (named `Memcpy HtoD` …) and memset (named `Memset`) operations. */
export function readCopies(
  ndb: NsysDb,
  linker: LaunchLinker,
  calls: CpuCalls,
  rank: number,
  ops: GpuOps,
  span: Span,
): void {
  const base = [...OP_COLUMNS, 'bytes'];
  /** ops.names index of `Memcpy <kind>` by its COPY_NAMES entry. */
  const copyNames = new Map<string, number>();
  const copyColumns = [...base, 'copyKind', 'srcKind', 'dstKind'];
  for (const page of ndb.pages('CUPTI_ACTIVITY_KIND_MEMCPY', copyColumns)) {
    ops.reserve(ops.length + page.length);
    for (const row of page) {
      const i = ops.length;
      const copy = (row[7] as number | null) ?? 0;
      const label = COPY_NAMES[copy] ?? 'Unknown';
      let name = copyNames.get(label);
      if (name === undefined) copyNames.set(label, (name = ops.names.intern(`Memcpy ${label}`)));
      writeCopyOp(ops, i, row, MEMCPY, name, rank, linker, calls);
      ops.setCopy(
        i,
        (row[6] as number | null) ?? 0,
        COPY_CODES[copy] ?? OTHER_COPY,
        memCode(row[8]),
        memCode(row[9]),
      );
      ops.length = i + 1;
      widen(span, row[0] as number, row[1] as number);
    }
  }
  let memset = -1;
  for (const page of ndb.pages('CUPTI_ACTIVITY_KIND_MEMSET', [...base, 'memKind'])) {
    ops.reserve(ops.length + page.length);
    for (const row of page) {
      const i = ops.length;
      if (memset < 0) memset = ops.names.intern('Memset');
      writeCopyOp(ops, i, row, MEMSET, memset, rank, linker, calls);
      ops.setCopy(i, (row[6] as number | null) ?? 0, ABSENT, ABSENT, memCode(row[7]));
      ops.length = i + 1;
      widen(span, row[0] as number, row[1] as number);
    }
  }
}
