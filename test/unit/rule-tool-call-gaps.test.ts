import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toolCallGaps } from '../../src/core/rules/tool-call-gaps';
import { gpuIdleGaps } from '../../src/core/rules/gpu-idle-gaps';
import {
  contextFor,
  lineOf,
  readFixture,
  readScenario,
  scenarioSql,
  scenariosDir,
  sql,
} from './rule-helpers';

interface Nvtx {
  start: number;
  end: number;
  text: string;
}
interface Wait {
  start: number;
  end: number;
}

/** Blocked share per step from the raw tables: sleep/recv time inside tool ranges over step time. */
function expectedShare(
  rows: Nvtx[],
  waits: Wait[],
  tool: string,
  stepPrefix: string,
): { share: number; calls: number } {
  const tools = rows.filter((r) => r.text === tool);
  const steps = rows.filter((r) => r.text.startsWith(stepPrefix));
  let blocked = 0;
  for (const t of tools) {
    for (const w of waits)
      blocked += Math.max(0, Math.min(w.end, t.end) - Math.max(w.start, t.start));
  }
  const stepNs = steps.reduce((s, r) => s + r.end - r.start, 0);
  return { share: (blocked / stepNs) * 100, calls: tools.length };
}

const NVTX_Q =
  'SELECT start, end, COALESCE(text, (SELECT value FROM StringIds WHERE id = textId)) AS text FROM NVTX_EVENTS WHERE eventType = 59';
const MAIN_TID = 'SELECT globalTid FROM NVTX_EVENTS WHERE eventType = 59 LIMIT 1';
const WAIT_Q = (names: string) =>
  `SELECT o.start, o.end FROM OSRT_API o JOIN StringIds s ON s.id = o.nameId WHERE s.value IN (${names})`;

void test('tool-call-gaps: the ReAct fixture (CPU-only) reports the share of each step blocked in tool_call:search', async () => {
  const profile = await readFixture('nsys', 'cpu-react-agent-nvtx-2022.4.sqlite');
  const ctx = contextFor(profile);
  const [f, ...rest] = toolCallGaps(profile, ctx);
  assert.equal(rest.length, 0);
  const exp = expectedShare(
    sql<Nvtx>('cpu-react-agent-nvtx-2022.4.sqlite', NVTX_Q),
    sql<Wait>('cpu-react-agent-nvtx-2022.4.sqlite', WAIT_Q("'clock_nanosleep','nanosleep'")),
    'tool_call:search',
    'react_step_',
  );
  assert.equal(f.evidence.range, 'tool_call:search');
  assert.equal(f.evidence.step, 'react_step_#');
  assert.equal(f.evidence.callCount, exp.calls);
  assert.ok(
    Math.abs(Number(f.evidence.sharePct) - exp.share) < 0.05,
    `${String(f.evidence.sharePct)} vs ${exp.share}`,
  );
  assert.equal(f.evidence.gpuTrace, false);
  assert.match(f.message, /GPU idle/);
  // No GPU activity recorded at all: the GPU-idle rule must not claim the GPU sat idle.
  assert.deepEqual(gpuIdleGaps(profile, ctx), []);
});

void test('tool-call-gaps: synchronous tool call scenario fires at the tool_call range line', () => {
  const profile = readScenario('sync_tool_call.sqlite');
  const findings = toolCallGaps(profile, contextFor(profile, scenariosDir));
  assert.equal(findings.length, 1);
  const f = findings[0];
  const exp = expectedShare(
    scenarioSql<Nvtx>('sync_tool_call.sqlite', NVTX_Q),
    scenarioSql<Wait>('sync_tool_call.sqlite', WAIT_Q("'clock_nanosleep','nanosleep','select'")),
    'tool_call:lookup',
    'decode_step_',
  );
  assert.equal(f.evidence.callCount, 6);
  assert.ok(Math.abs(Number(f.evidence.sharePct) - exp.share) < 0.05);
  assert.deepEqual(f.locations[0], {
    file: 'sync_tool_call.py',
    line: lineOf('sync_tool_call.py', 'annotate("tool_call:lookup")'),
  });
  // CPU-only: no GPU idle to save; the loop's predicted saving with the calls on a pool is the
  // blocked time less what the last call still costs (it ends after the loop's other work).
  assert.equal(f.savingsNs, 0);
  const waits = scenarioSql<Wait>(
    'sync_tool_call.sqlite',
    WAIT_Q("'clock_nanosleep','nanosleep','select'"),
  );
  const tools = scenarioSql<Nvtx>('sync_tool_call.sqlite', NVTX_Q).filter(
    (r) => r.text === 'tool_call:lookup',
  );
  const cuts = tools
    .flatMap((t) => waits.map((w) => [Math.max(w.start, t.start), Math.min(w.end, t.end)]))
    .filter(([a, b]) => b > a)
    .sort((a, b) => a[0] - b[0]);
  const [{ runEnd }] = scenarioSql<{ runEnd: number }>(
    'sync_tool_call.sqlite',
    // The loop around the calls: the last decode step holding one (the ranges that contain them).
    `SELECT max(end) AS runEnd FROM NVTX_EVENTS WHERE eventType = 59 AND globalTid = (${MAIN_TID})
       AND COALESCE(text, (SELECT value FROM StringIds WHERE id = textId)) LIKE 'decode_step_%'`,
  );
  let removed = 0;
  let end = -Infinity;
  for (const [a, b] of cuts) {
    end = Math.max(end, a - removed + (b - a));
    removed += b - a;
  }
  const expected = runEnd - Math.max(runEnd - removed, end);
  assert.ok(
    Math.abs(Number(f.evidence.predictedLoopSavingNs) - expected) <= 1000,
    `${String(f.evidence.predictedLoopSavingNs)} vs ${expected}`,
  );
});

void test('tool-call-gaps: a blocking socket read inside fetch_context fires at its line', () => {
  const profile = readScenario('socket_wait.sqlite');
  const [f] = toolCallGaps(profile, contextFor(profile, scenariosDir));
  assert.equal(f.evidence.range, 'fetch_context');
  assert.match(String(f.evidence.waitCalls), /recv/);
  assert.deepEqual(f.locations[0], {
    file: 'socket_wait.py',
    line: lineOf('socket_wait.py', 'annotate("fetch_context")'),
  });
});

void test('tool-call-gaps: stays quiet on CPU preprocessing without blocking calls and on an OS-only trace', async () => {
  const pre = readScenario('cpu_preprocess.sqlite');
  assert.deepEqual(toolCallGaps(pre, contextFor(pre, scenariosDir)), []);
  const osrt = await readFixture('nsys', 'osrt-only-2025.6.sqlite');
  assert.deepEqual(toolCallGaps(osrt, contextFor(osrt)), []);
});
