/**
 * The Report on every real fixture, checked against computations written here: GPU time totals and
 * busy time from the raw events / SQL, every op's time attributed or unattributed, and (H100 traces)
 * per-line times from an independent walk of the python_function tree.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { loadTrace as loadAnyTrace } from '../../src/core/load';
import { buildReport } from '../../src/core/report';
import { allFixtures, fixture } from './fixtures';
import { unionLength } from './rule-helpers';
import {
  KERNEL_CATS,
  launchStackLines,
  loadTrace,
  MEMCPY_CATS,
  MEMSET_CATS,
  type TraceEvent,
  workspaceOfRecordedFiles,
} from './kineto-helpers';

const emptyWorkspace = fs.mkdtempSync(path.join(os.tmpdir(), 'gl-empty-ws-'));

const near = (actual: number, expected: number, tolerance: number, what: string) =>
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `${what}: ${actual} vs expected ${expected} (±${tolerance})`,
  );

for (const file of allFixtures('torch')) {
  void test(`torch fixture ${path.basename(file)}: GPU totals and busy time match the events`, async () => {
    const { events } = loadTrace(file);
    const gpu = events.filter(
      (e: TraceEvent) =>
        e.ph === 'X' &&
        (KERNEL_CATS.has(e.cat ?? '') ||
          MEMCPY_CATS.has(e.cat ?? '') ||
          MEMSET_CATS.has(e.cat ?? '')),
    );
    const scale = 1000; // ts/dur are µs in every fixture, "ns" displayTimeUnit included
    const totalNs = gpu.reduce((s, e) => s + (e.dur ?? 0) * scale, 0);
    // Epoch-µs timestamps times 1000 exceed 2^53: subtract a base first to keep ns precision.
    const base = gpu.reduce((m, e) => Math.min(m, e.ts ?? 0), Infinity);
    const byDevice = new Map<string, [number, number][]>();
    for (const e of gpu) {
      const key = String(e.pid);
      const list = byDevice.get(key) ?? [];
      list.push([((e.ts ?? 0) - base) * scale, ((e.ts ?? 0) - base + (e.dur ?? 0)) * scale]);
      byDevice.set(key, list);
    }
    const busy = [...byDevice.values()].reduce((s, l) => s + unionLength(l), 0);

    // Library fallback off: with no workspace code every op is unattributed.
    const report = buildReport(await loadAnyTrace(file), {
      workspaceRoot: emptyWorkspace,
      libraryFallback: false,
    });
    assert.equal(
      report.summary.kernelCount,
      gpu.filter((e) => KERNEL_CATS.has(e.cat ?? '')).length,
    );
    // Integer-ns rounding of each start and end: at most 1 ns per event.
    near(
      report.summary.kernelNs + report.summary.memcpyNs + report.summary.memsetNs,
      totalNs,
      gpu.length + 1,
      'GPU op time',
    );
    near(report.summary.gpuBusyNs, busy, gpu.length + 1, 'busy time');
    // No workspace code: every nanosecond is unattributed, none dropped.
    assert.equal(report.lines.length, 0);
    near(report.unattributedNs, totalNs, gpu.length + 1, 'unattributed');
  });
}

for (const file of allFixtures('nsys')) {
  void test(`nsys fixture ${path.basename(file)}: GPU totals and busy time match SQL`, async () => {
    const db = new Database(file, { readonly: true });
    const tables = new Set(
      (
        db.prepare("SELECT name FROM sqlite_master WHERE type='table'").all() as { name: string }[]
      ).map((r) => r.name),
    );
    const rows: { s: number; e: number; d: number }[] = [];
    for (const t of [
      'CUPTI_ACTIVITY_KIND_KERNEL',
      'CUPTI_ACTIVITY_KIND_MEMCPY',
      'CUPTI_ACTIVITY_KIND_MEMSET',
    ]) {
      if (tables.has(t))
        rows.push(
          ...(db.prepare(`SELECT start s, end e, deviceId d FROM ${t}`).all() as typeof rows),
        );
    }
    const kernels = tables.has('CUPTI_ACTIVITY_KIND_KERNEL')
      ? (db.prepare('SELECT COUNT(*) n FROM CUPTI_ACTIVITY_KIND_KERNEL').get() as { n: number }).n
      : 0;
    db.close();
    const totalNs = rows.reduce((s, r) => s + r.e - r.s, 0);
    const byDevice = new Map<number, [number, number][]>();
    for (const r of rows) byDevice.set(r.d, [...(byDevice.get(r.d) ?? []), [r.s, r.e]]);
    const busy = [...byDevice.values()].reduce((s, l) => s + unionLength(l), 0);

    const report = buildReport(await loadAnyTrace(file), {
      workspaceRoot: emptyWorkspace,
    });
    assert.equal(report.summary.kernelCount, kernels);
    assert.equal(
      report.summary.kernelNs + report.summary.memcpyNs + report.summary.memsetNs,
      totalNs,
    );
    assert.equal(report.summary.gpuBusyNs, busy);
    assert.equal(report.unattributedNs + report.lines.reduce((s, l) => s + l.selfNs, 0), totalNs);
  });
}

/** Per-line GPU time from the independent stack walk of kineto-helpers. */
function walkLines(events: TraceEvent[], userPrefix: string) {
  const stacks = launchStackLines(events, userPrefix);
  const total = new Map<string, number>();
  const self = new Map<string, number>();
  let attributed = 0;
  for (const k of events) {
    const cat = k.cat ?? '';
    if (k.ph !== 'X' || !(KERNEL_CATS.has(cat) || MEMCPY_CATS.has(cat) || MEMSET_CATS.has(cat)))
      continue;
    const keys = stacks.get(k.args?.correlation as number) ?? [];
    if (keys.length === 0) continue;
    const ns = Math.round((k.dur ?? 0) * 1000);
    attributed += ns;
    self.set(keys[0], (self.get(keys[0]) ?? 0) + ns);
    for (const key of new Set(keys)) total.set(key, (total.get(key) ?? 0) + ns);
  }
  return { total, self, attributed };
}

for (const name of ['h100-bert-small-stack.json.gz', 'h100-qwen0.5b-stack.json.gz']) {
  void test(`${name}: top attributed lines match an independent stack walk`, async () => {
    const file = fixture('torch', name);
    const { events } = loadTrace(file);
    const prefix = 'transformers/models/';
    // A workspace holding the model code the trace ran (what a user's checkout would look like).
    const ws = workspaceOfRecordedFiles(events, prefix);
    const expected = walkLines(events, prefix);
    assert.ok(expected.attributed > 0, 'the walk found workspace frames');

    const report = buildReport(await loadAnyTrace(file), { workspaceRoot: ws });
    const kernelLines = report.lines.filter((l) => l.totalNs > 0);
    const top = [...expected.total.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5);
    for (const [key, ns] of top) {
      const line = kernelLines.find((l) => `${l.file}:${l.line}` === key);
      assert.ok(line, `line ${key} is in the report`);
      assert.equal(line.precision, 'function');
      near(line.totalNs, ns, 5 + ns / 1e6, `total of ${key}`);
      near(line.selfNs, expected.self.get(key) ?? 0, 5 + ns / 1e6, `self of ${key}`);
    }
    const selfSum = report.lines.reduce((s, l) => s + l.selfNs, 0);
    near(
      selfSum + report.unattributedNs,
      report.summary.kernelNs + report.summary.memcpyNs + report.summary.memsetNs,
      1,
      'attributed + unattributed',
    );
  });
}
