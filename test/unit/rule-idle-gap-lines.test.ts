/**
 * gpu-idle-gaps places each late-launch gap at the line that launched the op the GPU waited for.
 * Checked on the H100 BERT trace against gaps and launch stacks computed here from the raw events.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as os from 'node:os';
import { loadTrace as loadAnyTrace } from '../../src/core/load';
import { buildReport } from '../../src/core/report';
import { fixture } from './fixtures';
import {
  KERNEL_CATS,
  launchStackLines,
  loadTrace,
  MEMCPY_CATS,
  MEMSET_CATS,
  workspaceOfRecordedFiles,
} from './kineto-helpers';

const PREFIX = 'transformers/models/';
const MIN_GAP_NS = 100_000; // the rule's default minGapNs

void test('gpu-idle-gaps: late-launch gaps sit at the launching line of the op after the gap', async () => {
  const file = fixture('torch', 'h100-bert-small-stack.json.gz');
  const { events } = loadTrace(file);
  const ws = workspaceOfRecordedFiles(events, PREFIX);

  // GPU ops of the one device, in start order; gaps between their union's intervals.
  const ops = events
    .filter((e) => {
      const c = e.cat ?? '';
      return e.ph === 'X' && (KERNEL_CATS.has(c) || MEMCPY_CATS.has(c) || MEMSET_CATS.has(c));
    })
    .map((e) => ({
      start: Math.round((e.ts ?? 0) * 1000),
      end: Math.round(((e.ts ?? 0) + (e.dur ?? 0)) * 1000),
      correlation: e.args?.correlation as number,
    }))
    .sort((a, b) => a.start - b.start);
  const stacks = launchStackLines(events, PREFIX);
  const expected = new Map<number, string | null>(); // gap end → launching line of the op after it
  let busyEnd = -Infinity;
  for (const op of ops) {
    if (busyEnd > -Infinity && op.start - busyEnd >= MIN_GAP_NS) {
      expected.set(op.start, stacks.get(op.correlation)?.[0] ?? null);
    }
    busyEnd = Math.max(busyEnd, op.end);
  }
  assert.ok(expected.size > 0, 'the trace has idle gaps');

  const report = buildReport(await loadAnyTrace(file), {
    workspaceRoot: ws,
  });
  const late = report.gaps.filter((g) => g.cause.startsWith('late launch'));
  assert.ok(late.length > 0, 'some gaps are late launches');
  for (const g of late) {
    const end = [...expected.keys()].find((k) => Math.abs(k - g.endNs) <= 2);
    assert.ok(end !== undefined, `gap ending at ${g.endNs} is one of the trace's gaps`);
    const want = expected.get(end);
    assert.equal(g.location ? `${g.location.file}:${g.location.line}` : null, want);
  }
  const finding = report.findings.find((f) => f.rule === 'gpu-idle-gaps');
  assert.ok(finding, 'GPU active under 80 % fires the rule');
  for (const g of late) {
    if (g.location)
      assert.ok(
        finding.locations.some((l) => l.file === g.location!.file && l.line === g.location!.line),
      );
  }
});

void test('gpu-idle-gaps: quiet on a trace whose GPU stays busy (Qwen forward pass)', async () => {
  const file = fixture('torch', 'h100-qwen0.5b-stack.json.gz');
  const report = buildReport(await loadAnyTrace(file), {
    workspaceRoot: os.tmpdir(),
  });
  assert.ok(report.summary.gpuActivePct >= 80, `active ${report.summary.gpuActivePct}%`);
  assert.equal(report.findings.filter((f) => f.rule === 'gpu-idle-gaps').length, 0);
});
