import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { readKineto } from '../../src/core/ingest/kineto';
import { fixture } from './fixtures';
import { KERNEL_CATS, LAUNCH_CATS, type TraceEvent, frameOf, loadTrace } from './kineto-helpers';
import { rowAt, rowsOf } from './table-rows';

/** Innermost frames of a kernel by a walk of our own over the trace's python_function tree. */
function expectedInnermost(events: TraceEvent[], kernel: TraceEvent) {
  const launch = events.find(
    (e) => LAUNCH_CATS.has(e.cat ?? '') && e.args?.correlation === kernel.args?.correlation,
  );
  if (!launch) return null;
  const py = events.filter(
    (e) =>
      e.cat === 'python_function' &&
      e.pid === launch.pid &&
      e.tid === launch.tid &&
      (e.ts ?? 0) <= (launch.ts ?? 0) &&
      (e.ts ?? 0) + (e.dur ?? 0) >= (launch.ts ?? 0),
  );
  // Innermost = latest start (shortest on ties).
  py.sort((a, b) => (b.ts ?? 0) - (a.ts ?? 0) || (a.dur ?? 0) - (b.dur ?? 0));
  const byId = new Map(
    events.filter((e) => e.cat === 'python_function').map((e) => [e.args?.['Python id'], e]),
  );
  const frames = [];
  for (
    let e = py[0];
    e && frames.length < 3;
    e = byId.get(e.args?.['Python parent id']) as TraceEvent
  ) {
    const f = frameOf(e.name ?? '');
    if (f) frames.push(f);
  }
  return frames;
}

for (const name of [
  'h100-bert-small-stack.json.gz',
  'h100-qwen0.5b-stack.json.gz',
  'h100-owlv2-stack.json.gz',
]) {
  void test(`kineto stacks ${name}: top kernels' innermost frames match a python_function walk`, async () => {
    const file = fixture('torch', name);
    const { events } = loadTrace(file);
    const profile = await readKineto(file);
    const kernels = events.filter((e) => e.ph === 'X' && KERNEL_CATS.has(e.cat ?? ''));
    const ops = rowsOf(profile.gpuOps).filter((o) => o.kind === 'kernel');
    const top = kernels
      .map((e, i) => ({ e, i }))
      .sort((a, b) => (b.e.dur ?? 0) - (a.e.dur ?? 0))
      .slice(0, 25);
    let checked = 0;
    for (const { e, i } of top) {
      const expected = expectedInnermost(events, e);
      if (!expected || expected.length === 0) continue;
      const stack = profile.stacks[ops[i].stackId];
      assert.ok(stack, `kernel ${e.name} has no stack`);
      assert.deepEqual(
        stack
          .slice(0, expected.length)
          .map((f) => ({ file: f.file, line: f.line, function: f.function })),
        expected,
      );
      assert.equal(stack[0].precision, 'function');
      checked++;
    }
    assert.ok(checked >= 10, `only ${checked} kernels checked`);
  });
}

void test('kineto stacks: a backward kernel on the autograd thread gets its forward op stack', async () => {
  const { top, events } = loadTrace(fixture('torch', 'backward-thread.json'));
  // The fixture holds the backward side only: add the forward op (same Sequence number) and its
  // Python frames on the main thread, as a full trace would have them.
  const fwd: TraceEvent[] = [
    {
      ph: 'X',
      cat: 'python_function',
      name: 'train.py(10): train_step',
      pid: 3914,
      tid: 3914,
      ts: 1666149715100000,
      dur: 1000,
      args: { 'Python id': 1, 'Python parent id': null },
    },
    {
      ph: 'X',
      cat: 'python_function',
      name: 'model.py(20): forward',
      pid: 3914,
      tid: 3914,
      ts: 1666149715100100,
      dur: 300,
      args: { 'Python id': 2, 'Python parent id': 1 },
    },
    {
      ph: 'X',
      cat: 'python_function',
      name: '<built-in function linear>',
      pid: 3914,
      tid: 3914,
      ts: 1666149715100150,
      dur: 100,
      args: { 'Python id': 3, 'Python parent id': 2 },
    },
    {
      ph: 'X',
      cat: 'cpu_op',
      name: 'aten::addmm',
      pid: 3914,
      tid: 3914,
      ts: 1666149715100160,
      dur: 50,
      args: { 'Sequence number': 714649 },
    },
  ];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpulens-bwd-'));
  const file = path.join(dir, 'trace.json');
  fs.writeFileSync(file, JSON.stringify({ ...top, traceEvents: [...events, ...fwd] }));
  const profile = await readKineto(file);
  const kernel = rowsOf(profile.gpuOps).find((o) => o.kind === 'kernel');
  assert.ok(kernel && kernel.stackId >= 0, 'backward kernel has no stack');
  const stack = profile.stacks[kernel.stackId];
  assert.deepEqual(
    stack.map((f) => `${f.file}:${f.line}:${f.function}`),
    ['model.py:20:forward', 'train.py:10:train_step'],
  );
  // Without the forward op the same kernel has no stack: the mapping is what gives it one.
  const bare = await readKineto(fixture('torch', 'backward-thread.json'));
  assert.equal(rowAt(bare.gpuOps, 0)?.stackId, -1);
});

void test('kineto stacks: legacy "Call stack" of the enclosing operator', async () => {
  const file = fixture('torch', 'v100-resnet50-legacy-callstack.pt.trace.json.gz');
  const { events } = loadTrace(file);
  const profile = await readKineto(file);
  const kernels = events.filter((e) => e.ph === 'X' && KERNEL_CATS.has(e.cat ?? ''));
  const ops = rowsOf(profile.gpuOps).filter((o) => o.kind === 'kernel');
  const launches = new Map(
    events.filter((e) => LAUNCH_CATS.has(e.cat ?? '')).map((e) => [e.args?.correlation, e]),
  );
  const operators = events.filter(
    (e) => e.cat === 'Operator' && typeof e.args?.['Call stack'] === 'string',
  );
  let checked = 0;
  for (let i = 0; i < kernels.length && checked < 200; i += 7) {
    const launch = launches.get(kernels[i].args?.correlation);
    if (!launch) continue;
    const t = launch.ts ?? 0;
    const holding = operators
      .filter(
        (o) =>
          String(o.tid) === String(launch.tid) &&
          (o.ts ?? 0) <= t &&
          (o.ts ?? 0) + (o.dur ?? 0) >= t,
      )
      .sort((a, b) => (b.ts ?? 0) - (a.ts ?? 0));
    if (holding.length === 0) continue;
    const first = frameOf((holding[0].args?.['Call stack'] as string).split(';')[0]);
    const stack = profile.stacks[ops[i].stackId];
    assert.ok(stack, `kernel ${i} has no stack`);
    assert.deepEqual(
      { file: stack[0].file, line: stack[0].line, function: stack[0].function },
      first,
    );
    assert.equal(stack[0].precision, 'line');
    checked++;
  }
  assert.ok(checked >= 50, `only ${checked} kernels checked`);
});
