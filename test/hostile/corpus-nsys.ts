/**
 * Broken and hostile Nsight Systems SQLite exports, each a mutated copy of a real fixture: truncated
 * and corrupted files, non-SQLite files named `.sqlite`, missing and renamed tables and columns,
 * an unknown future schema, wrong-typed and absurd values, hostile strings, a view that never ends,
 * and a WAL-mode database (whose reading must not create files beside it).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { fixture } from '../unit/fixtures';
import { shellBait, writerFor } from './corpus-kineto';

const KERNEL = 'CUPTI_ACTIVITY_KIND_KERNEL';
const RUNTIME = 'CUPTI_ACTIVITY_KIND_RUNTIME';
const NVTX = 'NVTX_EVENTS';

/** Rebuilds `table` without its NOT NULL constraints, so that mutations can put anything in it. */
const loose = (table: string): string =>
  `CREATE TABLE loose_copy AS SELECT * FROM ${table}; DROP TABLE ${table}; ` +
  `ALTER TABLE loose_copy RENAME TO ${table}; `;

/** SQL applied to a fresh copy of the GPU fixture, by input name. */
const MUTATIONS: [string, string][] = [
  ['drop-all-nsys-tables', dropAll()],
  ['rename-kernel-table', `ALTER TABLE ${KERNEL} RENAME TO ${KERNEL}_V2`],
  ['rename-stringids', 'ALTER TABLE StringIds RENAME TO Strings'],
  ['rename-col-kernel-start', `ALTER TABLE ${KERNEL} RENAME COLUMN start TO begin`],
  ['rename-col-kernel-end', `ALTER TABLE ${KERNEL} RENAME COLUMN "end" TO finish`],
  ['rename-col-kernel-name', `ALTER TABLE ${KERNEL} RENAME COLUMN demangledName TO dn`],
  ['rename-col-kernel-corr', `ALTER TABLE ${KERNEL} RENAME COLUMN correlationId TO corr`],
  ['rename-col-kernel-device', `ALTER TABLE ${KERNEL} RENAME COLUMN deviceId TO dev`],
  ['rename-col-kernel-pid', `ALTER TABLE ${KERNEL} RENAME COLUMN globalPid TO gp`],
  ['rename-col-runtime-name', `ALTER TABLE ${RUNTIME} RENAME COLUMN nameId TO n`],
  ['rename-col-runtime-tid', `ALTER TABLE ${RUNTIME} RENAME COLUMN globalTid TO t`],
  ['rename-col-nvtx-text', `ALTER TABLE ${NVTX} RENAME COLUMN text TO t`],
  ['rename-col-nvtx-start', `ALTER TABLE ${NVTX} RENAME COLUMN start TO s`],
  ['rename-col-strings-value', 'ALTER TABLE StringIds RENAME COLUMN value TO v'],
  ['rename-col-strings-id', 'ALTER TABLE StringIds RENAME COLUMN id TO i'],
  ['rename-col-meta-name', 'ALTER TABLE META_DATA_EXPORT RENAME COLUMN name TO k'],
  [
    'future-schema',
    "UPDATE META_DATA_EXPORT SET value = '9.99.0' WHERE name = 'EXPORT_SCHEMA_VERSION'",
  ],
  [
    'schema-garbage',
    loose('META_DATA_EXPORT') +
      "UPDATE META_DATA_EXPORT SET value = x'fffe00' WHERE name LIKE 'EXPORT_%'",
  ],
  [
    'schema-1mb',
    "UPDATE META_DATA_EXPORT SET value = printf('%.1000000c', '9') WHERE name LIKE 'EXPORT_%'",
  ],
  ['meta-no-rows', 'DELETE FROM META_DATA_EXPORT'],
  ['kernel-start-null', loose(KERNEL) + `UPDATE ${KERNEL} SET start = NULL`],
  ['kernel-start-text', loose(KERNEL) + `UPDATE ${KERNEL} SET start = 'soon'`],
  ['kernel-start-blob', loose(KERNEL) + `UPDATE ${KERNEL} SET start = x'00ff'`],
  ['kernel-start-real-huge', `UPDATE ${KERNEL} SET start = 1e300, "end" = 1e301`],
  ['kernel-negative', `UPDATE ${KERNEL} SET start = -9000000000000000000, "end" = -1`],
  ['kernel-int64-max', `UPDATE ${KERNEL} SET start = 0, "end" = 9223372036854775807`],
  ['kernel-end-before-start', `UPDATE ${KERNEL} SET "end" = start - 1000`],
  ['kernel-name-dangling', `UPDATE ${KERNEL} SET demangledName = 999999999, shortName = -5`],
  ['kernel-name-text', loose(KERNEL) + `UPDATE ${KERNEL} SET demangledName = 'not an id'`],
  ['kernel-device-huge', `UPDATE ${KERNEL} SET deviceId = 9223372036854775807, streamId = -1`],
  ['kernel-rows-doubled', `INSERT INTO ${KERNEL} SELECT * FROM ${KERNEL}`],
  [
    'kernel-corr-all-same',
    `UPDATE ${KERNEL} SET correlationId = 1; UPDATE ${RUNTIME} SET correlationId = 1`,
  ],
  [
    'runtime-tid-zero',
    loose(RUNTIME) + `UPDATE ${RUNTIME} SET globalTid = 0, correlationId = NULL`,
  ],
  ['runtime-callchain-dangling', `UPDATE ${RUNTIME} SET callchainId = 123456789`],
  ['strings-1mb', "UPDATE StringIds SET value = printf('%.1000000c', 'x')"],
  [
    'strings-invalid-utf8',
    loose('StringIds') + "UPDATE StringIds SET value = CAST(x'c328ffa0e28228f09f' AS TEXT)",
  ],
  ['strings-blob', loose('StringIds') + "UPDATE StringIds SET value = x'00010203'"],
  ['strings-null', loose('StringIds') + 'UPDATE StringIds SET value = NULL'],
  ['strings-duplicate-ids', loose('StringIds') + 'UPDATE StringIds SET id = id % 3'],
  ['nvtx-text-1mb', `UPDATE ${NVTX} SET text = printf('%.1000000c', 'r')`],
  ['nvtx-end-null', loose(NVTX) + `UPDATE ${NVTX} SET "end" = NULL`],
  ['nvtx-type-unknown', `UPDATE ${NVTX} SET eventType = 9999`],
  ['nvtx-tid-mixed', `UPDATE ${NVTX} SET globalTid = rowid, endGlobalTid = -rowid`],
  [
    'gpu-info-garbage',
    loose('TARGET_INFO_GPU') +
      "UPDATE TARGET_INFO_GPU SET name = x'ff', smCount = 'many', totalMemory = -1",
  ],
  ['view-endless', endlessView()],
];

function dropAll(): string {
  return [KERNEL, RUNTIME, NVTX, 'StringIds', 'META_DATA_EXPORT', 'TARGET_INFO_GPU']
    .map((t) => `DROP TABLE IF EXISTS ${t};`)
    .join('');
}

/** A view in place of NVTX_EVENTS that counts forever: reading it must not hang the reader. */
function endlessView(): string {
  return (
    `DROP TABLE ${NVTX}; CREATE VIEW ${NVTX} AS WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL ` +
    `SELECT x + 1 FROM r) SELECT x AS start, x + 1 AS "end", 59 AS eventType, 'v' AS text, ` +
    `NULL AS textId, 1 AS globalTid, 0 AS domainId FROM r`
  );
}

/** Applies `sql` to a copy of `src` at `file`. */
function mutate(src: string, file: string, sql: string): void {
  fs.copyFileSync(src, file);
  const db = new Database(file);
  try {
    db.exec(sql);
  } finally {
    db.close();
  }
}

/** Generates the SQLite part of the corpus into `dir`; returns the paths. */
export function nsysCorpus(dir: string): string[] {
  const made: string[] = [];
  const w = writerFor(dir, made);
  const gpu = fixture('nsys', 'h200-nvfuser-nvtx-2024.6.sqlite');
  const cpu = fixture('nsys', 'cpu-react-agent-nvtx-2022.4.sqlite');
  const add = (name: string, sql: string, src = gpu): void => {
    const file = path.join(dir, `${name}.sqlite`);
    mutate(src, file, sql);
    made.push(file);
  };
  for (const [name, sql] of MUTATIONS) add(name, sql);

  // Each nsys table missing in turn, on both fixtures (the 2022.4 one has the older metadata).
  for (const t of [
    KERNEL,
    RUNTIME,
    NVTX,
    'StringIds',
    'META_DATA_EXPORT',
    'TARGET_INFO_GPU',
    'CUPTI_ACTIVITY_KIND_MEMCPY',
    'CUPTI_ACTIVITY_KIND_MEMSET',
    'ANALYSIS_DETAILS',
  ])
    add(`drop-${t}`, `DROP TABLE ${t}`);
  for (const t of ['OSRT_API', 'OSRT_CALLCHAINS', NVTX, 'StringIds', 'EXPORT_META_DATA'])
    add(`cpu-drop-${t}`, `DROP TABLE ${t}`, cpu);
  add(
    'cpu-future-schema',
    "UPDATE EXPORT_META_DATA SET value = '4.0.0' WHERE name = 'EXPORT_SCHEMA_VERSION'",
    cpu,
  );
  add('cpu-osrt-negative', 'UPDATE OSRT_API SET start = -start, "end" = -1', cpu);

  // Hostile strings where names are shown: kernel and API names, NVTX text.
  ['<script>alert(1)</script>', '<img src=x onerror=alert(1)>', ...shellBait(dir)].forEach(
    (h, i) => {
      const q = h.replace(/'/g, "''");
      add(
        `hostile-strings-${i}`,
        `UPDATE StringIds SET value = '${q}' || value; UPDATE ${NVTX} SET text = '${q}'`,
      );
    },
  );

  const wal = path.join(dir, 'wal-mode.sqlite');
  fs.copyFileSync(gpu, wal);
  const db = new Database(wal);
  db.pragma('journal_mode = WAL');
  db.close();
  made.push(wal);

  // Truncated and corrupted files, and files that are not SQLite at all.
  const bytes = fs.readFileSync(gpu);
  for (const f of [0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999])
    w(`cut-gpu-${f}.sqlite`, bytes.subarray(0, Math.floor(bytes.length * f)));
  w('cut-header-only.sqlite', bytes.subarray(0, 100));
  const corrupt = Buffer.from(bytes);
  corrupt.fill(0xa5, Math.floor(corrupt.length / 2), Math.floor(corrupt.length / 2) + 8192);
  w('corrupt-middle-pages.sqlite', corrupt);
  const badHeader = Buffer.from(bytes);
  badHeader.writeUInt16BE(3, 16); // page size 3: not a power of two
  w('corrupt-page-size.sqlite', badHeader);
  w('not-sqlite-text.sqlite', 'this is not a database\n');
  w('not-sqlite-json.sqlite', '{"traceEvents": []}');
  w('not-sqlite-zeros.sqlite', Buffer.alloc(8192));
  w(
    'not-sqlite-magic-only.sqlite',
    Buffer.concat([Buffer.from('SQLite format 3\0'), Buffer.alloc(4080)]),
  );
  w('empty.sqlite', '');
  const plain = path.join(dir, 'plain-sqlite-no-nsys.sqlite');
  const other = new Database(plain);
  other.exec('CREATE TABLE users (name TEXT, password TEXT); INSERT INTO users VALUES (1, 2)');
  other.close();
  made.push(plain);
  w('garbage.nsys-rep', Buffer.from('not a report, only bytes\n'.repeat(100)));
  return made;
}
