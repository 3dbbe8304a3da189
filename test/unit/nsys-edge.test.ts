/**
 * readNsysSqlite on files the real fixtures do not cover: not SQLite, empty, tables missing,
 * Python callchains, NVTX domains, correlation ids shared by two processes; read-only proof; and
 * the nsys locating/export errors. Every input is made in a temporary folder.
 */
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { exportNsysRep, findNsys, NSYS_NOT_FOUND } from '../../src/core/ingest/nsys-export';
import { readNsysSqlite } from '../../src/core/ingest/nsys-sqlite';
import { LaunchLinker } from '../../src/core/ingest/nsys-launch-linker';
import { parsePythonFrame } from '../../src/core/ingest/nsys-stacks';
import { allFixtures } from './fixtures';
import { rowAt, rowsOf } from './table-rows';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-lens-nsys-edge-'));
const fixture2026 = allFixtures('nsys').find((f) => f.includes('2026.2')) ?? '';
const NOT_NSYS = /^not an Nsight Systems SQLite export: /;

/** Process keys (vm 1, pid) and globalTid/globalPid values as nsys packs them. */
const P1 = 2 ** 48 + 100 * 2 ** 24;
const P2 = 2 ** 48 + 200 * 2 ** 24;

function makeSynthetic(file: string): void {
  const db = new Database(file);
  db.exec(`
    CREATE TABLE StringIds (id INTEGER PRIMARY KEY, value TEXT);
    CREATE TABLE META_DATA_EXPORT (name TEXT, value TEXT);
    CREATE TABLE CUPTI_ACTIVITY_KIND_RUNTIME (start INT, end INT, eventClass INT, globalTid INT,
      correlationId INT, nameId INT, returnValue INT, callchainId INT);
    CREATE TABLE CUPTI_ACTIVITY_KIND_KERNEL (start INT, end INT, deviceId INT, streamId INT,
      correlationId INT, globalPid INT, demangledName INT, shortName INT);
    CREATE TABLE CUDA_CALLCHAINS (id INT, symbol INT, module INT, stackDepth INT);
    CREATE TABLE NVTX_EVENTS (start INT, end INT, eventType INT, text TEXT, textId INT, globalTid INT, domainId INT);
  `);
  const strings = [
    'cudaLaunchKernel_v7000', // 0
    'gemm_kernel', // 1
    'libcudart.so', // 2
    '[Python] forward (model.py:42)', // 3
    '_PyEval_EvalFrameDefault', // 4
    'python3.11', // 5
    '[Python] main (/w/train.py:7)', // 6
    'registered range', // 7
  ];
  const s = db.prepare('INSERT INTO StringIds VALUES (?, ?)');
  strings.forEach((v, i) => s.run(i, v));
  db.prepare("INSERT INTO META_DATA_EXPORT VALUES ('EXPORT_SCHEMA_VERSION', '3.16.1')").run();
  const chain = db.prepare('INSERT INTO CUDA_CALLCHAINS VALUES (?, ?, ?, ?)');
  // Chain 1: native, Python, native, Python (depth 0 innermost). Chain 2: native only.
  chain.run(1, 0, 2, 0);
  chain.run(1, 3, 5, 1);
  chain.run(1, 4, 5, 2);
  chain.run(1, 6, 5, 3);
  chain.run(2, 0, 2, 0);
  const rt = db.prepare('INSERT INTO CUPTI_ACTIVITY_KIND_RUNTIME VALUES (?, ?, 0, ?, ?, 0, 0, ?)');
  rt.run(100, 110, P1 + 1, 10, 1); // call 0: process 1, corr 10, Python stack
  rt.run(200, 210, P1 + 1, 11, 2); // call 1: process 1, corr 11, native-only stack
  rt.run(300, 310, P2 + 2, 10, null); // call 2: process 2 reuses corr 10
  const k = db.prepare('INSERT INTO CUPTI_ACTIVITY_KIND_KERNEL VALUES (?, ?, 0, 7, ?, ?, 1, 1)');
  k.run(120, 150, 10, P1); // → call 0
  k.run(220, 250, 11, P1); // → call 1
  k.run(320, 350, 10, P2); // → call 2
  k.run(420, 450, 99, P1); // no call
  const nv = db.prepare('INSERT INTO NVTX_EVENTS VALUES (?, ?, ?, ?, ?, ?, ?)');
  nv.run(50, null, 75, 'my.domain', null, P1 + 1, 5); // domain create
  nv.run(90, 260, 60, 'epoch', null, P1 + 1, 5); // start/end range in my.domain
  nv.run(95, 255, 59, null, 7, P1 + 1, 0); // push/pop with a registered string
  nv.run(400, null, 59, 'never closed', null, P1 + 1, 0);
  db.close();
}

after(() => fs.rmSync(tmp, { recursive: true, force: true }));

void describe('nsys reader edge cases', () => {
  void it('rejects a file that is not SQLite, with a one-line message', () => {
    const file = path.join(tmp, 'notes.sqlite');
    fs.writeFileSync(file, 'this is a text file, not a database\n'.repeat(200));
    assert.throws(
      () => readNsysSqlite(file),
      (e: Error) => NOT_NSYS.test(e.message) && !e.message.includes('\n'),
    );
  });

  void it('rejects an empty SQLite database and one without nsys tables', () => {
    const empty = path.join(tmp, 'empty.sqlite');
    new Database(empty).close();
    assert.throws(() => readNsysSqlite(empty), { message: NOT_NSYS });
    const other = path.join(tmp, 'other.sqlite');
    const db = new Database(other);
    db.exec('CREATE TABLE users (id INT, name TEXT)');
    db.close();
    assert.throws(() => readNsysSqlite(other), { message: NOT_NSYS });
  });

  void it('says when the file does not exist', () => {
    assert.throws(
      () => readNsysSqlite(path.join(tmp, 'missing.sqlite')),
      /cannot open .*missing\.sqlite/,
    );
  });

  void it('reads a partial export (kernel, runtime and metadata tables dropped) with warnings', () => {
    const file = path.join(tmp, 'partial.sqlite');
    fs.copyFileSync(fixture2026, file);
    fs.chmodSync(file, 0o644);
    const db = new Database(file);
    db.exec(
      'DROP TABLE CUPTI_ACTIVITY_KIND_KERNEL; DROP TABLE CUPTI_ACTIVITY_KIND_RUNTIME; DROP TABLE META_DATA_EXPORT;',
    );
    const memcpy = db
      .prepare('SELECT count(*) FROM CUPTI_ACTIVITY_KIND_MEMCPY')
      .pluck()
      .get() as number;
    const nvtx = db
      .prepare('SELECT count(*) FROM NVTX_EVENTS WHERE eventType IN (59, 60)')
      .pluck()
      .get() as number;
    db.close();
    const p = readNsysSqlite(file);
    assert.equal(p.source.schemaVersion, '');
    assert.ok(p.warnings.some((w) => /schema version unknown/.test(w)));
    assert.ok(p.warnings.some((w) => /cannot be linked/.test(w)));
    assert.equal(rowsOf(p.gpuOps).filter((o) => o.kind === 'memcpy').length, memcpy);
    assert.ok(rowsOf(p.gpuOps).every((o) => o.kind !== 'kernel' && o.launchIndex === -1));
    assert.equal(p.ranges.length, nvtx);
  });

  void it('counts the rows of a table whose rowids jump far past its size (an edited export)', () => {
    // One kernel and one runtime call moved to rowid 240,000,000 in a ~1 MB file: the rowid span
    // (the usual row count) would be past the event budget and size the tables for 240 M rows.
    const file = path.join(tmp, 'rowid-jump.sqlite');
    fs.copyFileSync(fixture2026, file);
    fs.chmodSync(file, 0o644);
    const db = new Database(file);
    const count = (table: string) =>
      db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
    for (const table of ['CUPTI_ACTIVITY_KIND_KERNEL', 'CUPTI_ACTIVITY_KIND_RUNTIME'])
      db.exec(
        `UPDATE ${table} SET rowid = 240000000 WHERE rowid = (SELECT max(rowid) FROM ${table})`,
      );
    const ops = ['KERNEL', 'MEMCPY', 'MEMSET'].reduce(
      (n, t) => n + count(`CUPTI_ACTIVITY_KIND_${t}`),
      0,
    );
    const calls = count('CUPTI_ACTIVITY_KIND_RUNTIME');
    db.close();
    assert.ok(fs.statSync(file).size < 240_000_000 / 4);
    const p = readNsysSqlite(file);
    assert.equal(p.gpuOps.length, ops);
    assert.equal(p.cpuCalls.length, calls);
  });

  void it('opens read-only: bytes and mtime unchanged, no journal or WAL files', () => {
    const file = path.join(tmp, 'copy.sqlite');
    fs.copyFileSync(fixture2026, file);
    fs.chmodSync(file, 0o644); // writable, so a non-read-only open could change it
    const before = { mtime: fs.statSync(file).mtimeMs, hash: sha256(file) };
    readNsysSqlite(file);
    assert.equal(fs.statSync(file).mtimeMs, before.mtime);
    assert.equal(sha256(file), before.hash);
    for (const suffix of ['-wal', '-shm', '-journal']) assert.ok(!fs.existsSync(file + suffix));
  });

  void it('builds Python-only stacks from CUDA_CALLCHAINS and links per process', () => {
    const file = path.join(tmp, 'synthetic.sqlite');
    makeSynthetic(file);
    const p = readNsysSqlite(file);
    assert.equal(p.source.schemaVersion, '3.16.1');
    assert.deepEqual(
      rowsOf(p.gpuOps).map((o) => o.launchIndex),
      [0, 1, 2, -1],
    );
    const [k0, k1, k2] = rowsOf(p.gpuOps);
    assert.deepEqual(p.stacks[k0.stackId], [
      { file: 'model.py', line: 42, function: 'forward', precision: 'line' },
      { file: '/w/train.py', line: 7, function: 'main', precision: 'line' },
    ]);
    assert.equal(rowAt(p.cpuCalls, 0)?.stackId, k0.stackId);
    assert.equal(k1.stackId, -1, 'a callchain without Python frames gives no stack');
    assert.equal(k2.stackId, -1);
    assert.equal(rowAt(p.cpuCalls, 2)?.pid, 200);
    assert.equal(rowAt(p.cpuCalls, 0)?.kind, 'launch');
  });

  void it('names NVTX domains and registered strings, skips unclosed ranges with a warning', () => {
    const p = readNsysSqlite(path.join(tmp, 'synthetic.sqlite'));
    const byName = new Map(p.ranges.map((r) => [r.name, r]));
    assert.equal(p.ranges.length, 2);
    assert.equal(byName.get('epoch')?.domain, 'my.domain');
    assert.equal(byName.get('registered range')?.domain, '');
    assert.equal(byName.get('epoch')?.tid, 1);
    assert.ok(p.warnings.some((w) => /^1 NVTX range/.test(w)));
  });
});

void describe('LaunchLinker', () => {
  void it('finds every call through table growth, strided ids and ids shared by two processes', () => {
    const linker = new LaunchLinker();
    const ids: number[] = [];
    // Even i: dense ids; odd i: ids 20,000 apart (up to 3e9), as gaps in real traces.
    for (let i = 0; i < 150_000; i++) ids.push(i % 2 === 0 ? i + 1 : 200_000 + i * 20_000);
    ids.push(-5, 2 ** 40, 0); // outside uint32, and 0
    ids.forEach((id, i) => linker.add(id, 1, i));
    // Process 2 reuses the first 1000 ids.
    for (let i = 0; i < 1000; i++) linker.add(ids[i], 2, ids.length + i);
    ids.forEach((id, i) => assert.equal(linker.find(id, 1), i));
    for (let i = 0; i < 1000; i++) assert.equal(linker.find(ids[i], 2), ids.length + i);
    assert.equal(linker.find(ids[5000], 2), -1, 'an id of process 1 only');
    assert.equal(linker.find(123_456_789, 1), -1, 'an unknown id');
    assert.equal(linker.find(ids[5000], null), 5000, 'no process given');
    assert.equal(linker.find(ids[7], null), -1, 'no process given for an id two processes share');
  });

  void it('keeps up with a process per call (a hostile export: no scan over the processes)', () => {
    const n = 200_000;
    const linker = new LaunchLinker(n);
    for (let i = 0; i < n; i++) linker.add(n - i, i, i); // descending ids: the sort runs too
    for (let i = 0; i < n; i += 997) {
      assert.equal(linker.find(n - i, i), i);
      assert.equal(linker.find(n - i, i + 1), -1);
      assert.equal(linker.find(n - i, null), i);
    }
  });

  void it('answers as a map of first calls does, whatever the order of ids and processes', () => {
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const scenarios: Record<string, (i: number, last: number) => [number, number]> = {
      increasing: (_, last) => [last + random(3), 1], // repeats, steps of 1 and 2
      'out of order at the end': (i, last) => [i === 3000 ? 5 : last + 1 + random(50), 1],
      'a second process': (i, last) => [i < 2000 ? last + 1 : i - 1990, i < 2000 ? 1 : 2],
      'odd ids': (i, last) => [i % 997 === 0 ? -i : last + 1, 1],
      shuffled: () => [random(4000), 1 + random(2)],
    };
    for (const [name, next] of Object.entries(scenarios)) {
      const linker = new LaunchLinker(name === 'increasing' ? 10 : 4000); // 10: the column grows
      const first = new Map<string, number>();
      const added: number[] = [];
      let last = 0;
      for (let i = 0; i < 4000; i++) {
        const [id, proc] = next(i, last);
        if (id >= 0) last = id;
        linker.add(id, proc, i);
        added.push(id);
        for (const key of [`${proc}:${id}`, `*:${id}`]) if (!first.has(key)) first.set(key, i);
      }
      const procsOf = (id: number) => [1, 2].filter((p) => first.has(`${p}:${id}`));
      const expect = (id: number, proc: number | null): number => {
        if (proc !== null) return first.get(`${proc}:${id}`) ?? -1;
        if (id >>> 0 !== id) return first.get(`*:${id}`) ?? -1;
        const procs = procsOf(id);
        return procs.length === 1 ? (first.get(`${procs[0]}:${id}`) ?? -1) : -1;
      };
      // Asked in order, backwards and at random.
      const asked = [...added, ...added.slice().reverse(), -1, 123_456_789, last + 1];
      for (let k = 0; k < 2000; k++) asked.push(added[random(added.length)] + random(2));
      for (const id of asked) {
        for (const proc of [1, 2, 3, null]) {
          assert.equal(linker.find(id, proc), expect(id, proc), `${name}: ${id} in ${proc}`);
        }
      }
    }
  });
});

void describe('parsePythonFrame', () => {
  const cases: [string, string, [string, number, string] | null][] = [
    ['[Python] forward (model.py:42)', '', ['model.py', 42, 'forward']],
    ['[Python] /src/a.py:12 step', '', ['/src/a.py', 12, 'step']],
    ['[Python] step /src/a.py:12', '', ['/src/a.py', 12, 'step']],
    ['/src/a.py:12', '', ['/src/a.py', 12, '']],
    ['train.py(88): loop', '', ['train.py', 88, 'loop']],
    ['File "x/y.py", line 5, in run', '', ['x/y.py', 5, 'run']],
    ['run', '/w/x.py:9', ['/w/x.py', 9, 'run']],
    ['run:9', '/w/x.py', ['/w/x.py', 9, 'run']],
    ['run', '/w/x.py', null], // no line anywhere
    ['cudaLaunchKernel', 'libcudart.so.12', null],
    ['_PyEval_EvalFrameDefault', '/usr/bin/python3.11', null],
  ];
  for (const [symbol, module, want] of cases) {
    void it(`${JSON.stringify(symbol)} / ${JSON.stringify(module)}`, () => {
      const f = parsePythonFrame(symbol, module);
      assert.deepEqual(f && [f.file, f.line, f.function], want);
      if (f) assert.equal(f.precision, 'line');
    });
  }
});

void describe('nsys export errors', () => {
  void it('reports a missing nsys with the install hint', async () => {
    assert.equal(findNsys('/nonexistent/bin/nsys'), null);
    const rep = path.join(tmp, 'r.nsys-rep');
    fs.writeFileSync(rep, 'x');
    await assert.rejects(
      exportNsysRep(rep, path.join(tmp, 'out'), { nsysPath: '/nonexistent/bin/nsys' }),
      {
        message: NSYS_NOT_FOUND,
      },
    );
    assert.match(NSYS_NOT_FOUND, /gpuLens\.nsysPath/);
  });

  void it('refuses to write next to the report', async () => {
    const rep = path.join(tmp, 'r2.nsys-rep');
    fs.writeFileSync(rep, 'x');
    await assert.rejects(exportNsysRep(rep, tmp), /refusing to export next to the report/);
  });
});

function sha256(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}
