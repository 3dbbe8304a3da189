/**
 * The nsys reader's worker threads (nsys-table-scan.ts): reading the kernel and CUDA API tables on
 * workers gives the same Profile as reading them on the calling thread, on the real exports and on
 * rows whose values the typed columns cannot hold (text, blobs, nulls, fractions).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { readNsysSqlite } from '../../src/core/ingest/nsys-sqlite';
import { allFixtures } from './fixtures';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-lens-nsys-worker-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const P1 = 2 ** 48 + 100 * 2 ** 24;

function assertSameBothWays(file: string): void {
  const onWorker = readNsysSqlite(file, { workers: true });
  const here = readNsysSqlite(file, { workers: false });
  assert.deepStrictEqual(onWorker, here);
}

/** Runtime and kernel rows with odd values mixed among plain ones. */
function makeOdd(file: string): void {
  const db = new Database(file);
  db.exec(`
    CREATE TABLE StringIds (id INTEGER PRIMARY KEY, value TEXT);
    CREATE TABLE CUPTI_ACTIVITY_KIND_RUNTIME (start, end, globalTid, correlationId, nameId, callchainId);
    CREATE TABLE CUPTI_ACTIVITY_KIND_KERNEL (start, end, deviceId, streamId, correlationId,
      globalPid, demangledName, shortName);
    CREATE TABLE CUDA_CALLCHAINS (id INT, symbol INT, module INT, stackDepth INT);
  `);
  const s = db.prepare('INSERT INTO StringIds VALUES (?, ?)');
  ['cudaLaunchKernel_v7000', 'gemm', '[Python] f (m.py:1)', 'python3'].forEach((v, i) =>
    s.run(i, v),
  );
  db.prepare('INSERT INTO CUDA_CALLCHAINS VALUES (1, 2, 3, 0)').run();
  const rt = db.prepare('INSERT INTO CUPTI_ACTIVITY_KIND_RUNTIME VALUES (?, ?, ?, ?, ?, ?)');
  rt.run(100, 110, P1 + 1, 10, 0, 1);
  rt.run(200, 210, P1 + 1, '11', 0, null); // text correlationId
  rt.run(null, 310, P1 + 1, 12, 0, null); // null start
  rt.run(400, 410, null, 13, 1.5, null); // null thread, fractional name id
  rt.run(500, 510, P1 + 2, 14, Buffer.from('0'), 1); // blob name id
  rt.run(600, 610, P1 + 2, -3, 0, null); // correlationId outside uint32
  rt.run(700, 710, P1 + 2, null, null, null);
  const k = db.prepare('INSERT INTO CUPTI_ACTIVITY_KIND_KERNEL VALUES (?, ?, 0, 7, ?, ?, 1, 1)');
  k.run(120, 150, 10, P1);
  k.run(220, 250, '11', P1);
  k.run(320, 350, 11, P1);
  k.run('x', 450, 12, null);
  k.run(520, 550, -3, String(P1));
  k.run(620, 650, 14, P1);
  db.close();
}

void describe('nsys kernel and runtime tables on worker threads', () => {
  for (const file of allFixtures('nsys')) {
    void it(`reads ${path.basename(file)} as the calling thread does`, () => {
      assertSameBothWays(file);
    });
  }

  void it('keeps odd values as they were read', () => {
    const file = path.join(tmp, 'odd.sqlite');
    makeOdd(file);
    assertSameBothWays(file);
    const p = readNsysSqlite(file, { workers: true });
    assert.equal(p.cpuCalls.length, 7);
    assert.equal(p.gpuOps.launchIndex[0], 0);
  });
});
