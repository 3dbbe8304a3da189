import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { readKineto } from '../../src/core/ingest/kineto';
import { allFixtures, fixture } from './fixtures';
import {
  KERNEL_CATS,
  LAUNCH_CATS,
  MEMCPY_CATS,
  MEMSET_CATS,
  durNs,
  kernelTotals,
  loadTrace,
  traceText,
} from './kineto-helpers';
import { rowAt, rowsOf } from './table-rows';

for (const file of allFixtures('torch')) {
  void test(`kineto ${path.basename(file)}: kernels, copies, launches and devices match the trace`, async () => {
    const { top, events } = loadTrace(file);
    const profile = await readKineto(file);
    assert.equal(profile.source.format, 'kineto-json');

    const expected = kernelTotals(events);
    const actual = new Map<string, { count: number; ns: number }>();
    const ops = rowsOf(profile.gpuOps);
    for (const op of ops) {
      if (op.kind !== 'kernel') continue;
      const t = actual.get(op.name) ?? { count: 0, ns: 0 };
      t.count++;
      t.ns += op.endNs - op.startNs;
      actual.set(op.name, t);
    }
    assert.deepEqual(actual, expected);

    const count = (cats: Set<string>) =>
      events.filter((e) => e.ph === 'X' && cats.has(e.cat ?? '')).length;
    assert.equal(ops.filter((o) => o.kind === 'memcpy').length, count(MEMCPY_CATS));
    assert.equal(ops.filter((o) => o.kind === 'memset').length, count(MEMSET_CATS));

    // Every kernel whose correlation matches a launch-API event is linked to a call with that id.
    const launchCorr = new Set(
      events.filter((e) => LAUNCH_CATS.has(e.cat ?? '')).map((e) => e.args?.correlation),
    );
    const kernelEvents = events.filter((e) => e.ph === 'X' && KERNEL_CATS.has(e.cat ?? ''));
    const kernelOps = ops.filter((o) => o.kind === 'kernel');
    kernelEvents.forEach((e, i) => {
      const op = kernelOps[i];
      assert.equal(op.name, e.name);
      if (!launchCorr.has(e.args?.correlation)) return;
      assert.ok(op.launchIndex >= 0, `kernel ${i} (${e.name}) has no launch link`);
      assert.equal(rowAt(profile.cpuCalls, op.launchIndex)?.correlationId, e.args?.correlation);
    });

    const props = (top.deviceProperties ?? []) as { id: number; name: string; numSms: number }[];
    for (const p of props) {
      const d = profile.devices.find((x) => x.id === p.id);
      assert.ok(d, `device ${p.id} missing`);
      assert.equal(d.name, p.name);
      assert.equal(d.smCount, p.numSms);
    }
    if (Array.isArray(top.traceEvents)) assert.match(profile.source.producer, /^PyTorch/);
    else assert.equal(profile.source.producer, 'Kineto (legacy)');
  });
}

void test('kineto ns-resolution trace: start times keep their ns digits', async () => {
  const file = fixture('torch', 'ns-resolution-rank0.pt.trace.json.gz');
  const profile = await readKineto(file);
  // Kernel "ts" literals read as exact decimals with BigInt, independent of doubles.
  const text = traceText(file);
  const literals = [...text.matchAll(/"cat": "kernel"/g)].map((m) => {
    const ts = /"ts": (\d+)(?:\.(\d+))?/.exec(text.slice(m.index, m.index + 4000));
    assert.ok(ts);
    return BigInt(ts[1]) * 1000n + BigInt((ts[2] ?? '').padEnd(3, '0').slice(0, 3));
  });
  const kernels = rowsOf(profile.gpuOps).filter((o) => o.kind === 'kernel');
  assert.equal(literals.length, kernels.length);
  for (let i = 1; i < kernels.length; i++)
    assert.equal(kernels[i].startNs - kernels[0].startNs, Number(literals[i] - literals[0]));
});

void test('kineto memory samples come from [memory] events with running totals', async () => {
  const file = fixture('torch', 'h100-bert-small-stack.json.gz');
  const { events } = loadTrace(file);
  const mem = events.filter(
    (e) =>
      e.name === '[memory]' && e.args?.['Device Type'] === 1 && 'Total Allocated' in (e.args ?? {}),
  );
  const profile = await readKineto(file);
  assert.ok(mem.length > 0);
  assert.equal(profile.memory.length, mem.length);
  assert.equal(
    Math.max(...profile.memory.allocatedBytes.subarray(0, profile.memory.length)),
    Math.max(...mem.map((e) => e.args?.['Total Allocated'] as number)),
  );
  const steps = profile.ranges.filter((r) => r.kind === 'step');
  const stepEvents = events.filter(
    (e) => e.cat === 'user_annotation' && /^ProfilerStep#/.test(e.name ?? ''),
  );
  assert.equal(steps.length, stepEvents.length);
  assert.deepEqual(
    steps.map((s) => s.endNs - s.startNs),
    stepEvents.map(durNs),
  );
});
