/**
 * GpuOps (core/model-gpu-ops.ts): ops read back as given, with bytes and memory kinds (CopyDetails)
 * and collectives (OpCollectives) kept only for the ops that have them, on real traces and odd ones.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { loadTrace } from '../../src/core/load';
import type { GpuOp } from '../../src/core/model';
import { GpuOps } from '../../src/core/model-gpu-ops';
import { fixture } from './fixtures';
import { loadTrace as kinetoTrace } from './kineto-helpers';

const kinetoEvents = (file: string) => kinetoTrace(file).events;

const kernel = (i: number): GpuOp => ({
  kind: 'kernel',
  name: `k${i % 3}`,
  startNs: i * 10,
  endNs: i * 10 + 5,
  deviceId: 0,
  streamId: 7,
  rank: 0,
  launchIndex: -1,
  stackId: -1,
  isComm: false,
});

void test('gpu ops: copy details only where given, read back per op, in op order only', () => {
  const ops: GpuOp[] = [];
  for (let i = 0; i < 200; i++) {
    const op = kernel(i);
    if (i % 17 === 3)
      Object.assign(op, { kind: 'memcpy', bytes: i * 1000, copyKind: 'HtoD', srcKind: 'pageable' });
    if (i % 29 === 5) Object.assign(op, { kind: 'memset', dstKind: 'device' });
    if (i === 199) op.bytes = 0; // bytes alone, recorded as 0
    if (i % 23 === 7)
      Object.assign(op, { isComm: true, collective: { group: '0', name: 'allreduce', seq: i } });
    ops.push(op);
  }
  const table = GpuOps.from(ops);
  assert.equal(table.copies.length, ops.filter((o) => o.bytes !== undefined || o.dstKind).length);
  ops.forEach((op, i) => assert.deepEqual(table.get(i), op, `op ${i}`));
  for (let i = 0; i < ops.length; i++) {
    assert.equal(table.bytesOf(i), ops[i].bytes ?? NaN);
    assert.equal(table.copyCode(i, 'copyKind') === 255, ops[i].copyKind === undefined);
  }
  assert.throws(() => table.setCopy(10, 1, 255, 255, 255), /out of op order/);
  assert.equal(table.opCollectives.length, ops.filter((o) => o.collective).length);
  for (let i = 0; i < ops.length; i++)
    assert.equal(table.collectiveIdOf(i) >= 0, ops[i].collective !== undefined, `op ${i}`);
  assert.throws(() => table.setCollective(10, 0), /out of op order/);
});

void test('gpu ops: the NCCL kernels of a real trace keep the collective their args name', async () => {
  // a100-nccl: the kernels whose args carry "Collective name" (and the process group).
  const json = fixture('torch', 'a100-nccl.json.gz');
  const tagOf = (group: unknown, name: unknown, seq: unknown) =>
    `${String(group)}/${String(name)}/${String(seq)}`;
  const want = kinetoEvents(json)
    .filter((e) => e.ph === 'X' && e.cat === 'kernel' && /nccl/i.test(String(e.name)))
    .filter((e) => typeof e.args?.['Collective name'] === 'string')
    .map((e) => tagOf(e.args?.['Process Group Name'], e.args?.['Collective name'], e.args?.Seq))
    .sort();
  assert.ok(want.length > 0);
  const ops = (await loadTrace(json)).gpuOps;
  const got: string[] = [];
  for (let i = 0; i < ops.length; i++) {
    const c = ops.collectiveOf(i);
    if (c) got.push(tagOf(c.group, c.name, c.seq));
  }
  assert.deepEqual(got.sort(), want);
  assert.equal(
    ops.opCollectives.length,
    want.length,
    'one row per tagged kernel, none for the rest',
  );
});

void test('gpu ops: the copies of real traces keep the bytes their trace recorded', async () => {
  const sum = (ops: GpuOps): { n: number; bytes: number } => {
    let n = 0;
    let bytes = 0;
    for (let i = 0; i < ops.length; i++) {
      if (ops.kindOf(i) === 'kernel') continue;
      n++;
      bytes += ops.bytesOf(i);
    }
    return { n, bytes };
  };
  // nsys: every memcpy and memset row, against SQL over the export.
  const sqlite = fixture('nsys', 'rtx5000-attention-nvtx-2026.2.sqlite');
  const db = new Database(sqlite, { readonly: true });
  const want = db
    .prepare(
      `SELECT COUNT(*) AS n, SUM(bytes) AS bytes FROM (SELECT bytes FROM CUPTI_ACTIVITY_KIND_MEMCPY
       UNION ALL SELECT bytes FROM CUPTI_ACTIVITY_KIND_MEMSET)`,
    )
    .get() as { n: number; bytes: number };
  db.close();
  assert.ok(want.n > 0);
  const nsys = (await loadTrace(sqlite)).gpuOps;
  assert.deepEqual(sum(nsys), want);
  assert.equal(nsys.copies.length, want.n, 'one detail row per copy or memset, none for kernels');
  // Kineto: the gpu_memcpy / gpu_memset events and their `bytes` args.
  const json = fixture('torch', 'h100-owlv2-stack.json.gz');
  const copies = kinetoEvents(json).filter(
    (e) => e.ph === 'X' && (e.cat === 'gpu_memcpy' || e.cat === 'gpu_memset'),
  );
  assert.ok(copies.length > 0);
  assert.deepEqual(sum((await loadTrace(json)).gpuOps), {
    n: copies.length,
    bytes: copies.reduce((a, e) => a + Number(e.args?.bytes ?? 0), 0),
  });
});
