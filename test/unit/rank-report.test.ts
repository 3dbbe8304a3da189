/**
 * Rank kept end to end in the Report: a real two-rank folder (nsys exports of two different GPUs,
 * Kineto traces of two jobs) gives one device, one timeline track and its own idle gaps per
 * (rank, device), each rank's gaps those of its own file (union of its GPU ops per device, from SQL
 * or the raw JSON events); the 4-rank gloo capture gives every rank's arrival at each matched
 * collective (Report.collectives), recomputed here from the raw per-rank events.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { loadTrace as loadAny } from '../../src/core/load';
import { toMarkdown } from '../../src/core/export/markdown';
import { buildReport } from '../../src/core/report';
import type { GapStat, Report } from '../../src/core/report-types';
import { DEFAULT_THRESHOLDS } from '../../src/core/rules/types';
import { fixture, ownFixture } from './fixtures';
import { gpuEvents, loadTrace } from './kineto-helpers';
import { offsetsFrom, rawTorch } from './rank-walk';

const RTX = fixture('nsys', 'rtx5000-attention-nvtx-2026.2.sqlite');
const H200 = fixture('nsys', 'h200-nvfuser-nvtx-2024.6.sqlite');
const A100 = fixture('torch', 'a100-nccl.json.gz');
const B200 = fixture('torch', 'b200x8-eager-nccl-stack.json.gz');
/** Report.gaps keeps this many gaps of each rank. */
const GAPS_PER_RANK = 50;

/** GPU op intervals [start, end) of one file, per device id. */
type OpsByDevice = Map<number, [number, number][]>;

/** A temp folder holding `files` (relative name → real file), copied. */
function folder(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gl-rank-report-'));
  for (const [rel, src] of Object.entries(files)) fs.copyFileSync(src, path.join(dir, rel));
  return dir;
}

/** Kernels, copies and memsets of an nsys export by SQL, and its CUDA GPUs' names. */
function nsysOps(file: string): { ops: OpsByDevice; names: string[]; sessionNs: bigint } {
  const db = new Database(file, { readonly: true });
  try {
    const tables = new Set(
      db.prepare("SELECT name FROM sqlite_master WHERE type='table'").pluck().all() as string[],
    );
    const ops: OpsByDevice = new Map();
    for (const t of [
      'CUPTI_ACTIVITY_KIND_KERNEL',
      'CUPTI_ACTIVITY_KIND_MEMCPY',
      'CUPTI_ACTIVITY_KIND_MEMSET',
    ]) {
      if (!tables.has(t)) continue;
      const rows = db.prepare(`SELECT start s, "end" e, deviceId d FROM ${t}`).all() as {
        s: number;
        e: number;
        d: number;
      }[];
      for (const r of rows) push(ops, r.d, [r.s, r.e]);
    }
    // GPUs with SMs are the CUDA devices (the others are display adapters).
    const names = db
      .prepare('SELECT name FROM TARGET_INFO_GPU WHERE smCount > 0 ORDER BY id')
      .pluck()
      .all() as string[];
    const sessionNs = BigInt(
      String(
        db
          .prepare('SELECT CAST(utcEpochNs AS TEXT) FROM TARGET_INFO_SESSION_START_TIME')
          .pluck()
          .get(),
      ),
    );
    return { ops, names, sessionNs };
  } finally {
    db.close();
  }
}

/** GPU ops of a Kineto trace from its raw events, per `args.device`, in ns. */
function kinetoOps(file: string): OpsByDevice {
  const ops: OpsByDevice = new Map();
  for (const e of gpuEvents(loadTrace(file).events)) {
    const start = Math.round((e.ts ?? 0) * 1000);
    push(ops, Number(e.args?.device ?? 0), [start, start + Math.round((e.dur ?? 0) * 1000)]);
  }
  return ops;
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
}

/**
 * Idle gaps of at least `minGapNs` between the merged busy intervals of each device, largest
 * first, the largest `max`: [device, start, end].
 */
function gapsOf(ops: OpsByDevice, minGapNs: number, max: number): [number, number, number][] {
  const gaps: [number, number, number][] = [];
  for (const [device, list] of ops) {
    const sorted = [...list].sort((a, b) => a[0] - b[0]);
    let end = sorted[0][1];
    for (const [s, e] of sorted.slice(1)) {
      if (s - end >= minGapNs) gaps.push([device, end, s]);
      end = Math.max(end, e);
    }
  }
  return gaps.sort((a, b) => b[2] - b[1] - (a[2] - a[1])).slice(0, max);
}

/** Busy ns of one device: the union of its ops. */
function busyOf(list: [number, number][]): number {
  const sorted = [...list].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let [s0, e0] = sorted[0];
  for (const [s, e] of sorted.slice(1)) {
    if (s > e0) {
      total += e0 - s0;
      [s0, e0] = [s, e];
    } else e0 = Math.max(e0, e);
  }
  return total + e0 - s0;
}

/**
 * Checks rank `rank`'s gaps in the Report against `expected` (its own file's gaps on its own
 * clock): the same devices and lengths, each shifted by one offset, the rank's clock shift.
 * Returns that shift.
 */
function checkRankGaps(
  report: Report,
  rank: number,
  expected: [number, number, number][],
  toleranceNs: number,
): number {
  const got = report.gaps.filter((g) => g.rank === rank);
  assert.equal(got.length, expected.length, `rank ${rank}: gap count`);
  assert.ok(got.length > 0, `rank ${rank} has gaps to compare`);
  const key = (g: { start: number; end: number }) => g.start;
  const mine = got
    .map((g: GapStat) => ({ device: g.deviceId, start: g.startNs, end: g.endNs }))
    .sort((a, b) => key(a) - key(b));
  const raw = expected
    .map(([device, start, end]) => ({ device, start, end }))
    .sort((a, b) => key(a) - key(b));
  const shift = mine[0].start - raw[0].start;
  raw.forEach((r, i) => {
    const m = mine[i];
    assert.equal(m.device, r.device, `rank ${rank} gap ${i}: device`);
    assert.ok(
      Math.abs(m.start - shift - r.start) <= toleranceNs &&
        Math.abs(m.end - shift - r.end) <= toleranceNs,
      `rank ${rank} gap ${i}: [${m.start - shift}, ${m.end - shift}) vs [${r.start}, ${r.end})`,
    );
  });
  return shift;
}

void test('two nsys ranks (RTX 5000 + H200): devices, tracks and gaps keyed by (rank, device)', async () => {
  const dir = folder({ 'rank0.sqlite': RTX, 'r1.sqlite': H200 });
  const raw = [nsysOps(RTX), nsysOps(H200)];
  const report = buildReport(await loadAny(dir), { workspaceRoot: dir });
  assert.equal(report.summary.rankCount, 2);
  // Both files use CUDA device 0: two devices all the same, told apart by rank, each its own GPU.
  const expectedDevices = raw.flatMap((r, rank) =>
    [...r.ops.keys()]
      .sort((a, b) => a - b)
      .map((id) => ({ rank, id, name: r.names[id], busyNs: busyOf(r.ops.get(id) ?? []) })),
  );
  assert.deepEqual(
    expectedDevices.map((d) => [d.rank, d.id]),
    [
      [0, 0],
      [1, 0],
    ],
  );
  // These two captures started 15 months apart: rank 1's offset (4e16 ns) is past 2^53, where a
  // double holds multiples of 8 ns only, so its shifted ends may each move by up to one step.
  const offset = Number(raw[1].sessionNs - raw[0].sessionNs);
  const ulp = 2 ** (Math.floor(Math.log2(Math.abs(offset))) - 52);
  const slack = [0, 2 * ulp];
  assert.deepEqual(
    report.summary.devices.map((d) => ({ ...d, busyNs: 0 })),
    expectedDevices.map((d) => ({ ...d, busyNs: 0 })),
  );
  report.summary.devices.forEach((d, i) => {
    const want = expectedDevices[i].busyNs;
    // Every busy interval's two ends may move by a step.
    const steps = 2 * (raw[d.rank].ops.get(d.id)?.length ?? 0);
    assert.ok(Math.abs(d.busyNs - want) <= steps * slack[d.rank], `${d.busyNs} vs ${want}`);
  });
  assert.deepEqual(
    report.timeline.map((t) => [t.rank, t.deviceId, t.name]),
    expectedDevices.map((d) => [d.rank, d.id, d.name]),
  );
  // Each track's busy fractions add up to its own device's busy time (bucket rounding aside).
  for (const [i, t] of report.timeline.entries()) {
    const busy = t.busy.reduce((s, x) => s + x, 0) * t.bucketNs;
    const want = expectedDevices[i].busyNs;
    assert.ok(
      Math.abs(busy - want) <= t.busy.length * t.bucketNs * 0.0005 + 1,
      `${busy} vs ${want}`,
    );
  }
  // Each rank's gaps are those of its own export, on the merged clock: rank 0 as recorded,
  // rank 1 shifted by the sessions' wall-clock start difference.
  const minGap = DEFAULT_THRESHOLDS.minGapNs;
  const shifts = raw.map((r, rank) =>
    checkRankGaps(report, rank, gapsOf(r.ops, minGap, GAPS_PER_RANK), 2 * slack[rank]),
  );
  assert.equal(shifts[0], 0);
  assert.ok(Math.abs(shifts[1] - offset) <= slack[1], `${shifts[1]} vs ${offset}`);
  // The Markdown's device table says whose GPU each row is.
  const md = toMarkdown(report);
  for (const d of expectedDevices)
    assert.ok(md.includes(`| rank ${d.rank} · GPU ${d.id} (${d.name}) |`));
});

void test('two Kineto ranks (A100 NCCL + B200): every rank keeps its own gaps and tracks', async () => {
  const dir = folder({ 'rank0.json.gz': A100, 'rank1.json.gz': B200 });
  const raw = [kinetoOps(A100), kinetoOps(B200)];
  const report = buildReport(await loadAny(dir), { workspaceRoot: dir });
  const lanes = raw.flatMap((ops, rank) =>
    [...ops.keys()].sort((a, b) => a - b).map((id) => [rank, id]),
  );
  assert.deepEqual(
    report.summary.devices.map((d) => [d.rank, d.id]),
    lanes,
  );
  assert.deepEqual(
    report.timeline.map((t) => [t.rank, t.deviceId]),
    lanes,
  );
  const minGap = DEFAULT_THRESHOLDS.minGapNs;
  // Microsecond timestamps: a gap's ends may differ by a rounding step from ours.
  const shifts = raw.map((ops, rank) =>
    checkRankGaps(report, rank, gapsOf(ops, minGap, GAPS_PER_RANK), 2),
  );
  // The two shifts differ by the offset the folder put rank 1 on.
  const offset = report.summary.rankAlignment[1].offsetNs;
  assert.ok(Math.abs(shifts[1] - shifts[0] - offset) <= 2, `${shifts[1] - shifts[0]} vs ${offset}`);
});

void test('collectives × ranks: every rank of the 4-rank gloo job arrives as its raw events say', async () => {
  const dir = ownFixture('ranks', 'gloo-torch');
  const ranks = [0, 1, 2, 3];
  const raw = ranks.map((r) => rawTorch(path.join(dir, `rank${r}.json.gz`)));
  const offsets = offsetsFrom(raw);
  const report = buildReport(await loadAny(dir), { workspaceRoot: dir });
  // Every matched collective: the n-th of a kind on every rank, arrivals on rank 0's clock.
  const expected = [...raw[0].keys()].flatMap((kind) => {
    const n = Math.min(...raw.map((r) => r.get(kind)?.length ?? 0));
    return Array.from({ length: n }, (_, index) => {
      const starts = raw.map((r, rank) => (r.get(kind) ?? [])[index][0] + offsets[rank]);
      const first = Math.min(...starts);
      const last = starts.indexOf(Math.max(...starts));
      return {
        kind,
        index,
        lastRank: last,
        waitNs: starts.reduce((s, a) => s + starts[last] - a, 0),
        late: starts.map((s) => s - first),
      };
    });
  });
  assert.equal(expected.length, 6); // 5 all_reduce + 1 barrier
  assert.equal(report.collectives.length, expected.length);
  // Most wait first.
  const waits = report.collectives.map((c) => c.waitNs);
  assert.deepEqual(
    waits,
    [...waits].sort((a, b) => b - a),
  );
  for (const c of report.collectives) {
    const e = expected.find((x) => x.kind === c.kind && x.index === c.index);
    assert.ok(e, `${c.kind} #${c.index} not among the raw collectives`);
    assert.equal(c.lastRank, e.lastRank);
    assert.ok(
      Math.abs(c.waitNs - e.waitNs) <= 8,
      `${c.kind} #${c.index}: ${c.waitNs} vs ${e.waitNs}`,
    );
    assert.deepEqual(
      c.arrivals.map((a) => a.rank),
      ranks,
    );
    c.arrivals.forEach((a, r) =>
      assert.ok(Math.abs(a.lateNs - e.late[r]) <= 2, `rank ${r}: ${a.lateNs} vs ${e.late[r]}`),
    );
  }
  // The slow rank is last at every all_reduce (test/scenarios/gloo_straggler.py makes rank 2 slow).
  assert.ok(
    report.collectives.filter((c) => c.kind === 'allreduce').every((c) => c.lastRank === 2),
  );
});

void test('single traces: rank 0 everywhere, no collectives grid', async () => {
  const report = buildReport(await loadAny(RTX), { workspaceRoot: os.tmpdir() });
  assert.ok(report.summary.devices.length > 0 && report.gaps.length > 0);
  assert.ok(report.summary.devices.every((d) => d.rank === 0));
  assert.ok(report.timeline.every((t) => t.rank === 0));
  assert.ok(report.gaps.every((g) => g.rank === 0));
  assert.deepEqual(report.collectives, []);
  // One rank: the 50 largest gaps of the file.
  const raw = nsysOps(RTX);
  checkRankGaps(report, 0, gapsOf(raw.ops, DEFAULT_THRESHOLDS.minGapNs, GAPS_PER_RANK), 0);
});
