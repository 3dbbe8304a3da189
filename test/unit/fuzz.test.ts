/**
 * Seeded, time-bounded fuzzing of both readers and the report built on what they return: mutated
 * Kineto bytes and events, mutated nsys SQLite rows, schema and bytes. Every input must end in a
 * Report or in a plain `Error` (the readers' clear errors); any other exception type (TypeError,
 * RangeError, a raw SqliteError …) or an input that takes longer than HANG_MS fails the test.
 *
 * The loop runs in a worker thread so that an endless synchronous loop can be caught and stopped.
 * `GPU_LENS_FUZZ_SEED` replays a run (the seed is printed); `GPU_LENS_FUZZ_MS` sets the budget.
 * A failing input is kept on disk and its path printed.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { toMarkdown } from '../../src/core/export/markdown';
import { loadTrace } from '../../src/core/load';
import { buildReport } from '../../src/core/report';
import { kinetoInput, writeNsysInput, type Event } from '../hostile/fuzz-mutate';
import { Rng } from '../hostile/rng';
import { fixture } from './fixtures';
import { loadTrace as parseTrace } from './kineto-helpers';

type Kind = 'kineto' | 'nsys';
interface Job {
  kind: Kind;
  seed: number;
  budgetMs: number;
  dir: string;
}
type Message =
  | { type: 'start'; index: number; file: string }
  | { type: 'fail'; index: number; file: string; error: string }
  | { type: 'end'; tried: number; errors: number; reports: number };

const HANG_MS = 15_000;
const BUDGET_MS = Number(process.env.GPU_LENS_FUZZ_MS ?? 40_000);

/** A plain Error is a reader's clear error; anything else escaped a check. */
function isClearError(e: unknown): boolean {
  return e instanceof Error && e.constructor === Error && e.message.length > 0;
}

async function fuzzWorker(job: Job): Promise<void> {
  const post = (m: Message): void => parentPort?.postMessage(m);
  const ws = path.join(job.dir, 'ws');
  fs.mkdirSync(ws, { recursive: true });
  const events = (name: string): Event[] => parseTrace(fixture('torch', name)).events as Event[];
  const kineto = [
    events('backward-thread.json'),
    events('torch-compile-triton.json.gz'),
    events('h100-bert-small-stack.json.gz').slice(0, 600),
  ];
  const nsys = [
    fs.readFileSync(fixture('nsys', 'h200-nvfuser-nvtx-2024.6.sqlite')),
    fs.readFileSync(fixture('nsys', 'cpu-react-agent-nvtx-2022.4.sqlite')),
  ];
  const end = Date.now() + job.budgetMs;
  const counts = { tried: 0, errors: 0, reports: 0 };
  for (let index = 0; Date.now() < end; index++) {
    // Each input has its own generator, so (seed, index) alone reproduces it.
    const rng = new Rng((job.seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
    const file = path.join(
      job.dir,
      job.kind === 'kineto' ? `in-${index}.json` : `in-${index}.sqlite`,
    );
    if (job.kind === 'kineto') fs.writeFileSync(file, kinetoInput(rng, rng.pick(kineto)));
    else writeNsysInput(rng, rng.pick(nsys), file);
    post({ type: 'start', index, file });
    counts.tried++;
    try {
      const profile = await loadTrace(file);
      const report = buildReport(profile, { workspaceRoot: ws, pathMap: [] });
      JSON.stringify(report);
      toMarkdown(report);
      counts.reports++;
    } catch (e) {
      if (!isClearError(e)) {
        const error =
          e instanceof Error ? `${e.constructor.name}: ${e.stack ?? e.message}` : String(e);
        post({ type: 'fail', index, file, error });
        continue;
      }
      counts.errors++;
    }
    fs.rmSync(file, { force: true });
  }
  post({ type: 'end', ...counts });
}

/** Runs one fuzz job in a worker, stopping it when an input hangs. */
function runJob(
  job: Job,
): Promise<{ end: Extract<Message, { type: 'end' }> | null; failures: string[] }> {
  return new Promise((resolve) => {
    const worker = new Worker(__filename, { workerData: job });
    const failures: string[] = [];
    let current: Extract<Message, { type: 'start' }> | null = null;
    let startedAt = Date.now();
    let end: Extract<Message, { type: 'end' }> | null = null;
    const watchdog = setInterval(() => {
      if (current && Date.now() - startedAt > HANG_MS) {
        failures.push(
          `input ${current.index} (seed ${job.seed}) still running after ${HANG_MS} ms: kept at ${current.file}`,
        );
        void worker.terminate();
      }
    }, 500);
    worker.on('message', (m: Message) => {
      if (m.type === 'start') {
        current = m;
        startedAt = Date.now();
      } else if (m.type === 'fail') {
        failures.push(`input ${m.index} (seed ${job.seed}), kept at ${m.file}: ${m.error}`);
      } else end = m;
    });
    worker.on('error', (e) =>
      failures.push(`worker crashed (seed ${job.seed}, input ${current?.index}): ${e.stack}`),
    );
    worker.on('exit', () => {
      clearInterval(watchdog);
      resolve({ end, failures });
    });
  });
}

if (!isMainThread) {
  void fuzzWorker(workerData as Job);
} else {
  const seed = Number(process.env.GPU_LENS_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
  for (const kind of ['kineto', 'nsys'] as const) {
    void test(`fuzz ${kind}: mutated inputs end in a Report or a clear error, never a crash or a hang`, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `gpu-lens-fuzz-${kind}-`));
      const { end, failures } = await runJob({ kind, seed, budgetMs: BUDGET_MS / 2, dir });
      console.log(
        `fuzz ${kind}: seed ${seed} (replay with GPU_LENS_FUZZ_SEED=${seed}), ${end?.tried ?? '?'} inputs tried, ` +
          `${end?.errors ?? '?'} clear errors, ${end?.reports ?? '?'} reports`,
      );
      assert.deepEqual(failures, []);
      assert.ok(end && end.tried > 0, 'the fuzz loop did not finish');
      fs.rmSync(dir, { recursive: true, force: true });
    });
  }
}
