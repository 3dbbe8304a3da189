/**
 * CUDA activity from an nsys export: runtime/driver API calls (CUPTI_ACTIVITY_KIND_RUNTIME) and the
 * GPU operations they launched (KERNEL, MEMCPY, MEMSET), linked by correlationId within a process
 * (nsys-launch-linker.ts). One pass per table, over chunks of typed columns for the two big ones
 * (sqlite-pages.ts) and `.raw()` rows for the others, written straight into the Profile's column
 * tables; names are interned once per StringIds id.
 */
import { classifyCudaApi, isCommKernel } from '../model';
import { ABSENT } from '../model-columns';
import { CPU_CALL_KINDS, type CpuCalls } from '../model-cpu-calls';
import { COPY_KINDS, KERNEL, MEM_KINDS, MEMCPY, MEMSET, type GpuOps } from '../model-gpu-ops';
import { pidOf, processKey, StringIdInterner, tidOf, type NsysDb, type RawRow } from './nsys-db';
import type { LaunchLinker } from './nsys-launch-linker';
import type { TableScan } from './nsys-table-scan';
import type { ColumnChunk } from './sqlite-pages';

/** Running min/max over every event read, for the profile span. */
export interface Span {
  min: number;
  max: number;
}

export function widen(span: Span, start: number, end: number): void {
  if (start < span.min) span.min = start;
  if (end > span.max) span.max = end;
}

/** The CUDA API table: its columns, in this order, in each chunk (callchainId when stacks are read). */
export const RUNTIME_TABLE = 'CUPTI_ACTIVITY_KIND_RUNTIME';
export const RUNTIME_COLUMNS = [
  'start',
  'end',
  'globalTid',
  'correlationId',
  'nameId',
  'callchainId',
];

/**
 * Reads the runtime table's rows (a TableScan's chunks) into `calls`, a chunk at a time (runtime
 * and driver calls alike; their sync calls are here, so CUPTI_ACTIVITY_KIND_SYNCHRONIZATION is not
 * read again).
 */
export class RuntimeCallReader {
  /** Whether any call read has a stack (GpuOps take their launching call's, else -1). */
  anyStack = false;
  private readonly names: StringIdInterner;
  /** CpuCalls kind code by index in calls.names. */
  private readonly kindByName: number[] = [];
  // The thread of the previous row, split once: calls come in runs from one thread, and the
  // splits are float divisions and remainders (globalTid is above 2^32).
  private lastGtid = NaN;
  private thread = 0;

  constructor(
    strings: readonly string[],
    private readonly callchainStacks: Map<number, number>,
    private readonly rank: number,
    private readonly calls: CpuCalls,
    private readonly span: Span,
  ) {
    this.names = new StringIdInterner(strings, calls.names);
  }

  /** Appends the rows of a chunk of the runtime table (its RUNTIME_COLUMNS) to the calls. */
  add(rows: ColumnChunk): void {
    const { calls, names } = this;
    const [startNs, endNs, globalTid, correlationId, nameId, callchainId] = rows.columns;
    const odd = rows.odd;
    let { lastGtid, thread } = this;
    let nextOdd = 0;
    calls.reserve(calls.length + rows.length);
    const first = calls.length;
    for (let r = 0; r < rows.length; r++) {
      const i = first + r;
      const start = startNs[r];
      const end = endNs[r];
      // NaN is NULL: a row with text or a blob, or a NULL time, goes the raw row's way.
      const oddRow = nextOdd < odd.length && odd[nextOdd][0] === r ? odd[nextOdd++][1] : null;
      if (oddRow || start !== start || end !== end) {
        this.putRaw(i, oddRow ?? rows.columns.map((c) => orNull(c[r])));
        lastGtid = NaN;
        continue;
      }
      const g = globalTid[r];
      const gtid = g === g ? g : 0;
      if (gtid !== lastGtid) {
        lastGtid = gtid;
        thread = calls.threads.intern(this.rank, pidOf(gtid), tidOf(gtid));
      }
      const corr = correlationId[r];
      const name = nameId[r];
      const chain = callchainId === undefined ? NaN : callchainId[r];
      const stackId = chain !== chain ? -1 : (this.callchainStacks.get(chain) ?? -1);
      this.put(
        i,
        names.of(name === name ? name : null),
        start,
        end,
        thread,
        corr === corr ? corr : 0,
        stackId,
      );
    }
    calls.length = first + rows.length;
    this.lastGtid = lastGtid;
    this.thread = thread;
  }

  /** Call i from its values as read (null for NULL). */
  private putRaw(i: number, [start, end, gtid, corr, nameOf, chain]: RawRow): void {
    const g = (gtid ?? 0) as number;
    const thread = this.calls.threads.intern(this.rank, pidOf(g), tidOf(g));
    const stackId = chain == null ? -1 : (this.callchainStacks.get(chain as number) ?? -1);
    const name = this.names.of(nameOf);
    this.put(i, name, start as number, end as number, thread, (corr ?? 0) as number, stackId);
  }

  private put(
    i: number,
    name: number,
    start: number,
    end: number,
    thread: number,
    corr: number,
    stackId: number,
  ): void {
    const { calls, kindByName } = this;
    let kind = kindByName[name];
    if (kind === undefined)
      kindByName[name] = kind = CPU_CALL_KINDS.indexOf(classifyCudaApi(calls.names.at(name)));
    if (stackId >= 0) this.anyStack = true;
    calls.name[i] = name;
    calls.kind[i] = kind;
    calls.startNs[i] = start;
    calls.endNs[i] = end;
    calls.thread[i] = thread;
    calls.setCorrelation(i, corr);
    calls.stackId[i] = stackId;
    widen(this.span, start, end);
  }
}

/** A column value as a raw row has it: null where the column holds NaN (NULL). */
function orNull(v: number): number | null {
  return v === v ? v : null;
}

/** The columns every GPU operation table starts with: start, end, deviceId, streamId, then these two. */
const OP_COLUMNS = ['start', 'end', 'deviceId', 'streamId', 'correlationId', 'globalPid'];

/** The kernel table and the columns `readKernels` takes from it, in this order. */
export const KERNEL_TABLE = 'CUPTI_ACTIVITY_KIND_KERNEL';
export const KERNEL_COLUMNS = [...OP_COLUMNS, 'demangledName', 'shortName'];

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
 * Reads the kernels of `scan` (KERNEL_COLUMNS; `count`: the table's rows); the name is
 * demangledName, falling back to shortName (kept as the op's shortName when it differs from the
 * name). Their launching calls are filled in by `linkKernels`. `idle` runs while no chunk is
 * ready; it returns whether it did something (then the scan is asked again before waiting).
 */
export function readKernels(
  scan: TableScan,
  count: number,
  strings: readonly string[],
  rank: number,
  ops: GpuOps,
  idle: () => boolean = () => false,
): KernelLinks {
  const links: KernelLinks = {
    first: ops.length,
    correlationId: new Uint32Array(count),
    proc: new Float64Array(count),
    odd: new Map(),
    oddSpan: false,
    span: { min: Infinity, max: -Infinity },
  };
  const names = new StringIdInterner(strings, ops.names);
  /** isComm (0 / 1) by index in ops.names. */
  const commByName: number[] = [];
  // The process of the previous row (kernels come in runs from one process), split once.
  let lastGpid = NaN;
  let proc = NaN;
  let { correlationId: corrs, proc: procs } = links;
  /**
   * Writes the columns of op i but its times, device and stream, from its StringIds ids (null for
   * NULL): the name is demangledName, else shortName.
   */
  const put = (i: number, nameOf: unknown, shortOf: unknown): void => {
    const name = names.of(nameOf ?? shortOf);
    let isComm = commByName[name];
    if (isComm === undefined) commByName[name] = isComm = isCommKernel(ops.names.at(name)) ? 1 : 0;
    // Equal strings have equal indices: a shortName equal to the name is not kept.
    const short = shortOf === null || !strings[shortOf as number] ? -1 : names.of(shortOf);
    ops.kind[i] = KERNEL;
    ops.name[i] = name;
    if (short >= 0 && short !== name) ops.setShortName(i, short);
    ops.rank[i] = rank;
    ops.callerStackId[i] = -1;
    ops.isComm[i] = isComm;
  };
  /**
   * A row with text or a blob, or a NULL or non-uint32 where the columns below keep a number:
   * every value as read, linked row by row in `linkKernels`.
   */
  const putOdd = (i: number, row: RawRow): void => {
    const [startNs, endNs, device, stream] = row;
    if (typeof startNs === 'number' && typeof endNs === 'number') widen(links.span, startNs, endNs);
    else links.oddSpan = true;
    links.odd.set(i - links.first, row);
    put(i, row[6], row[7]);
    ops.startNs[i] = startNs as number;
    ops.endNs[i] = endNs as number;
    ops.deviceId[i] = (device as number | null) ?? 0;
    ops.streamId[i] = (stream as number | null) ?? 0;
  };
  for (;;) {
    let chunk = scan.next(false);
    if (chunk === undefined) chunk = idle() ? undefined : scan.next(true);
    if (chunk === undefined) continue;
    if (chunk === null) break;
    const [startCol, endCol, deviceCol, streamCol, corrCol, gpidCol, nameCol, shortCol] =
      chunk.columns;
    const odd = new Map(chunk.odd);
    ops.reserve(ops.length + chunk.length);
    let i = ops.length;
    if (i - links.first + chunk.length > corrs.length) {
      // More rows than rowCount said (a table without rowids).
      const size = 2 * (i - links.first + chunk.length);
      const [oldCorrs, oldProcs] = [corrs, procs];
      corrs = links.correlationId = new Uint32Array(size);
      procs = links.proc = new Float64Array(size);
      corrs.set(oldCorrs);
      procs.set(oldProcs);
    }
    for (let r = 0; r < chunk.length; r++, i++) {
      const startNs = startCol[r];
      const endNs = endCol[r];
      const corr = corrCol[r];
      const oddRow = odd.size > 0 ? odd.get(r) : undefined;
      // NaN is NULL: a NULL time or a correlation id that is not a uint32 goes the odd way.
      if (
        oddRow ||
        startNs !== startNs ||
        endNs !== endNs ||
        (corr >>> 0 !== corr && corr === corr)
      ) {
        putOdd(i, oddRow ?? chunk.columns.map((c) => orNull(c[r])));
        continue;
      }
      const gpid = gpidCol[r];
      if (gpid !== lastGpid) {
        lastGpid = gpid;
        proc = gpid !== gpid ? NaN : processKey(gpid);
      }
      widen(links.span, startNs, endNs);
      const k = i - links.first;
      corrs[k] = corr === corr ? corr : 0;
      procs[k] = proc;
      put(i, orNull(nameCol[r]), orNull(shortCol[r]));
      ops.startNs[i] = startNs;
      ops.endNs[i] = endNs;
      const device = deviceCol[r];
      const stream = streamCol[r];
      ops.deviceId[i] = device === device ? device : 0;
      ops.streamId[i] = stream === stream ? stream : 0;
    }
    ops.length = i;
    scan.recycle(chunk);
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
  withStack: boolean,
): void {
  const { first, correlationId, proc, odd } = links;
  const count = ops.length - first;
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
