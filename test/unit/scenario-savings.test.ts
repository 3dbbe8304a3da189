/**
 * Our before/after scenario pairs (test/scenarios, captured with scripts/capture-scenarios.sh):
 * the agent loop with its tool calls inline vs on a thread pool, and the DataLoader-bound loop
 * without vs with workers. The "before" capture fires at the right line, the "after" one is silent,
 * and the replay's predicted saving is checked against the model computed here from SQL and against
 * the saving measured between the two captures (docs/savings-replay.md).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toolCallGaps } from '../../src/core/rules/tool-call-gaps';
import { contextFor, lineOf, readScenario, scenarioSql, scenariosDir } from './rule-helpers';

interface Span {
  start: number;
  end: number;
  text: string;
  tid: number;
}

const NVTX = (file: string) =>
  scenarioSql<Span>(
    file,
    `SELECT start, end, globalTid AS tid,
       COALESCE(text, (SELECT value FROM StringIds WHERE id = textId)) AS text
     FROM NVTX_EVENTS WHERE eventType = 59`,
  );

const WAITS = (file: string) =>
  scenarioSql<{ start: number; end: number; tid: number }>(
    file,
    `SELECT o.start, o.end, o.globalTid AS tid FROM OSRT_API o JOIN StringIds s ON s.id = o.nameId
     WHERE s.value IN ('clock_nanosleep', 'nanosleep', 'select', 'poll', 'ppoll', 'read', 'recv',
                       'recvmsg', 'pthread_cond_wait', 'pthread_cond_timedwait', 'sem_wait', 'futex')`,
  );

/** The loop range's length in a capture. */
const loopNs = (file: string, loop: string) => {
  const r = NVTX(file).find((x) => x.text === loop);
  assert.ok(r, `${loop} in ${file}`);
  return r.end - r.start;
};

/**
 * The replay's model, from SQL: the waits inside the blocking ranges move off the loop's thread;
 * the loop ends when its remaining work is done and no earlier than the last moved wait.
 */
function movedSaving(file: string, range: string, loop: string): number {
  const spans = NVTX(file);
  const loopRange = spans.find((x) => x.text === loop);
  assert.ok(loopRange);
  const cuts = spans
    .filter((r) => r.text === range && r.tid === loopRange.tid)
    .flatMap((r) =>
      WAITS(file)
        .filter((w) => w.tid === r.tid)
        .map((w) => [Math.max(w.start, r.start), Math.min(w.end, r.end)]),
    )
    .filter(([a, b]) => b > a)
    .sort((a, b) => a[0] - b[0]);
  let removed = 0;
  let lastEnd = -Infinity;
  for (const [a, b] of cuts) {
    lastEnd = Math.max(lastEnd, a - removed + (b - a));
    removed += b - a;
  }
  return loopRange.end - Math.max(loopRange.end - removed, lastEnd);
}

const PAIRS = [
  {
    before: 'agent_tools_inline.sqlite',
    after: 'agent_tools_pooled.sqlite',
    range: 'tool_call:search_docs',
    loop: 'agent_loop',
    script: 'agent_loop.py',
    marker: 'annotate("tool_call:search_docs")',
    fix: /asynchronously/,
  },
  {
    before: 'dataloader_inline.sqlite',
    after: 'dataloader_workers.sqlite',
    range: 'enumerate(DataLoader).__next__',
    loop: 'train_loop',
    script: 'dataloader_loop.py',
    marker: 'annotate("enumerate(DataLoader).__next__")',
    fix: /DataLoader workers/,
  },
];

for (const p of PAIRS) {
  void test(`scenario ${p.before} → ${p.after}: fires at the line before, silent after, predicted ≈ measured`, () => {
    const before = readScenario(p.before);
    const findings = toolCallGaps(before, contextFor(before, scenariosDir));
    assert.equal(findings.length, 1);
    const f = findings[0];
    assert.deepEqual(f.locations[0], { file: p.script, line: lineOf(p.script, p.marker) });
    assert.match(f.fix.title, p.fix);
    assert.ok(Number(f.evidence.sharePct) <= 100);
    // CPU-only: no GPU idle to claim; the loop's saving is the replay's prediction.
    assert.equal(f.savingsNs, 0);
    const predicted = Number(f.evidence.predictedLoopSavingNs);
    const model = movedSaving(p.before, p.range, p.loop);
    assert.ok(Math.abs(predicted - model) <= 1_000_000, `${predicted} vs model ${model}`);
    const after = readScenario(p.after);
    assert.deepEqual(toolCallGaps(after, contextFor(after, scenariosDir)), []);
    const measured = loopNs(p.before, p.loop) - loopNs(p.after, p.loop);
    assert.ok(measured > 0);
    // Within 30 %: the rest is the two runs' CPU work taking different times (docs/savings-replay.md).
    assert.ok(Math.abs(predicted - measured) / measured < 0.3, `${predicted} vs ${measured}`);
  });
}

void test('scenario agent_tools_pooled: the tool calls on the pool add up to more than the loop (no share of it)', () => {
  // What a rule counting every thread's tool waits against the trace would have called "blocks
  // over 100 % of the trace": the pooled calls overlap each other and the decoding.
  const file = 'agent_tools_pooled.sqlite';
  const spans = NVTX(file);
  const loop = spans.find((x) => x.text === 'agent_loop');
  assert.ok(loop);
  const toolNs = spans
    .filter((x) => x.text === 'tool_call:search_docs')
    .reduce((s, r) => s + r.end - r.start, 0);
  assert.ok(toolNs > loop.end - loop.start, `${toolNs} vs ${loop.end - loop.start}`);
  assert.ok(
    spans.filter((x) => x.text === 'tool_call:search_docs').every((r) => r.tid !== loop.tid),
  );
});
