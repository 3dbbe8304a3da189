/**
 * The idle breakdown and the savings on the real fixtures, checked against values computed here
 * from the raw events (JSON) or SQL: the causes add up to the idle time, the DataLoader-bound
 * ResNet names its DataLoader line and fix, rtx5000's slow launch calls are their own cause, and no
 * saving exceeds what it can remove.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadTrace as loadAnyTrace } from '../../src/core/load';
import { buildReport } from '../../src/core/report';
import { toMarkdown } from '../../src/core/export/markdown';
import { formatNs, formatPct } from '../../src/core/format';
import type { Report } from '../../src/core/report-types';
import { allFixtures, fixture } from './fixtures';
import { KERNEL_CATS, MEMCPY_CATS, MEMSET_CATS, LAUNCH_CATS, loadTrace } from './kineto-helpers';
import { sql } from './rule-helpers';

async function reportOf(file: string, workspaceRoot = os.tmpdir()): Promise<Report> {
  return buildReport(await loadAnyTrace(file), { workspaceRoot });
}

/** Gaps between the union of [start, end) ops (positive length), with the op after each gap. */
function gapsOf<T extends { start: number; end: number }>(
  ops: T[],
): { start: number; end: number; next: T }[] {
  const sorted = ops.filter((o) => o.end > o.start).sort((a, b) => a.start - b.start);
  const gaps: { start: number; end: number; next: T }[] = [];
  let busyEnd = sorted[0].end;
  for (const op of sorted) {
    if (op.start > busyEnd) gaps.push({ start: busyEnd, end: op.start, next: op });
    busyEnd = Math.max(busyEnd, op.end);
  }
  return gaps;
}

/** Which part of a gap is largest: CPU work before the launch call, the call, or after it. */
function split(gap: { start: number; end: number }, call: { start: number; end: number }) {
  const before = Math.max(0, Math.min(call.start, gap.end) - gap.start);
  const during = Math.max(0, Math.min(call.end, gap.end) - Math.max(call.start, gap.start));
  return { before, during, after: gap.end - gap.start - before - during };
}

void test('idle breakdown: on every fixture the causes add up to gpuIdleNs exactly, and gaps keep their cause', async () => {
  for (const file of [...allFixtures('nsys'), ...allFixtures('torch')]) {
    const r = await reportOf(file);
    const sum = r.summary.idleBreakdown.reduce((s, b) => s + b.ns, 0);
    assert.equal(sum, r.summary.gpuIdleNs, path.basename(file));
    for (const g of r.gaps) {
      const entry = r.summary.idleBreakdown.find((b) => b.cause === g.causeId);
      assert.ok(entry && entry.label === g.cause, `${path.basename(file)}: ${g.causeId}`);
    }
    // Savings: gpu-idle ones together within the idle time, kernel-time ones within GPU op time.
    const idleSaved = r.findings
      .filter((f) => f.savingsFrom === 'gpu-idle')
      .reduce((s, f) => s + f.savingsNs, 0);
    assert.ok(idleSaved <= r.summary.gpuIdleNs, `${path.basename(file)}: ${idleSaved}`);
    // Each finding saves at most the idle of the causes its fix removes.
    const causeNs = (...causes: string[]) =>
      r.summary.idleBreakdown.filter((b) => causes.includes(b.cause)).reduce((t, b) => t + b.ns, 0);
    const removable: Record<string, number> = {
      'host-sync': causeNs('host-sync'),
      'memcpy-sync': causeNs('host-sync'),
      'launch-overhead': causeNs('late-launch'),
      'slow-launch': causeNs('slow-launch'),
      'alloc-stalls': causeNs('allocation'),
      'tool-call-gaps': causeNs('os-wait'),
      'gpu-idle-gaps': r.summary.gpuIdleNs - causeNs('queued', 'unknown', 'device-edge'),
    };
    for (const f of r.findings)
      if (f.rule in removable)
        assert.ok(
          f.savingsNs <= removable[f.rule],
          `${path.basename(file)} ${f.rule} ${f.savingsNs}`,
        );
    const opNs = r.summary.kernelNs + r.summary.memcpyNs + r.summary.memsetNs;
    for (const f of r.findings.filter((x) => x.savingsFrom === 'kernel-time'))
      assert.ok(f.savingsNs <= opNs, `${path.basename(file)} ${f.rule}`);
  }
});

void test('idle breakdown: the DataLoader-bound ResNet-50 names the DataLoader line and its fix', async () => {
  const file = fixture('torch', 'v100-resnet50-legacy-callstack.pt.trace.json.gz');
  const { events } = loadTrace(file);
  // µs timestamps of ~1.6e15: rebased before scaling to ns, or doubles lose the low digits.
  const base = Math.floor(
    Math.min(...events.filter((e) => e.ts !== undefined).map((e) => e.ts ?? 0)),
  );
  const us = (x: number | undefined) => Math.round(((x ?? base) - base) * 1000);
  const ops = events
    .filter(
      (e) =>
        e.ph === 'X' && [KERNEL_CATS, MEMCPY_CATS, MEMSET_CATS].some((c) => c.has(e.cat ?? '')),
    )
    .map((e) => ({
      start: us(e.ts),
      end: us(e.ts) + Math.round((e.dur ?? 0) * 1000),
      corr: e.args?.correlation,
    }));
  const launches = new Map(
    events
      .filter((e) => LAUNCH_CATS.has(e.cat ?? '') && e.args?.correlation !== undefined)
      .map((e) => [
        e.args?.correlation,
        { start: us(e.ts), end: us(e.ts) + Math.round((e.dur ?? 0) * 1000) },
      ]),
  );
  const fetches = events.filter((e) => e.name?.startsWith('enumerate(DataLoader)'));
  // A gap is the DataLoader's when a fetch covers most of the CPU time before the next launch.
  let expectedNs = 0;
  let expectedGaps = 0;
  for (const g of gapsOf(ops)) {
    const call = launches.get(g.next.corr);
    if (!call || g.end - g.start < 100_000) continue;
    const { before, during, after } = split(g, call);
    if (before <= Math.max(during, after)) continue;
    const covered = fetches.some(
      (f) =>
        Math.min(us(f.ts) + Math.round((f.dur ?? 0) * 1000), call.start) -
          Math.max(us(f.ts), g.start) >=
        before / 2,
    );
    if (covered) {
      // No zero-length op splits these gaps (so either reading of such ops gives the same gaps).
      assert.ok(!ops.some((o) => o.end === o.start && o.start > g.start && o.start < g.end));
      expectedNs += g.end - g.start;
      expectedGaps++;
    }
  }
  assert.equal(expectedGaps, 5, 'five batches fetched while the GPU idled');
  // The fetch's call site: the workspace frame of its recorded call stack.
  const frame = /(resnet50_profiler_api\.py)\((\d+)\)/.exec(
    String(fetches[0].args?.['Call stack']),
  );
  assert.ok(frame);
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'gl-resnet-'));
  fs.writeFileSync(path.join(ws, frame[1]), '\n'.repeat(100));
  const r = await reportOf(file, ws);
  const entry = r.summary.idleBreakdown.find((b) => b.cause === 'data-loader');
  assert.ok(entry);
  assert.equal(entry.ns, expectedNs);
  assert.equal(entry.gaps, expectedGaps);
  assert.deepEqual(entry.location, { file: frame[1], line: Number(frame[2]) });
  const f = r.findings.find((x) => x.rule === 'gpu-idle-gaps');
  assert.ok(f);
  assert.match(f.fix.title, /DataLoader/);
  assert.match(f.fix.snippet, /num_workers/);
  assert.doesNotMatch(f.fix.title, /CUDA graph/i);
  assert.deepEqual(f.locations[0], { file: frame[1], line: Number(frame[2]) });
  // The Markdown shows the cause with its share of the idle time and its line.
  const md = toMarkdown(r);
  const share = formatPct((100 * expectedNs) / r.summary.gpuIdleNs);
  assert.ok(
    md.includes(
      `| DataLoader fetching the next batch | ${formatNs(expectedNs)} | ${share} | 5 | \`${frame[1]}:${frame[2]}\` |`,
    ),
    md.slice(0, 2000),
  );
  // The replay without the fetches removes most of that idle, never more.
  assert.ok(f.savingsNs <= expectedNs && f.savingsNs > expectedNs * 0.9, String(f.savingsNs));
});

void test('idle breakdown: rtx5000 slow launch calls (lazy module loading) are their own cause', async () => {
  const name = 'rtx5000-attention-nvtx-2026.2.sqlite';
  const ops = sql<{ start: number; end: number; corr: number }>(
    name,
    `SELECT start, end, correlationId AS corr FROM CUPTI_ACTIVITY_KIND_KERNEL
     UNION ALL SELECT start, end, correlationId FROM CUPTI_ACTIVITY_KIND_MEMCPY
     UNION ALL SELECT start, end, correlationId FROM CUPTI_ACTIVITY_KIND_MEMSET`,
  );
  const calls = new Map(
    sql<{ corr: number; start: number; end: number; name: string }>(
      name,
      `SELECT r.correlationId AS corr, r.start, r.end, s.value AS name
       FROM CUPTI_ACTIVITY_KIND_RUNTIME r JOIN StringIds s ON s.id = r.nameId`,
    ).map((c) => [c.corr, c]),
  );
  let slowNs = 0;
  let longest = 0;
  for (const g of gapsOf(ops)) {
    const call = calls.get(g.next.corr);
    if (!call || !call.name.startsWith('cudaLaunchKernel')) continue;
    const { before, during, after } = split(g, call);
    if (during > before && during >= after) {
      slowNs += g.end - g.start;
      longest = Math.max(longest, call.end - call.start);
    }
  }
  assert.ok(longest > 60e6, `the 62 ms first launch is among them (${longest})`);
  const r = await reportOf(fixture('nsys', name));
  const entry = r.summary.idleBreakdown.find((b) => b.cause === 'slow-launch');
  assert.ok(entry);
  assert.equal(entry.ns, slowNs);
  assert.ok(slowNs / r.summary.gpuIdleNs > 0.2, 'a fifth of the idle and more');
  const f = r.findings.find((x) => x.rule === 'slow-launch');
  assert.ok(f, 'the slow launches get their own finding');
  assert.match(f.fix.snippet, /CUDA_MODULE_LOADING=EAGER/);
  assert.ok(f.savingsNs > 0 && f.savingsNs <= slowNs);
});
