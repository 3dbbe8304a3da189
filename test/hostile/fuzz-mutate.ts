/**
 * Mutators for the fuzz test: raw bytes, parsed Kineto events, and SQLite rows and schema. Each
 * takes the seeded Rng so that an input is reproducible from (seed, index).
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import Database from 'better-sqlite3';
import type { Rng } from './rng';

/** Bytes that matter to a JSON scanner, and a few that matter to decoders. */
const TOKENS = [
  '{',
  '}',
  '[',
  ']',
  '"',
  ',',
  ':',
  '\\',
  '\\u',
  'null',
  '-1e309',
  'NaN',
  '\u0000',
  '\ud800',
];

/** Flips, inserts, deletes, duplicates or truncates bytes (1 to 8 edits). */
export function mutateBytes(rng: Rng, input: Buffer): Buffer {
  let buf: Buffer = Buffer.from(input);
  const edits = 1 + rng.int(8);
  for (let e = 0; e < edits && buf.length > 0; e++) {
    const at = rng.int(buf.length);
    switch (rng.int(5)) {
      case 0:
        buf[at] ^= 1 << rng.int(8);
        break;
      case 1: {
        const tok = Buffer.from(rng.pick(TOKENS));
        buf = Buffer.concat([buf.subarray(0, at), tok, buf.subarray(at)]);
        break;
      }
      case 2:
        buf = Buffer.concat([buf.subarray(0, at), buf.subarray(at + 1 + rng.int(64))]);
        break;
      case 3: {
        const len = 1 + rng.int(256);
        buf = Buffer.concat([
          buf.subarray(0, at + len),
          buf.subarray(at, at + len),
          buf.subarray(at + len),
        ]);
        break;
      }
      default:
        buf = buf.subarray(0, at);
    }
  }
  return buf;
}

/** Values that break assumptions: wrong types, absurd numbers, hostile strings. */
function oddValue(rng: Rng, ids: readonly number[]): unknown {
  const pool: (() => unknown)[] = [
    () => null,
    () => -1,
    () => 0,
    () => 1e300,
    () => -1e18,
    () => Number.MAX_SAFE_INTEGER + 2,
    () => 0.5,
    () => '12',
    () => '',
    () => '<script>x</script>',
    () => 'a'.repeat(1 + rng.int(100_000)),
    () => [],
    () => [1, 'x'],
    () => ({}),
    () => ({ nested: { deep: [null] } }),
    () => true,
    () => (ids.length > 0 ? rng.pick(ids) : 7),
  ];
  return rng.pick(pool)();
}

export type Event = Record<string, unknown> & { args?: Record<string, unknown> };
const FIELDS = ['ph', 'cat', 'name', 'pid', 'tid', 'ts', 'dur', 'id', 'args'];
const ARGS = [
  'Python id',
  'Python parent id',
  'correlation',
  'External id',
  'Sequence number',
  'device',
  'stream',
  'Call stack',
  'Fwd thread id',
];

/**
 * Structural edits of parsed events: fields set to odd values or removed, args rewired (ids that
 * point at other events, so parent loops appear), events duplicated, dropped or shuffled.
 */
export function mutateEvents(rng: Rng, events: readonly Event[]): Event[] {
  const out: Event[] = events.map((e) => ({ ...e, args: e.args ? { ...e.args } : undefined }));
  const ids = out
    .flatMap((e) => [e.args?.['Python id'], e.args?.correlation])
    .filter((v): v is number => typeof v === 'number');
  const edits = 1 + rng.int(20);
  for (let k = 0; k < edits && out.length > 0; k++) {
    const e = out[rng.int(out.length)];
    switch (rng.int(6)) {
      case 0:
        e[rng.pick(FIELDS)] = oddValue(rng, ids);
        break;
      case 1:
        delete e[rng.pick(FIELDS)];
        break;
      case 2:
        e.args = { ...(e.args ?? {}), [rng.pick(ARGS)]: oddValue(rng, ids) };
        break;
      case 3:
        out.splice(rng.int(out.length), 0, { ...e });
        break;
      case 4:
        out.splice(rng.int(out.length), 1);
        break;
      default: {
        const j = rng.int(out.length);
        [out[j], out[out.indexOf(e)]] = [e, out[j]];
      }
    }
  }
  return out;
}

/** A Kineto input: events mutated, then serialised (object or bare array), then maybe bytes and gzip. */
export function kinetoInput(rng: Rng, events: readonly Event[]): Buffer {
  const mutated = rng.int(4) > 0 ? mutateEvents(rng, events) : [...events];
  let buf: Buffer = Buffer.from(
    JSON.stringify(rng.int(3) > 0 ? { traceEvents: mutated } : mutated),
  );
  if (rng.int(3) === 0) buf = mutateBytes(rng, buf);
  if (rng.int(3) === 0) {
    buf = zlib.gzipSync(buf);
    if (rng.int(3) === 0) buf = mutateBytes(rng, buf);
  }
  return buf;
}

const NSYS_TABLES = [
  'CUPTI_ACTIVITY_KIND_KERNEL',
  'CUPTI_ACTIVITY_KIND_RUNTIME',
  'CUPTI_ACTIVITY_KIND_MEMCPY',
  'NVTX_EVENTS',
  'OSRT_API',
  'StringIds',
  'TARGET_INFO_GPU',
  'META_DATA_EXPORT',
  'EXPORT_META_DATA',
];

function sqlValue(rng: Rng): string {
  return rng.pick([
    'NULL',
    '-1',
    '0',
    '9223372036854775807',
    '-9223372036854775808',
    '1e300',
    "'text'",
    "x'ff00fe'",
    "printf('%.200000c', 'z')",
    "'<img src=x onerror=alert(1)>'",
    'rowid',
    '-rowid',
    'random()',
  ]);
}

/**
 * A mutated copy of an nsys export at `file`: rows rewritten with odd values, rows deleted or
 * doubled, tables dropped, columns renamed; sometimes raw byte damage on top.
 */
export function writeNsysInput(rng: Rng, base: Buffer, file: string): void {
  fs.writeFileSync(file, base);
  const db = new Database(file);
  try {
    const tables = NSYS_TABLES.filter((t) =>
      db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(t),
    );
    const edits = 1 + rng.int(6);
    for (let k = 0; k < edits && tables.length > 0; k++) {
      const t = rng.pick(tables);
      const cols = (db.prepare(`PRAGMA table_info("${t}")`).all() as { name: string }[]).map(
        (c) => c.name,
      );
      const col = rng.pick(cols);
      const where = `rowid % ${1 + rng.int(5)} = 0`;
      const sql = rng.pick([
        // Rebuilt without constraints first, so any value fits.
        `CREATE TABLE fz AS SELECT * FROM "${t}"; DROP TABLE "${t}"; ALTER TABLE fz RENAME TO "${t}"; UPDATE "${t}" SET "${col}" = ${sqlValue(rng)} WHERE ${where}`,
        `DELETE FROM "${t}" WHERE ${where}`,
        `INSERT INTO "${t}" SELECT * FROM "${t}" WHERE ${where}`,
        `DROP TABLE "${t}"`,
        `ALTER TABLE "${t}" RENAME COLUMN "${col}" TO "fz_${col}"`,
      ]);
      try {
        db.exec(sql);
      } catch {
        // An edit the schema refuses (e.g. a duplicate primary key): the input stays as it was.
      }
    }
  } finally {
    db.close();
  }
  if (rng.int(5) === 0) fs.writeFileSync(file, mutateBytes(rng, fs.readFileSync(file)));
}
