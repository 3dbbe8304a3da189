import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stepStats, stepTime } from '../../src/core/rules/step-time';
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
