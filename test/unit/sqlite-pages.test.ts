/**
 * The SQLite page reader (sqlite-pages.ts) against better-sqlite3 itself: every table of the real
 * nsys exports, and made-up tables whose records take every serial type, overflow their leaf,
 * miss columns added later, leave rowid gaps, on the smallest and the largest page size. Each
 * reads to the same values, row for row, as `SELECT <columns> FROM table ORDER BY rowid`; what the
 * reader must not read is left to better-sqlite3; a damaged file ends in SQLITE_CORRUPT.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { NsysDb } from '../../src/core/ingest/nsys-db';
import { readTablePages, type ColumnChunk } from '../../src/core/ingest/sqlite-pages';
import { allFixtures } from './fixtures';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-lens-sqlite-pages-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A new database that NsysDb opens (it holds one of the nsys tables). */
function newDb(file: string, pageSize = 4096): Database.Database {
  const db = new Database(file);
  db.pragma(`page_size = ${pageSize}`);
  db.exec('CREATE TABLE StringIds (id INTEGER PRIMARY KEY, value TEXT)');
  return db;
}

/** Rows of the chunks, each wanted value as better-sqlite3 gives it. */
function rowsOf(chunks: Iterable<ColumnChunk>): unknown[][] {
  const rows: unknown[][] = [];
  for (const chunk of chunks) {
    const odd = new Map(chunk.odd);
    for (let k = 0; k < chunk.length; k++) {
      const row = odd.get(k);
      rows.push(row ?? chunk.columns.map((c) => (Number.isNaN(c[k]) ? null : c[k])));
    }
  }
  return rows;
}

/** What SQLite itself reads: the wanted columns (NULL for a missing one) in rowid order. */
function sqliteRows(db: Database.Database, table: string, wanted: string[]): unknown[][] {
  const have = new Set(
    (db.prepare(`PRAGMA table_info("${table}")`).all() as { name: string }[]).map((c) => c.name),
  );
  const select = wanted.map((c) => (have.has(c) ? `"${c}"` : 'NULL')).join(', ');
  const withoutRowid = /WITHOUT\s+ROWID/i.test(
    db.prepare('SELECT sql FROM sqlite_master WHERE name = ?').pluck().get(table) as string,
  );
  const order = withoutRowid ? '' : ' ORDER BY rowid';
  return db.prepare(`SELECT ${select} FROM "${table}"${order}`).raw().all() as unknown[][];
}

/** Reads `table` both ways and compares; returns whether the page reader read it. */
function assertSameRows(file: string, table: string, wanted: string[], chunkRows = 1000): boolean {
  const ndb = NsysDb.open(file);
  try {
    const layout = ndb.tableLayout(table, wanted);
    const expected = sqliteRows(ndb.db, table, wanted);
    const viaChunks = rowsOf(ndb.columnChunks(table, wanted, chunkRows));
    assert.deepStrictEqual(viaChunks, expected, `${path.basename(file)} ${table}`);
    if (layout) {
      const direct = rowsOf(readTablePages(fs, layout, chunkRows));
      assert.deepStrictEqual(direct, expected, `${path.basename(file)} ${table} (pages)`);
    }
    return layout !== null;
  } finally {
    ndb.close();
  }
}

void describe('SQLite page reader', () => {
  for (const file of allFixtures('nsys')) {
    void it(`reads every table of ${path.basename(file)} as SQLite does`, () => {
      const db = new Database(file, { readonly: true });
      const tables = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .pluck()
        .all() as string[];
      const columns = new Map(
        tables.map((t) => [
          t,
          (db.prepare(`PRAGMA table_info("${t}")`).all() as { name: string }[]).map((c) => c.name),
        ]),
      );
      db.close();
      let paged = 0;
      for (const table of tables) {
        // Every column, and a few out of order with one this schema lacks.
        const all = columns.get(table) ?? [];
        if (assertSameRows(file, table, all)) paged++;
        assertSameRows(file, table, [...all.slice(0, 3).reverse(), 'noSuchColumn']);
      }
      assert.ok(paged > 0, 'no table was read from its pages');
    });
  }

  void it('reads every serial type, overflowing records and rowid gaps', () => {
    for (const pageSize of [512, 65536]) {
      const file = path.join(tmp, `types-${pageSize}.sqlite`);
      const db = newDb(file, pageSize);
      db.exec('CREATE TABLE t (a, b INTEGER, c TEXT, d REAL, e BLOB)');
      const insert = db.prepare('INSERT INTO t VALUES (?, ?, ?, ?, ?)');
      const big = 'x'.repeat(3 * pageSize);
      const values: unknown[] = [
        null,
        0,
        1,
        -1,
        127,
        -128,
        32767,
        -32768,
        8388607,
        -8388608,
        2 ** 31 - 1,
        -(2 ** 31),
        2 ** 47 - 1,
        -(2 ** 47),
        2 ** 53 - 1,
        -(2 ** 53),
        1.5,
        -0.25,
        1e300,
        'é',
        '',
        Buffer.from([1, 2]),
      ];
      db.transaction(() => {
        for (let i = 0; i < 3000; i++) {
          const v = values[i % values.length];
          const w = values[(i * 7) % values.length];
          // Every 5th row has a long text before the last columns: its record overflows.
          insert.run(v, w, i % 5 === 0 ? big + i : `s${i}`, i % 3 === 0 ? null : i / 7, w);
        }
        db.prepare('INSERT INTO t VALUES (?, ?, ?, ?, ?)').run(
          BigInt('9007199254740993'),
          BigInt('-9223372036854775808'),
          'int64',
          0,
          null,
        );
      })();
      db.exec('DELETE FROM t WHERE rowid % 97 = 0 OR rowid BETWEEN 1200 AND 1700');
      db.close();
      assert.ok(assertSameRows(file, 't', ['a', 'b', 'd']));
      assert.ok(assertSameRows(file, 't', ['e', 'd', 'c', 'a']));
      assert.ok(assertSameRows(file, 't', ['d'], 7));
    }
  });

  void it('reads records written before a column was added as NULL there', () => {
    const file = path.join(tmp, 'altered.sqlite');
    const db = newDb(file);
    db.exec('CREATE TABLE t (a, b); INSERT INTO t VALUES (1, 2), (3, 4)');
    db.exec('ALTER TABLE t ADD COLUMN c INTEGER; INSERT INTO t VALUES (5, 6, 7)');
    db.exec('ALTER TABLE t ADD COLUMN d DEFAULT 9; INSERT INTO t VALUES (8, 9, 10, 11)');
    db.close();
    assert.ok(assertSameRows(file, 't', ['a', 'c']));
    // A column with a default: SQLite gives the default for old records, so SQLite reads them.
    assert.equal(assertSameRows(file, 't', ['a', 'd']), false);
  });

  void it('leaves to SQLite the tables and files it must read itself', () => {
    const file = path.join(tmp, 'kinds.sqlite');
    const db = newDb(file);
    db.exec(`
      CREATE TABLE ipk (id INTEGER PRIMARY KEY, v);
      CREATE TABLE nork (id TEXT PRIMARY KEY, v) WITHOUT ROWID;
      CREATE TABLE gen (a, b AS (a * 2));
      CREATE TABLE plain (a, b);
      INSERT INTO ipk VALUES (5, 'x'); INSERT INTO nork VALUES ('k', 1);
      INSERT INTO gen (a) VALUES (3); INSERT INTO plain VALUES (1, 2);
    `);
    db.close();
    assert.equal(assertSameRows(file, 'ipk', ['id', 'v']), false);
    assert.equal(assertSameRows(file, 'nork', ['id', 'v']), false);
    assert.equal(assertSameRows(file, 'gen', ['a', 'b']), false);
    assert.equal(assertSameRows(file, 'plain', ['a', 'b']), true);
    // A journal beside the file: SQLite would roll it back first.
    fs.writeFileSync(`${file}-journal`, '');
    assert.equal(assertSameRows(file, 'plain', ['a', 'b']), false);
    fs.rmSync(`${file}-journal`);
    const wal = path.join(tmp, 'wal.sqlite');
    const w = newDb(wal);
    w.pragma('journal_mode = WAL');
    w.exec('CREATE TABLE plain (a, b); INSERT INTO plain VALUES (1, 2)');
    w.close();
    assert.equal(assertSameRows(wal, 'plain', ['a', 'b']), false);
  });

  void it('ends in SQLITE_CORRUPT on damaged pages, never in a loop', () => {
    const file = path.join(tmp, 'damaged.sqlite');
    const db = newDb(file, 512);
    db.exec('CREATE TABLE t (a, b)');
    const insert = db.prepare('INSERT INTO t VALUES (?, ?)');
    db.transaction(() => {
      for (let i = 0; i < 5000; i++) insert.run(i, 'y'.repeat(i % 700));
    })();
    db.close();
    const ndb = NsysDb.open(file);
    const layout = ndb.tableLayout('t', ['a', 'b']);
    ndb.close();
    assert.ok(layout);
    const good = fs.readFileSync(file);
    const damages: [string, (b: Buffer) => void][] = [
      // The root page made a child of itself.
      ['a cycle', (b) => b.writeUInt32BE(layout.rootPage, (layout.rootPage - 1) * 512 + 8)],
      ['a page type', (b) => (b[(layout.rootPage - 1) * 512] = 7)],
      ['the file cut short', () => undefined],
    ];
    for (const [what, damage] of damages) {
      const copy =
        what === 'the file cut short' ? good.subarray(0, good.length / 2) : Buffer.from(good);
      damage(copy);
      const bad = path.join(tmp, 'bad.sqlite');
      fs.writeFileSync(bad, copy);
      assert.throws(
        () => rowsOf(readTablePages(fs, { ...layout, file: bad }, 100)),
        (e: Error & { code?: string }) => e.code === 'SQLITE_CORRUPT',
        what,
      );
    }
    // Bytes flipped all over the file: an error or rows, never a hang or another exception.
    for (let at = 600; at < good.length; at += 4999) {
      const copy = Buffer.from(good);
      copy[at] ^= 0xa5;
      const bad = path.join(tmp, 'flipped.sqlite');
      fs.writeFileSync(bad, copy);
      try {
        rowsOf(readTablePages(fs, { ...layout, file: bad }, 100));
      } catch (e) {
        assert.equal((e as { code?: string }).code, 'SQLITE_CORRUPT', String(e));
      }
    }
  });
});
