/**
 * Report.drilldown on real H100 torch.profiler traces, against walks written here over the raw
 * events (correlation → launch → python_function chain, kineto-helpers): a kernel's launching
 * lines and their times; a line's call tree (its children are the frames recorded right inside
 * it, with their times; self times add up to the line's total).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadTrace as loadAnyTrace } from '../../src/core/load';
import { buildReport } from '../../src/core/report';
import type { CallTreeNode, Report } from '../../src/core/report-types';
import { withMainThread } from './backward-trace';
import { allFixtures, fixture } from './fixtures';
import {
  durNs,
  gpuEvents,
  KERNEL_CATS,
  launchStackFrames,
  loadTrace,
  workspaceOfRecordedFiles,
} from './kineto-helpers';

const PREFIX = 'transformers/models/';
const FIXTURES = ['h100-bert-small-stack.json.gz', 'h100-qwen0.5b-stack.json.gz'];

/** Within the per-event µs→ns rounding (1 ns per event) of `events` events. */
const near = (actual: number, expected: number, events: number, what: string) =>
  assert.ok(
    Math.abs(actual - expected) <= events + 1,
    `${what}: ${actual} vs ${expected} (±${events + 1})`,
  );

const key = (f: { file: string; line: number }) => `${f.file}:${f.line}`;

async function setup(name: string) {
  const { events } = loadTrace(fixture('torch', name));
  const ws = workspaceOfRecordedFiles(events, PREFIX);
  // Without the library fallback, time off the workspace files is unattributed in both readings.
  const report = buildReport(await loadAnyTrace(fixture('torch', name)), {
    workspaceRoot: ws,
    libraryFallback: false,
  });
  return { events, report, chains: launchStackFrames(events) };
}

/** Every node's total is its self plus its children's totals. */
function checkSums(n: CallTreeNode, where: string): number {
  const self =
    n.selfNs + n.children.reduce((s, c) => s + checkSums(c, `${where} > ${c.function}`), 0);
  assert.equal(n.totalNs, n.selfNs + n.children.reduce((s, c) => s + c.totalNs, 0), where);
  return self;
}

for (const name of FIXTURES) {
  void test(`${name}: a kernel's launching lines and times match a walk of the raw events`, async () => {
    const { events, report, chains } = await setup(name);
    const drill = report.drilldown.kernels;
    assert.equal(drill.length, Math.min(300, report.kernels.length));
    for (const k of report.kernels.slice(0, 3)) {
      const d = drill.find((x) => x.kernel === k.name);
      assert.ok(d, `${k.name} has its launching lines`);
      // The walk: each launch of this kernel on its innermost workspace frame.
      const walked = new Map<string, { ns: number; count: number }>();
      let n = 0;
      let unattributed = 0;
      for (const e of events) {
        if (e.ph !== 'X' || !KERNEL_CATS.has(e.cat ?? '') || e.name !== k.name) continue;
        n++;
        const self = (chains.get(e.args?.correlation as number) ?? []).find((f) =>
          f.file.startsWith(PREFIX),
        );
        if (!self) {
          unattributed += durNs(e);
          continue;
        }
        const w = walked.get(key(self)) ?? { ns: 0, count: 0 };
        w.ns += durNs(e);
        w.count++;
        walked.set(key(self), w);
      }
      assert.ok(walked.size > 0, `the walk places ${k.name} on lines`);
      const ranked = [...walked.entries()].sort((a, b) => b[1].ns - a[1].ns);
      assert.equal(d.lines.length, Math.min(10, ranked.length));
      assert.equal(d.otherLines, ranked.length - d.lines.length);
      for (const l of d.lines) {
        const w = walked.get(key(l));
        assert.ok(w, `${key(l)} launched ${k.name} in the walk`);
        near(l.ns, w.ns, w.count, `${k.name} on ${key(l)}`);
        assert.equal(l.count, w.count, `${k.name} launches on ${key(l)}`);
      }
      // Ranked by time, and what is kept is the walk's top lines.
      for (let i = 1; i < d.lines.length; i++) assert.ok(d.lines[i - 1].ns >= d.lines[i].ns);
      const cut = ranked[d.lines.length - 1][1].ns;
      for (const [k2, w] of ranked.slice(0, d.lines.length))
        if (w.ns > cut + n)
          assert.ok(
            d.lines.some((l) => key(l) === k2),
            `${k2} kept`,
          );
      near(d.unattributedNs, unattributed, n, `${k.name} unattributed`);
      assert.equal(
        d.lines.reduce((s, l) => s + l.ns, 0) + d.otherLinesNs + d.unattributedNs,
        k.totalNs,
        'lines + other + unattributed = the kernel total',
      );
    }
  });

  void test(`${name}: a line's call tree adds up to its total, its children as the stacks recorded them`, async () => {
    const { events, report, chains } = await setup(name);
    const gpu = gpuEvents(events);
    const trees = report.drilldown.callTrees;
    assert.ok(trees.length > 0 && trees.length <= 100);
    for (const t of trees.slice(0, 5)) {
      const line = report.lines.find((l) => key(l) === key(t) && !l.library);
      assert.ok(line, `${key(t)} is a Report line`);
      assert.equal(t.root.totalNs, line.totalNs, `${key(t)} root total`);
      assert.equal(checkSums(t.root, key(t)), line.totalNs, `${key(t)} self times sum`);
      // The walk: the frame right inside the line's outermost occurrence on each launch's chain.
      const child = new Map<string, number>();
      let rootSelf = 0;
      let ops = 0;
      for (const e of gpu) {
        const chain = chains.get(e.args?.correlation as number) ?? [];
        let i = -1;
        for (let j = chain.length - 1; j >= 0 && i < 0; j--) if (key(chain[j]) === key(t)) i = j;
        if (i < 0) continue;
        ops++;
        if (i === 0) rootSelf += durNs(e);
        else {
          const c = `${key(chain[i - 1])}:${chain[i - 1].function}`;
          child.set(c, (child.get(c) ?? 0) + durNs(e));
        }
      }
      near(t.root.selfNs, rootSelf, ops, `${key(t)} self at the line`);
      const kept = t.root.children.filter((c) => c.other === undefined);
      assert.equal(kept.length, Math.min(8, child.size), `${key(t)} children`);
      for (const c of kept) {
        const w = child.get(`${key(c)}:${c.function}`);
        assert.ok(w !== undefined, `${key(c)} is right inside ${key(t)} in the walk`);
        near(c.totalNs, w, ops, `${key(t)} > ${key(c)}`);
      }
    }
  });
}

void test('drill-down is in the Report JSON and bounded', async () => {
  const { report } = await setup(FIXTURES[1]);
  const json = JSON.parse(JSON.stringify(report)) as Report;
  assert.deepEqual(json.drilldown, report.drilldown);
  const count = (n: CallTreeNode): number => 1 + n.children.reduce((s, c) => s + count(c), 0);
  for (const t of report.drilldown.callTrees) {
    const real = (n: CallTreeNode): number =>
      (n.other === undefined ? 1 : 0) + n.children.reduce((s, c) => s + real(c), 0);
    assert.ok(real(t.root) <= 100, `${key(t)}: ${real(t.root)} frames kept`);
    assert.ok(count(t.root) >= real(t.root));
  }
});

void test("backward work: the backward() line's tree goes down its caller stack, then to the forward line", async () => {
  const file = withMainThread(true);
  const kernel = loadTrace(file).events.find((e) => KERNEL_CATS.has(e.cat ?? ''));
  assert.ok(kernel);
  const ns = durNs(kernel);
  const report = buildReport(await loadAnyTrace(file), { workspaceRoot: path.dirname(file) });
  // The kernel's self is on the forward op's line (model.py:20), as attribution puts it.
  const [k] = report.drilldown.kernels;
  assert.deepEqual(
    k.lines.map((l) => ({ at: key(l), ns: l.ns, count: l.count })),
    [{ at: 'model.py:20', ns, count: 1 }],
  );
  // train.py:12 called backward(): beneath it torch's backward frame, then the forward line.
  const tree = report.drilldown.callTrees.find((t) => key(t) === 'train.py:12');
  assert.ok(tree, 'the backward() line has a call tree');
  const strip = (n: CallTreeNode): unknown => ({
    at: `${n.file}:${n.line}:${n.function}`,
    self: n.selfNs,
    total: n.totalNs,
    children: n.children.map(strip),
  });
  assert.deepEqual(strip(tree.root), {
    at: 'train.py:12:backward_step',
    self: 0,
    total: ns,
    children: [
      {
        at: '/venv/lib/torch/_tensor.py:521:backward',
        self: 0,
        total: ns,
        children: [{ at: 'model.py:20:forward', self: ns, total: ns, children: [] }],
      },
    ],
  });
  // The forward line's own tree: the work is self there (nothing recorded beneath it).
  const fwd = report.drilldown.callTrees.find((t) => key(t) === 'model.py:20');
  assert.deepEqual(fwd && strip(fwd.root), {
    at: 'model.py:20:forward',
    self: ns,
    total: ns,
    children: [],
  });
});

// Every real fixture (library fallback on, no workspace code): the sums hold on each tree and kernel.
const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'gl-drill-empty-'));
for (const file of [...allFixtures('torch'), ...allFixtures('nsys')]) {
  void test(`${path.basename(file)}: every call tree and kernel's lines add up`, async () => {
    const report = buildReport(await loadAnyTrace(file), { workspaceRoot: empty });
    for (const t of report.drilldown.callTrees) {
      const line = report.lines.find((l) => key(l) === key(t) && l.library === t.library);
      assert.ok(line, key(t));
      assert.equal(t.root.totalNs, line.totalNs, `${key(t)} root total`);
      assert.equal(checkSums(t.root, key(t)), line.totalNs, `${key(t)} self times sum`);
    }
    for (const d of report.drilldown.kernels) {
      const k = report.kernels.find((x) => x.name === d.kernel);
      assert.ok(k, d.kernel);
      assert.ok(d.unattributedNs >= 0 && d.otherLinesNs >= 0);
      assert.equal(
        d.lines.reduce((s, l) => s + l.ns, 0) + d.otherLinesNs + d.unattributedNs,
        k.totalNs,
      );
    }
  });
}
