/**
 * Workload detection on the real fixtures, advice that changes with it, memory pressure that
 * recognises a serving engine's pre-allocated KV pool, and GPU active % of the GPU span and of the
 * trace window. Expected values come from the raw events.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { toMarkdown } from '../../src/core/export/markdown';
import { formatPct } from '../../src/core/format';
import { readKineto } from '../../src/core/ingest/kineto';
import { buildReport } from '../../src/core/report';
import { memoryBoundDecode } from '../../src/core/rules/memory-bound-decode';
import { memoryPressure } from '../../src/core/rules/memory-pressure';
import { detectWorkload } from '../../src/core/workload';
import { fixture } from './fixtures';
import { KERNEL_CATS, type TraceEvent, durNs, loadTrace, gpuEvents } from './kineto-helpers';
import { contextFor, readFixture, unionLength } from './rule-helpers';

const pyNames = (events: TraceEvent[]) =>
  events.filter((e) => e.cat === 'python_function').map((e) => e.name ?? '');
const kernelShare = (events: TraceEvent[], re: RegExp) => {
  const k = events.filter((e) => e.ph === 'X' && KERNEL_CATS.has(e.cat ?? ''));
  const all = k.filter((e) => !/nccl/i.test(e.name ?? '')).reduce((s, e) => s + durNs(e), 0);
  return k.filter((e) => re.test(e.name ?? '')).reduce((s, e) => s + durNs(e), 0) / all;
};
const backwardOps = (events: TraceEvent[]) =>
  events.filter(
    (e) => (e.cat === 'cpu_op' || e.cat === 'Operator') && /backward/i.test(e.name ?? ''),
  ).length;

void test('workload: each fixture family is detected from what its trace holds', async () => {
  const cases: {
    file: string;
    expect: Record<string, unknown>;
    evidence: (e: TraceEvent[]) => boolean;
  }[] = [
    {
      // ResNet-50 training on a V100: backward operators, cuDNN convolution kernels.
      file: 'v100-resnet50-legacy-callstack.pt.trace.json.gz',
      expect: { domain: 'vision', phase: 'training', engine: null },
      evidence: (e) => backwardOps(e) > 0 && kernelShare(e, /conv|dgrad|wgrad/) > 0.1,
    },
    {
      // A recommender (split embedding tables, sparse all-to-all) training with Adagrad.
      file: 'diff-control.json.gz',
      expect: { domain: 'recommender', phase: 'training', engine: null },
      evidence: (e) => backwardOps(e) > 0 && kernelShare(e, /split_embedding/) > 0.05,
    },
    {
      // Qwen forward pass over a prompt: Hugging Face qwen2 model code, no decode kernels.
      file: 'h100-qwen0.5b-stack.json.gz',
      expect: { domain: 'llm', phase: 'prefill', engine: null },
      evidence: (e) =>
        pyNames(e).some((n) => n.includes('transformers/models/qwen2/')) && backwardOps(e) === 0,
    },
    {
      // SGLang capturing its decode CUDA graphs.
      file: 'sglang-decode-graph-capture.json.gz',
      expect: { domain: 'llm', phase: 'decode', engine: 'SGLang' },
      evidence: (e) =>
        pyNames(e).some((n) => n.includes('/sglang/')) &&
        e.some((x) => x.cat === 'user_annotation' && /_DECODE$/.test(x.name ?? '')),
    },
    {
      // vLLM on 8 B200s running a context (prefill) batch: execute_context_1(...)_generation_0(0).
      file: 'b200x8-eager-nccl-stack.json.gz',
      expect: { domain: 'llm', phase: 'prefill', engine: 'vLLM' },
      evidence: (e) =>
        pyNames(e).some((n) => n.startsWith('vllm/')) &&
        e.some((x) => /^execute_context_[1-9]\d*\(.*_generation_0\(/.test(x.name ?? '')),
    },
    {
      // OWLv2 (vision transformer detector) inference.
      file: 'h100-owlv2-stack.json.gz',
      expect: { domain: 'vision', phase: 'inference', engine: null },
      evidence: (e) =>
        pyNames(e).some((n) => n.includes('transformers/models/owlv2/')) && backwardOps(e) === 0,
    },
    {
      // BERT inference: a text encoder, neither an LLM generating tokens nor vision.
      file: 'h100-bert-small-stack.json.gz',
      expect: { domain: 'other', phase: 'inference', engine: null },
      evidence: (e) => pyNames(e).some((n) => n.includes('transformers/models/bert/')),
    },
  ];
  for (const c of cases) {
    const { events } = loadTrace(fixture('torch', c.file));
    assert.ok(c.evidence(events), `${c.file}: the trace does not hold what the case says`);
    const w = detectWorkload(await readFixture('torch', c.file));
    assert.deepEqual({ domain: w.domain, phase: w.phase, engine: w.engine }, c.expect, c.file);
    assert.ok(w.signals.length > 0, `${c.file}: no signal named`);
  }
  // The backward-operator count the ResNet signal names is the trace's own.
  const resnet = loadTrace(fixture('torch', 'v100-resnet50-legacy-callstack.pt.trace.json.gz'));
  const w = detectWorkload(
    await readFixture('torch', 'v100-resnet50-legacy-callstack.pt.trace.json.gz'),
  );
  assert.ok(
    w.signals.includes(`${backwardOps(resnet.events)} backward operators`),
    w.signals.join(),
  );
});

void test('workload: the memory-bound fix changes with the workload and names it', async () => {
  const fixOf = async (file: string) => {
    const p = await readFixture('torch', file);
    // A low share threshold so the rule speaks on each trace; the fix is what is compared.
    const [f] = memoryBoundDecode(p, contextFor(p, undefined, { memoryBoundPct: 1 }));
    assert.ok(f, `${file}: no finding`);
    return `${f.fix.title} ${f.fix.detail} ${f.fix.snippet}`;
  };
  const llm = await fixOf('h100-qwen0.5b-stack.json.gz');
  assert.match(llm, /KV cache/);
  assert.match(llm, /detected workload: LLM prefill/);
  const vision = await fixOf('v100-resnet50-legacy-callstack.pt.trace.json.gz');
  assert.doesNotMatch(vision, /KV|FP8|grouped-query/i);
  assert.match(vision, /channels_last/);
  assert.match(vision, /detected workload: vision training/);
  const recsys = await fixOf('diff-control.json.gz');
  assert.doesNotMatch(recsys, /KV|FP8|grouped-query/i);
  assert.match(recsys, /embedding/i);
  assert.match(recsys, /detected workload: recommender training/);
});

/**
 * A copy of a real trace with [memory] samples (the event shape torch.profiler's profile_memory
 * writes, as in the Qwen fixture) at the given fractions of device 0's capacity, spread over the
 * trace window.
 */
function withMemory(name: string, fractions: number[]): string {
  const { top, events } = loadTrace(fixture('torch', name));
  const props = top.deviceProperties as { id: number; totalGlobalMem: number }[];
  const capacity = props.find((d) => d.id === 0)?.totalGlobalMem ?? 0;
  const xs = events.filter((e) => e.ph === 'X' && typeof e.ts === 'number');
  const t0 = Math.min(...xs.map((e) => e.ts ?? 0));
  const t1 = Math.max(...xs.map((e) => (e.ts ?? 0) + (e.dur ?? 0)));
  const main = xs[0];
  const samples = fractions.map((f, i) => ({
    ph: 'i',
    cat: 'cpu_instant_event',
    s: 't',
    name: '[memory]',
    pid: main.pid,
    tid: main.tid,
    ts: t0 + ((t1 - t0) * (i + 0.5)) / fractions.length,
    args: {
      'Total Reserved': Math.round(capacity * Math.min(0.99, f + 0.01)),
      'Total Allocated': Math.round(capacity * f),
      Bytes: 1 << 20,
      'Device Id': 0,
      'Device Type': 1,
    },
  }));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gl-mem-'));
  const file = path.join(dir, 'trace.json');
  fs.writeFileSync(file, JSON.stringify({ ...top, traceEvents: [...events, ...samples] }));
  return file;
}

// vLLM's start-up: weights, then the KV-cache pool up to gpu_memory_utilization, then held.
const POOL = [0.1, 0.3, 0.91, 0.92, 0.915, 0.92, 0.918, 0.92];
// Memory that climbs to the ceiling and falls back with each step (activations).
const CHURN = [0.4, 0.93, 0.5, 0.94, 0.45, 0.93, 0.5, 0.6];

void test('memory-pressure: silent on a vLLM KV-cache pool, a warning for churn or training', async () => {
  const vllmPool = await readKineto(withMemory('b200x8-eager-nccl-stack.json.gz', POOL));
  assert.equal(detectWorkload(vllmPool).engine, 'vLLM');
  assert.deepEqual(memoryPressure(vllmPool, contextFor(vllmPool)), []);

  const vllmChurn = await readKineto(withMemory('b200x8-eager-nccl-stack.json.gz', CHURN));
  const [churn] = memoryPressure(vllmChurn, contextFor(vllmChurn));
  assert.equal(churn?.severity, 'warning');
  assert.equal(churn.evidence.heldPool, false);
  assert.ok(Math.abs(Number(churn.evidence.peakPct) - 94) < 1.01, String(churn.evidence.peakPct));

  // The same pool shape in a training run outside an engine: reported (info), with training advice.
  const trainPool = await readKineto(
    withMemory('v100-resnet50-legacy-callstack.pt.trace.json.gz', POOL),
  );
  const [held] = memoryPressure(trainPool, contextFor(trainPool));
  assert.equal(held?.severity, 'info');
  assert.equal(held.evidence.heldPool, true);
  const trainChurn = await readKineto(
    withMemory('v100-resnet50-legacy-callstack.pt.trace.json.gz', CHURN),
  );
  const [f] = memoryPressure(trainChurn, contextFor(trainChurn));
  assert.equal(f?.severity, 'warning');
  const text = `${f.fix.title} ${f.fix.detail} ${f.fix.snippet}`;
  assert.doesNotMatch(text, /KV|FP8/);
  assert.match(text, /checkpoint/);
  assert.match(text, /detected workload: vision training/);
});

void test('summary: GPU active % of the GPU span and of the trace window, from the raw events', async () => {
  for (const name of ['sglang-decode-graph-capture.json.gz', 'h100-bert-small-stack.json.gz']) {
    const { events } = loadTrace(fixture('torch', name));
    const gpu = gpuEvents(events);
    // The trace window: every complete event but the profiler's own "Trace" span and the
    // cuda_sync mirrors on the GPU timeline. µs relative to the first event, to keep ns digits.
    const xs = events.filter((e) => e.ph === 'X' && e.cat !== 'Trace' && e.cat !== 'cuda_sync');
    const base = Math.min(...xs.map((e) => e.ts ?? 0));
    const end = (e: TraceEvent) => (e.ts ?? 0) - base + (e.dur ?? 0);
    const windowUs = Math.max(...xs.map(end));
    const spanUs = Math.max(...gpu.map(end)) - Math.min(...gpu.map((e) => (e.ts ?? 0) - base));
    const busyUs = unionLength(gpu.map((e) => [(e.ts ?? 0) - base, end(e)]));
    const devices = new Set(gpu.map((e) => e.args?.device)).size;
    assert.equal(devices, 1);
    const report = buildReport(await readKineto(fixture('torch', name)), {
      workspaceRoot: os.tmpdir(),
    });
    const s = report.summary;
    const near = (actual: number, expected: number, what: string) =>
      assert.ok(
        Math.abs(actual - expected) <= expected * 0.002 + 1e-4,
        `${name} ${what}: ${actual} vs ${expected}`,
      );
    near(s.gpuActivePct, (100 * busyUs) / spanUs, 'active % of span');
    near(s.traceActivePct, (100 * busyUs) / windowUs, 'active % of window');
    near(s.traceWallNs, windowUs * 1000, 'trace window');
    assert.ok(s.traceActivePct > 0, `${name}: a non-zero share reads as zero`);
    // As shown: two significant digits under 1 %, never "100%" for less than all of it.
    const shown = formatPct(s.traceActivePct);
    if (s.traceActivePct < 1)
      assert.equal(shown, `${Number(((100 * busyUs) / windowUs).toPrecision(2))}%`);
    if (s.gpuActivePct < 100) assert.notEqual(formatPct(s.gpuActivePct), '100%');
    // The Markdown says which denominator each figure has.
    const md = toMarkdown(report);
    assert.ok(md.includes(`**${formatPct(s.gpuActivePct)}** of the GPU span`), name);
    assert.ok(md.includes(`**${shown}** of the trace window`), name);
    assert.ok(md.includes(`Workload: **${report.workload.label}**`), name);
  }
});
