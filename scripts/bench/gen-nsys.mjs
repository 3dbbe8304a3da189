// Builds a large nsys SQLite export by tiling a real one in time, entirely inside SQLite: copy the
// fixture, then INSERT … SELECT the activity tables onto themselves with start/end shifted past the
// existing copies and correlation ids offset, doubling the number of copies per step.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** Timed tables that are tiled (those absent from the fixture are skipped). */
const TABLES = [
  'CUPTI_ACTIVITY_KIND_KERNEL',
  'CUPTI_ACTIVITY_KIND_RUNTIME',
  'CUPTI_ACTIVITY_KIND_MEMCPY',
  'CUPTI_ACTIVITY_KIND_MEMSET',
  'CUPTI_ACTIVITY_KIND_SYNCHRONIZATION',
  'NVTX_EVENTS',
  'OSRT_API',
];

/**
 * Writes `copies` tiles of the export `src` to `outPath` (via a temporary file). Returns the number
 * of kernels written. `onProgress(copiesSoFar)` after each doubling step.
 */
export function writeTiledNsys(src, copies, outPath, onProgress) {
  const Database = require('better-sqlite3');
  const tmp = `${outPath}.part`;
  fs.rmSync(tmp, { force: true });
  fs.copyFileSync(src, tmp);
  fs.chmodSync(tmp, 0o644);
  const db = new Database(tmp);
  try {
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    const tables = TABLES.filter(
      (t) =>
        db.prepare("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?").get(t) !==
        undefined,
    );
    const cols = new Map(tables.map((t) => [t, db.pragma(`table_info(${t})`).map((c) => c.name)]));
    // One tile spans from the earliest start to the latest end of any tiled table, plus 1 ms.
    let lo = Infinity;
    let hi = -Infinity;
    let maxCorr = 0;
    for (const t of tables) {
      const r = db.prepare(`SELECT MIN(start) lo, MAX(COALESCE(end, start)) hi FROM ${t}`).get();
      if (r.lo !== null) lo = Math.min(lo, r.lo);
      if (r.hi !== null) hi = Math.max(hi, r.hi);
      if (cols.get(t).includes('correlationId'))
        maxCorr = Math.max(
          maxCorr,
          db.prepare(`SELECT MAX(correlationId) m FROM ${t}`).get().m ?? 0,
        );
    }
    const shift = hi - lo + 1_000_000;
    const corrStride = maxCorr + 1;
    let have = 1;
    while (have < copies) {
      const add = Math.min(have, copies - have);
      db.transaction(() => {
        for (const t of tables) {
          const c = cols.get(t);
          const expr = c.map((name) => {
            if (name === 'start') return `start + ${shift * have}`;
            if (name === 'end') return `end + ${shift * have}`;
            if (name === 'correlationId') return `correlationId + ${corrStride * have}`;
            return `"${name}"`;
          });
          // Rows of the first `add` copies: the copies are disjoint in time, in order.
          db.prepare(
            `INSERT INTO ${t} (${c.map((n) => `"${n}"`).join(',')}) SELECT ${expr.join(',')} FROM ${t} WHERE start < ${lo + shift * add}`,
          ).run();
        }
      })();
      have += add;
      onProgress?.(have);
    }
    const kernels = db.prepare('SELECT COUNT(*) n FROM CUPTI_ACTIVITY_KIND_KERNEL').get().n;
    db.close();
    fs.renameSync(tmp, outPath);
    return kernels;
  } finally {
    if (db.open) db.close();
  }
}
