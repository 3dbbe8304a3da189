import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import * as zlib from 'node:zlib';
import { readKineto } from '../../src/core/ingest/kineto';
import { readRankFolder } from '../../src/core/ingest/ranks';
import { fixture } from './fixtures';
import { kernelTotals, loadTrace, traceText } from './kineto-helpers';
import { rowAt, rowsOf } from './table-rows';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gpulens-kineto-'));

/** A synthetic trace of several MB: names with `}, {`, escaped quotes and uneven whitespace. */
function bigTrace(kernels: number): string {
  const parts: string[] = [];
  for (let i = 0; i < kernels; i++) {
    const name =
      i % 3 === 0 ? `k"}, {"weird\\\\${i % 5}` : i % 3 === 1 ? `gemm_${i % 7}` : '{lambda}, {x}';
    parts.push(
      JSON.stringify({
        ph: 'X',
        cat: 'cuda_runtime',
        name: 'cudaLaunchKernel',
        pid: 1,
        tid: 1,
        ts: i * 10,
        dur: 2.5,
        args: { correlation: i },
      }),
      (i % 2 ? '\n   ' : '') +
        JSON.stringify({
          ph: 'X',
          cat: 'kernel',
          name,
          pid: 0,
          tid: 7,
          ts: i * 10 + 3.125,
          dur: 1 + (i % 11) * 0.001,
          args: { correlation: i, device: 0, stream: 7, nested: [{ a: '}, {' }, { b: 1 }] },
        }),
    );
  }
  return `{"schemaVersion": 1, "metadata": {"env": {"SECRET": "x"}}, "traceEvents": [\n${parts.join(',\n')}\n], "displayTimeUnit": "ms"}`;
}

void test('kineto streaming: a multi-chunk trace gives the same totals as JSON.parse (plain and gzip)', async () => {
  const dir = tmp();
  const text = bigTrace(40000);
  assert.ok(text.length > 8 * (1 << 20), 'the trace must span several 1 MB chunks');
  const plain = path.join(dir, 'big.json');
  const gz = path.join(dir, 'big.json.gz');
  fs.writeFileSync(plain, text);
  fs.writeFileSync(gz, zlib.gzipSync(text));
  const expected = kernelTotals(loadTrace(plain).events);
  for (const file of [plain, gz]) {
    let last = 0;
    const profile = await readKineto(file, {
      onProgress: (n, total) => (last = n === total ? n : last),
    });
    const actual = new Map<string, { count: number; ns: number }>();
    const ops = rowsOf(profile.gpuOps);
    for (const op of ops) {
      const t = actual.get(op.name) ?? { count: 0, ns: 0 };
      t.count++;
      t.ns += op.endNs - op.startNs;
      actual.set(op.name, t);
    }
    assert.deepEqual(actual, expected);
    assert.ok(ops.every((o) => o.launchIndex >= 0));
    assert.equal(last, fs.statSync(file).size, 'progress reaches the file size');
    assert.deepEqual(profile.warnings, []);
  }
});

void test('kineto streaming: bad input gives clear errors, bad single events only warnings', async () => {
  const dir = tmp();
  const write = (name: string, data: string | Buffer) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, data);
    return f;
  };
  const good = traceText(fixture('torch', 'h100-bert-small-stack.json.gz'));
  await assert.rejects(readKineto(write('empty.json', '')), /empty/);
  await assert.rejects(readKineto(write('text.json', 'hello world')), /not a JSON trace/);
  await assert.rejects(readKineto(write('cut.json', good.slice(0, good.length / 2))), /truncated/);
  const gz = zlib.gzipSync(good);
  await assert.rejects(
    readKineto(write('cut.json.gz', gz.subarray(0, gz.length / 2))),
    /truncated/,
  );
  await assert.rejects(readKineto(write('obj.json', '{"foo": 1}')), /no "traceEvents"/);
  await assert.rejects(readKineto(write('none.json', '[]')), /no events/);
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(readKineto(write('ok.json', good), { signal: ac.signal }), /abort/i);

  const mixed = write(
    'mixed.json',
    '[{"ph":"X","cat":"kernel","name":"k","pid":0,"tid":7,"ts":1,"dur":2}, 5, {"ph":"X","cat":"kernel","pid":0}]',
  );
  const profile = await readKineto(mixed);
  assert.equal(profile.gpuOps.length, 1);
  assert.equal(profile.warnings.length, 2);
});

void test('kineto ranks: a folder of two rank traces merges into one profile', async () => {
  const dir = tmp();
  const text = traceText(fixture('torch', 'h100-bert-small-stack.json.gz'));
  fs.writeFileSync(path.join(dir, 'rank-0.pt.trace.json'), text);
  fs.writeFileSync(path.join(dir, 'rank-1.pt.trace.json.gz'), zlib.gzipSync(text));
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'not a trace');
  const single = await readKineto(path.join(dir, 'rank-0.pt.trace.json'));
  const merged = await readRankFolder(dir);
  assert.equal(merged.rankCount, 2);
  const kernels = (p: typeof merged) => rowsOf(p.gpuOps).filter((o) => o.kind === 'kernel');
  assert.equal(kernels(merged).length, 2 * kernels(single).length);
  const mergedOps = rowsOf(merged.gpuOps);
  assert.deepEqual(new Set(mergedOps.map((o) => o.rank)), new Set([0, 1]));
  assert.deepEqual(new Set(merged.ranges.map((o) => o.rank)), new Set([0, 1]));
  assert.deepEqual(new Set(rowsOf(merged.operators).map((o) => o.rank)), new Set([0, 1]));
  // Indices are re-based: rank 1's launches and stacks point at rank 1's calls.
  for (const op of mergedOps.filter((o) => o.launchIndex >= 0))
    assert.equal(rowAt(merged.cpuCalls, op.launchIndex)?.rank, op.rank);
  const r1 = mergedOps.find((o) => o.rank === 1 && o.stackId >= 0);
  const r0 = mergedOps.find((o) => o.rank === 0 && o.stackId >= 0);
  assert.ok(r0 && r1);
  assert.deepEqual(merged.stacks[r1.stackId], merged.stacks[r0.stackId]);
  assert.notEqual(r1.stackId, r0.stackId);

  await assert.rejects(readRankFolder(tmp()), /no trace files/);
  await assert.rejects(readRankFolder(dir, { maxFiles: 1 }), /limit/);
});

void test('kineto operators: cpu_op events fill Profile.operators, user ranges and steps stay in ranges', async () => {
  const ev = (cat: string, name: string, ts: number, dur: number, args = {}) => ({
    ph: 'X',
    cat,
    name,
    pid: 5,
    tid: 6,
    ts,
    dur,
    args,
  });
  const trace = [
    ev('cpu_op', 'ProfilerStep#3', 0, 100),
    ev('user_annotation', 'forward', 1, 50),
    ev('cpu_op', 'c10d::allreduce_', 2, 10),
    ev('cpu_op', 'record_param_comms', 3, 2, {
      'Collective name': 'allreduce',
      'Process Group Name': '0',
      Seq: 4,
    }),
    ev('cpu_op', 'aten::mm', 20, 5, { 'Call stack': 'model.py(12): forward' }),
    { ph: 'i', name: '[memory]', pid: 5, tid: 6, ts: 21, args: { Addr: 7, Bytes: 64 } },
  ];
  const file = path.join(tmp(), 'ops.json');
  fs.writeFileSync(file, JSON.stringify({ traceEvents: trace }));
  const profile = await readKineto(file);
  assert.deepEqual(
    profile.ranges.map((r) => [r.name, r.kind]),
    [
      ['ProfilerStep#3', 'step'],
      ['forward', 'annotation'],
    ],
  );
  const ops = rowsOf(profile.operators);
  assert.deepEqual(
    ops.map((r) => [r.name, r.kind, r.startNs, r.endNs, r.pid, r.tid, r.rank, r.domain]),
    [
      ['c10d::allreduce_', 'op', 2000, 12000, 5, 6, 0, ''],
      ['record_param_comms', 'op', 3000, 5000, 5, 6, 0, ''],
      ['aten::mm', 'op', 20000, 25000, 5, 6, 0, ''],
    ],
  );
  assert.deepEqual(ops[1].collective, { group: '0', name: 'allreduce', seq: 4 });
  assert.equal(ops[0].collective, undefined);
  // The legacy call stack of aten::mm is its own stack and the stack of the allocation inside it.
  const mm = profile.stacks[ops[2].stackId];
  assert.deepEqual([mm[0].file, mm[0].line], ['model.py', 12]);
  assert.equal(profile.memoryEvents.get(0).stackId, ops[2].stackId);
});
