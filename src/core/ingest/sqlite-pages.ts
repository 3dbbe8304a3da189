/**
 * A table's rows read straight from the SQLite file's b-tree pages into typed columns
 * (https://www.sqlite.org/fileformat2.html). better-sqlite3 builds a JS array per row and a JS
 * value per column (a heap number for every timestamp above 2^31): about 300 ns a row on the two
 * big nsys tables, four times what decoding the records here costs. NsysDb.tableLayout decides
 * when this reader may run, i.e. when SQLite would read the same bytes: a rowid table without
 * generated columns or defaults, in a rollback-journal file with no journal beside it, read while
 * the connection holds its shared lock (so no writer can change a page). Everything else goes
 * through better-sqlite3 (`chunksOfRows`), into the same chunks.
 *
 * Both functions here run on the table-scan workers from their source text
 * (nsys-table-scan.ts), so they use no name from outside their bodies.
 */
import type * as fsModule from 'node:fs';
import type { RawRow } from './nsys-db';

/** Where a table's rows are in the file. */
export interface TableLayout {
  file: string;
  /** The table b-tree's root page (sqlite_master.rootpage). */
  rootPage: number;
  /** Record position of each wanted column; -1 for a column this schema lacks (read as NULL). */
  positions: number[];
}

/** A run of a table's rows, read into columns, in rowid order. */
export interface ColumnChunk {
  length: number;
  /** One array per wanted column, one value per row: the number read, NaN where it is NULL. */
  columns: Float64Array[];
  /**
   * Rows holding text or a blob in a wanted column, by row index in the chunk, with every wanted
   * value as better-sqlite3 gives it (number, null, string, Buffer).
   */
  odd: [number, RawRow][];
}

/**
 * Columns of a chunk the reader is done with (`chunkRows` long), to be written again, or null:
 * a new chunk takes them rather than new memory.
 */
export type Recycled = () => Float64Array[] | null;

/**
 * The rows of the table `layout` places, `chunkRows` at a time (the last chunk shorter), in
 * chunks that take `recycled` columns where there are some.
 */
export function* readTablePages(
  fs: typeof fsModule,
  layout: TableLayout,
  chunkRows: number,
  recycled: Recycled = () => null,
): Generator<ColumnChunk, void> {
  const corrupt = (what: string): Error =>
    Object.assign(new Error(`database disk image is malformed (${what})`), {
      code: 'SQLITE_CORRUPT',
    });
  const { positions } = layout;
  const width = positions.length;
  const last = Math.max(-1, ...positions);
  /** Wanted column index by record position, -1 where not wanted. */
  const slot = new Int32Array(last + 1).fill(-1);
  positions.forEach((p, j) => {
    if (p >= 0) slot[p] = j;
  });

  const fd = fs.openSync(layout.file, 'r');
  try {
    const head = Buffer.alloc(100);
    if (fs.readSync(fd, head, 0, 100, 0) < 100) throw corrupt('file header');
    const sizeField = head.readUInt16BE(16);
    const pageSize = sizeField === 1 ? 65536 : sizeField;
    if (pageSize < 512 || (pageSize & (pageSize - 1)) !== 0) throw corrupt('page size');
    const usable = pageSize - head[20];
    if (usable < 480) throw corrupt('reserved bytes');
    const pageCount = Math.floor(fs.fstatSync(fd).size / pageSize);
    // Payload bytes kept on a leaf page before the rest goes to overflow pages (fileformat2 §1.6).
    const maxLocal = usable - 35;
    const minLocal = Math.floor(((usable - 12) * 32) / 255) - 23;

    const readPages = (first: number, count: number, into: Buffer): void => {
      const bytes = count * pageSize;
      if (fs.readSync(fd, into, 0, bytes, (first - 1) * pageSize) < bytes)
        throw corrupt(`page ${first} past the end of the file`);
    };

    // The leaves in rowid order: interior pages level by level (a b-tree's leaves are all at one
    // depth), each interior page's children in cell order, then its right-most child.
    const seen = new Uint8Array(pageCount + 1);
    const check = (p: number): void => {
      if (!(p >= 2 && p <= pageCount) || seen[p]) throw corrupt(`page number ${p}`);
    };
    const page = Buffer.alloc(pageSize);
    let level = [layout.rootPage];
    levels: for (let depth = 0; ; depth++) {
      const next: number[] = [];
      for (const p of level) {
        check(p);
        readPages(p, 1, page);
        // The first page of the leaf level: the leaves are read below.
        if (p === level[0] && page[0] === 13) break levels;
        if (depth > 40) throw corrupt('b-tree too deep');
        seen[p] = 1;
        if (page[0] !== 5) throw corrupt(`page ${p} is not an interior table page`);
        const cells = page.readUInt16BE(3);
        if (12 + 2 * cells > usable) throw corrupt(`cell count on page ${p}`);
        for (let c = 0; c < cells; c++) {
          const at = page.readUInt16BE(12 + 2 * c);
          if (at + 4 > usable) throw corrupt(`cell pointer on page ${p}`);
          next.push(page.readUInt32BE(at));
        }
        next.push(page.readUInt32BE(8));
      }
      level = next;
    }
    const leaves = level;

    // Overflow pages followed in all: at most one pass over the file, so that a damaged chain
    // ends in an error, not in a loop.
    let overflowBudget = pageCount;
    let scratch = new Uint8Array(0);
    const overflowPage = Buffer.alloc(pageSize);
    /**
     * The first `need` bytes of a payload whose first `local` bytes are at bytes[at], followed by
     * the number of its first overflow page.
     */
    const assemble = (bytes: Uint8Array, at: number, local: number, need: number): Uint8Array => {
      if (scratch.length < need) scratch = new Uint8Array(Math.max(need, 2 * scratch.length));
      scratch.set(bytes.subarray(at, at + local));
      let have = local;
      const link = at + local;
      let next =
        bytes[link] * 2 ** 24 +
        ((bytes[link + 1] << 16) | (bytes[link + 2] << 8) | bytes[link + 3]);
      while (have < need) {
        if (--overflowBudget < 0 || !(next >= 2 && next <= pageCount))
          throw corrupt('overflow chain');
        readPages(next, 1, overflowPage);
        const n = Math.min(usable - 4, need - have);
        scratch.set(overflowPage.subarray(4, 4 + n), have);
        have += n;
        next = overflowPage.readUInt32BE(0);
      }
      return scratch;
    };

    // A varint of up to 9 bytes (a 9th byte's 8th bit is never needed here: no valid size, serial
    // type or header length reaches 2^56); `varintEnd` is where it ends.
    let varintEnd = 0;
    const varint = (bytes: Uint8Array, at: number): number => {
      let v = 0;
      let n = 0;
      for (let b = 128; b & 128 && n < 9; n++) {
        b = bytes[at + n];
        v = v * 128 + (b & 127);
      }
      varintEnd = at + n;
      return v;
    };

    /** Value bytes by serial type below 12 (10 and 11 are reserved: -1). */
    const SIZES = [0, 1, 2, 3, 4, 6, 8, 8, 0, 0, -1, -1];
    const text = new TextDecoder();
    let chunk = newChunk();

    /**
     * Decodes the record at bytes[start, end) into row `k` of the chunk. Returns 0; 1 when a
     * wanted value is text or a blob (the row goes to `odd`); or, when the record's wanted columns
     * run past `end` (a payload read so far only in part), the length they need.
     * `raw`: also returns every wanted value as better-sqlite3 gives it (for `odd`).
     */
    const decode = (
      bytes: Uint8Array,
      view: DataView,
      start: number,
      end: number,
      k: number,
      raw: RawRow | null,
    ): number => {
      const headerLength = varint(bytes, start);
      let p = varintEnd;
      const headerEnd = start + headerLength;
      if (headerEnd > end) return headerLength;
      const cols = chunk.columns;
      let v = headerEnd;
      let status = 0;
      let short = false;
      for (let col = 0; col <= last; col++) {
        let st = 0;
        if (p < headerEnd) {
          st = bytes[p];
          // One byte, nearly always (serial types of numbers are below 128).
          if (st < 128) p++;
          else {
            st = varint(bytes, p);
            p = varintEnd;
          }
        }
        const size = st < 12 ? SIZES[st] : (st - 12) >> 1;
        if (size < 0) throw corrupt(`serial type ${st}`);
        const j = slot[col];
        if (v + size > end) short = true;
        else if (j >= 0) {
          let value = NaN;
          switch (st) {
            case 0:
              break;
            case 1:
              value = view.getInt8(v);
              break;
            case 2:
              value = view.getInt16(v);
              break;
            case 3:
              value = view.getInt8(v) * 65536 + view.getUint16(v + 1);
              break;
            case 4:
              value = view.getInt32(v);
              break;
            case 5:
              value = view.getInt16(v) * 4294967296 + view.getUint32(v + 2);
              break;
            case 6:
              // One rounding, as SQLite's int64 → double: the high half times 2^32 is exact.
              value = view.getInt32(v) * 4294967296 + view.getUint32(v + 4);
              break;
            case 7:
              value = view.getFloat64(v);
              break;
            case 8:
              value = 0;
              break;
            case 9:
              value = 1;
              break;
            default:
              status = 1;
              if (raw)
                raw[j] =
                  st % 2 === 1
                    ? text.decode(bytes.subarray(v, v + size))
                    : Buffer.from(bytes.subarray(v, v + size));
          }
          cols[j][k] = value;
          if (raw && st < 12) raw[j] = st === 0 ? null : value;
        }
        v += size;
      }
      return short ? v - start : status;
    };

    const runPages = Math.max(1, Math.floor((1 << 20) / pageSize));
    const buffer = Buffer.alloc(runPages * pageSize);
    const bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length);
    const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.length);
    for (let i = 0; i < leaves.length;) {
      // A run of consecutive page numbers in one read.
      let j = i + 1;
      while (j < leaves.length && j - i < runPages && leaves[j] === leaves[j - 1] + 1) j++;
      for (let q = i; q < j; q++) {
        check(leaves[q]);
        seen[leaves[q]] = 1;
      }
      readPages(leaves[i], j - i, buffer);
      for (let q = 0; q < j - i; q++) {
        const base = q * pageSize;
        const pageEnd = base + usable;
        const where = `on page ${leaves[i + q]}`;
        if (bytes[base] !== 13) throw corrupt(`page ${leaves[i + q]} is not a table leaf`);
        const cells = (bytes[base + 3] << 8) | bytes[base + 4];
        if (8 + 2 * cells > usable) throw corrupt(`cell count ${where}`);
        for (let c = 0; c < cells; c++) {
          const cell = base + ((bytes[base + 8 + 2 * c] << 8) | bytes[base + 9 + 2 * c]);
          if (cell >= pageEnd) throw corrupt(`cell pointer ${where}`);
          const payload = varint(bytes, cell);
          varint(bytes, varintEnd); // the rowid
          const p = varintEnd;
          let local = payload;
          if (payload > maxLocal) {
            const keep = minLocal + ((payload - minLocal) % (usable - 4));
            local = keep <= maxLocal ? keep : minLocal;
          }
          if (p + local + (local < payload ? 4 : 0) > pageEnd) throw corrupt(`cell ${where}`);
          if (chunk.length === chunkRows) {
            yield chunk;
            chunk = newChunk();
          }
          const k = chunk.length++;
          let record: Uint8Array = bytes;
          let recordView: DataView = view;
          let start = p;
          let end = p + local;
          let result = decode(bytes, view, start, end, k, null);
          // A record that overflows its leaf: as much of the rest as its wanted columns need (the
          // header first when it is not all on the leaf, then the values).
          for (let tries = 0; result > 1; tries++) {
            if (result > payload || local === payload || tries === 2)
              throw corrupt(`record ${where}`);
            record = assemble(bytes, p, local, result);
            recordView = new DataView(record.buffer, record.byteOffset, record.byteLength);
            start = 0;
            end = result;
            result = decode(record, recordView, start, end, k, null);
          }
          if (result === 1) {
            const row: RawRow = new Array<unknown>(width).fill(null);
            decode(record, recordView, start, end, k, row);
            chunk.odd.push([k, row]);
          }
        }
      }
      i = j;
    }
    if (chunk.length > 0) yield chunk;
  } finally {
    fs.closeSync(fd);
  }

  function newChunk(): ColumnChunk {
    const columns = recycled() ?? positions.map(() => new Float64Array(chunkRows));
    // Columns this schema lacks stay NULL.
    positions.forEach((p, j) => {
      if (p < 0) columns[j].fill(NaN);
    });
    return { length: 0, columns, odd: [] };
  }
}

/**
 * The same chunks from rows read through better-sqlite3 (`walkPages`): for files and tables that
 * `readTablePages` does not read.
 */
export function* chunksOfRows(
  pages: Iterable<RawRow[]>,
  width: number,
  chunkRows: number,
  recycled: Recycled = () => null,
): Generator<ColumnChunk, void> {
  const newChunk = (): ColumnChunk => ({
    length: 0,
    columns: recycled() ?? Array.from({ length: width }, () => new Float64Array(chunkRows)),
    odd: [],
  });
  let chunk = newChunk();
  for (const page of pages) {
    for (const row of page) {
      if (chunk.length === chunkRows) {
        yield chunk;
        chunk = newChunk();
      }
      const k = chunk.length++;
      for (let j = 0; j < width; j++) {
        const v = row[j];
        if (typeof v === 'number') chunk.columns[j][k] = v;
        else if (v === null) chunk.columns[j][k] = NaN;
        else {
          chunk.odd.push([k, row]);
          break;
        }
      }
    }
  }
  if (chunk.length > 0) yield chunk;
}
