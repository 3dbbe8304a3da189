/**
 * Rank folders under every naming scheme the launchers and engines write, built in a temp folder
 * from real traces (shared Kineto and nsys fixtures, copied under the scheme's names). Expected
 * kernel counts come from the raw files (JSON events, SQL over the exports), never from the reader.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { pickRankFiles } from '../../src/core/ingest/rank-files';
import { readRankFolder } from '../../src/core/ingest/ranks';
import { assignRanks, identityFromPath } from '../../src/core/ingest/rank-names';
import { loadTrace as loadFolder } from '../../src/core/load';
import { buildReport } from '../../src/core/report';
import { collectivesByRank } from '../../src/core/collectives';
import type { Profile } from '../../src/core/model';
import { fixture } from './fixtures';
import { KERNEL_CATS, loadTrace } from './kineto-helpers';
import { sql } from './rule-helpers';
import { rowsOf } from './table-rows';

const B200 = fixture('torch', 'b200x8-eager-nccl-stack.json.gz');
const A100 = fixture('torch', 'a100-nccl.json.gz');
const NSRES = fixture('torch', 'ns-resolution-rank0.pt.trace.json.gz');
const RTX = 'rtx5000-attention-nvtx-2026.2.sqlite';
const H200 = 'h200-nvfuser-nvtx-2024.6.sqlite';

/** Kernel events of a Kineto file, counted over the raw JSON. */
function rawKernels(file: string): number {
  return loadTrace(file).events.filter((e) => e.ph === 'X' && KERNEL_CATS.has(e.cat ?? '')).length;
}
/** Kernel rows of a shared nsys export, by SQL. */
function sqlKernels(name: string): number {
  return sql<{ n: number }>(name, 'SELECT COUNT(*) AS n FROM CUPTI_ACTIVITY_KIND_KERNEL')[0].n;
}

/** A temp folder holding `files` (relative name → real file), copied. */
function folder(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gl-ranks-'));
  for (const [rel, src] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.copyFileSync(src, path.join(dir, rel));
  }
  return dir;
}

function kernelsByRank(p: Pick<Profile, 'gpuOps'>): Map<number, number> {
  const m = new Map<number, number>();
  for (const op of rowsOf(p.gpuOps))
    if (op.kind === 'kernel') m.set(op.rank, (m.get(op.rank) ?? 0) + 1);
  return m;
}

void test('rank folders: SGLang TP/DP/PP/EP names are numbered by (PP, DP, TP, EP)', async () => {
  const dir = folder({
    '1700000000-TP-1-DP-0-PP-0-EP-1.trace.json.gz': A100,
    '1700000000-TP-0-DP-0-PP-1-EP-0.trace.json.gz': NSRES,
    '1700000000-TP-0-DP-0-PP-0-EP-0.trace.json.gz': B200,
  });
  const p = await readRankFolder(dir);
  assert.equal(p.rankCount, 3);
  assert.deepEqual(
    kernelsByRank(p),
    new Map([
      [0, rawKernels(B200)],
      [1, rawKernels(A100)],
      [2, rawKernels(NSRES)],
    ]),
  );
  assert.deepEqual(
    p.rankAlignment?.map((a) => [a.rank, a.file]),
    [
      [0, '1700000000-TP-0-DP-0-PP-0-EP-0.trace.json.gz'],
      [1, '1700000000-TP-1-DP-0-PP-0-EP-1.trace.json.gz'],
      [2, '1700000000-TP-0-DP-0-PP-1-EP-0.trace.json.gz'],
    ],
  );
});

void test('rank folders: vLLM dp_pp_tp_dcp_ep_rank names and torchtitan rank_N names', async () => {
  const vllm = await readRankFolder(
    folder({
      'dp0_pp0_tp1_dcp0_ep0_rank1.1712195495.pt.trace.json.gz': A100,
      'dp0_pp0_tp0_dcp0_ep0_rank0.1712195495.pt.trace.json.gz': B200,
    }),
  );
  assert.deepEqual(
    kernelsByRank(vllm),
    new Map([
      [0, rawKernels(B200)],
      [1, rawKernels(A100)],
    ]),
  );
  const titan = await readRankFolder(folder({ 'rank_1.json.gz': B200, 'rank_0.json.gz': A100 }));
  assert.deepEqual(
    kernelsByRank(titan),
    new Map([
      [0, rawKernels(A100)],
      [1, rawKernels(B200)],
    ]),
  );
});

void test('rank folders: per-rank nsys exports (rank%q{SLURM_PROCID} and r%q{…} names)', async () => {
  const dir = folder({ 'rank0.sqlite': fixture('nsys', RTX), 'r1.sqlite': fixture('nsys', H200) });
  const p = await loadFolder(dir);
  assert.equal(p.source.format, 'nsys-sqlite');
  assert.equal(p.rankCount, 2);
  assert.deepEqual(
    kernelsByRank(p),
    new Map([
      [0, sqlKernels(RTX)],
      [1, sqlKernels(H200)],
    ]),
  );
  // No collectives in common: nsys files are put on one clock by their sessions' wall-clock starts.
  const starts = [RTX, H200].map(
    (n) =>
      sql<{ s: bigint }>(
        n,
        'SELECT CAST(utcEpochNs AS TEXT) AS s FROM TARGET_INFO_SESSION_START_TIME',
      )[0].s,
  );
  const r1 = p.rankAlignment?.[1];
  assert.equal(r1?.method, 'session-start');
  assert.equal(r1?.offsetNs, Number(BigInt(String(starts[1])) - BigInt(String(starts[0]))));
  // A folder holding only raw streams (nsys without its importer) says what to do.
  const raw = fs.mkdtempSync(path.join(os.tmpdir(), 'gl-ranks-raw-'));
  fs.writeFileSync(path.join(raw, 'rank0.qdstrm'), 'raw');
  await assert.rejects(readRankFolder(raw), /only 1 raw nsys stream.*QdstrmImporter/);
  // One event budget for the whole folder.
  await assert.rejects(
    loadFolder(dir, { maxEvents: 1000 }),
    (e: Error) => e.message.startsWith(`${dir}:`) && /event budget/.test(e.message),
  );
});

void test('rank folders: ranks on several nodes (subfolders, tensorboard host names, host_name)', async () => {
  const dir = folder({
    'node-b/rank0.json.gz': B200,
    'node-b/rank1.json.gz': A100,
    'node-a/rank1.json.gz': NSRES,
    'node-a/rank0.json.gz': A100,
  });
  const p = await readRankFolder(dir);
  assert.equal(p.rankCount, 4);
  // Local ranks repeat across nodes: global ranks by (node, local rank).
  assert.deepEqual(
    p.rankAlignment?.map((a) => [a.rank, a.host, path.basename(a.file)]),
    [
      [0, 'node-a', 'rank0.json.gz'],
      [1, 'node-a', 'rank1.json.gz'],
      [2, 'node-b', 'rank0.json.gz'],
      [3, 'node-b', 'rank1.json.gz'],
    ],
  );
  assert.equal(kernelsByRank(p).get(1), rawKernels(NSRES));
  assert.equal(kernelsByRank(p).get(2), rawKernels(B200));
  // Files are read in the order node-a/rank0, node-b/rank0, node-a/rank1 …: the rank each row
  // carries is the global one, for operators and calls too (they carry it through their thread).
  // (A cpu_op named ProfilerStep#N is a step range, not an operator.)
  const rawOps = (file: string) =>
    loadTrace(file).events.filter(
      (e) => e.ph === 'X' && e.cat === 'cpu_op' && !/^ProfilerStep#/.test(e.name ?? ''),
    ).length;
  const opsOfRank = (r: number) =>
    Array.from({ length: p.operators.length }, (_, i) => p.operators.rankOf(i)).filter(
      (x) => x === r,
    ).length;
  assert.equal(opsOfRank(1), rawOps(NSRES));
  assert.equal(opsOfRank(2), rawOps(B200));
  assert.equal(opsOfRank(0) + opsOfRank(3), 2 * rawOps(A100));
  // The host a trace records (top-level host_name) and torch.profiler's `<host>_<pid>` names.
  const hostName = loadTrace(NSRES).top.host_name;
  assert.equal(typeof hostName, 'string');
  const named = await readRankFolder(
    folder({ 'rank0.json.gz': NSRES, 'trainer-7_4242.1712195495000.pt.trace.json.gz': B200 }),
  );
  // Both are rank 0 (one by name, one by distributedInfo) on different hosts: numbered by host.
  assert.deepEqual(
    named.rankAlignment?.map((a) => a.host),
    [String(hostName), 'trainer-7'].sort(),
  );
  assert.deepEqual(
    identityFromPath('trainer-7_4242.1712195495000.pt.trace.json').host,
    'trainer-7',
  );
  // distributedInfo.rank decides when the names hold no rank.
  assert.deepEqual(
    assignRanks([
      { file: 'a.json', traceRank: 5 },
      { file: 'b.json', traceRank: 4 },
    ]),
    [5, 4],
  );
});

void test('rank folders: NCCL kernels align two ranks of one job; equal arrivals blame no rank', async () => {
  // The same real rank trace as ranks 0 and 1: every collective matches its twin, ends and starts
  // coincide, so the offset is 0 and nobody is late.
  const dir = folder({ 'rank0.json.gz': A100, 'rank1.json.gz': A100 });
  const report = buildReport(await readRankFolder(dir), { workspaceRoot: dir });
  const kernels = loadTrace(A100).events.filter(
    (e) => e.ph === 'X' && KERNEL_CATS.has(e.cat ?? '') && /^nccl/i.test(e.name ?? ''),
  );
  const nccl = kernels.length;
  assert.ok(nccl > 10, `${nccl} NCCL kernels`);
  // This torch (NCCL 2.17) records no `Seq`: the n-th of a kind in its group is matched.
  assert.ok(kernels.every((e) => e.args?.Seq === undefined));
  assert.deepEqual(report.summary.rankAlignment[1], {
    rank: 1,
    file: 'rank1.json.gz',
    host: null,
    offsetNs: 0,
    method: 'collective-ends',
    matched: nccl,
    matchedBy: 'position',
    residualNs: 0,
  });
  assert.ok(!report.findings.some((f) => f.rule === 'straggler'));
});

void test('rank folders: NCCL kernels carry their process group and collective name from the args', async () => {
  // Kernels named with a collective's name in args ("Collective name", "Process Group Name"), and
  // symmetric-memory all-reduce kernels that have no such args (B200 trace).
  const COMM = /nccl|rccl|all_?reduce|all_?gather|reduce_?scatter/i;
  const kind = (name: string) =>
    /all_?reduce/i.test(name) ? 'allreduce' : /all_?gather/i.test(name) ? 'allgather' : name;
  for (const file of [A100, B200]) {
    const raw = loadTrace(file)
      .events.filter((e) => e.ph === 'X' && KERNEL_CATS.has(e.cat ?? '') && COMM.test(e.name ?? ''))
      .sort((a, b) => (a.ts ?? 0) - (b.ts ?? 0))
      .map((e) => {
        const named = e.args?.['Collective name'];
        const group = e.args?.['Process Group Name'];
        return typeof named === 'string' ? [String(group), kind(named)] : ['', kind(e.name ?? '')];
      });
    assert.ok(raw.some(([g]) => g !== ''));
    const p = await readRankFolder(folder({ 'rank0.json.gz': file }));
    assert.deepEqual(
      (collectivesByRank(p).get(0) ?? []).map((c) => [c.group, c.kind]),
      raw,
    );
  }
});

void test('of a file and its export or summary, the derived one is read unless the original is newer', () => {
  const pick = (mtimes: Record<string, number>) =>
    pickRankFiles(Object.keys(mtimes), new Map(), (rel) => mtimes[rel]).sort();
  // Made in order: report, its export, the summary — the summary is read.
  assert.deepEqual(pick({ 'rank0.nsys-rep': 1, 'rank0.sqlite': 2, 'rank0.gpulens': 3 }), [
    'rank0.gpulens',
  ]);
  assert.deepEqual(pick({ 'rank0.nsys-rep': 1, 'rank0.sqlite': 2 }), ['rank0.sqlite']);
  // Captured again into the same folder after: the new report, then the new trace.
  assert.deepEqual(pick({ 'rank0.nsys-rep': 3, 'rank0.sqlite': 2 }), ['rank0.nsys-rep']);
  assert.deepEqual(pick({ 'rank0.nsys-rep': 4, 'rank0.sqlite': 2, 'rank0.gpulens': 3 }), [
    'rank0.nsys-rep',
  ]);
  assert.deepEqual(
    pick({ 'rank1.json.gz': 5, 'rank1.gpulens': 4, 'rank2.json.gz': 1, 'rank2.gpulens': 2 }),
    ['rank1.json.gz', 'rank2.gpulens'],
  );
  // Same time (a copy): the derived file, as before.
  assert.deepEqual(pick({ 'rank0.json.gz': 1, 'rank0.gpulens': 1 }), ['rank0.gpulens']);
  // Traces of other kinds with one name are not each other's originals: both are ranks' files.
  assert.deepEqual(pick({ 'rank0.json': 1, 'rank0.sqlite': 2 }), ['rank0.json', 'rank0.sqlite']);
});
