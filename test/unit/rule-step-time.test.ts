import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readKineto } from '../../src/core/ingest/kineto';
import { isIterationRangeName, stepStats, stepTime } from '../../src/core/rules/step-time';
import {
  contextFor,
  lineOf,
  readFixture,
  readScenario,
  scenarioSql,
  scenariosDir,
} from './rule-helpers';
import { fixture } from './fixtures';
import { loadTrace } from './kineto-helpers';

const nearestRank = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

void test('step-time: the slow iteration of the preprocessing scenario is flagged at its range line', () => {
  const profile = readScenario('cpu_preprocess.sqlite');
  const durs = scenarioSql<{ d: number; text: string }>(
    'cpu_preprocess.sqlite',
    "SELECT end - start AS d, text FROM NVTX_EVENTS WHERE text LIKE 'iteration_%' ORDER BY start",
  );
  const sorted = durs.map((r) => r.d).sort((a, b) => a - b);
  const stats = stepStats(profile);
  assert.ok(stats);
  assert.equal(stats.count, durs.length);
  assert.equal(stats.p50Ns, nearestRank(sorted, 50));
  assert.equal(stats.p99Ns, nearestRank(sorted, 99));
  const [f] = stepTime(profile, contextFor(profile, scenariosDir));
  const slowest = durs.reduce((a, b) => (b.d > a.d ? b : a));
  assert.equal(f.evidence.slowestStep, slowest.text);
  assert.equal(slowest.text, 'iteration_5');
  assert.deepEqual(f.locations[0], {
    file: 'cpu_preprocess.py',
    line: lineOf('cpu_preprocess.py', 'annotate(f"iteration_{it}")'),
  });
});

void test('step-time: ProfilerStep ranges of a Kineto trace give the percentiles; diff-test has slow steps', async () => {
  const file = fixture('torch', 'diff-test.json.gz');
  const { events } = loadTrace(file);
  const seen = new Set<string>();
  const durs: number[] = [];
  for (const e of events) {
    if (e.ph !== 'X' || !e.name?.startsWith('ProfilerStep#') || seen.has(e.name)) continue;
    seen.add(e.name);
    durs.push(Math.round((e.dur ?? 0) * 1000));
  }
  const profile = await readFixture('torch', 'diff-test.json.gz');
  const stats = stepStats(profile);
  assert.ok(stats);
  const sorted = [...durs].sort((a, b) => a - b);
  assert.equal(stats.count, durs.length);
  assert.ok(Math.abs(stats.p50Ns - nearestRank(sorted, 50)) <= 1000);
  const findings = stepTime(profile, contextFor(profile));
  const outliers = durs.filter((d) => d > 1.5 * nearestRank(sorted, 50)).length;
  assert.equal(findings.length > 0, outliers > 0);
  assert.equal(findings[0].evidence.outlierCount, outliers);
});

void test('step-time: steady steps do not fire (ReAct fixture, socket scenario)', async () => {
  const react = await readFixture('nsys', 'cpu-react-agent-nvtx-2022.4.sqlite');
  assert.equal(stepStats(react)?.count, 5);
  assert.deepEqual(stepTime(react, contextFor(react)), []);
  const sock = readScenario('socket_wait.sqlite');
  assert.deepEqual(stepTime(sock, contextFor(sock, scenariosDir)), []);
});

void test('step-time: compiled-graph calls are no steps, even when they repeat (torch.compile fixture)', async () => {
  const file = fixture('torch', 'torch-compile-triton.json.gz');
  const { top, events } = loadTrace(file);
  const graphCalls = events.filter((e) => e.name?.includes('CompiledFxGraph'));
  assert.ok(graphCalls.length > 0, 'the fixture has no CompiledFxGraph range');
  assert.equal(stepStats(await readFixture('torch', 'torch-compile-triton.json.gz')), null);
  // The same trace with its graph call made four times in a row, as a loop over a compiled model
  // makes it: the hash-named range repeats once per call, and is still no iteration.
  const call = graphCalls.find((e) => e.cat === 'user_annotation') ?? graphCalls[0];
  const span = (call.dur ?? 0) + 10;
  const repeated = [1, 2, 3, 4].map((k) => ({ ...call, ts: (call.ts ?? 0) + k * span * 2 }));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gl-fxgraph-'));
  const copy = path.join(dir, 'trace.json');
  fs.writeFileSync(copy, JSON.stringify({ ...top, traceEvents: [...events, ...repeated] }));
  const profile = await readKineto(copy);
  const names = profile.ranges.filter((r) => r.name === call.name).length;
  assert.ok(names >= 4, `only ${names} graph-call ranges read`);
  assert.equal(stepStats(profile), null);
  // A user-marked iteration range of the same shape is one.
  const marked = repeated.map((e, k) => ({ ...e, name: `train_step_${k}` }));
  fs.writeFileSync(copy, JSON.stringify({ ...top, traceEvents: [...events, ...marked] }));
  assert.equal(stepStats(await readKineto(copy))?.count, marked.length);
});

void test('step-time: framework ranges and hashes are not iteration names; user-marked ones are', () => {
  for (const name of [
    '## Call CompiledFxGraph fud5jsrxcxliekg7lptyw9yz4k1oa ##',
    'Torch-Compiled Region: 0/1',
    'Optimizer.step#SGD.step',
    'enumerate(DataLoader)#_SingleProcessDataLoaderIter.__next__',
    'nccl:all_reduce',
    'aten::mm, seq = 12',
  ])
    assert.equal(isIterationRangeName(name), false, name);
  for (const name of ['react_step_3', 'iteration_5', 'train_step', 'batch 12', 'ProfilerStep#4'])
    assert.equal(isIterationRangeName(name), true, name);
});

void test('step-time: a 1 MB range name is judged in linear time', () => {
  const t0 = performance.now();
  // Over 200 characters a name is data, not an iteration label: turned down without a scan.
  assert.equal(isIterationRangeName(`step_${'r'.repeat(1_000_000)}_3`), false);
  assert.equal(isIterationRangeName(`step_${'r'.repeat(150)}_3`), true); // no hash: no digit in the run
  assert.equal(isIterationRangeName(`step_${'r1'.repeat(500_000)}`), false); // one long hash-like token
  assert.equal(isIterationRangeName('r'.repeat(1_000_000)), false);
  const ms = performance.now() - t0;
  assert.ok(ms < 1500, `took ${ms.toFixed(0)} ms`);
});
