/**
 * Rank folders read in worker threads (core/ingest/rank-read-pool.ts): the merged Profile and its
 * Report are byte for byte those of reading the files one after another on this thread, on real
 * folders (the gloo 4-rank captures, nsys exports, Kineto epoch clocks on two whole-second bases);
 * a Profile sent between threads comes back with every object of the class it left with; the
 * folder's event budget and cancellation hold across the workers.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { EventBudget } from '../../src/core/ingest/event-budget';
import { profileBuffers, reviveProfile } from '../../src/core/ingest/profile-transfer';
import { readRankFile } from '../../src/core/ingest/rank-files';
import { DEFAULT_RANK_WORKER } from '../../src/core/ingest/rank-read-pool';
import { readRankFolder, type RankFolderOptions } from '../../src/core/ingest/ranks';
import type { Profile } from '../../src/core/model';
import { buildReport } from '../../src/core/report';
import { fixture, ownFixture } from './fixtures';
import { scenariosDir } from './rule-helpers';

/** A temporary folder holding copies of `files` under their new names. */
function folder(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gl-rank-pool-'));
  for (const [name, src] of Object.entries(files)) fs.copyFileSync(src, path.join(dir, name));
  return dir;
}

const report = (p: Profile): string =>
  JSON.stringify(buildReport(p, { workspaceRoot: scenariosDir }));

async function assertSameAsOneThread(dir: string): Promise<void> {
  const load = (o: RankFolderOptions) => readRankFolder(dir, o);
  const here = await load({ workers: 1 });
  const pooled = await load({ workers: 2 });
  assert.equal(pooled.gpuOps.length, here.gpuOps.length, dir);
  assert.equal(report(pooled), report(here), dir);
}

void test('the worker entry is bundled beside the tests, so the folders below are read in workers', () => {
  assert.ok(
    fs.existsSync(DEFAULT_RANK_WORKER),
    `${DEFAULT_RANK_WORKER} is missing: run \`node esbuild.mjs --tests\``,
  );
});

void test('rank folders read in worker threads: the same Report as one file after another', async () => {
  await assertSameAsOneThread(ownFixture('ranks', 'gloo-torch'));
  await assertSameAsOneThread(ownFixture('ranks', 'gloo-nsys'));
  await assertSameAsOneThread(
    folder({
      'rank0.sqlite': fixture('nsys', 'rtx5000-attention-nvtx-2026.2.sqlite'),
      'r1.sqlite': fixture('nsys', 'h200-nvfuser-nvtx-2024.6.sqlite'),
    }),
  );
  // Epoch clocks on two whole-second bases: in a worker rank 1 is read on its own base and moved
  // onto rank 0's afterwards.
  await assertSameAsOneThread(
    folder({
      'rank0.json.gz': fixture('torch', 'ns-resolution-rank0.pt.trace.json.gz'),
      'rank1.json.gz': fixture('torch', 'diff-test.json.gz'),
      'rank2.json.gz': fixture('torch', 'a100-nccl.json.gz'),
    }),
  );
});

void test('a Profile sent to another thread comes back with every object of its class', async () => {
  const file = path.join(ownFixture('ranks', 'gloo-torch'), 'rank0.json.gz');
  const { profile } = await readRankFile(file, { budget: new EventBudget() });
  const before = report(profile);
  const sent = reviveProfile(structuredClone(profile, { transfer: profileBuffers(profile) }));
  // The columns were moved, not copied.
  assert.equal(profile.gpuOps.startNs.length, 0);
  const original = (await readRankFile(file, { budget: new EventBudget() })).profile;
  const walk = (a: unknown, b: unknown, where: string, seen: Set<unknown>): void => {
    if (typeof a !== 'object' || a === null || seen.has(a)) return;
    seen.add(a);
    assert.equal(Object.getPrototypeOf(b), Object.getPrototypeOf(a), where);
    if (ArrayBuffer.isView(a)) return;
    const entries = a instanceof Map ? [...a] : Object.entries(a);
    const other = b instanceof Map ? new Map(b) : (b as Record<string, unknown>);
    for (const [k, v] of entries)
      walk(
        v,
        other instanceof Map ? other.get(k) : other[k as string],
        `${where}.${String(k)}`,
        seen,
      );
  };
  walk(original, sent, 'profile', new Set());
  assert.equal(report(sent), before);
});

void test('across workers the folder keeps one event budget, and a cancelled folder stops', async () => {
  const dir = ownFixture('ranks', 'gloo-torch');
  // Each file's events, as its reader counts them.
  const sizes = await Promise.all(
    fs.readdirSync(dir).map(async (n) => {
      const budget = new EventBudget();
      await readRankFile(path.join(dir, n), { budget });
      return budget.taken;
    }),
  );
  const refused = (limit: number) =>
    assert.rejects(
      readRankFolder(dir, { workers: 2, budget: new EventBudget(limit) }),
      (e: Error) =>
        e.message.startsWith(`${dir}:`) && e.message.includes(limit.toLocaleString('en-US')),
    );
  // Refused inside a worker (the first file alone is over) and by the merge (no file alone is).
  await refused(Math.floor(sizes[0] / 2));
  await refused(Math.max(...sizes) + 1);
  const abort = new AbortController();
  const loading = readRankFolder(dir, { workers: 2, signal: abort.signal });
  abort.abort();
  await assert.rejects(loading, { name: 'AbortError' });
});

void test('a folder of small files is read on this thread unless workers are asked for', async () => {
  const dir = folder({
    'rank0.json.gz': ownFixture('ranks', 'gloo-torch', 'rank0.json.gz'),
    'rank1.json.gz': ownFixture('ranks', 'gloo-torch', 'rank1.json.gz'),
  });
  // A worker entry that leaves a mark when a thread loads it, then fails the read.
  const mark = path.join(dir, 'worker-started');
  const workerPath = path.join(dir, 'marking-worker.js');
  fs.writeFileSync(
    workerPath,
    `require('node:fs').writeFileSync(${JSON.stringify(mark)}, ''); throw new Error('started');`,
  );
  const profile = await readRankFolder(dir, { workerPath });
  assert.equal(profile.rankCount, 2);
  assert.equal(fs.existsSync(mark), false, 'a worker was started for two small files');
  await assert.rejects(readRankFolder(dir, { workerPath, workers: 2 }), /started/);
  assert.equal(fs.existsSync(mark), true);
});
