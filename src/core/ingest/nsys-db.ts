/**
 * Low-level access to an Nsight Systems SQLite export: opening it read-only, which tables and
 * columns this schema version has, the export metadata, and the StringIds table.
 * Every table is optional (nsys creates them lazily), so callers ask `has()` / `columns()` first.
 */
import * as fs from 'node:fs';
import Database from 'better-sqlite3';
import type { StringTable } from '../model-columns';
import { readablePath } from './sqlite-readonly';
import {
  chunksOfRows,
  readTablePages,
  type ColumnChunk,
  type Recycled,
  type TableLayout,
} from './sqlite-pages';

/** A raw row from a `.raw()` statement: one value per selected column. */
export type RawRow = unknown[];

/** Tables whose presence makes a file an Nsight Systems export (any one is enough). */
const KNOWN_TABLES = [
  'StringIds',
  'EXPORT_META_DATA',
  'META_DATA_EXPORT',
  'CUPTI_ACTIVITY_KIND_KERNEL',
  'CUPTI_ACTIVITY_KIND_RUNTIME',
  'CUPTI_ACTIVITY_KIND_MEMCPY',
  'CUPTI_ACTIVITY_KIND_MEMSET',
  'NVTX_EVENTS',
  'OSRT_API',
  'TARGET_INFO_GPU',
];

/** Rows per page read by `NsysDb.pages` (4k rows measured faster than 32k). */
const PAGE_ROWS = 4096;

/** The queries and rowid bounds of a paged read (`NsysDb.pagePlan`), plain data for a worker. */
export interface PagePlan {
  /** The query of the whole table, used when it has no rowids (`range` null). */
  whole: string;
  /** The query of one page: rows with rowid in (?, ?]. */
  range: string | null;
  /** The smallest rowid above ?, to skip a gap. */
  next: string;
  min: number | null;
  max: number | null;
  pageRows: number;
}

/**
 * The rows of `plan` a page at a time. Pages of rowid ranges read through `.all()` cost about half
 * of a row-by-row `.iterate()`, which crosses into native code once per row. Self-contained (no
 * names from outside its body), so that the table-scan workers run its source text too
 * (nsys-table-scan.ts).
 */
export function* walkPages(db: Database.Database, plan: PagePlan): Generator<RawRow[]> {
  if (plan.range === null) {
    yield db.prepare(plan.whole).raw().all() as RawRow[];
    return;
  }
  const { min, max, pageRows } = plan;
  if (min === null || max === null) return;
  const range = db.prepare(plan.range).raw();
  const nextRowid = db.prepare(plan.next).pluck();
  let lo = min - 1;
  while (lo < max) {
    const rows = range.all(lo, lo + pageRows) as RawRow[];
    lo += pageRows;
    if (rows.length > 0) {
      yield rows;
    } else {
      // Skip a gap in the rowids (rows deleted) with one index seek.
      const next = nextRowid.get(lo) as number | null;
      if (next === null) return;
      lo = next - 1;
    }
  }
}

/**
 * Fewer bytes than any SQLite table row takes in its file (a cell pointer, the payload length and
 * rowid varints, a record header): a rowid span above file size / this is not a row count.
 */
const MIN_ROW_BYTES = 4;

/** An open export plus its table/column catalogue (read once from sqlite_master). */
export class NsysDb {
  private readonly tables: Set<string>;
  private readonly columnCache = new Map<string, Set<string>>();

  private constructor(
    readonly db: Database.Database,
    /** The file the connection reads (a private copy for a file in WAL mode). */
    readonly file: string,
    tables: Set<string>,
    private readonly dispose: () => void,
  ) {
    this.tables = tables;
  }

  /**
   * Opens `path` read-only. Throws `not an Nsight Systems SQLite export: …` when the file is not a
   * SQLite database or holds none of the tables nsys writes.
   */
  static open(path: string): NsysDb {
    const source = readablePath(path);
    let db: Database.Database;
    try {
      db = new Database(source.path, { readonly: true, fileMustExist: true });
    } catch (e) {
      source.dispose();
      throw new Error(`cannot open ${path}: ${errorText(e)}`);
    }
    let tables: Set<string>;
    try {
      // One read transaction for the connection's life: its shared lock, taken by the first read,
      // keeps any writer from changing a page while the tables are read (sqlite-pages.ts reads
      // pages of the file itself).
      db.exec('BEGIN');
      const names = db
        // Tables only: nsys writes no views, and a view can compute rows without end.
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .pluck()
        .all() as string[];
      tables = new Set(names);
    } catch (e) {
      db.close();
      source.dispose();
      if ((e as { code?: unknown }).code === 'SQLITE_BUSY')
        throw new Error(
          `${path} is locked by another process (still being written?): try again later`,
        );
      // SQLITE_NOTADB surfaces on the first query, not on open.
      throw new Error(`not an Nsight Systems SQLite export: ${path} (${errorText(e)})`);
    }
    if (!KNOWN_TABLES.some((t) => tables.has(t))) {
      db.close();
      source.dispose();
      throw new Error(
        `not an Nsight Systems SQLite export: ${path} (none of the nsys tables such as ` +
          `StringIds, CUPTI_ACTIVITY_KIND_KERNEL or NVTX_EVENTS is present)`,
      );
    }
    return new NsysDb(db, source.path, tables, source.dispose);
  }

  /**
   * Where `readTablePages` finds the rows of `table` and the `wanted` columns in them, or null
   * when it must not read them: the file is not in rollback-journal mode or has a journal beside
   * it (a WAL file is read from a copy with its `-wal`; a journal's pages would be rolled back),
   * or the table is not a plain rowid table (WITHOUT ROWID, virtual, generated columns, an
   * INTEGER PRIMARY KEY stored as the rowid) or a wanted column has a default (a record written
   * before an ALTER TABLE ADD COLUMN lacks it).
   */
  tableLayout(table: string, wanted: readonly string[]): TableLayout | null {
    if (!this.has(table) || !this.pagesReadable()) return null;
    const entry = this.db
      .prepare("SELECT rootpage, sql FROM sqlite_master WHERE type = 'table' AND name = ?")
      .get(table) as { rootpage: unknown; sql: unknown } | undefined;
    if (!entry || typeof entry.rootpage !== 'number' || entry.rootpage < 2) return null;
    if (typeof entry.sql !== 'string' || !/^CREATE TABLE/i.test(entry.sql)) return null;
    if (/\bWITHOUT\s+ROWID\b/i.test(entry.sql)) return null;
    const info = this.db.prepare(`PRAGMA table_xinfo("${table}")`).all() as {
      name: string;
      dflt_value: unknown;
      pk: number;
      hidden: number;
    }[];
    if (info.some((c) => c.hidden !== 0 || c.pk !== 0)) return null;
    const positions = wanted.map((name) => info.findIndex((c) => c.name === name));
    if (positions.some((p) => p >= 0 && info[p].dflt_value !== null)) return null;
    return { file: this.file, rootPage: entry.rootpage, positions };
  }

  private pagesReadableMemo: boolean | undefined;

  private pagesReadable(): boolean {
    if (this.pagesReadableMemo === undefined) {
      const head = Buffer.alloc(100);
      const fd = fs.openSync(this.file, 'r');
      try {
        fs.readSync(fd, head, 0, 100, 0);
      } finally {
        fs.closeSync(fd);
      }
      this.pagesReadableMemo =
        head.toString('latin1', 0, 16) === 'SQLite format 3\0' &&
        head[18] === 1 &&
        head[19] === 1 &&
        head.readUInt32BE(56) === 1 && // UTF-8
        !fs.existsSync(`${this.file}-journal`) &&
        !fs.existsSync(`${this.file}-wal`);
    }
    return this.pagesReadableMemo;
  }

  /**
   * The rows of `SELECT <wanted> FROM table` in rowid order, `chunkRows` at a time, as typed
   * columns (taking `recycled` ones where there are some): read from the file's pages where
   * `tableLayout` allows, else through better-sqlite3.
   */
  *columnChunks(
    table: string,
    wanted: readonly string[],
    chunkRows: number,
    recycled?: Recycled,
  ): Generator<ColumnChunk, void> {
    const layout = this.tableLayout(table, wanted);
    if (layout) yield* readTablePages(fs, layout, chunkRows, recycled);
    else yield* chunksOfRows(this.pages(table, wanted), wanted.length, chunkRows, recycled);
  }

  has(table: string): boolean {
    return this.tables.has(table);
  }

  /** Column names of `table` (empty when the table is missing). */
  columns(table: string): Set<string> {
    let cols = this.columnCache.get(table);
    if (!cols) {
      cols = new Set<string>();
      if (this.has(table)) {
        const rows = this.db.prepare(`PRAGMA table_info("${table}")`).all() as { name: string }[];
        for (const r of rows) cols.add(r.name);
      }
      this.columnCache.set(table, cols);
    }
    return cols;
  }

  /**
   * Raw rows of `SELECT <wanted> FROM table [WHERE where]` in rowid order, a page at a time (see
   * `walkPages`). A missing table yields nothing.
   */
  *pages(table: string, wanted: readonly string[], where = ''): Generator<RawRow[]> {
    const plan = this.pagePlan(table, wanted, where);
    if (plan) yield* walkPages(this.db, plan);
  }

  /**
   * How `walkPages` reads `SELECT <wanted> FROM table [WHERE where]`, or null for a missing table.
   * Each wanted column that this schema lacks is selected as NULL, so row positions stay fixed
   * across versions.
   */
  pagePlan(table: string, wanted: readonly string[], where = ''): PagePlan | null {
    if (!this.has(table)) return null;
    const have = this.columns(table);
    const select = wanted.map((c) => (have.has(c) ? `"${c}"` : 'NULL')).join(', ');
    const cond = where ? ` AND (${where})` : '';
    const whole = `SELECT ${select} FROM "${table}"${where ? ` WHERE ${where}` : ''}`;
    const range = `SELECT ${select} FROM "${table}" WHERE rowid > ? AND rowid <= ?${cond}`;
    let bounds: [number | null, number | null];
    try {
      this.db.prepare(range);
      bounds = this.rowidBounds(table);
    } catch {
      // A table without rowid (none known in nsys exports): one plain query.
      return { whole, range: null, next: '', min: null, max: null, pageRows: PAGE_ROWS };
    }
    const next = `SELECT min(rowid) FROM "${table}" WHERE rowid > ?`;
    return { whole, range, next, min: bounds[0], max: bounds[1], pageRows: PAGE_ROWS };
  }

  /**
   * Smallest and largest rowid of `table` (nulls when empty). Two queries: SQLite answers a lone
   * min() or max() from the b-tree's edge, but `SELECT min(rowid), max(rowid)` scans every row.
   */
  rowidBounds(table: string): [number | null, number | null] {
    const edge = (fn: string) =>
      this.db.prepare(`SELECT ${fn}(rowid) FROM "${table}"`).pluck().get() as number | null;
    return [edge('min'), edge('max')];
  }

  /**
   * Rows of `table`, for the event budget and for sizing tables ahead: max - min rowid + 1 (two
   * b-tree edge lookups; nsys deletes no rows, so the span is the count), unless the span is more
   * rows than the file could hold (an export edited or damaged: one row at rowid 240,000,000 in a
   * 0.6 MB file), then a COUNT(*). 0 when the table is empty or missing, has no rowids, or cannot
   * be counted.
   */
  rowCount(table: string): number {
    let n = this.rowCounts.get(table);
    if (n === undefined) this.rowCounts.set(table, (n = this.countRows(table)));
    return n;
  }

  /** Counts per table (the export is read-only: asked by the budget, the sizing and the scan). */
  private readonly rowCounts = new Map<string, number>();

  private countRows(table: string): number {
    if (!this.has(table)) return 0;
    try {
      const [min, max] = this.rowidBounds(table);
      if (min === null || max === null) return 0;
      const span = max - min + 1;
      if (span <= this.fileBytes() / MIN_ROW_BYTES) return span;
      return this.db.prepare(`SELECT COUNT(*) FROM "${table}"`).pluck().get() as number;
    } catch {
      return 0;
    }
  }

  private fileBytesMemo: number | undefined;

  private fileBytes(): number {
    return (this.fileBytesMemo ??= fs.statSync(this.file).size);
  }

  /** Row by row over `pages()`, for small tables where convenience beats speed. */
  *rows(table: string, wanted: readonly string[], where = ''): Generator<RawRow> {
    for (const page of this.pages(table, wanted, where)) yield* page;
  }

  close(): void {
    this.db.close();
    this.dispose();
  }
}

/** Export metadata: the nsys version that wrote the file and its schema version. */
export interface NsysMeta {
  productVersion: string;
  schemaVersion: string;
}

/**
 * Reads EXPORT_PRODUCT_VERSION / EXPORT_SCHEMA_VERSION from `EXPORT_META_DATA` (≤ 2023) or
 * `META_DATA_EXPORT` (later). Only these two names are read: the capture metadata tables also hold
 * the profiled process's environment, which must never be looked at.
 */
export function readMeta(ndb: NsysDb): NsysMeta {
  const table = ['META_DATA_EXPORT', 'EXPORT_META_DATA'].find((t) => ndb.has(t));
  const meta: NsysMeta = { productVersion: '', schemaVersion: '' };
  if (!table) return meta;
  const cols = ndb.columns(table);
  if (!cols.has('name') || !cols.has('value')) return meta;
  const stmt = ndb.db.prepare(`SELECT value FROM "${table}" WHERE name = ? LIMIT 1`).pluck();
  meta.productVersion = String((stmt.get('EXPORT_PRODUCT_VERSION') as string | undefined) ?? '');
  meta.schemaVersion = String((stmt.get('EXPORT_SCHEMA_VERSION') as string | undefined) ?? '');
  return meta;
}

/**
 * Loads StringIds once. Ids are small dense integers, so a plain array indexed by id is the fastest
 * lookup for the per-row name resolution of millions of kernels.
 */
export function readStrings(ndb: NsysDb): string[] {
  const strings: string[] = [];
  if (!ndb.has('StringIds')) return strings;
  for (const [id, value] of ndb.rows('StringIds', ['id', 'value'])) {
    if (typeof id === 'number') strings[id] = typeof value === 'string' ? value : '';
  }
  return strings;
}

/** Ids above this are interned without the cache (a hostile id must not size a huge array). */
const MAX_CACHED_IDS = 1 << 24;

/**
 * Interns the StringIds strings that rows name by id into a column table's StringTable, once per
 * id: a typed cache (id → table index + 1, 0 not yet seen) spares the hash lookup of the string
 * on each of millions of rows.
 */
export class StringIdInterner {
  private readonly cache: Int32Array;

  constructor(
    private readonly strings: readonly string[],
    private readonly table: StringTable,
  ) {
    this.cache = new Int32Array(Math.min(strings.length, MAX_CACHED_IDS));
  }

  /** Table index of the string with StringIds id `id` ('' for an unknown id). */
  of(id: unknown): number {
    if (typeof id === 'number' && id >>> 0 === id && id < this.cache.length) {
      const cached = this.cache[id];
      if (cached !== 0) return cached - 1;
      const index = this.table.intern(this.strings[id] ?? '');
      this.cache[id] = index + 1;
      return index;
    }
    return this.table.intern(this.strings[id as number] ?? '');
  }
}

/** Splits a globalTid / globalPid (`vm << 48 | pid << 24 | tid`, below 2^53) without 32-bit ops. */
export const TID_SHIFT = 16777216; // 2^24

/** Process key used for kernel ↔ API matching: everything above the tid bits (vm and pid). */
export function processKey(globalId: number): number {
  return Math.floor(globalId / TID_SHIFT);
}

export function pidOf(globalId: number): number {
  return processKey(globalId) % TID_SHIFT;
}

export function tidOf(globalId: number): number {
  return globalId % TID_SHIFT;
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
