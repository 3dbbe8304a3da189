/**
 * Writes one rank's read trace as a GPU Lens summary (format: summary-file.ts), the output of
 * `gpu-lens summarize`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import type { Frame, Profile } from '../model';
import { ABSENT, type StringTable } from '../model-columns';
import { CPU_CALL_KINDS, CpuCalls } from '../model-cpu-calls';
import { CPU_RANGE_KINDS, type CpuRanges } from '../model-cpu-ranges';
import { COPY_KINDS, GPU_OP_KINDS, GpuOps, MEM_KINDS } from '../model-gpu-ops';
import { MEMORY_DEVICES, MemoryEvents, MemorySamples } from '../model-memory';
import type { RankFileRead } from './rank-files';
import { combinedRangeOrder } from './range-order';
import {
  type Column,
  type StoredColumn,
  type SummaryMeta,
  type TableName,
  SUMMARY_HEADER_BYTES,
  SUMMARY_MAGIC,
  SUMMARY_VERSION,
  TABLES,
  leafColumns,
  padded,
} from './summary-file';
import { assertLittleEndian, chooseEncoding, encodeValues } from './summary-file-columns';

/** The summary of `read` (one rank's trace, read by rank-files.ts) as file bytes. */
export function encodeSummary(read: RankFileRead, traceName: string): Buffer {
  assertLittleEndian();
  const p = read.profile;
  if (p.rankAlignment)
    throw new Error('a merged rank folder cannot be summarized: summarize each rank');
  const strings = new Interner();
  const { frames, lengths, frameIds } = flattenStacks(p);
  // The stack tables are columns already, ops and calls column tables, the range table user
  // ranges and operators in one sequence; the others are records read field by field.
  const rows: Record<
    TableName,
    readonly object[] | Float64Array | GpuOps | CpuCalls | Ranges | MemoryTable
  > = {
    devices: p.devices,
    frames,
    stackLengths: lengths,
    stackFrames: frameIds,
    cpuCalls: p.cpuCalls,
    gpuOps: p.gpuOps,
    ranges: { user: p.ranges, operators: p.operators, order: combinedRangeOrder(p) },
    memory: p.memory,
    memoryEvents: p.memoryEvents,
    metrics: p.metrics,
  };
  const gzipped: Buffer[] = [];
  const tables = {} as SummaryMeta['tables'];
  for (const name of Object.keys(TABLES) as TableName[]) {
    const list = rows[name];
    const columns: StoredColumn[] = [];
    const leaves = leafColumns(TABLES[name]);
    const bases = new Set(leaves.flatMap(([, c]) => (c.type === 'num' && c.base ? [c.base] : [])));
    const kept = new Map<string, Float64Array>();
    const chunks: Uint8Array[] = [];
    for (const [key, col] of leaves) {
      const where = `${name}.${key}`;
      const values =
        list instanceof Float64Array
          ? list
          : list instanceof GpuOps
            ? gpuOpValues(list, key, col, strings, where)
            : list instanceof CpuCalls
              ? cpuCallValues(list, key, col, strings, where)
              : list instanceof MemorySamples || list instanceof MemoryEvents
                ? memoryValues(list, key, col, where)
                : 'order' in list
                  ? rangeValues(list, key, col, strings, where)
                  : columnValues(list, key, col, strings, where);
      const base = col.type === 'num' && col.base ? kept.get(col.base) : undefined;
      const enc = chooseEncoding(col, values, base);
      const bytes = encodeValues(enc, values, base);
      if (bases.has(key)) kept.set(key, values);
      columns.push({
        name: key,
        enc,
        bytes: bytes.byteLength,
        ...(enc === 'd32' && values.length > 0 ? { origin: values[0] } : {}),
      });
      chunks.push(bytes);
      const pad = padded(bytes.byteLength) - bytes.byteLength;
      if (pad > 0) chunks.push(new Uint8Array(pad));
    }
    // Level 3: on a 1 M-kernel export's 123 MB of columns, 2.4x faster than the default level 6
    // for a 15 % larger file (7.6 vs 6.6 MB).
    gzipped.push(zlib.gzipSync(Buffer.concat(chunks), { level: 3 }));
    const n = 'order' in list ? list.order.length : list.length;
    tables[name] = { rows: n, columns, gz: gzipped[gzipped.length - 1].length };
  }
  const meta: SummaryMeta = {
    traceName,
    source: { ...p.source },
    spanStartNs: p.spanStartNs,
    spanEndNs: p.spanEndNs,
    rankCount: p.rankCount,
    warnings: p.warnings,
    ...(read.traceRank !== undefined ? { traceRank: read.traceRank } : {}),
    ...(read.host !== undefined ? { host: read.host } : {}),
    ...(read.sessionStartNs !== undefined ? { sessionStartNs: String(read.sessionStartNs) } : {}),
    ...(read.baseUs !== undefined ? { baseUs: read.baseUs } : {}),
    strings: strings.list,
    tables,
  };
  const metaGz = zlib.gzipSync(JSON.stringify(meta));
  const header = Buffer.alloc(SUMMARY_HEADER_BYTES);
  SUMMARY_MAGIC.copy(header, 0);
  header.writeUInt32LE(SUMMARY_VERSION, 16);
  header.writeUInt32LE(metaGz.length, 20);
  return Buffer.concat([header, metaGz, ...gzipped]);
}

/**
 * Writes the summary to `out` through a temporary file beside it, renamed into place, so that a
 * reader of the folder never sees half a summary.
 */
export async function writeSummaryFile(
  read: RankFileRead,
  traceName: string,
  out: string,
): Promise<number> {
  const bytes = encodeSummary(read, traceName);
  const tmp = path.join(path.dirname(out), `.${path.basename(out)}.${process.pid}.tmp`);
  try {
    await fs.promises.writeFile(tmp, bytes, { flag: 'wx' });
    await fs.promises.rename(tmp, out);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true });
    throw e;
  }
  return bytes.length;
}

/** Distinct frames, and each stack as its frame count plus its frame indices. */
function flattenStacks(p: Profile): {
  frames: Frame[];
  lengths: Float64Array;
  frameIds: Float64Array;
} {
  const frames: Frame[] = [];
  const index = new Map<string, number>();
  const lengths: number[] = [];
  const frameIds: number[] = [];
  for (const stack of p.stacks) {
    lengths.push(stack.length);
    for (const f of stack) {
      const key = `${f.file}\0${f.line}\0${f.function}\0${f.precision}`;
      let id = index.get(key);
      if (id === undefined) {
        id = frames.length;
        frames.push(f);
        index.set(key, id);
      }
      frameIds.push(id);
    }
  }
  return { frames, lengths: Float64Array.from(lengths), frameIds: Float64Array.from(frameIds) };
}

/** Marks a nested object's field when the object itself is absent (any value will do there). */
const NO_OBJECT = Symbol('no object');

/**
 * One column's values as numbers (string indices, enum codes …; see summary-file-columns.ts). A
 * value the model's type does not allow is a bug, reported as such. One loop per kind, no
 * allocation per cell: this runs over every cell of a million-op trace.
 */
function columnValues(
  list: readonly object[],
  key: string,
  col: Column,
  strings: Interner,
  where: string,
): Float64Array {
  const [field, sub] = key.split('.');
  const n = list.length;
  const out = new Float64Array(n);
  const at = (i: number): unknown => {
    const v = (list[i] as Record<string, unknown>)[field];
    if (sub === undefined) return v;
    return v === undefined ? NO_OBJECT : (v as Record<string, unknown>)[sub];
  };
  const optional = 'optional' in col && col.optional === true;
  const missing = (): never => {
    throw new Error(`cannot summarize: ${where} is missing on a record`);
  };
  const text = (v: unknown): string => {
    if (typeof v !== 'string') throw new Error(`cannot summarize: ${where} is not a string`);
    return v;
  };
  switch (col.type) {
    case 'bool':
    case 'obj':
      for (let i = 0; i < n; i++) {
        const v = at(i);
        out[i] = v && v !== NO_OBJECT ? 1 : 0;
      }
      break;
    case 'str':
      for (let i = 0; i < n; i++) {
        const v = at(i);
        if (v === undefined && !optional) missing();
        out[i] = v === undefined || v === NO_OBJECT ? -1 : strings.id(text(v));
      }
      break;
    case 'ref':
      for (let i = 0; i < n; i++) {
        const v = at(i);
        if (v === undefined && !optional) missing();
        out[i] = v === undefined || v === NO_OBJECT ? -2 : (v as number);
      }
      break;
    case 'enum':
      for (let i = 0; i < n; i++) {
        const v = at(i);
        if (v === undefined && !optional) missing();
        if (v === undefined || v === NO_OBJECT) continue; // 0: absent
        const code = col.values.indexOf(text(v));
        if (code < 0) throw new Error(`cannot summarize: ${where} is "${text(v)}"`);
        out[i] = code + 1;
      }
      break;
    case 'num':
      for (let i = 0; i < n; i++) {
        const v = at(i);
        if (v === undefined && !optional) missing();
        if (typeof v === 'number' && !Number.isFinite(v))
          throw new Error(`cannot summarize: ${where} holds ${v}`);
        out[i] = v === undefined ? NaN : v === NO_OBJECT ? (optional ? NaN : 0) : (v as number);
      }
      break;
  }
  return out;
}

/**
 * One column of the GPU op table as `columnValues` makes it of records (the same numbers), read
 * from the table's columns.
 */
function gpuOpValues(
  ops: GpuOps,
  key: string,
  col: Column,
  strings: Interner,
  where: string,
): Float64Array {
  const n = ops.length;
  switch (key) {
    case 'kind':
      return enumCodes(ops.kind, n, GPU_OP_KINDS, col, where);
    case 'copyKind':
      return enumCodes(ops.copies.spread(ops.copies[key], n, ABSENT), n, COPY_KINDS, col, where);
    case 'srcKind':
    case 'dstKind':
      return enumCodes(ops.copies.spread(ops.copies[key], n, ABSENT), n, MEM_KINDS, col, where);
    case 'name':
      return stringIds(ops.name, n, ops.names, strings);
    case 'shortName':
      return stringIds(
        Int32Array.from({ length: n }, (_, i) => ops.shortNameIdOf(i)),
        n,
        ops.names,
        strings,
      );
    case 'callerStackId':
      // An absent optional reference is stored as -2.
      return Float64Array.from(ops.callerStackId.subarray(0, n), (v) => (v < 0 ? -2 : v));
    case 'isComm':
      return Float64Array.from(ops.isComm.subarray(0, n));
    case 'collective':
      return Float64Array.from(opCollectiveIds(ops), (c) => (c < 0 ? 0 : 1));
    case 'collective.group':
    case 'collective.name': {
      const field = key === 'collective.group' ? 'group' : 'name';
      const ids = ops.collectives.map((c) => c[field]);
      return Float64Array.from(opCollectiveIds(ops), (c) => (c < 0 ? -1 : strings.id(ids[c])));
    }
    case 'collective.seq':
      return Float64Array.from(opCollectiveIds(ops), (c) =>
        c < 0 ? NaN : (ops.collectives[c].seq ?? NaN),
      );
    case 'startNs':
    case 'endNs':
    case 'deviceId':
    case 'streamId':
    case 'rank':
    case 'launchIndex':
    case 'stackId':
      return numbers(ops[key], n, col, where);
    case 'bytes':
      return numbers(ops.copies.spread(ops.copies.bytes, n, NaN), n, col, where);
  }
  throw new Error(`cannot summarize: ${where} is no GPU op column`);
}

/** Op i's collective (a `collectives` index, -1 where none) for every op, as one column. */
function opCollectiveIds(ops: GpuOps): Int32Array {
  return ops.opCollectives.spread(ops.opCollectives.tag, ops.length, -1);
}

/** A memory table (samples or allocation events). */
type MemoryTable = MemorySamples | MemoryEvents;

/** One column of a memory table (see gpuOpValues): every field but the device is a number. */
function memoryValues(table: MemoryTable, key: string, col: Column, where: string): Float64Array {
  const n = table.length;
  if (table instanceof MemoryEvents && key === 'device')
    return enumCodes(table.device, n, MEMORY_DEVICES, col, where);
  const values = (table as unknown as Record<string, Float64Array | Int32Array | undefined>)[key];
  if (!values) throw new Error(`cannot summarize: ${where} is no memory column`);
  return numbers(values, n, col, where);
}

/** One column of the CPU call table (see gpuOpValues). */
function cpuCallValues(
  calls: CpuCalls,
  key: string,
  col: Column,
  strings: Interner,
  where: string,
): Float64Array {
  const n = calls.length;
  const perThread = (of: readonly number[]): Float64Array =>
    numbers(
      Float64Array.from(calls.thread.subarray(0, n), (t) => of[t]),
      n,
      col,
      where,
    );
  switch (key) {
    case 'name':
      return stringIds(calls.name, n, calls.names, strings);
    case 'kind':
      return enumCodes(calls.kind, n, CPU_CALL_KINDS, col, where);
    case 'pid':
      return perThread(calls.threads.pid);
    case 'tid':
      return perThread(calls.threads.tid);
    case 'rank':
      return perThread(calls.threads.rank);
    case 'startNs':
    case 'endNs':
    case 'stackId':
      return numbers(calls[key], n, col, where);
  }
  throw new Error(`cannot summarize: ${where} is no CPU call column`);
}

/**
 * The range table: user ranges and operators in one sequence (`order`, range-order.ts), as GPU
 * Lens kept them in one list before operators had a table of their own.
 */
interface Ranges {
  user: readonly object[];
  operators: CpuRanges;
  order: Int32Array;
}

/**
 * One column of the range table: the user ranges' values as `columnValues` makes them, the
 * operators' from their columns, merged in `order`. Strings go into the summary's table in row
 * order (as they did from one list): each part interns them in its own table first.
 */
function rangeValues(
  t: Ranges,
  key: string,
  col: Column,
  strings: Interner,
  where: string,
): Float64Array {
  const local = col.type === 'str' ? new Interner() : strings;
  const user = columnValues(t.user, key, col, local, where);
  const ops = operatorValues(t.operators, key, col, local, where);
  const out = new Float64Array(t.order.length);
  for (let k = 0; k < out.length; k++) {
    const j = t.order[k];
    out[k] = j < 0 ? user[~j] : ops[j];
  }
  if (local !== strings) {
    const global = new Int32Array(local.list.length).fill(-1);
    for (let k = 0; k < out.length; k++) {
      const id = out[k];
      if (id >= 0)
        out[k] = global[id] >= 0 ? global[id] : (global[id] = strings.id(local.list[id]));
    }
  }
  return out;
}

/** One column of the operator table (see gpuOpValues and cpuCallValues). */
function operatorValues(
  ops: CpuRanges,
  key: string,
  col: Column,
  strings: Interner,
  where: string,
): Float64Array {
  const n = ops.length;
  const perThread = (of: readonly number[]): Float64Array =>
    numbers(
      Float64Array.from(ops.thread.subarray(0, n), (t) => of[t]),
      n,
      col,
      where,
    );
  switch (key) {
    case 'name':
    case 'domain':
      return stringIds(ops[key], n, ops.names, strings);
    case 'kind':
      return enumCodes(ops.kind, n, CPU_RANGE_KINDS, col, where);
    case 'pid':
      return perThread(ops.threads.pid);
    case 'tid':
      return perThread(ops.threads.tid);
    case 'rank':
      return perThread(ops.threads.rank);
    case 'startNs':
    case 'endNs':
    case 'stackId':
      return numbers(ops[key], n, col, where);
    case 'collective':
      return Float64Array.from(ops.collective.subarray(0, n), (c) => (c < 0 ? 0 : 1));
    case 'collective.group':
    case 'collective.name': {
      const field = key === 'collective.group' ? 'group' : 'name';
      return Float64Array.from(ops.collective.subarray(0, n), (c) =>
        c < 0 ? -1 : strings.id(ops.collectives[c][field]),
      );
    }
    case 'collective.seq':
      return Float64Array.from(ops.collective.subarray(0, n), (c) =>
        c < 0 ? NaN : (ops.collectives[c].seq ?? NaN),
      );
  }
  throw new Error(`cannot summarize: ${where} is no operator column`);
}

/** A number column's first `n` values, checked as `columnValues` checks them (NaN: absent). */
function numbers(v: ArrayLike<number>, n: number, col: Column, where: string): Float64Array {
  const optional = 'optional' in col && col.optional === true;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const x = v[i];
    if (!Number.isFinite(x) && !(optional && Number.isNaN(x)))
      throw new Error(`cannot summarize: ${where} holds ${x}`);
    out[i] = x;
  }
  return out;
}

/** A string column (indices into `names`, -1 for none) as indices into the summary's strings. */
function stringIds(
  ids: Int32Array,
  n: number,
  names: StringTable,
  strings: Interner,
): Float64Array {
  // Each name's summary index, taken when first met (so strings keep the rows' order).
  const summaryId = new Int32Array(names.size).fill(-1);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const id = ids[i];
    if (id < 0) out[i] = -1;
    else out[i] = summaryId[id] >= 0 ? summaryId[id] : (summaryId[id] = strings.id(names.at(id)));
  }
  return out;
}

/** An enum column's codes (into `values`, ABSENT for none) as the summary's (1 + spec index, 0). */
function enumCodes(
  codes: Uint8Array,
  n: number,
  values: readonly string[],
  col: Column,
  where: string,
): Float64Array {
  const spec = col.type === 'enum' ? col.values : [];
  const code = values.map((v) => spec.indexOf(v) + 1);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const c = codes[i];
    if (c === ABSENT) continue; // 0: absent
    if (!(code[c] > 0)) throw new Error(`cannot summarize: ${where} is "${values[c]}"`);
    out[i] = code[c];
  }
  return out;
}

/** The string table: each distinct string once, referred to by index. */
class Interner {
  readonly list: string[] = [];
  private readonly ids = new Map<string, number>();

  id(s: string): number {
    let id = this.ids.get(s);
    if (id === undefined) {
      id = this.list.length;
      this.list.push(s);
      this.ids.set(s, id);
    }
    return id;
  }
}
