/**
 * readNsysSqlite against every real nsys export in the shared fixtures. Expected values come from
 * SQL run here, directly on the export, never from the reader's own output.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { readNsysSqlite } from '../../src/core/ingest/nsys-sqlite';
import type { GpuOp, Profile } from '../../src/core/model';
import { allFixtures } from './fixtures';
import { rowAt, rowsOf } from './table-rows';

/** Schema versions per nsys release, from NVIDIA's export metadata (FORMATS.md). */
const SCHEMA_BY_RELEASE: Record<string, string> = {
  '2022.4': '3.0.0',
  '2024.6': '3.16.1',
  '2025.6': '3.24.7',
  '2026.2': '3.25.0',
};

type Db = Database.Database;
const hasTable = (db: Db, t: string): boolean =>
  db
    .prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?")
    .pluck()
    .get(t) === 1;
const scalar = (db: Db, sql: string): number => Number(db.prepare(sql).pluck().get() ?? 0);

/** name → [count, total ns] from SQL rows of (name, count, ns). */
function sqlGroups(db: Db, sql: string): Map<string, [number, number]> {
  const m = new Map<string, [number, number]>();
  for (const [name, count, ns] of db.prepare(sql).raw().all() as [string, number, number][]) {
    m.set(name ?? '', [count, ns]);
  }
  return m;
}

function groups<T extends { name: string; startNs: number; endNs: number }>(
  items: T[],
): Map<string, [number, number]> {
  const m = new Map<string, [number, number]>();
  for (const it of items) {
    const g = m.get(it.name) ?? [0, 0];
    g[0]++;
    g[1] += it.endNs - it.startNs;
    m.set(it.name, g);
  }
  return m;
}

const ofKind = (p: Profile, kind: GpuOp['kind']): GpuOp[] =>
  rowsOf(p.gpuOps).filter((o) => o.kind === kind);

for (const file of allFixtures('nsys')) {
  void describe(`nsys fixture ${path.basename(file)}`, () => {
    const profile = readNsysSqlite(file);
    const db = new Database(file, { readonly: true, fileMustExist: true });
    const K = 'CUPTI_ACTIVITY_KIND_KERNEL';
    const R = 'CUPTI_ACTIVITY_KIND_RUNTIME';

    void it('has the schema version of its nsys release', () => {
      const release = /-(\d{4}\.\d+)\.sqlite$/.exec(file)?.[1] ?? '';
      assert.equal(profile.source.schemaVersion, SCHEMA_BY_RELEASE[release]);
      assert.equal(profile.source.format, 'nsys-sqlite');
      assert.match(profile.source.producer, new RegExp(`^nsys ${release.replace('.', '\\.')}`));
    });

    void it('reads every kernel: count, and count and total ns per name', () => {
      const expected = hasTable(db, K)
        ? sqlGroups(
            db,
            `SELECT coalesce(d.value, s.value), count(*), sum(k.end - k.start) FROM ${K} k
             LEFT JOIN StringIds d ON d.id = k.demangledName LEFT JOIN StringIds s ON s.id = k.shortName GROUP BY 1`,
          )
        : new Map<string, [number, number]>();
      const kernels = ofKind(profile, 'kernel');
      assert.equal(kernels.length, hasTable(db, K) ? scalar(db, `SELECT count(*) FROM ${K}`) : 0);
      assert.deepEqual(groups(kernels), expected);
    });

    void it('reads memcpy and memset: counts, ns, bytes, copy kinds', () => {
      for (const [table, kind] of [
        ['CUPTI_ACTIVITY_KIND_MEMCPY', 'memcpy'],
        ['CUPTI_ACTIVITY_KIND_MEMSET', 'memset'],
      ] as const) {
        const ops = ofKind(profile, kind);
        const [count, ns, bytes] = hasTable(db, table)
          ? (db
              .prepare(
                `SELECT count(*), coalesce(sum(end - start), 0), coalesce(sum(bytes), 0) FROM ${table}`,
              )
              .raw()
              .get() as number[])
          : [0, 0, 0];
        assert.equal(ops.length, count, `${kind} count`);
        assert.equal(
          ops.reduce((s, o) => s + o.endNs - o.startNs, 0),
          ns,
          `${kind} ns`,
        );
        assert.equal(
          ops.reduce((s, o) => s + (o.bytes ?? 0), 0),
          bytes,
          `${kind} bytes`,
        );
      }
      if (hasTable(db, 'CUPTI_ACTIVITY_KIND_MEMCPY')) {
        const htod = scalar(
          db,
          'SELECT count(*) FROM CUPTI_ACTIVITY_KIND_MEMCPY WHERE copyKind = 1',
        );
        const pageable = scalar(
          db,
          'SELECT count(*) FROM CUPTI_ACTIVITY_KIND_MEMCPY WHERE srcKind = 0',
        );
        const copies = ofKind(profile, 'memcpy');
        assert.equal(
          copies.filter((o) => o.copyKind === 'HtoD' && o.name === 'Memcpy HtoD').length,
          htod,
        );
        assert.equal(copies.filter((o) => o.srcKind === 'pageable').length, pageable);
      }
    });

    void it('reads NVTX push/pop and start/end ranges, count per name', () => {
      const expected = hasTable(db, 'NVTX_EVENTS')
        ? sqlGroups(
            db,
            `SELECT coalesce(e.text, s.value), count(*), sum(e.end - e.start) FROM NVTX_EVENTS e
             LEFT JOIN StringIds s ON s.id = e.textId WHERE e.eventType IN (59, 60) AND e.end IS NOT NULL GROUP BY 1`,
          )
        : new Map<string, [number, number]>();
      assert.deepEqual(groups(profile.ranges), expected);
      assert.ok(
        profile.ranges.every((r) => r.kind === 'nvtx' && r.endNs >= r.startNs && r.pid > 0),
      );
    });

    void it('reads every CUDA API call and the outermost OS runtime calls', () => {
      const calls = rowsOf(profile.cpuCalls);
      const cuda = calls.filter((c) => !c.kind.startsWith('os-'));
      const os = calls.filter((c) => c.kind.startsWith('os-'));
      assert.equal(cuda.length, hasTable(db, R) ? scalar(db, `SELECT count(*) FROM ${R}`) : 0);
      const osExpected = hasTable(db, 'OSRT_API')
        ? scalar(
            db,
            'SELECT count(*) FROM OSRT_API WHERE eventClass NOT IN (31, 32) AND coalesce(nestingLevel, 0) = 0',
          )
        : 0;
      assert.equal(os.length, osExpected);
      if (hasTable(db, R)) {
        const launches = scalar(
          db,
          `SELECT count(*) FROM ${R} r JOIN StringIds s ON s.id = r.nameId
           WHERE s.value LIKE 'cudaLaunchKernel%' OR s.value LIKE 'cuLaunchKernel%'`,
        );
        assert.equal(cuda.filter((c) => c.kind === 'launch').length, launches);
      }
    });

    void it('links each GPU op to the API call with its correlationId in the same process', () => {
      let expectedLinked = 0;
      for (const [table, kind] of [
        [K, 'kernel'],
        ['CUPTI_ACTIVITY_KIND_MEMCPY', 'memcpy'],
        ['CUPTI_ACTIVITY_KIND_MEMSET', 'memset'],
      ] as const) {
        if (!hasTable(db, table) || !hasTable(db, R)) continue;
        // One row per op (table order, as the reader scans it), with its launching call if any.
        const rows = db
          .prepare(
            `SELECT o.start, o.correlationId, r.start FROM ${table} o LEFT JOIN ${R} r
             ON r.correlationId = o.correlationId AND r.globalTid / 16777216 = o.globalPid / 16777216 ORDER BY o.rowid`,
          )
          .raw()
          .all() as [number, number, number | null][];
        const ops = ofKind(profile, kind);
        assert.equal(ops.length, rows.length);
        rows.forEach(([start, corr, callStart], i) => {
          const op = ops[i];
          assert.equal(op.startNs, start);
          if (callStart === null) return assert.equal(op.launchIndex, -1);
          expectedLinked++;
          const call = rowAt(profile.cpuCalls, op.launchIndex);
          assert.ok(call, `${kind} ${i} linked`);
          assert.equal(call.correlationId, corr);
          assert.equal(call.startNs, callStart);
        });
      }
      assert.equal(rowsOf(profile.gpuOps).filter((o) => o.launchIndex >= 0).length, expectedLinked);
    });

    void it('lists the CUDA devices of TARGET_INFO_GPU', () => {
      const sql = hasTable(db, 'TARGET_INFO_CUDA_DEVICE')
        ? `SELECT c.cudaId, g.name, g.smCount, g.totalMemory FROM TARGET_INFO_CUDA_DEVICE c
           JOIN TARGET_INFO_GPU g ON g.id = c.gpuId GROUP BY c.cudaId ORDER BY c.cudaId`
        : hasTable(db, 'TARGET_INFO_GPU')
          ? 'SELECT coalesce(cuDevice, id), name, smCount, totalMemory FROM TARGET_INFO_GPU WHERE smCount > 0 ORDER BY 1'
          : '';
      const expected = sql
        ? (db.prepare(sql).raw().all() as [number, string, number, number][])
        : [];
      assert.deepEqual(
        profile.devices.map((d) => [d.id, d.name, d.smCount, d.totalMemoryBytes]),
        expected,
      );
      for (const op of rowsOf(profile.gpuOps))
        assert.ok(profile.devices.some((d) => d.id === op.deviceId));
    });

    void it('spans first to last event, has no stacks without callchains, stamps rank 0', () => {
      const parts: string[] = [];
      for (const t of [K, R, 'CUPTI_ACTIVITY_KIND_MEMCPY', 'CUPTI_ACTIVITY_KIND_MEMSET']) {
        if (hasTable(db, t)) parts.push(`SELECT start, end FROM ${t}`);
      }
      if (hasTable(db, 'NVTX_EVENTS'))
        parts.push(
          'SELECT start, end FROM NVTX_EVENTS WHERE eventType IN (59, 60) AND end IS NOT NULL',
        );
      if (hasTable(db, 'OSRT_API'))
        parts.push(
          'SELECT start, end FROM OSRT_API WHERE eventClass NOT IN (31, 32) AND coalesce(nestingLevel, 0) = 0',
        );
      const [min, max] = db
        .prepare(`SELECT min(start), max(end) FROM (${parts.join(' UNION ALL ')})`)
        .raw()
        .get() as number[];
      assert.equal(profile.spanStartNs, min);
      assert.equal(profile.spanEndNs, max);
      if (!hasTable(db, 'CUDA_CALLCHAINS')) {
        assert.ok(rowsOf(profile.gpuOps).every((o) => o.stackId === -1));
      }
      const all = [...rowsOf(profile.gpuOps), ...rowsOf(profile.cpuCalls), ...profile.ranges];
      assert.ok(all.every((e) => e.rank === 0));
      db.close();
    });
  });
}

void describe('readNsysSqlite options', () => {
  void it('stamps the given rank on every event', () => {
    const file = allFixtures('nsys').find((f) => f.includes('2026.2'));
    assert.ok(file, 'the 2026.2 fixture is present');
    const p = readNsysSqlite(file, { rank: 3 });
    const all = [...rowsOf(p.gpuOps), ...rowsOf(p.cpuCalls), ...p.ranges];
    assert.ok(all.length > 0);
    assert.ok(all.every((e) => e.rank === 3));
  });
});
