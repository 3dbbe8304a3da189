/**
 * Backward work on the line that asked for it: kernels the autograd engine launches on its own
 * thread count on the `backward()` line of the calling thread, and as self on the forward line
 * where the trace links the op. Expected values come from the raw events of real traces.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { readKineto } from '../../src/core/ingest/kineto';
import { buildReport } from '../../src/core/report';
import { fixture } from './fixtures';
import { withMainThread } from './backward-trace';
import { KERNEL_CATS, LAUNCH_CATS, type TraceEvent, durNs, loadTrace } from './kineto-helpers';

/** The innermost (latest-starting) event of `list` on thread `tid` that holds time t. */
function innermostOf(list: TraceEvent[]): (tid: string, t: number) => TraceEvent | undefined {
  const byTid = new Map<string, TraceEvent[]>();
  for (const e of list) {
    const l = byTid.get(String(e.tid)) ?? [];
    l.push(e);
    byTid.set(String(e.tid), l);
  }
  for (const l of byTid.values()) l.sort((a, b) => (a.ts ?? 0) - (b.ts ?? 0));
  return (tid, t) => {
    const l = byTid.get(tid) ?? [];
    let lo = 0;
    let hi = l.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((l[mid].ts ?? 0) <= t) lo = mid + 1;
      else hi = mid;
    }
    for (let k = lo - 1; k >= 0; k--)
      if ((l[k].ts ?? 0) <= t && (l[k].ts ?? 0) + (l[k].dur ?? 0) >= t) return l[k];
    return undefined;
  };
}

const GPU_CATS = new Set([...KERNEL_CATS, 'Memcpy', 'Memset', 'gpu_memcpy', 'gpu_memset']);

void test('backward: the ResNet-50 training trace puts its autograd-thread work on loss.backward()', async () => {
  const file = fixture('torch', 'v100-resnet50-legacy-callstack.pt.trace.json.gz');
  const { events } = loadTrace(file);
  const userFile = 'resnet50_profiler_api.py';
  const ops = events.filter((e) => e.cat === 'Operator');
  // Backward ops name their forward thread (`Fwd thread id` > 0); forward ops say 0.
  const isBackward = (e: TraceEvent) => Number(e.args?.['Fwd thread id'] ?? 0) > 0;
  const autograd = new Set(ops.filter(isBackward).map((e) => String(e.tid)));
  assert.equal(autograd.size, 1);
  const withStack = innermostOf(ops.filter((e) => typeof e.args?.['Call stack'] === 'string'));
  const userLineAt = (tid: string, t: number): number | null => {
    const op = withStack(tid, t);
    const frame = (op?.args?.['Call stack'] as string | undefined)
      ?.split(';')
      .find((f) => f.startsWith(userFile));
    return frame ? Number(/\((\d+)\)/.exec(frame)?.[1]) : null;
  };
  // The line that called backward(): the user frame outside torch's `_tensor.py: backward`.
  const backwardStack = ops
    .map((e) => e.args?.['Call stack'])
    .find(
      (s): s is string => typeof s === 'string' && /torch\/_tensor\.py\(\d+\): backward/.test(s),
    );
  assert.ok(backwardStack, 'no main-thread operator inside backward()');
  const backwardLine = Number(
    /\((\d+)\)/.exec(backwardStack.split(';').find((f) => f.startsWith(userFile)) ?? '')?.[1],
  );
  // Forward op of each sequence number (main thread), and the backward ops that carry one.
  const forwardBySeq = new Map<unknown, TraceEvent>();
  for (const e of ops)
    if (
      !isBackward(e) &&
      e.args?.['Sequence number'] !== undefined &&
      !forwardBySeq.has(e.args['Sequence number'])
    )
      forwardBySeq.set(e.args['Sequence number'], e);
  const linkedBackward = innermostOf(
    ops.filter((e) => isBackward(e) && forwardBySeq.has(e.args?.['Sequence number'])),
  );

  const launches = new Map(
    events.filter((e) => LAUNCH_CATS.has(e.cat ?? '')).map((e) => [e.args?.correlation, e]),
  );
  const gpu = events.filter((e) => e.ph === 'X' && GPU_CATS.has(e.cat ?? ''));
  let backwardNs = 0;
  let directNs = 0;
  const selfByLine = new Map<number, number>();
  for (const e of gpu) {
    const l = launches.get(e.args?.correlation);
    if (!l) continue;
    const tid = String(l.tid);
    const t = l.ts ?? 0;
    if (autograd.has(tid)) {
      backwardNs += durNs(e);
      const bwd = linkedBackward(tid, t);
      const fwd = bwd && forwardBySeq.get(bwd.args?.['Sequence number']);
      const self = fwd ? userLineAt(String(fwd.tid), fwd.ts ?? 0) : backwardLine;
      if (self !== null) selfByLine.set(self, (selfByLine.get(self) ?? 0) + durNs(e));
    } else if (userLineAt(tid, t) === backwardLine) directNs += durNs(e);
  }
  assert.ok(backwardNs > 300e6, `backward work ${backwardNs} ns`);
  assert.ok(selfByLine.size > 1, 'backward work links to no forward line');

  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'gl-bwd-ws-'));
  fs.writeFileSync(path.join(ws, userFile), '');
  const report = buildReport(await readKineto(file), { workspaceRoot: ws });
  const line = report.lines.find((l) => l.line === backwardLine);
  assert.ok(line, `no line ${backwardLine}`);
  assert.equal(line.totalNs, backwardNs + directNs);
  assert.equal(line.precision, 'line');
  // Self of the backward work: on each forward op's line (the backward() line for unlinked work).
  for (const [lineNo, ns] of selfByLine) {
    const stat = report.lines.find((l) => l.line === lineNo);
    assert.ok(stat && stat.selfNs >= ns, `line ${lineNo}: self ${stat?.selfNs} < ${ns}`);
  }
  const selfOnBackwardLine = selfByLine.get(backwardLine) ?? 0;
  assert.equal(line.selfNs, selfOnBackwardLine + directNs);
  // Every ns is on a line or unattributed, and no backward work is unattributed.
  const totalNs = gpu.reduce((s, e) => s + durNs(e), 0);
  const attributedSelf = report.lines.reduce((s, l) => s + l.selfNs, 0);
  assert.equal(report.unattributedNs + attributedSelf, totalNs);
  assert.ok(report.unattributedNs <= totalNs - backwardNs, `unattributed ${report.unattributedNs}`);
});

void test('backward: self on the forward line, total on the backward() caller, not on forward callers', async () => {
  const file = withMainThread(true);
  const kernel = loadTrace(file).events.find((e) => KERNEL_CATS.has(e.cat ?? '')) as TraceEvent;
  const report = buildReport(await readKineto(file), { workspaceRoot: path.dirname(file) });
  const at = (f: string, l: number) => report.lines.find((x) => x.file === f && x.line === l);
  assert.deepEqual(
    { self: at('model.py', 20)?.selfNs, total: at('model.py', 20)?.totalNs },
    { self: durNs(kernel), total: durNs(kernel) },
  );
  assert.deepEqual(
    { self: at('train.py', 12)?.selfNs, total: at('train.py', 12)?.totalNs },
    { self: 0, total: durNs(kernel) },
  );
  assert.equal(at('train.py', 5)?.totalNs ?? 0, 0);
  assert.equal(report.unattributedNs, 0);
});

void test('backward: without a linked forward op the backward() caller gets self as well', async () => {
  const file = withMainThread(false);
  const kernel = loadTrace(file).events.find((e) => KERNEL_CATS.has(e.cat ?? '')) as TraceEvent;
  const report = buildReport(await readKineto(file), { workspaceRoot: path.dirname(file) });
  const line = report.lines.find((x) => x.line === 12);
  assert.deepEqual(
    { self: line?.selfNs, total: line?.totalNs, precision: line?.precision },
    { self: durNs(kernel), total: durNs(kernel), precision: 'function' },
  );
  assert.equal(report.unattributedNs, 0);
});
