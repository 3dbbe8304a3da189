/**
 * The GPU Lens summary format (`gpu-lens summarize TRACE -o SUMMARY`): one rank's Profile as read
 * from its trace (JSON / SQLite parsed, flows linked, Python stacks interned), so that a rank
 * folder of summaries merges into the same Profile, and the same Report, as the folder of traces.
 *
 * Layout (little-endian):
 * ```
 *  0  16  magic "gpu-lens summary"
 * 16   4  format version (u32)
 * 20   4  byte length M of the gzipped meta (u32)
 * 24   M  gzip(JSON meta: source, spans, warnings, the rank's identity, string table, and per
 *          table its row count and its columns' encodings and byte lengths)
 * 24+M …  per table, in the meta's order: gzip(its columns end to end, each padded to 8 bytes)
 * ```
 * Every table is columnar: numbers in typed arrays (the narrowest encoding that holds the column
 * exactly, times delta-coded), strings as indices into the one string table, enums as codes.
 * The schema below lists every field of the model's records, so a field added to the model is a
 * type error here until the format says how it is kept (or why it is not).
 */
import type { CollectiveTag, CpuCall, CpuRange, DeviceInfo, Frame, GpuOp } from '../model';
import type { MemoryEvent, MemorySample } from '../model';
import type { MetricSample } from '../model';

export const SUMMARY_MAGIC = Buffer.from('gpu-lens summary', 'latin1');
/** Bumped whenever the meta or a column changes meaning; readers accept only their own. */
export const SUMMARY_VERSION = 1;
/** Offset of the gzipped meta. */
export const SUMMARY_HEADER_BYTES = 24;
/** File name extension `gpu-lens summarize` writes and rank folders read. */
export const SUMMARY_EXT = '.gpulens';
/** Most bytes the meta may inflate to (its string table holds kernel, operator and file names). */
export const SUMMARY_MAX_META_BYTES = 256 * 1024 ** 2;

/** Thrown for anything a summary reader refuses; the message is one line naming the file. */
export class SummaryFormatError extends Error {
  constructor(file: string, why: string) {
    super(`${file}: not a readable GPU Lens summary: ${why}`);
  }
}

/** How a numeric column is stored (chosen by the writer per column, the narrowest that is exact). */
export type NumEncoding =
  | 'i32' // the values, each an int32
  | 'd32' // int32 differences to the previous row's value (the first row's to `origin`): times
  | 'r32' // int32 differences to the same row's value of the spec's `base` column: end times
  | 'f64'; // the values as doubles (anything, exactly)

/** A column of a table: how one field of the record is kept. */
export type Column =
  | { type: 'num'; optional?: true; sorted?: true; base?: string }
  /** An index into another table (stacks, calls): -1 for none, else below that table's size. */
  | { type: 'ref'; table: 'stacks' | 'cpuCalls'; optional?: true }
  | { type: 'str'; optional?: true }
  | { type: 'bool' }
  | { type: 'enum'; values: readonly string[]; optional?: true }
  /** A nested object (optional), each of its fields a column `field.sub`. */
  | { type: 'obj'; fields: Readonly<Record<string, Column | null>> };

/** Every field of `T`, each with its column, or `null` where no later stage reads it. */
export type TableSpec<T> = { readonly [K in keyof Required<T>]: Column | null };

const num = (extra: Omit<Extract<Column, { type: 'num' }>, 'type'> = {}): Column => ({
  type: 'num',
  ...extra,
});
const start = num({ sorted: true });
const end = num({ base: 'startNs' });
const stackRef: Column = { type: 'ref', table: 'stacks' };
const str: Column = { type: 'str' };
const MEM_KINDS = ['pageable', 'pinned', 'device', 'managed', 'unknown'] as const;
/** A nested optional object, its fields checked against the model as a table's are. */
const obj = <T>(fields: TableSpec<T>): Column => ({ type: 'obj', fields });

const collectiveFields: TableSpec<CollectiveTag> = {
  group: str,
  name: str,
  seq: num({ optional: true }),
};

export const GPU_OP_SPEC: TableSpec<GpuOp> = {
  kind: { type: 'enum', values: ['kernel', 'memcpy', 'memset'] },
  name: str,
  shortName: { type: 'str', optional: true },
  startNs: start,
  endNs: end,
  deviceId: num(),
  streamId: num(),
  rank: num(),
  launchIndex: { type: 'ref', table: 'cpuCalls' },
  stackId: stackRef,
  callerStackId: { type: 'ref', table: 'stacks', optional: true },
  isComm: { type: 'bool' },
  collective: obj<CollectiveTag>(collectiveFields),
  bytes: num({ optional: true }),
  copyKind: { type: 'enum', values: ['HtoD', 'DtoH', 'DtoD', 'PtoP', 'other'], optional: true },
  srcKind: { type: 'enum', values: MEM_KINDS, optional: true },
  dstKind: { type: 'enum', values: MEM_KINDS, optional: true },
};

export const CPU_CALL_SPEC: TableSpec<CpuCall> = {
  name: str,
  kind: {
    type: 'enum',
    values: ['launch', 'memcpy', 'memset', 'sync', 'alloc', 'free', 'os-wait', 'os-other', 'other'],
  },
  startNs: start,
  endNs: end,
  pid: num(),
  tid: num(),
  rank: num(),
  // Readers link launches to GPU ops by it (launchIndex); nothing after reading uses it.
  correlationId: null,
  stackId: stackRef,
};

export const CPU_RANGE_SPEC: TableSpec<CpuRange> = {
  name: str,
  startNs: start,
  endNs: end,
  pid: num(),
  tid: num(),
  rank: num(),
  domain: str,
  kind: { type: 'enum', values: ['nvtx', 'annotation', 'step', 'op'] },
  stackId: stackRef,
  collective: obj<CollectiveTag>(collectiveFields),
};

export const DEVICE_SPEC: TableSpec<DeviceInfo> = {
  id: num(),
  rank: num({ optional: true }),
  name: str,
  totalMemoryBytes: num({ optional: true }),
  // Recorded by some readers; no rule or view reads them.
  smCount: null,
  memoryBandwidth: null,
};

export const MEMORY_SAMPLE_SPEC: TableSpec<MemorySample> = {
  tsNs: start,
  deviceId: num(),
  allocatedBytes: num(),
  reservedBytes: num(),
  rank: num(),
};

export const MEMORY_EVENT_SPEC: TableSpec<MemoryEvent> = {
  tsNs: start,
  rank: num(),
  device: { type: 'enum', values: ['cpu', 'gpu'] },
  deviceId: num(),
  addr: num(),
  bytes: num(),
  totalAllocated: num({ optional: true }),
  stackId: stackRef,
};

export const METRIC_SPEC: TableSpec<MetricSample> = {
  tsNs: start,
  deviceId: num(),
  metric: str,
  value: num(),
};

/** Distinct frames of the stacks; a stack is a run of frame indices (innermost first). */
export const FRAME_SPEC: TableSpec<Frame> = {
  file: str,
  line: num(),
  function: str,
  precision: { type: 'enum', values: ['line', 'function'] },
};

/** The stack table: each stack's frame count, and their frame indices end to end. */
export const STACK_SPEC = {
  length: num(),
  frame: num(),
} as const satisfies Record<string, Column>;

/** The tables of a summary, in file order (frames and stacks before what refers to them). */
export const TABLES = {
  devices: DEVICE_SPEC,
  frames: FRAME_SPEC,
  stackLengths: { length: STACK_SPEC.length },
  stackFrames: { frame: STACK_SPEC.frame },
  cpuCalls: CPU_CALL_SPEC,
  gpuOps: GPU_OP_SPEC,
  ranges: CPU_RANGE_SPEC,
  memory: MEMORY_SAMPLE_SPEC,
  memoryEvents: MEMORY_EVENT_SPEC,
  metrics: METRIC_SPEC,
} as const;
export type TableName = keyof typeof TABLES;

/** Tables whose rows are events counted against the event budget when read. */
export const EVENT_TABLES: readonly TableName[] = [
  'cpuCalls',
  'gpuOps',
  'ranges',
  'memory',
  'memoryEvents',
  'metrics',
];

/** One stored column: its path (`collective.group`), encoding and byte length (before padding). */
export interface StoredColumn {
  name: string;
  enc: NumEncoding | 'u8';
  bytes: number;
  /** `d32`: the value the first row's difference is taken to (a safe integer). */
  origin?: number;
}

/** The meta block (JSON). */
export interface SummaryMeta {
  /** The trace's file name (not its folder): the rank's identity when the summary's name has none. */
  traceName: string;
  source: { path: string; format: string; producer: string; schemaVersion: string };
  spanStartNs: number;
  spanEndNs: number;
  rankCount: number;
  warnings: string[];
  /** `distributedInfo.rank`, the trace's host name, nsys session start (decimal ns), Kineto µs base. */
  traceRank?: number;
  host?: string;
  sessionStartNs?: string;
  baseUs?: number;
  strings: string[];
  /** Per table: its rows, its columns, and the byte length of its gzipped columns in the file. */
  tables: Record<TableName, { rows: number; columns: StoredColumn[]; gz: number }>;
}

/**
 * The leaf columns of a spec in file order: `[path, column]`, nested objects flattened. An `obj`
 * field is stored as a presence column `field` (bool) followed by its fields' columns.
 */
export function leafColumns(spec: Readonly<Record<string, Column | null>>): [string, Column][] {
  const out: [string, Column][] = [];
  for (const [key, col] of Object.entries(spec)) {
    if (!col) continue;
    if (col.type !== 'obj') {
      out.push([key, col]);
      continue;
    }
    out.push([key, { type: 'bool' }]);
    for (const [sub, c] of Object.entries(col.fields)) if (c) out.push([`${key}.${sub}`, c]);
  }
  return out;
}

/** Bytes per value of an encoding. */
export function encodingWidth(enc: StoredColumn['enc']): number {
  return enc === 'f64' ? 8 : enc === 'u8' ? 1 : 4;
}

/** Columns are padded to 8 bytes so each typed array starts aligned. */
export function padded(bytes: number): number {
  return Math.ceil(bytes / 8) * 8;
}
