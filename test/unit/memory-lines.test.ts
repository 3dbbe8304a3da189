/**
 * Memory on the line, checked against the traces' own `[memory]` events (./memory-walk.ts: sums
 * per enclosing operator's line, allocations and frees paired by Addr), on the CPU-only capture
 * with profile_memory and the H100 traces that record allocations.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readKineto } from '../../src/core/ingest/kineto';
import { buildReport } from '../../src/core/report';
import type { Report } from '../../src/core/report-types';
import { memoryPressure } from '../../src/core/rules/memory-pressure';
import { formatBytes } from '../../src/core/format';
import { diagnosticsFor } from '../../src/server/annotations';
import { contextFor, workspaceWith } from './rule-helpers';
import { BERT_FILES, fixture, ownFixture, repoRoot } from './fixtures';
import { loadTrace } from './kineto-helpers';
import { type Expected, expected, markerLine, pythonLine } from './memory-walk';

const CPU_TRACE = ownFixture('memory', 'torch-memory-cpu.json');
const WORKSPACE = path.join(repoRoot, 'test', 'workspace');
const SCRIPT = path.join(WORKSPACE, 'torch_memory.py');
const BERT = fixture('torch', 'h100-bert-small-stack.json.gz');

/** The Report's memory figures by line key. */
function reported(report: Report): Map<string, { alloc: number; live: number }> {
  const out = new Map<string, { alloc: number; live: number }>();
  for (const l of report.lines)
    if ((l.allocBytes ?? 0) > 0 || (l.liveAtPeakBytes ?? 0) > 0)
      out.set(`${l.file}:${l.line}`, { alloc: l.allocBytes ?? 0, live: l.liveAtPeakBytes ?? 0 });
  return out;
}

function checkAgainst(report: Report, want: Expected): void {
  const peak = report.memoryPeak;
  assert.ok(peak, 'the Report has a memory peak');
  assert.deepEqual(
    [...reported(report)].sort(),
    [...want.lines].filter(([, v]) => v.alloc > 0 || v.live > 0).sort(),
  );
  assert.equal(peak.peakBytes, want.peakBytes);
  assert.equal(peak.beforeTraceBytes, want.peakBytes - want.liveTotal);
  assert.equal(peak.unattributedBytes, want.unplacedLive);
  for (const l of report.lines) {
    if (l.liveAtPeakBytes === undefined) continue;
    const pct = (100 * l.liveAtPeakBytes) / want.peakBytes;
    assert.ok(Math.abs((l.peakSharePct ?? -1) - pct) < 0.01, `${l.file}:${l.line} share`);
  }
  // Holders: most live first, until half of the placed live bytes (at most five lines).
  const byLive = [...want.lines]
    .filter(([, v]) => v.live > 0)
    .sort((a, b) => b[1].live - a[1].live);
  assert.ok(peak.holders.length > 0);
  assert.equal(`${peak.holders[0].file}:${peak.holders[0].line}`, byLive[0][0]);
  const held = peak.holders.reduce((s, h) => s + want.lines.get(`${h.file}:${h.line}`)!.live, 0);
  assert.ok(held * 2 >= want.liveTotal - want.unplacedLive || peak.holders.length === 5);
}

/** 1-based line of the first source line containing `marker`. */
function lineOf(marker: string): number {
  const i = fs
    .readFileSync(SCRIPT, 'utf8')
    .split('\n')
    .findIndex((l) => l.includes(marker));
  assert.ok(i >= 0, marker);
  return i + 1;
}

void test('CPU-only capture with profile_memory: memory per line = sums over its [memory] events', async () => {
  const { events } = loadTrace(CPU_TRACE);
  const want = expected(events, false, markerLine(events));
  assert.ok(want.lines.size >= 4, `${want.lines.size} lines allocate`);
  const report = buildReport(await readKineto(CPU_TRACE), { workspaceRoot: WORKSPACE });
  checkAgainst(report, want);
  assert.equal(report.memoryPeak?.device, 'cpu');
  assert.equal(report.memoryPeak?.nearCapacity, false);
  // What the script holds at its peak, from the tensors' shapes (float32, 4 bytes).
  const live = (marker: string) =>
    report.lines.find((l) => l.file === 'torch_memory.py' && l.line === lineOf(marker))
      ?.liveAtPeakBytes;
  assert.equal(live('scratch = torch.zeros(512, 512)'), 512 * 512 * 4);
  assert.equal(live('weights = torch.randn(256, 256)'), 256 * 256 * 4);
  assert.equal(live('kept.append(h.clone())'), 4 * 128 * 256 * 4);
  assert.equal(live('x = torch.randn(128, 256)'), 0);
  const x = report.lines.find((l) => l.line === lineOf('x = torch.randn(128, 256)'));
  // Four 128×256 tensors, and randn's own few hundred bytes of scratch the first time.
  const xBytes = 4 * 128 * 256 * 4;
  assert.ok(x && x.allocBytes! >= xBytes && x.allocBytes! < xBytes + 1024, `${x?.allocBytes}`);
  assert.equal(`${report.memoryPeak?.holders[0].line}`, `${lineOf('scratch = torch.zeros')}`);
});

void test('torch launcher --profile-memory on a Kineto-less torch writes pairable [memory] events', () => {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gl-mem-')), 'trace.json');
  execFileSync(
    '/usr/bin/python3',
    [
      path.join(repoRoot, 'python', 'gpu_lens_torch_launcher.py'),
      ...['--out', out, '--profile-memory', '--exact-lines', '--workspace', WORKSPACE, SCRIPT],
    ],
    { stdio: 'pipe', timeout: 120_000 },
  );
  const { events } = loadTrace(out);
  const mem = events.filter((e) => e.name === '[memory]');
  const allocs = mem.filter((e) => (e.args?.Bytes as number) > 0);
  assert.ok(allocs.length >= 10, `${allocs.length} allocations`);
  // Every free names an address allocated before it.
  const seen = new Set<unknown>();
  for (const e of mem.sort((a, b) => (a.ts ?? 0) - (b.ts ?? 0))) {
    if ((e.args?.Bytes as number) > 0) seen.add(e.args?.Addr);
    else assert.ok(seen.has(e.args?.Addr), 'a free of an address the trace allocated');
  }
  const want = expected(events, false, markerLine(events));
  assert.equal(
    want.lines.get(`torch_memory.py:${lineOf('scratch = torch.zeros')}`)?.live,
    512 * 512 * 4,
  );
});

void test('H100 BERT trace: GPU memory per line = sums over its [memory] events', async () => {
  const { events } = loadTrace(BERT);
  const want = expected(events, true, pythonLine(events, BERT_FILES));
  assert.ok(want.lines.size > 0);
  const report = buildReport(await readKineto(BERT), {
    workspaceRoot: workspaceWith(BERT_FILES),
    libraryFallback: false,
  });
  checkAgainst(report, want);
  assert.equal(report.memoryPeak?.device, 'gpu');
  const cap = 85018279936; // deviceProperties totalGlobalMem
  assert.equal(report.memoryPeak?.capacityBytes, cap);
  assert.equal(report.memoryPeak?.nearCapacity, false);
});

void test('H100 Qwen trace: GPU memory per line = sums over its [memory] events', async () => {
  const file = fixture('torch', 'h100-qwen0.5b-stack.json.gz');
  const files = ['transformers/models/qwen2/modeling_qwen2.py'];
  const { events } = loadTrace(file);
  const want = expected(events, true, pythonLine(events, files));
  assert.ok(want.lines.size > 3, `${want.lines.size} lines allocate`);
  const report = buildReport(await readKineto(file), {
    workspaceRoot: workspaceWith(files),
    libraryFallback: false,
  });
  checkAgainst(report, want);
  assert.ok(report.memoryPeak!.holders.length >= 2);
});

void test('memory-pressure points at the lines holding most of the peak', async () => {
  const profile = await readKineto(BERT);
  const root = workspaceWith(BERT_FILES);
  const report = buildReport(profile, { workspaceRoot: root, libraryFallback: false });
  const peak = report.memoryPeak!;
  // A threshold under the peak's share of capacity makes the trace one under pressure.
  const pct = (100 * peak.peakBytes) / (peak.capacityBytes ?? 1);
  const thresholds = { memoryPressurePct: pct / 2 };
  const [f] = memoryPressure(profile, contextFor(profile, root, thresholds));
  assert.ok(f, 'memory-pressure fires under a lowered threshold');
  assert.deepEqual(f.locations, peak.holders);
  const pressed = buildReport(profile, { workspaceRoot: root, libraryFallback: false, thresholds });
  assert.equal(pressed.memoryPeak?.nearCapacity, true);
  // The editor's memory-peak warning sits on each holder, naming its live bytes from the events.
  const want = expected(
    loadTrace(BERT).events,
    true,
    pythonLine(loadTrace(BERT).events, BERT_FILES),
  );
  for (const h of peak.holders) {
    const d = diagnosticsFor(pressed, h.file, 100).filter((x) => x.code === 'memory-peak');
    assert.deepEqual(
      d.map((x) => x.line),
      peak.holders.filter((o) => o.file === h.file).map((o) => o.line),
    );
    const mine = d.find((x) => x.line === h.line)!;
    assert.equal(mine.severity, 'warning');
    assert.ok(mine.message.includes(formatBytes(want.lines.get(`${h.file}:${h.line}`)!.live)));
    assert.match(mine.message, /expandable_segments/);
  }
  // Not near capacity: no such warning.
  for (const h of peak.holders)
    assert.ok(!diagnosticsFor(report, h.file, 100).some((x) => x.code === 'memory-peak'));
});

void test('traces without allocation events: no memory figures, no peak', async () => {
  const report = buildReport(await readKineto(fixture('torch', 'a100-alexnet-nostack.json.gz')), {
    workspaceRoot: workspaceWith([]),
  });
  assert.equal(report.memoryPeak, undefined);
  assert.ok(report.lines.every((l) => l.allocBytes === undefined));
});
