import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildReport } from '../../src/core/report';
import { compare, delta } from '../../src/core/compare';
import { readFixture } from './rule-helpers';
import { fixture } from './fixtures';
import { kernelTotals, loadTrace } from './kineto-helpers';

void test('compare: diff-control → diff-test per-kernel deltas match sums over the raw kernel events', async () => {
  const ws = '/nonexistent-workspace';
  const a = buildReport(await readFixture('torch', 'diff-control.json.gz'), { workspaceRoot: ws });
  const b = buildReport(await readFixture('torch', 'diff-test.json.gz'), { workspaceRoot: ws });
  const c = compare(a, b, 10);
  const ra = kernelTotals(loadTrace(fixture('torch', 'diff-control.json.gz')).events);
  const rb = kernelTotals(loadTrace(fixture('torch', 'diff-test.json.gz')).events);
  const names = new Set([...ra.keys(), ...rb.keys()]);
  assert.equal(c.kernels.length, names.size);
  for (const k of c.kernels) {
    const base = ra.get(k.name) ?? { count: 0, ns: 0 };
    const cur = rb.get(k.name) ?? { count: 0, ns: 0 };
    assert.equal(k.baselineCount, base.count, k.name);
    assert.equal(k.currentCount, cur.count, k.name);
    // Reader and test round µs → ns per event; allow 1 ns per event.
    assert.ok(Math.abs(k.deltaNs - (cur.ns - base.ns)) <= base.count + cur.count, k.name);
    const pct = base.ns > 0 ? ((cur.ns - base.ns) / base.ns) * 100 : null;
    assert.equal(k.flagged, pct === null ? cur.ns > 0 : Math.abs(pct) > 10, k.name);
  }
  // Largest change first; something moved past 10 % in this before/after pair.
  for (let i = 1; i < c.kernels.length; i++)
    assert.ok(Math.abs(c.kernels[i - 1].deltaNs) >= Math.abs(c.kernels[i].deltaNs));
  assert.ok(c.kernels.some((k) => k.flagged));
});

void test('compare: identical reports flag nothing; new and resolved rules are told apart', async () => {
  const r = buildReport(await readFixture('torch', 'h100-bert-small-stack.json.gz'), {
    workspaceRoot: '/nonexistent',
  });
  const same = compare(r, r);
  assert.ok(same.kernels.every((k) => !k.flagged && k.deltaNs === 0));
  assert.equal(same.summary.gpuActivePct.flagged, false);
  const finding = {
    rule: 'host-sync',
    severity: 'warning' as const,
    title: 't',
    message: 'm',
    savingsNs: 1000,
    savingsFrom: 'gpu-idle' as const,
    evidence: {},
    locations: [],
    fix: { title: 'f', detail: 'd', snippet: 's' },
  };
  const c = compare(
    { ...r, findings: [finding] },
    { ...r, findings: [{ ...finding, rule: 'alloc-stalls' }] },
  );
  assert.deepEqual(c.rules.map((x) => [x.rule, x.status]).sort(), [
    ['alloc-stalls', 'new'],
    ['host-sync', 'resolved'],
  ]);
  assert.deepEqual(delta(100, 111, 10), {
    baselineNs: 100,
    currentNs: 111,
    deltaNs: 11,
    deltaPct: 11,
    flagged: true,
    direction: 'regression',
  });
  assert.equal(delta(100, 95, 10).flagged, false);
});
