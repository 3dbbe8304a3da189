/**
 * straggler and clock alignment on a real 4-rank gloo job (test/scenarios/gloo_straggler.py, rank 2
 * slow at the `straggler work` line), captured by scripts/capture-rank-fixtures.sh twice: with the
 * torch launcher (exact lines; each rank's times count from its own profiler start) and with nsys
 * (one report per rank, NVTX ranges; each counts from its own session start). Expected offsets,
 * late ranks and waits are computed here from the raw per-rank events (JSON, SQL). The live tests
 * run the same job with 2 ranks (rank 1 slow) under the launcher and under nsys.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { loadTrace } from '../../src/core/load';
import { buildReport } from '../../src/core/report';
import { formatNs } from '../../src/core/format';
import { annotationsFor, hoverMarkdown } from '../../src/server/annotations';
import type { Finding, Report } from '../../src/core/report-types';
import { ownFixture, repoRoot } from './fixtures';
import { captureWithNsys, pythonForCaptures } from './nsys-capture-helper';
import { startSlurm } from './slurm-cluster';
import { lateness, lineOpNs, offsetsFrom, rawTorch, type Raw } from './rank-walk';
import { lineOf, scenariosDir } from './rule-helpers';

const SCRIPT = 'gloo_straggler.py';
const RANKS = [0, 1, 2, 3];
const SLOW_RANK = 2;

function stragglerAt(report: Report, kind: string): Finding {
  const f = report.findings.find((x) => x.rule === 'straggler' && x.evidence.kind === kind);
  assert.ok(
    f,
    `no straggler finding for ${kind}: ${report.findings.map((x) => x.title).join('; ')}`,
  );
  return f;
}

async function reportOf(folder: string): Promise<Report> {
  return buildReport(await loadTrace(folder), { workspaceRoot: scenariosDir });
}

/** The NVTX `all_reduce` ranges of an nsys export, and its session's wall-clock start. */
function rawNsys(file: string): { raw: Raw; session: bigint } {
  const db = new Database(file, { readonly: true });
  try {
    const session = BigInt(
      String(
        db
          .prepare('SELECT CAST(utcEpochNs AS TEXT) FROM TARGET_INFO_SESSION_START_TIME')
          .pluck()
          .get(),
      ),
    );
    const rows = db
      .prepare(
        `SELECT n.start AS s, n."end" AS e FROM NVTX_EVENTS n LEFT JOIN StringIds t ON t.id = n.textId
         WHERE COALESCE(n.text, t.value) = 'all_reduce' AND n."end" IS NOT NULL ORDER BY n.start`,
      )
      .all() as { s: number; e: number }[];
    return {
      raw: new Map([['allreduce', rows.map((x) => [x.s, x.e] as [number, number])]]),
      session,
    };
  } finally {
    db.close();
  }
}

void test('straggler: torch launcher capture of 4 gloo ranks blames the slow line on rank 2', async () => {
  const folder = ownFixture('ranks', 'gloo-torch');
  const raw = RANKS.map((r) => rawTorch(path.join(folder, `rank${r}.json.gz`)));
  const offsets = offsetsFrom(raw);
  const report = await reportOf(folder);
  assert.equal(report.summary.rankCount, 4);
  assert.deepEqual(
    report.summary.rankAlignment.map((a) => [a.rank, a.offsetNs, a.method]),
    RANKS.map((r) => [r, offsets[r], r === 0 ? 'reference' : 'collective-ends']),
  );
  assert.deepEqual(
    report.summary.rankAlignment.map((a) => a.matched),
    [0, 6, 6, 6],
  );

  const expected = lateness(raw, offsets, 'allreduce');
  assert.equal(expected.n, 5);
  assert.deepEqual(expected.late, [2, 2, 2, 2, 2]);
  const f = stragglerAt(report, 'allreduce');
  assert.equal(f.evidence.rank, SLOW_RANK);
  assert.equal(f.evidence.collectives, expected.n);
  assert.ok(
    Math.abs(Number(f.evidence.waitNs) - expected.waitNs) <= expected.n * 4,
    `${String(f.evidence.waitNs)} vs ${expected.waitNs}`,
  );
  // The line that made rank 2 late, then the collective's own line.
  assert.deepEqual(f.locations[0], { file: SCRIPT, line: lineOf(SCRIPT, '# straggler work') });
  assert.ok(f.locations.some((l) => l.line === lineOf(SCRIPT, 'dist.all_reduce(y)')));
  assert.equal(f.savingsFrom, 'kernel-time');
  assert.ok(f.savingsNs > 0 && f.savingsNs <= Number(f.evidence.waitNs));
});

void test('straggler: nsys reports of 4 gloo ranks, aligned on NVTX all_reduce ends', async () => {
  const folder = ownFixture('ranks', 'gloo-nsys');
  const reads = RANKS.map((r) => rawNsys(path.join(folder, `rank${r}.sqlite`)));
  const raw = reads.map((x) => x.raw);
  const sessions = reads.map((x) => x.session);
  const offsets = offsetsFrom(raw);
  const report = await reportOf(folder);
  assert.deepEqual(
    report.summary.rankAlignment.map((a) => a.offsetNs),
    offsets,
  );
  // Independent check: on one host the sessions' wall-clock starts give the same offsets (to 5 ms).
  for (const r of RANKS.slice(1)) {
    const wall = Number(sessions[r] - sessions[0]);
    assert.ok(Math.abs(wall) > 20_000_000, `rank ${r} started ${wall} ns after rank 0`);
    assert.ok(Math.abs(offsets[r] - wall) < 5_000_000, `rank ${r}: ${offsets[r]} vs ${wall}`);
  }
  const expected = lateness(raw, offsets, 'allreduce');
  assert.deepEqual(expected.late, [2, 2, 2, 2, 2]);
  const f = stragglerAt(report, 'allreduce');
  assert.equal(f.evidence.rank, SLOW_RANK);
  assert.ok(Math.abs(Number(f.evidence.waitNs) - expected.waitNs) <= expected.n * 4);
  // NVTX ranges locate at their call sites: the slow block's range, then the collective's.
  assert.deepEqual(f.locations, [
    { file: SCRIPT, line: lineOf(SCRIPT, 'annotate("straggler_work")') },
    { file: SCRIPT, line: lineOf(SCRIPT, 'annotate("all_reduce")') },
  ]);
});

void test('rank spread: only rank 2 spends time on the straggler line, as the raw operators show', async () => {
  const folder = ownFixture('ranks', 'gloo-torch');
  const line = lineOf(SCRIPT, '# straggler work');
  const expected = RANKS.map((r) => lineOpNs(path.join(folder, `rank${r}.json.gz`), SCRIPT, line));
  assert.ok(
    expected[SLOW_RANK] > 0 && expected.filter((x) => x === 0).length === 3,
    String(expected),
  );
  const report = await reportOf(folder);
  const spread = report.rankSpread.find((x) => x.file === SCRIPT && x.line === line);
  assert.deepEqual(spread, {
    file: SCRIPT,
    line,
    minNs: 0,
    minRank: 0,
    medianNs: 0,
    maxNs: expected[SLOW_RANK],
    maxRank: SLOW_RANK,
  });
  assert.equal(report.rankSpread[0], spread, 'the widest spread comes first');
  // The hover of that line: the spread, and the straggler finding's message.
  const at = annotationsFor(report, SCRIPT, false).find((x) => x.line === line);
  assert.ok(at);
  const hover = hoverMarkdown(report, SCRIPT, at, 'gloo', false);
  assert.ok(
    hover.includes(
      `| Across 4 ranks | min 0 ns (rank 0) · median 0 ns · max ${formatNs(expected[SLOW_RANK])} (rank 2) |`,
    ),
    hover,
  );
  assert.match(
    hover,
    /rank 2 arrives [\d.]+ [mµ]?s late at allreduce \(gloo\\?_straggler\.py:\d+\) over 5 collectives; 3 ranks wait/,
  );
});

void test('straggler: silent on a single rank trace', async () => {
  const one = await loadTrace(path.join(ownFixture('ranks', 'gloo-torch'), 'rank2.json.gz'));
  const report = buildReport(one, { workspaceRoot: scenariosDir });
  assert.ok(!report.findings.some((f) => f.rule === 'straggler'));
  assert.deepEqual(report.summary.rankAlignment, []);
  assert.deepEqual(report.rankSpread, []);
});

/** Runs one command in the scenarios folder; rejects with its stderr (named `what`) on failure. */
function runIn(what: string, cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: scenariosDir, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${what} exited ${code}: ${err}`)),
    );
  });
}

/** Runs one process per rank of a `world`-rank gloo job (rank `slow` slow) and waits for all. */
async function runJob(world: number, slow: number, argv: (rank: number) => [string, string[]]) {
  const port = String(29000 + Math.floor(Math.random() * 900));
  await Promise.all(
    Array.from({ length: world }, (_, rank) => {
      const [cmd, args] = argv(rank);
      return runIn(`rank ${rank}`, cmd, args, {
        ...process.env,
        RANK: String(rank),
        WORLD_SIZE: String(world),
        MASTER_ADDR: '127.0.0.1',
        MASTER_PORT: port,
        GLOO_SLOW_RANK: String(slow),
        GLOO_STRAGGLER_ITERS: '200',
      });
    }),
  );
}

void test(
  'straggler live: 2 gloo ranks under the torch launcher, one trace per rank by --out {rank}',
  { timeout: 300_000 },
  async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gl-ranks-live-'));
    try {
      const launcher = path.join(repoRoot, 'python', 'gpu_lens_torch_launcher.py');
      await runJob(2, 1, () => [
        pythonForCaptures(),
        [
          launcher,
          '--exact-lines',
          '--workspace',
          scenariosDir,
          '--out',
          path.join(dir, 'rank{rank}.json'),
          SCRIPT,
        ],
      ]);
      assert.deepEqual(fs.readdirSync(dir).sort(), ['rank0.json', 'rank1.json']);
      const raw = [0, 1].map((r) => rawTorch(path.join(dir, `rank${r}.json`)));
      const expected = lateness(raw, offsetsFrom(raw), 'allreduce');
      assert.deepEqual(expected.late, [1, 1, 1, 1, 1]);
      const f = stragglerAt(await reportOf(dir), 'allreduce');
      assert.equal(f.evidence.rank, 1);
      assert.ok(Math.abs(Number(f.evidence.waitNs) - expected.waitNs) <= expected.n * 4);
      assert.deepEqual(f.locations[0], { file: SCRIPT, line: lineOf(SCRIPT, '# straggler work') });
      assert.ok(f.locations.some((l) => l.line === lineOf(SCRIPT, 'dist.all_reduce(y)')));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);

/** Resolves once something accepts connections on 127.0.0.1:port (polling; 120 s at most). */
async function waitForListener(port: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listened on port ${port} within 120 s`);
}

void test(
  'straggler live: 2 gloo ranks under nsys, a folder of rank%q{RANK}.nsys-rep reports',
  { timeout: 600_000 },
  async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gl-ranks-nsys-'));
    try {
      const port = String(29000 + Math.floor(Math.random() * 900));
      const env = {
        WORLD_SIZE: '2',
        MASTER_ADDR: '127.0.0.1',
        MASTER_PORT: port,
        GLOO_SLOW_RANK: '1',
        GLOO_STRAGGLER_ITERS: '200',
      };
      const script = path.join(scenariosDir, SCRIPT);
      const capture = (r: number) => {
        fs.mkdirSync(path.join(tmp, `r${r}`));
        return captureWithNsys(script, path.join(tmp, `r${r}`), {
          env: { ...env, RANK: String(r) },
        });
      };
      // Two nsys sessions starting in the same instant can both fail with "End of file" (seen on
      // clean-clone runs): rank 1 starts once rank 0 runs under its nsys, i.e. listens on the port.
      const first = capture(0);
      await Promise.race([waitForListener(Number(port)), first]);
      const caps = await Promise.all([first, capture(1)]);
      const folder = path.join(tmp, 'job');
      fs.mkdirSync(folder);
      caps.forEach((c, r) => fs.copyFileSync(c.repPath, path.join(folder, `rank${r}.nsys-rep`)));
      const reads = caps.map((c) => rawNsys(c.sqlitePath));
      const raw = reads.map((x) => x.raw);
      const offsets = offsetsFrom(raw);
      const expected = lateness(raw, offsets, 'allreduce');
      assert.deepEqual(expected.late, [1, 1, 1, 1, 1]);
      const report = await reportOf(folder);
      assert.deepEqual(
        report.summary.rankAlignment.map((a) => [a.file, a.offsetNs, a.method]),
        [
          ['rank0.nsys-rep', 0, 'reference'],
          ['rank1.nsys-rep', offsets[1], 'collective-ends'],
        ],
      );
      const f = stragglerAt(report, 'allreduce');
      assert.equal(f.evidence.rank, 1);
      assert.ok(Math.abs(Number(f.evidence.waitNs) - expected.waitNs) <= expected.n * 4);
      assert.deepEqual(f.locations, [
        { file: SCRIPT, line: lineOf(SCRIPT, 'annotate("straggler_work")') },
        { file: SCRIPT, line: lineOf(SCRIPT, 'annotate("all_reduce")') },
      ]);
      // Beside its export, a report is not read twice.
      fs.copyFileSync(caps[1].sqlitePath, path.join(folder, 'rank1.sqlite'));
      const both = await loadTrace(folder);
      assert.equal(both.rankCount, 2);
      assert.deepEqual(
        both.rankAlignment?.map((a) => a.file),
        ['rank0.nsys-rep', 'rank1.sqlite'],
      );
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  },
);

/** Runs `srun ARGS` on the test cluster; rejects with its stderr on failure. */
function srun(env: NodeJS.ProcessEnv, args: string[]): Promise<void> {
  return runIn('srun', 'srun', args, env);
}

void test(
  'straggler under Slurm: srun -n 4 with the torch launcher, srun -n 2 nsys profile -o rank%q{SLURM_PROCID}',
  { timeout: 600_000 },
  async () => {
    const cluster = await startSlurm();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gl-srun-'));
    try {
      const port = () => String(29000 + Math.floor(Math.random() * 900));
      // The torch launcher names each rank's trace from SLURM_PROCID; the script maps it to its rank.
      const torchDir = path.join(dir, 'torch');
      const launcher = path.join(repoRoot, 'python', 'gpu_lens_torch_launcher.py');
      await srun(
        {
          ...cluster.env,
          MASTER_ADDR: '127.0.0.1',
          MASTER_PORT: port(),
          GLOO_SLOW_RANK: '2',
          GLOO_STRAGGLER_ITERS: '200',
        },
        [
          '-n',
          '4',
          '--overcommit',
          pythonForCaptures(),
          launcher,
          '--exact-lines',
          '--workspace',
          scenariosDir,
          '--out',
          path.join(torchDir, 'rank{rank}.json'),
          SCRIPT,
        ],
      );
      assert.deepEqual(
        fs.readdirSync(torchDir).sort(),
        RANKS.map((r) => `rank${r}.json`),
      );
      const raw = RANKS.map((r) => rawTorch(path.join(torchDir, `rank${r}.json`)));
      const expected = lateness(raw, offsetsFrom(raw), 'allreduce');
      assert.deepEqual(expected.late, [2, 2, 2, 2, 2]);
      const f = stragglerAt(await reportOf(torchDir), 'allreduce');
      assert.equal(f.evidence.rank, 2);
      assert.ok(Math.abs(Number(f.evidence.waitNs) - expected.waitNs) <= expected.n * 4);
      assert.deepEqual(f.locations[0], { file: SCRIPT, line: lineOf(SCRIPT, '# straggler work') });

      // nsys inside the launcher: one report per rank, named by the rank.
      const nsysDir = path.join(dir, 'nsys');
      fs.mkdirSync(nsysDir);
      await srun(
        {
          ...cluster.env,
          MASTER_ADDR: '127.0.0.1',
          MASTER_PORT: port(),
          GLOO_SLOW_RANK: '1',
          GLOO_STRAGGLER_ITERS: '200',
        },
        [
          '-n',
          '2',
          '--overcommit',
          'nsys',
          'profile',
          '--trace=osrt,nvtx',
          '--sample=none',
          '--cpuctxsw=none',
          '-o',
          path.join(nsysDir, 'rank%q{SLURM_PROCID}'),
          pythonForCaptures(),
          SCRIPT,
        ],
      );
      const importer = '/usr/lib/nsight-systems/host-linux-x64/QdstrmImporter';
      for (const r of [0, 1]) {
        const base = path.join(nsysDir, `rank${r}`);
        // Debian's packaging leaves .qdstrm files: import them as nsys would.
        if (!fs.existsSync(`${base}.nsys-rep`))
          execFileSync(importer, ['-i', `${base}.qdstrm`], { stdio: 'ignore' });
      }
      const report = await reportOf(nsysDir);
      assert.deepEqual(
        report.summary.rankAlignment.map((a) => a.file),
        ['rank0.nsys-rep', 'rank1.nsys-rep'],
      );
      const g = stragglerAt(report, 'allreduce');
      assert.equal(g.evidence.rank, 1);
      assert.equal(g.locations[0].line, lineOf(SCRIPT, 'annotate("straggler_work")'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      cluster.stop();
    }
  },
);
