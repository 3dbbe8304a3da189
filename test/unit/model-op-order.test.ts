/**
 * Device order (core/model-op-order.ts): loadTrace returns the GPU ops by rank, device and start,
 * each op with all its fields (copy details and collectives included), and a device whose ops are
 * apart gets its busy union as views of the op columns. Checked on real traces against the reader's
 * own order.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { putOpsInDeviceOrder } from '../../src/core/model-op-order';
import { deviceTimelines } from '../../src/core/device-timelines';
import { unionIntervals } from '../../src/core/intervals';
import { loadTrace } from '../../src/core/load';
import type { GpuOp } from '../../src/core/model';
import { GpuOps } from '../../src/core/model-gpu-ops';
import { readKineto } from '../../src/core/ingest/kineto';
import { readNsysSqlite } from '../../src/core/ingest/nsys-sqlite';
import { readRankFolder } from '../../src/core/ingest/ranks';
import { fixture } from './fixtures';

/** A two-rank folder: copies of a real trace, so ranks' ops are appended one after the other. */
function twoRanks(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-lens-order-'));
  for (const r of [0, 1])
    fs.copyFileSync(
      fixture('torch', 'a100-alexnet-nostack.json.gz'),
      path.join(dir, `rank${r}.json.gz`),
    );
  return dir;
}
const RANKS = twoRanks();
after(() => fs.rmSync(RANKS, { recursive: true, force: true }));

const all = (ops: GpuOps): GpuOp[] => Array.from({ length: ops.length }, (_, i) => ops.get(i));

/** The reader's ops sorted by (rank, device, start), ties in the order read: what loadTrace must give. */
function expectedOrder(ops: GpuOp[]): GpuOp[] {
  return ops
    .map((op, i) => ({ op, i }))
    .sort(
      (a, b) =>
        a.op.rank - b.op.rank ||
        a.op.deviceId - b.op.deviceId ||
        a.op.startNs - b.op.startNs ||
        a.i - b.i,
    )
    .map((x) => x.op);
}

const inputs: [string, () => Promise<GpuOp[]>][] = [
  [
    'nsys rtx5000',
    () =>
      Promise.resolve(
        all(readNsysSqlite(fixture('nsys', 'rtx5000-attention-nvtx-2026.2.sqlite')).gpuOps),
      ),
  ],
  [
    'nsys h200',
    () =>
      Promise.resolve(
        all(readNsysSqlite(fixture('nsys', 'h200-nvfuser-nvtx-2024.6.sqlite')).gpuOps),
      ),
  ],
  [
    'kineto a100-nccl',
    async () => all((await readKineto(fixture('torch', 'a100-nccl.json.gz'))).gpuOps),
  ],
  ['rank folder', async () => all((await readRankFolder(RANKS)).gpuOps)],
];
const sources: Record<string, string> = {
  'nsys rtx5000': fixture('nsys', 'rtx5000-attention-nvtx-2026.2.sqlite'),
  'nsys h200': fixture('nsys', 'h200-nvfuser-nvtx-2024.6.sqlite'),
  'kineto a100-nccl': fixture('torch', 'a100-nccl.json.gz'),
  'rank folder': RANKS,
};

for (const [name, read] of inputs) {
  void test(`device order: loadTrace's ops are the reader's, by rank, device and start (${name})`, async () => {
    const asRead = await read();
    assert.ok(asRead.length > 0);
    const loaded = await loadTrace(sources[name]);
    assert.deepEqual(all(loaded.gpuOps), expectedOrder(asRead));
  });
}

void test('device order: copy details and collectives follow their ops', () => {
  const ops: GpuOp[] = [];
  for (let i = 0; i < 120; i++) {
    const op: GpuOp = {
      kind: 'kernel',
      name: `k${i % 5}`,
      // Two devices on two ranks, interleaved, each in reverse time order.
      startNs: 10_000 - i * 10,
      endNs: 10_000 - i * 10 + 4,
      deviceId: i % 2,
      streamId: 7,
      rank: (i >> 1) % 2,
      launchIndex: i,
      stackId: -1,
      isComm: false,
    };
    if (i % 7 === 3) Object.assign(op, { kind: 'memcpy', bytes: i * 100, copyKind: 'DtoH' });
    if (i % 11 === 5)
      Object.assign(op, { isComm: true, collective: { group: '0', name: 'allreduce', seq: i } });
    ops.push(op);
  }
  const table = GpuOps.from(ops);
  putOpsInDeviceOrder(table);
  const want = expectedOrder(ops);
  assert.deepEqual(all(table), want);
  for (let i = 0; i < want.length; i++) {
    assert.equal(table.bytesOf(i), want[i].bytes ?? NaN, `op ${i}`);
    assert.deepEqual(table.collectiveOf(i), want[i].collective, `op ${i}`);
  }
  // Sparse rows stay in op order: appending after the last op still works, before it throws.
  assert.throws(() => table.setCopy(0, 1, 255, 255, 255), /out of op order/);
});

void test('device order: apart ops share their columns with the busy union, which matches a copy', async () => {
  const profile = await loadTrace(fixture('nsys', 'rtx5000-attention-nvtx-2026.2.sqlite'));
  const ops = profile.gpuOps;
  let apart = 0;
  for (const tl of deviceTimelines(profile)) {
    // The union as the object path merges it.
    const want = unionIntervals(
      Array.from(tl.ops, (i) => ({ startNs: ops.startNs[i], endNs: ops.endNs[i] })),
    );
    assert.deepEqual(
      Array.from({ length: tl.busy.length }, (_, k) => ({
        startNs: tl.busy.starts[k],
        endNs: tl.busy.ends[k],
      })),
      want,
    );
    if (tl.busy.length === tl.ops.length) {
      apart++;
      assert.equal(tl.busy.starts.buffer, ops.startNs.buffer, 'apart ops: a view, not a copy');
    }
  }
  assert.ok(apart > 0, 'this trace has a device whose ops never overlap');
});
