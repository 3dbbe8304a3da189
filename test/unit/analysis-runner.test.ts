/**
 * The server's analysis worker (src/core/analysis-runner.ts, dist/analyze-worker.js): the Report
 * comes back whole, Cancel ends the worker, and an over-budget trace or a heap exhausted in the
 * worker become one-line messages while this process carries on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { AnalysisCancelled, runAnalysis, runningAnalyses } from '../../src/core/analysis-runner';
import type { AnalyzeJob } from '../../src/core/analyze-worker';
import { fixture, repoRoot } from './fixtures';

const workerPath = path.join(repoRoot, 'dist', 'analyze-worker.js');
const BERT = fixture('torch', 'h100-bert-small-stack.json.gz');
const OWL = fixture('torch', 'h100-owlv2-stack.json.gz');

function job(tracePath: string, maxEvents = 10_000_000): AnalyzeJob {
  return { tracePath, workspaceFolder: os.tmpdir(), maxEvents, pathMap: [], thresholds: {} };
}

function events(file: string): { cat?: string; ph?: string }[] {
  return (
    JSON.parse(zlib.gunzipSync(fs.readFileSync(file)).toString('utf8')) as {
      traceEvents: { cat?: string; ph?: string }[];
    }
  ).traceEvents;
}

async function workersGone(): Promise<void> {
  const until = Date.now() + 5000;
  while (runningAnalyses() > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  assert.equal(runningAnalyses(), 0, 'the worker ended');
}

void test('the worker returns the whole Report', async () => {
  assert.ok(fs.existsSync(workerPath), `${workerPath} is missing: run \`node esbuild.mjs\``);
  const progress: number[] = [];
  const report = await runAnalysis(job(BERT), { workerPath, onProgress: (p) => progress.push(p) });
  const kernels = events(BERT).filter((e) => e.ph === 'X' && e.cat === 'kernel').length;
  assert.equal(report.summary.kernelCount, kernels);
  assert.equal(report.source.path, BERT);
  assert.ok(progress.length > 0 && progress.at(-1) === 100, `progress ${progress.join(',')}`);
  await workersGone();
});

void test('over the event budget: one line with the hint naming the setting', async () => {
  const n = events(BERT).length;
  const err = await runAnalysis(job(BERT, n - 1), {
    workerPath,
    budgetHint: 'raise the setting gpuLens.maxEvents',
  }).then(
    () => assert.fail('loaded past the budget'),
    (e: unknown) => e as Error,
  );
  assert.match(
    err.message,
    /more than [\d,]+ events \(the event budget\): raise the setting gpuLens\.maxEvents$/,
  );
  assert.doesNotMatch(err.message, /\n/);
  await workersGone();
});

void test('Cancel settles at once and ends the worker', async () => {
  const abort = new AbortController();
  let started = false;
  const pending = runAnalysis(job(OWL), {
    workerPath,
    signal: abort.signal,
    onProgress: () => {
      if (!started) abort.abort();
      started = true;
    },
  });
  const t = performance.now();
  await assert.rejects(pending, AnalysisCancelled);
  assert.ok(performance.now() - t < 1000, 'rejected without waiting for the load');
  await workersGone();
});

void test('a heap exhausted in the worker is a message, not a crash', async () => {
  // 1 M user ranges hold ~140 MB of heap once loaded (one object each; kernels are columns, and
  // 1 M of them fit in 64 MB now); the worker gets 64 MB.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gl-oom-'));
  try {
    const file = path.join(dir, 'ranges-1m.json.gz');
    const gen = (await import(
      path.join(repoRoot, 'scripts', 'bench', 'gen-kineto-kernels.mjs')
    )) as {
      writeTinyRangeTrace: (out: string, count: number) => Promise<void>;
    };
    await gen.writeTinyRangeTrace(file, 1_000_000);
    const err = await runAnalysis(job(file), { workerPath, heapMb: 64 }).then(
      () => assert.fail('1 M ranges loaded in a 64 MB heap'),
      (e: unknown) => e as Error,
    );
    assert.match(
      err.message,
      /ran out of memory analyzing ranges-1m\.json\.gz \(heap limit 64 MB\)/,
    );
    assert.doesNotMatch(err.message, /\n/);
    await workersGone();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  // This process is fine: another analysis runs.
  const report = await runAnalysis(job(BERT), { workerPath });
  assert.ok(report.summary.kernelCount > 0);
});
