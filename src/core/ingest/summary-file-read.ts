/**
 * Reads a GPU Lens summary (format: summary-file.ts) back into the rank's Profile, exactly as its
 * trace read. A summary is untrusted input: everything is checked before it is used (magic,
 * version, the meta's shape, row counts against the event budget, every column's encoding and
 * length, every index, enum code and string reference), and anything wrong ends in one
 * {@link SummaryFormatError}. Nothing in a summary is evaluated; its JSON is only parsed.
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import type { CollectiveTag, CpuRange, DeviceInfo, Frame, Profile, Stack } from '../model';
import { ABSENT, type StringTable } from '../model-columns';
import { CPU_CALL_KINDS, CpuCalls } from '../model-cpu-calls';
import { CPU_RANGE_KINDS, CpuRanges } from '../model-cpu-ranges';
import { COPY_KINDS, GPU_OP_KINDS, GpuOps, MEM_KINDS } from '../model-gpu-ops';
import { MemoryEvents, MemorySamples } from '../model-memory';
import type { MemoryEvent, MemorySample, MetricSample } from '../model';
import type { EventBudget } from './event-budget';
import { onFolderBase } from './rank-base';
import type { RankFileRead } from './rank-files';
import { setRangeOrder } from './range-order';
import {
  type Column,
  type TableName,
  EVENT_TABLES,
  SUMMARY_HEADER_BYTES,
  SUMMARY_MAGIC,
  SUMMARY_MAX_META_BYTES,
  SUMMARY_VERSION,
  SummaryFormatError,
  TABLES,
  encodingWidth,
  leafColumns,
  padded,
} from './summary-file';
import { allowedEncodings, assertLittleEndian, decodeValues } from './summary-file-columns';
import { checkMeta } from './summary-file-meta';

export interface SummaryReadOptions {
  budget: EventBudget;
  /**
   * Kineto µs base of the folder (the first file's): a summary made with another base has its
   * times moved onto this one, as its trace would have been read in the folder.
   */
  baseUs?: number;
}

/** A frame's stacks beyond this depth mark a corrupt summary (Python's recursion limit is 1000). */
const MAX_STACK_DEPTH = 4096;

/** True when the file starts with the summary magic (reads 16 bytes). */
export function isSummaryHead(head: Buffer): boolean {
  return head.length >= SUMMARY_MAGIC.length && head.subarray(0, 16).equals(SUMMARY_MAGIC);
}

/** Reads the summary at `file`; the Profile's source names the trace it was made from. */
export async function readSummaryFile(
  file: string,
  options: SummaryReadOptions,
): Promise<RankFileRead> {
  assertLittleEndian();
  return decodeSummary(await fs.promises.readFile(file), file, options);
}

/** Decodes summary bytes (`file` names it in messages). */
export function decodeSummary(
  buf: Buffer,
  file: string,
  options: SummaryReadOptions,
): RankFileRead {
  const fail = (why: string): never => {
    throw new SummaryFormatError(file, why);
  };
  if (buf.length < SUMMARY_HEADER_BYTES || !isSummaryHead(buf)) fail('no summary header');
  const version = buf.readUInt32LE(16);
  if (version !== SUMMARY_VERSION)
    fail(`format version ${version}; this GPU Lens reads version ${SUMMARY_VERSION}`);
  const metaLen = buf.readUInt32LE(20);
  if (metaLen > buf.length - SUMMARY_HEADER_BYTES) fail('truncated (the meta block is cut)');
  const metaEnd = SUMMARY_HEADER_BYTES + metaLen;
  const metaText = inflate(buf.subarray(SUMMARY_HEADER_BYTES, metaEnd), SUMMARY_MAX_META_BYTES);
  if (!metaText) fail('the meta block is corrupt or too large');
  let parsed: unknown;
  try {
    parsed = JSON.parse((metaText as Buffer).toString('utf8'));
  } catch {
    fail('the meta block is not JSON');
  }
  const meta = checkMeta(parsed, fail);

  // Rows are counted before any column is inflated, so a summary's claims cannot exhaust memory.
  const rows = (t: TableName): number => meta.tables[t].rows;
  options.budget.take(
    EVENT_TABLES.reduce((n, t) => n + rows(t), rows('frames') + rows('stackLengths')),
    file,
  );
  if (rows('stackFrames') > rows('stackLengths') * MAX_STACK_DEPTH)
    fail('more stack frames than its stacks can hold');
  const tableBytes = {} as Record<TableName, number>;
  for (const name of Object.keys(TABLES) as TableName[]) {
    const { rows: n, columns } = meta.tables[name];
    const leaves = leafColumns(TABLES[name]);
    if (columns.length !== leaves.length) fail(`table ${name} has ${columns.length} columns`);
    tableBytes[name] = 0;
    leaves.forEach(([key, col], i) => {
      const c = columns[i];
      if (c.name !== key || !allowedEncodings(col).includes(c.enc))
        fail(`table ${name}: column ${i} is ${c.name} (${c.enc}), expected ${key}`);
      if (c.bytes !== n * encodingWidth(c.enc))
        fail(`table ${name}: column ${key} holds ${c.bytes} bytes for ${n} rows`);
      tableBytes[name] += padded(c.bytes);
    });
  }

  // One table at a time: its columns are inflated (never past their declared size), decoded and
  // made records, then let go, so that only the largest table's columns are held at once.
  let at = metaEnd;
  const columnsOf = (name: TableName): Map<string, ArrayLike<number>> => {
    const { rows: n, columns, gz } = meta.tables[name];
    const expected = tableBytes[name];
    const why = `the columns are corrupt or truncated (table ${name}, ${expected} bytes expected)`;
    if (gz > buf.length - at) fail(why);
    const inflated = inflate(buf.subarray(at, at + gz), expected);
    at += gz;
    if (!inflated || inflated.length !== expected) fail(why);
    // Typed arrays need aligned offsets: copy once if zlib handed back an unaligned slice.
    const body =
      (inflated as Buffer).byteOffset % 8 ? new Uint8Array(inflated as Buffer) : inflated;
    const out = new Map<string, ArrayLike<number>>();
    let offset = 0;
    leafColumns(TABLES[name]).forEach(([key, col], i) => {
      const c = columns[i];
      const bytes = (body as Uint8Array).subarray(offset, offset + c.bytes);
      offset += padded(c.bytes);
      const base = col.type === 'num' && col.base ? out.get(col.base) : undefined;
      out.set(key, decodeValues(c.enc, bytes, n, base, c.origin));
    });
    return out;
  };
  const strings = meta.strings;
  const devices = rowsOf<DeviceInfo>(
    'devices',
    columnsOf('devices'),
    rows('devices'),
    strings,
    {},
    fail,
  );
  const frames = rowsOf<Frame>('frames', columnsOf('frames'), rows('frames'), strings, {}, fail);
  const stacks = buildStacks(columnsOf('stackLengths'), columnsOf('stackFrames'), frames, fail);
  const sizes = { stacks: stacks.length, cpuCalls: rows('cpuCalls') };
  const get = <T>(t: TableName): T[] => rowsOf<T>(t, columnsOf(t), rows(t), strings, sizes, fail);
  const checked = (t: 'gpuOps' | 'cpuCalls'): CheckedColumns =>
    checkedColumns(t, columnsOf(t), rows(t), strings, sizes, fail);
  // In file order (TABLES), each table read once.
  const cpuCalls = cpuCallsOf(checked('cpuCalls'), rows('cpuCalls'));
  const gpuOps = gpuOpsOf(checked('gpuOps'), rows('gpuOps'));
  const { ranges, operators, userRows } = rangesOf(
    columnsOf('ranges'),
    rows('ranges'),
    strings,
    sizes,
    fail,
  );
  const memory = MemorySamples.from(get<MemorySample>('memory'));
  const memoryEvents = MemoryEvents.from(get<MemoryEvent>('memoryEvents'));
  const metrics = get<MetricSample>('metrics');
  if (at !== buf.length) fail(`${buf.length - at} bytes past the last table`);
  const profile: Profile = {
    source: { ...meta.source, format: meta.source.format },
    devices,
    gpuOps,
    cpuCalls,
    ranges,
    operators,
    stacks,
    memory,
    memoryEvents,
    metrics,
    spanStartNs: meta.spanStartNs,
    spanEndNs: meta.spanEndNs,
    rankCount: meta.rankCount,
    warnings: meta.warnings,
  };
  setRangeOrder(profile, userRows);
  const read: RankFileRead = {
    profile,
    traceName: meta.traceName,
    ...(meta.traceRank !== undefined ? { traceRank: meta.traceRank } : {}),
    ...(meta.host !== undefined ? { host: meta.host } : {}),
    ...(meta.sessionStartNs !== undefined ? { sessionStartNs: BigInt(meta.sessionStartNs) } : {}),
    ...(meta.baseUs !== undefined ? { baseUs: meta.baseUs } : {}),
  };
  return onFolderBase(read, options.baseUs);
}

/** Gunzips at most `max` bytes; null when the data is corrupt or inflates past `max`. */
function inflate(data: Buffer, max: number): Buffer | null {
  try {
    return zlib.gunzipSync(data, { maxOutputLength: Math.max(1, max) });
  } catch {
    return null;
  }
}

/** One cell's value from its column at row `i` (undefined: the field is absent). */
type Cell = (i: number) => unknown;

/** The cell decoders of a table's fields, in the schema's order. */
function fieldCells(
  name: TableName,
  cols: Map<string, ArrayLike<number>>,
  strings: readonly string[],
  sizes: Partial<Record<'stacks' | 'cpuCalls', number>>,
  fail: (why: string) => never,
): { key: string; cell: Cell }[] {
  const spec = TABLES[name] as Readonly<Record<string, Column | null>>;
  // The message is built only on failure.
  const bad = (i: number, key: string, why: string): never => fail(`${name}[${i}].${key}: ${why}`);
  const finite = (i: number, key: string, x: number): number =>
    Number.isFinite(x) ? x : bad(i, key, `${x} is not a finite number`);
  const decoder = (key: string, col: Column): Cell => {
    const v = cols.get(key) as ArrayLike<number>;
    switch (col.type) {
      // Finite numbers only (NaN marks an absent optional one): no reader makes others.
      case 'num':
        return col.optional
          ? (i) => (Number.isNaN(v[i]) ? undefined : finite(i, key, v[i]))
          : (i) => finite(i, key, v[i]);
      case 'bool':
        return (i) => (v[i] === 1 ? true : v[i] === 0 ? false : bad(i, key, `${v[i]} no boolean`));
      case 'str':
        return (i) => {
          const x = v[i];
          if (x === -1 && col.optional) return undefined;
          return x >= 0 && x < strings.length ? strings[x] : bad(i, key, `no string ${x}`);
        };
      case 'enum':
        return (i) => {
          const x = v[i];
          if (x === 0 && col.optional) return undefined;
          return x >= 1 && x <= col.values.length ? col.values[x - 1] : bad(i, key, `code ${x}`);
        };
      case 'ref': {
        const size = sizes[col.table] ?? 0;
        return (i) => {
          const x = v[i];
          if (x === -2 && col.optional) return undefined;
          return x >= -1 && x < size ? x : bad(i, key, `index ${x} outside ${col.table} (${size})`);
        };
      }
      case 'obj': {
        const present = decoder(key, { type: 'bool' });
        const subs = Object.entries(col.fields).flatMap(([sub, c]) =>
          c ? [{ sub, cell: decoder(`${key}.${sub}`, c) }] : [],
        );
        return (i) => {
          if (!present(i)) return undefined;
          const inner: Record<string, unknown> = {};
          for (const s of subs) {
            const x = s.cell(i);
            if (x !== undefined) inner[s.sub] = x;
          }
          return inner;
        };
      }
    }
  };
  const fields: { key: string; cell: Cell }[] = [];
  for (const [key, col] of Object.entries(spec))
    if (col) fields.push({ key, cell: decoder(key, col) });
  return fields;
}

/**
 * Builds a table's records from its columns, each cell checked (strings, enum codes, indices).
 * Each field gets its own decoder, and each record starts as a copy of a template holding the
 * fields every record has, so records share one shape (this runs once per cell of the trace).
 */
function rowsOf<T>(
  name: TableName,
  cols: Map<string, ArrayLike<number>>,
  n: number,
  strings: readonly string[],
  sizes: Partial<Record<'stacks' | 'cpuCalls', number>>,
  fail: (why: string) => never,
  /** The rows to build (default: all `n`). */
  only?: readonly number[],
): T[] {
  const fields = fieldCells(name, cols, strings, sizes, fail);
  // One template per set of fields present (few: the optional fields a reader fills together),
  // holding them in the schema's order, so each record is a copy with exactly its own fields.
  const templates = new Map<number, Record<string, unknown>>();
  const values: unknown[] = new Array<unknown>(fields.length);
  const count = only ? only.length : n;
  const out = new Array<T>(count);
  for (let r = 0; r < count; r++) {
    const i = only ? only[r] : r;
    let mask = 0;
    for (let k = 0; k < fields.length; k++) {
      const x = fields[k].cell(i);
      values[k] = x;
      if (x !== undefined) mask |= 1 << k;
    }
    let template = templates.get(mask);
    if (!template) {
      // Parsed, not built key by key: JSON.parse lays all fields out inside the object, and
      // copies keep that layout (an object grown from {} keeps most fields in a side array).
      const keys = fields
        .filter((_, k) => mask & (1 << k))
        .map((f) => `${JSON.stringify(f.key)}:0`);
      template = JSON.parse(`{${keys.join(',')}}`) as Record<string, unknown>;
      templates.set(mask, template);
    }
    const row: Record<string, unknown> = { ...template };
    for (let k = 0; k < fields.length; k++) if (mask & (1 << k)) row[fields[k].key] = values[k];
    out[r] = row as T;
  }
  return out;
}

/** Checks every cell of a table, row by row (as `rowsOf` meets them: the same first failure). */
function checkCells(fields: readonly { cell: Cell }[], n: number): void {
  for (let i = 0; i < n; i++) for (const f of fields) f.cell(i);
}

/** A table's decoded columns, checked cell by cell, and how to read them into a column table. */
interface CheckedColumns {
  cols: Readonly<Record<string, ArrayLike<number>>>;
  strings: readonly string[];
  /** Summary string `x` interned in `names` (each string looked up once). */
  str: (names: StringTable, x: number) => number;
  /** Summary enum code `x` (1 + index into the spec's values) as a code into `values`. */
  code: (key: string, values: readonly string[], x: number) => number;
}

/** Checks the table `name`'s cells (see checkCells) and gives the readers of its columns. */
function checkedColumns(
  name: 'gpuOps' | 'cpuCalls' | 'ranges',
  cols: Map<string, ArrayLike<number>>,
  n: number,
  strings: readonly string[],
  sizes: Partial<Record<'stacks' | 'cpuCalls', number>>,
  fail: (why: string) => never,
): CheckedColumns {
  checkCells(fieldCells(name, cols, strings, sizes, fail), n);
  const spec = TABLES[name] as Readonly<Record<string, Column | null>>;
  const interned = new Map<StringTable, Int32Array>();
  const codes = new Map<string, number[]>();
  return {
    cols: Object.fromEntries(cols),
    strings,
    str: (names, x) => {
      let ids = interned.get(names);
      if (!ids) interned.set(names, (ids = new Int32Array(strings.length).fill(-1)));
      return ids[x] >= 0 ? ids[x] : (ids[x] = names.intern(strings[x]));
    },
    code: (key, values, x) => {
      let map = codes.get(key);
      if (!map) {
        const col = spec[key] as Extract<Column, { type: 'enum' }>;
        codes.set(key, (map = [ABSENT, ...col.values.map((v) => values.indexOf(v))]));
      }
      return map[x];
    },
  };
}

/** The GPU op table from its checked columns. */
function gpuOpsOf(c: CheckedColumns, n: number): GpuOps {
  const ops = new GpuOps();
  ops.reserve(n);
  const { kind, name, shortName, startNs, endNs, deviceId, streamId, rank } = c.cols;
  const { launchIndex, stackId, callerStackId, isComm, bytes, copyKind, srcKind, dstKind } = c.cols;
  const collective = collectiveReader(c, ops);
  for (let i = 0; i < n; i++) {
    ops.kind[i] = c.code('kind', GPU_OP_KINDS, kind[i]);
    ops.name[i] = c.str(ops.names, name[i]);
    if (shortName[i] >= 0) ops.setShortName(i, c.str(ops.names, shortName[i]));
    ops.startNs[i] = startNs[i];
    ops.endNs[i] = endNs[i];
    ops.deviceId[i] = deviceId[i];
    ops.streamId[i] = streamId[i];
    ops.rank[i] = rank[i];
    ops.launchIndex[i] = launchIndex[i];
    ops.stackId[i] = stackId[i];
    // An absent optional reference is stored as -2.
    ops.callerStackId[i] = callerStackId[i] < 0 ? -1 : callerStackId[i];
    ops.isComm[i] = isComm[i];
    ops.setCollective(i, collective(i));
    ops.setCopy(
      i,
      bytes[i],
      c.code('copyKind', COPY_KINDS, copyKind[i]),
      c.code('srcKind', MEM_KINDS, srcKind[i]),
      c.code('dstKind', MEM_KINDS, dstKind[i]),
    );
  }
  ops.length = n;
  ops.trim();
  return ops;
}

/**
 * Row i's collective as an index into `table.collectives` (-1: none); identical tags share one
 * (the table's `internCollective`). Serves the GPU op and the operator tables.
 */
function collectiveReader(
  c: CheckedColumns,
  table: { internCollective(tag: CollectiveTag): number },
): (i: number) => number {
  const {
    collective: present,
    'collective.group': group,
    'collective.name': name,
    'collective.seq': seq,
  } = c.cols;
  return (i) => {
    if (present[i] !== 1) return -1;
    const tag: CollectiveTag = { group: c.strings[group[i]], name: c.strings[name[i]] };
    if (!Number.isNaN(seq[i])) tag.seq = seq[i];
    return table.internCollective(tag);
  };
}

/**
 * The range table's rows: its operators (kind 'op') into their columns, the user ranges as
 * records, and where each user range stood among them (range-order.ts). Every cell is checked
 * first, row by row, as `rowsOf` checks them.
 */
function rangesOf(
  cols: Map<string, ArrayLike<number>>,
  n: number,
  strings: readonly string[],
  sizes: Partial<Record<'stacks' | 'cpuCalls', number>>,
  fail: (why: string) => never,
): { ranges: CpuRange[]; operators: CpuRanges; userRows: Int32Array } {
  const c = checkedColumns('ranges', cols, n, strings, sizes, fail);
  const { name, kind, startNs, endNs, pid, tid, rank, domain, stackId } = c.cols;
  const op = CPU_RANGE_KINDS.indexOf('op');
  const isOp = (i: number): boolean => c.code('kind', CPU_RANGE_KINDS, kind[i]) === op;
  const userRows: number[] = [];
  let count = 0;
  for (let i = 0; i < n; i++) if (isOp(i)) count++;
  const ops = new CpuRanges();
  ops.reserve(count);
  const collective = collectiveReader(c, ops);
  for (let i = 0; i < n; i++) {
    if (!isOp(i)) {
      userRows.push(i);
      continue;
    }
    const j = ops.length;
    ops.name[j] = c.str(ops.names, name[i]);
    ops.kind[j] = op;
    ops.startNs[j] = startNs[i];
    ops.endNs[j] = endNs[i];
    ops.thread[j] = ops.threads.intern(rank[i], pid[i], tid[i]);
    ops.domain[j] = c.str(ops.names, domain[i]);
    ops.stackId[j] = stackId[i];
    ops.collective[j] = collective(i);
    ops.length = j + 1;
  }
  const ranges = rowsOf<CpuRange>('ranges', cols, n, strings, sizes, fail, userRows);
  return { ranges, operators: ops, userRows: Int32Array.from(userRows) };
}

/** The CPU call table from its checked columns. */
function cpuCallsOf(c: CheckedColumns, n: number): CpuCalls {
  const calls = new CpuCalls();
  calls.reserve(n);
  const { name, kind, startNs, endNs, pid, tid, rank, stackId } = c.cols;
  for (let i = 0; i < n; i++) {
    calls.name[i] = c.str(calls.names, name[i]);
    calls.kind[i] = c.code('kind', CPU_CALL_KINDS, kind[i]);
    calls.startNs[i] = startNs[i];
    calls.endNs[i] = endNs[i];
    calls.thread[i] = calls.threads.intern(rank[i], pid[i], tid[i]);
    // Not kept in summaries (nothing after reading uses it).
    calls.correlationId[i] = 0;
    calls.stackId[i] = stackId[i];
  }
  calls.length = n;
  calls.trim();
  return calls;
}

/** Stacks from their lengths and frame indices (every index checked). */
function buildStacks(
  lengths: Map<string, ArrayLike<number>>,
  ids: Map<string, ArrayLike<number>>,
  frames: readonly Frame[],
  fail: (why: string) => never,
): Stack[] {
  const len = lengths.get('length') as ArrayLike<number>;
  const frame = ids.get('frame') as ArrayLike<number>;
  const stacks: Stack[] = new Array<Stack>(len.length);
  let k = 0;
  for (let s = 0; s < len.length; s++) {
    const n = len[s];
    if (!Number.isInteger(n) || n < 1 || k + n > frame.length)
      fail(`stack ${s}: ${n} frames do not fit the frame list`);
    const stack = new Array<Frame>(n);
    for (let j = 0; j < n; j++, k++) {
      const id = frame[k];
      if (!Number.isInteger(id) || id < 0 || id >= frames.length)
        fail(`stack ${s}: frame ${id} is not in the frame table`);
      stack[j] = frames[id];
    }
    stacks[s] = stack;
  }
  if (k !== frame.length) fail(`${frame.length - k} stack frames belong to no stack`);
  return stacks;
}
