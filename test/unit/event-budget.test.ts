/**
 * The event budget (`gpuLens.maxEvents`, `--max-events`): a trace with more events than the budget
 * is refused with a one-line message naming the limit, and one with exactly that many loads. Event
 * and row counts come from the traces themselves (JSON.parse of the events, SQL COUNT of the rows).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import Database from 'better-sqlite3';
import { EventBudgetError } from '../../src/core/ingest/event-budget';
import { loadTrace } from '../../src/core/load';
import { fixture, repoRoot } from './fixtures';

const KINETO = fixture('torch', 'h100-bert-small-stack.json.gz');
const NSYS = fixture('nsys', 'rtx5000-attention-nvtx-2026.2.sqlite');
const cli = path.join(repoRoot, 'dist', 'cli.js');

/** Elements of the trace's event array, as the JSON holds them. */
function kinetoEventCount(file: string): number {
  const trace = JSON.parse(zlib.gunzipSync(fs.readFileSync(file)).toString('utf8')) as
    { traceEvents: unknown[] } | unknown[];
  return Array.isArray(trace) ? trace.length : trace.traceEvents.length;
}

/** Rows of every activity table the nsys reader reads, by SQL COUNT. */
function nsysRowCount(file: string): number {
  const db = new Database(file, { readonly: true });
  const tables = (
    db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]
  ).filter((t) =>
    /^(CUPTI_ACTIVITY_KIND_(RUNTIME|KERNEL|MEMCPY|MEMSET)|OSRT_API|NVTX_EVENTS|GPU_METRICS)$/.test(
      t,
    ),
  );
  const n = tables.reduce(
    (sum, t) => sum + (db.prepare(`SELECT COUNT(*) FROM "${t}"`).pluck().get() as number),
    0,
  );
  db.close();
  return n;
}

async function refusal(p: string, maxEvents: number): Promise<EventBudgetError> {
  const err = await loadTrace(p, { maxEvents }).then(
    () => assert.fail(`${p} loaded past a budget of ${maxEvents}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof EventBudgetError, String(err));
  assert.equal(err.limit, maxEvents);
  assert.doesNotMatch(err.message, /\n/);
  return err;
}

void test('a Kineto trace loads with a budget of exactly its event count, not one less', async () => {
  const n = kinetoEventCount(KINETO);
  const profile = await loadTrace(KINETO, { maxEvents: n });
  assert.ok(profile.gpuOps.length > 0);
  const err = await refusal(KINETO, n - 1);
  assert.ok(err.message.includes(`more than ${(n - 1).toLocaleString('en-US')} events`));
});

void test('an nsys export is refused up front from its row counts', async () => {
  const n = nsysRowCount(NSYS);
  assert.ok(n > 1000, `fixture has ${n} activity rows`);
  const profile = await loadTrace(NSYS, { maxEvents: n });
  assert.ok(profile.gpuOps.length > 0);
  const err = await refusal(NSYS, n - 1);
  assert.match(err.message, /activity rows/);
});

void test('a rank folder counts all its files against one budget', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gl-budget-'));
  try {
    fs.copyFileSync(KINETO, path.join(dir, 'rank-0.json.gz'));
    fs.copyFileSync(KINETO, path.join(dir, 'rank-1.json.gz'));
    const n = kinetoEventCount(KINETO);
    // Each file alone fits; both together do not.
    const err = await refusal(dir, n + n - 1);
    assert.ok(err.message.startsWith(`${dir}:`), err.message);
    const merged = await loadTrace(dir, { maxEvents: 2 * n });
    assert.equal(merged.rankCount, 2);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

function runCli(...args: string[]) {
  assert.ok(fs.existsSync(cli), `${cli} is missing: run \`node esbuild.mjs\` first`);
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 600_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

void test('the CLI refuses a trace past --max-events in one line naming the option', () => {
  const n = kinetoEventCount(KINETO);
  const r = runCli('analyze', KINETO, '--max-events', String(n - 1), '--workspace', os.tmpdir());
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^gpu-lens: .*more than [\d,]+ events .*--max-events/);
  assert.equal(runCli('analyze', KINETO, '--max-events', String(n)).code, 0);
  // A budget below one event is a wrong command line (exit 2), said in one line.
  const zero = runCli('analyze', KINETO, '--max-events', '0');
  assert.equal(zero.code, 2, zero.stderr);
  assert.match(zero.stderr.trimEnd(), /^gpu-lens: [^\n]*--max-events[^\n]*$/);
});

// The case that used to exhaust the server's heap: 30 M tiny kernels in a ~220 MB .json.gz, under
// the default budget. Opt-in (about two minutes here: ~30 s to generate, ~60 s to read 10 M events).
void test(
  '30 M tiny kernels are refused under the default budget, well inside the heap',
  { skip: process.env.GPU_LENS_BIG_TESTS !== '1' && 'set GPU_LENS_BIG_TESTS=1 to run' },
  async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gl-budget-30m-'));
    try {
      const file = path.join(dir, 'kernels-30m.json.gz');
      const gen = (await import(
        path.join(repoRoot, 'scripts', 'bench', 'gen-kineto-kernels.mjs')
      )) as { writeTinyKernelTrace: (out: string, count: number) => Promise<void> };
      await gen.writeTinyKernelTrace(file, 30_000_000);
      const t = performance.now();
      // /usr/bin/time is not everywhere: a preload makes the CLI report its own peak RSS.
      const preload = path.join(dir, 'rss.js');
      fs.writeFileSync(
        preload,
        "process.on('exit', () => process.stderr.write('maxRSS ' + process.resourceUsage().maxRSS + '\\n'));",
      );
      const r = spawnSync(process.execPath, ['-r', preload, cli, 'analyze', file], {
        encoding: 'utf8',
        timeout: 600_000,
      });
      const seconds = (performance.now() - t) / 1000;
      const [message, rss] = r.stderr.trimEnd().split('\n');
      assert.equal(r.status, 1, r.stderr);
      assert.match(message, /^gpu-lens: .*more than 10,000,000 events .*--max-events/);
      const rssMiB = Number(/maxRSS (\d+)/.exec(rss)?.[1]) / 1024;
      process.stderr.write(
        `refused after ${seconds.toFixed(0)} s, peak RSS ${rssMiB.toFixed(0)} MiB\n`,
      );
      assert.ok(rssMiB < 4096, `peak RSS ${rssMiB} MiB`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);
