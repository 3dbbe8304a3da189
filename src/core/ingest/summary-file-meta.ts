/**
 * Shape check of a summary's meta block (summary-file.ts): every field typed and bounded before
 * the reader trusts a count or a name from it.
 */
import type { TraceFormat } from '../model';
import { type StoredColumn, type SummaryMeta, type TableName, TABLES } from './summary-file';

const FORMATS: readonly TraceFormat[] = ['nsys-sqlite', 'kineto-json'];
const ENCODINGS: readonly StoredColumn['enc'][] = ['i32', 'd32', 'r32', 'f64', 'u8'];
/** Most rows of one table (typed-array lengths stay well inside int32). */
const MAX_ROWS = 2 ** 31 - 1;

type Fail = (why: string) => never;

/** The meta as its type, or `fail` with the first field that is wrong. */
export function checkMeta(
  v: unknown,
  fail: Fail,
): SummaryMeta & { source: { format: TraceFormat } } {
  const o = record(v, 'the meta', fail);
  const src = record(o.source, 'source', fail);
  const format = src.format;
  if (!FORMATS.includes(format as TraceFormat)) fail(`source.format is not a trace format`);
  const tablesIn = record(o.tables, 'tables', fail);
  const names = Object.keys(TABLES) as TableName[];
  if (Object.keys(tablesIn).length !== names.length) fail('tables: not the tables of this version');
  const tables = {} as SummaryMeta['tables'];
  for (const name of names) {
    const t = record(tablesIn[name], `tables.${name}`, fail);
    const rows = count(t.rows, `tables.${name}.rows`, fail);
    if (!Array.isArray(t.columns)) fail(`tables.${name}.columns is not a list`);
    const columns = (t.columns as unknown[]).map((c, i): StoredColumn => {
      const at = `tables.${name}.columns[${i}]`;
      const col = record(c, at, fail);
      if (typeof col.name !== 'string' || !ENCODINGS.includes(col.enc as StoredColumn['enc']))
        fail(`tables.${name}.columns[${i}]: no name or an unknown encoding`);
      return {
        name: col.name,
        enc: col.enc as StoredColumn['enc'],
        bytes: count(
          col.bytes,
          `tables.${name}.columns[${i}].bytes`,
          fail,
          Number.MAX_SAFE_INTEGER,
        ),
        ...(col.origin === undefined ? {} : { origin: safeInt(col.origin, `${at}.origin`, fail) }),
      };
    });
    const gz = count(t.gz, `tables.${name}.gz`, fail, Number.MAX_SAFE_INTEGER);
    tables[name] = { rows, columns, gz };
  }
  const optional = <T>(x: unknown, ok: (x: unknown) => boolean, what: string): T | undefined => {
    if (x === undefined) return undefined;
    if (!ok(x)) fail(`${what} is malformed`);
    return x as T;
  };
  const isString = (x: unknown): boolean => typeof x === 'string';
  return {
    traceName: text(o.traceName, 'traceName', fail),
    source: {
      path: text(src.path, 'source.path', fail),
      format: format as TraceFormat,
      producer: text(src.producer, 'source.producer', fail),
      schemaVersion: text(src.schemaVersion, 'source.schemaVersion', fail),
    },
    spanStartNs: finite(o.spanStartNs, 'spanStartNs', fail),
    spanEndNs: finite(o.spanEndNs, 'spanEndNs', fail),
    rankCount: count(o.rankCount, 'rankCount', fail),
    warnings: texts(o.warnings, 'warnings', fail),
    traceRank: optional<number>(o.traceRank, (x) => Number.isSafeInteger(x), 'traceRank'),
    host: optional<string>(o.host, isString, 'host'),
    sessionStartNs: optional<string>(
      o.sessionStartNs,
      (x) => typeof x === 'string' && /^-?\d{1,20}$/.test(x),
      'sessionStartNs',
    ),
    baseUs: optional<number>(
      o.baseUs,
      (x) => typeof x === 'number' && Number.isFinite(x),
      'baseUs',
    ),
    strings: texts(o.strings, 'strings', fail),
    tables,
  };
}

function record(v: unknown, what: string, fail: Fail): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(`${what} is not an object`);
  return v as Record<string, unknown>;
}

function text(v: unknown, what: string, fail: Fail): string {
  if (typeof v !== 'string') fail(`${what} is not a string`);
  return v;
}

function texts(v: unknown, what: string, fail: Fail): string[] {
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string'))
    fail(`${what} is not a list of strings`);
  return v;
}

function finite(v: unknown, what: string, fail: Fail): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${what} is not a number`);
  return v;
}

function safeInt(v: unknown, what: string, fail: Fail): number {
  if (!Number.isSafeInteger(v)) fail(`${what} is not an integer`);
  return v as number;
}

function count(v: unknown, what: string, fail: Fail, max = MAX_ROWS): number {
  if (!Number.isSafeInteger(v) || (v as number) < 0 || (v as number) > max)
    fail(`${what} is not a count`);
  return v as number;
}
