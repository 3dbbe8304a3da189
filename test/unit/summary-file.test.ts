/**
 * `gpu-lens summarize` summaries (core/ingest/summary-file*.ts): a folder of summaries gives the
 * same Report as the folder of traces, byte for byte once the paths that name the files opened
 * are set aside (source.path, rankAlignment[].file); one summary gives its trace's Report; each
 * rank's summary holds the kernels its raw trace holds (JSON events, SQL); a corrupt or lying
 * summary ends in one line naming the file.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { test } from 'node:test';
import { EventBudget, EventBudgetError } from '../../src/core/ingest/event-budget';
import { readRankFile, summaryName } from '../../src/core/ingest/rank-files';
import { SUMMARY_HEADER_BYTES } from '../../src/core/ingest/summary-file';
import { decodeSummary, readSummaryFile } from '../../src/core/ingest/summary-file-read';
import { encodeSummary, writeSummaryFile } from '../../src/core/ingest/summary-file-write';
import { loadTrace } from '../../src/core/load';
import { buildReport } from '../../src/core/report';
import { allFixtures, fixture, ownFixture } from './fixtures';
import { KERNEL_CATS, loadTrace as rawTrace } from './kineto-helpers';
import { scenariosDir, sql } from './rule-helpers';
import { rowsOf } from './table-rows';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'gl-summary-'));

/**
 * Summarizes `trace` as the CLI does (readRankFile + writeSummaryFile) into `out`; `name` is the
 * trace's file name in its rank folder (the CLI's is the file's own).
 */
async function summarize(trace: string, out: string, name = path.basename(trace)): Promise<void> {
  const read = await readRankFile(trace, { budget: new EventBudget() });
  await writeSummaryFile(read, name, out);
}

/** A folder holding each file of `dir` summarized under its summary name (subfolders kept). */
async function summaryFolder(files: Record<string, string>): Promise<string> {
  const out = tmp();
  for (const [rel, src] of Object.entries(files)) {
    const dst = path.join(out, path.dirname(rel), summaryName(path.basename(rel)));
    fs.mkdirSync(path.dirname(dst), { recursive: true });
    await summarize(src, dst, path.basename(rel));
  }
  return out;
}

/** A temp folder holding `files` (relative name → real file), copied. */
function traceFolder(files: Record<string, string>): string {
  const dir = tmp();
  for (const [rel, src] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.copyFileSync(src, path.join(dir, rel));
  }
  return dir;
}

/**
 * The Report's JSON with the names of the files opened set aside: `source.path` (the trace or
 * folder) and each `rankAlignment[].file` (the summary's name in place of its trace's).
 */
async function reportText(p: string): Promise<string> {
  const report = buildReport(await loadTrace(p), { workspaceRoot: scenariosDir });
  report.source.path = '';
  for (const a of report.summary.rankAlignment) a.file = a.file.replace(/\.[^/\\]*$/, '');
  return JSON.stringify(report, null, 1);
}

async function assertSameReport(traces: string, summaries: string): Promise<void> {
  const a = await reportText(traces);
  const b = await reportText(summaries);
  if (a !== b) assert.deepEqual(JSON.parse(b), JSON.parse(a), fs.readdirSync(traces).join(' '));
  assert.equal(b, a);
}

function rawKernels(file: string): number {
  return rawTrace(file).events.filter((e) => e.ph === 'X' && KERNEL_CATS.has(e.cat ?? '')).length;
}

const RANKS = [0, 1, 2, 3];

void test('summaries of the gloo 4-rank captures (torch launcher, nsys): the same Report as the traces', async () => {
  for (const [kind, ext] of [
    ['gloo-torch', '.json.gz'],
    ['gloo-nsys', '.sqlite'],
  ]) {
    const dir = ownFixture('ranks', kind);
    const files = Object.fromEntries(
      RANKS.map((r) => [`rank${r}${ext}`, path.join(dir, `rank${r}${ext}`)]),
    );
    const sums = await summaryFolder(files);
    assert.deepEqual(
      fs.readdirSync(sums).sort(),
      RANKS.map((r) => `rank${r}.gpulens`),
    );
    await assertSameReport(dir, sums);
    // The ranks were aligned on their collectives, as the traces were.
    const merged = await loadTrace(sums);
    assert.equal(merged.rankCount, 4);
    assert.ok(merged.rankAlignment?.slice(1).every((a) => a.method === 'collective-ends'));
  }
});

void test('summaries of real GPU traces in rank folders: nsys exports, Kineto epoch clocks, node names', async () => {
  const RTX = 'rtx5000-attention-nvtx-2026.2.sqlite';
  const H200 = 'h200-nvfuser-nvtx-2024.6.sqlite';
  const nsys = { 'rank0.sqlite': fixture('nsys', RTX), 'r1.sqlite': fixture('nsys', H200) };
  await assertSameReport(traceFolder(nsys), await summaryFolder(nsys));
  // Each rank's summary holds its export's kernels (SQL over the export).
  for (const [name, src] of [
    ['rank0', RTX],
    ['r1', H200],
  ]) {
    const { profile } = await readSummaryFile(
      path.join(
        await summaryFolder({ [`${name}.sqlite`]: fixture('nsys', src) }),
        `${name}.gpulens`,
      ),
      { budget: new EventBudget() },
    );
    const n = sql<{ n: number }>(src, 'SELECT COUNT(*) AS n FROM CUPTI_ACTIVITY_KIND_KERNEL')[0].n;
    assert.equal(rowsOf(profile.gpuOps).filter((o) => o.kind === 'kernel').length, n);
  }
  const B200 = fixture('torch', 'b200x8-eager-nccl-stack.json.gz');
  const A100 = fixture('torch', 'a100-nccl.json.gz');
  // Kineto epoch clocks: each summary has its own whole-second base (1712195495 s, 1661938466 s);
  // in the folder rank 1 is read on rank 0's, as its trace is (times past 2^53 ns: the same
  // rounding as the trace's reader).
  const NSRES = fixture('torch', 'ns-resolution-rank0.pt.trace.json.gz');
  const DIFF = fixture('torch', 'diff-test.json.gz');
  const kineto = { 'rank0.json.gz': NSRES, 'rank1.json.gz': DIFF };
  const kinetoSums = await summaryFolder(kineto);
  const bases = await Promise.all(
    [0, 1].map(async (r) => {
      const file = path.join(kinetoSums, `rank${r}.gpulens`);
      return (await readSummaryFile(file, { budget: new EventBudget() })).baseUs;
    }),
  );
  assert.deepEqual(bases, [1712195495e6, 1661938466e6]);
  await assertSameReport(traceFolder(kineto), kinetoSums);
  const pairs = { 'rank0.json.gz': B200, 'rank1.json.gz': A100 };
  await assertSameReport(traceFolder(pairs), await summaryFolder(pairs));
  // Nodes named by subfolders, and by tensorboard file names, which a summary's name drops (the
  // trace's name inside it keeps the node).
  const nodes = { 'node-b/rank0.json.gz': B200, 'node-a/rank0.json.gz': A100 };
  await assertSameReport(traceFolder(nodes), await summaryFolder(nodes));
  const flat = {
    'hostx_11.1712195495.pt.trace.json.gz': B200,
    'hosty_7.1712195495.pt.trace.json.gz': A100,
  };
  const flatSums = await summaryFolder(flat);
  await assertSameReport(traceFolder(flat), flatSums);
  const hosts = await loadTrace(flatSums);
  assert.deepEqual(hosts.rankAlignment?.map((a) => a.host).sort(), ['hostx', 'hosty']);
  const { profile } = await readSummaryFile(
    path.join(await summaryFolder({ 'b.json.gz': B200 }), 'b.gpulens'),
    { budget: new EventBudget() },
  );
  assert.equal(rowsOf(profile.gpuOps).filter((o) => o.kind === 'kernel').length, rawKernels(B200));
});

void test('one summary gives its trace Report, on every shared fixture', async () => {
  const out = tmp();
  for (const trace of [...allFixtures('nsys'), ...allFixtures('torch')]) {
    const sum = path.join(out, summaryName(path.basename(trace)));
    await summarize(trace, sum);
    const a = await reportText(trace);
    const b = await reportText(sum);
    if (a !== b) assert.deepEqual(JSON.parse(b), JSON.parse(a), path.basename(trace));
    assert.equal(b, a, path.basename(trace));
    assert.ok(fs.statSync(sum).size < fs.statSync(trace).size * 2, path.basename(trace));
  }
});

void test('a summary read and written again holds the same bytes: user ranges and operators keep their order in its range table', async () => {
  const out = tmp();
  for (const name of [
    'h100-bert-small-stack.json.gz',
    'v100-resnet50-legacy-callstack.pt.trace.json.gz',
  ]) {
    const sum = path.join(out, summaryName(name));
    await summarize(fixture('torch', name), sum);
    const bytes = fs.readFileSync(sum);
    const read = decodeSummary(bytes, sum, { budget: new EventBudget() });
    assert.ok(read.profile.ranges.length > 0 && read.profile.operators.length > 0, name);
    assert.ok(encodeSummary(read, read.traceName ?? name).equals(bytes), name);
  }
});

void test('a folder holding traces and their summaries reads each rank once, from its summary unless the trace is newer', async () => {
  const dir = ownFixture('ranks', 'gloo-torch');
  const both = traceFolder(
    Object.fromEntries(RANKS.map((r) => [`rank${r}.json.gz`, path.join(dir, `rank${r}.json.gz`)])),
  );
  for (const r of RANKS)
    await summarize(path.join(dir, `rank${r}.json.gz`), path.join(both, `rank${r}.gpulens`));
  const p = await loadTrace(both);
  assert.deepEqual(
    p.rankAlignment?.map((a) => a.file),
    RANKS.map((r) => `rank${r}.gpulens`),
  );
  assert.deepEqual(p.warnings, (await loadTrace(dir)).warnings);
  // Rank 2 captured again after its summary was made: its new trace is read.
  const later = new Date(Date.now() + 60_000);
  fs.utimesSync(path.join(both, 'rank2.json.gz'), later, later);
  assert.deepEqual(
    (await loadTrace(both)).rankAlignment?.map((a) => a.file),
    RANKS.map((r) => (r === 2 ? 'rank2.json.gz' : `rank${r}.gpulens`)),
  );
});

type MetaTables = Record<string, { gz: number; columns: { bytes: number }[] }>;

/** The parts of a summary file: its meta JSON, and every table's inflated columns end to end. */
function parts(buf: Buffer): { meta: Record<string, unknown>; columns: Buffer } {
  const metaLen = buf.readUInt32LE(20);
  let at = SUMMARY_HEADER_BYTES + metaLen;
  const meta = JSON.parse(
    zlib.gunzipSync(buf.subarray(SUMMARY_HEADER_BYTES, at)).toString(),
  ) as Record<string, unknown>;
  const columns = Object.values(meta.tables as MetaTables).map((t) => {
    const inflated = zlib.gunzipSync(buf.subarray(at, at + t.gz));
    at += t.gz;
    return inflated;
  });
  return { meta, columns: Buffer.concat(columns) };
}
/** A summary file of `meta` and `columns` (as {@link parts} gives them), each table gzipped. */
function assemble(head: Buffer, meta: Record<string, unknown>, columns: Buffer): Buffer {
  const tables = structuredClone(meta.tables) as MetaTables;
  let at = 0;
  const gz = Object.values(tables).map((t) => {
    const n = t.columns.reduce((sum, c) => sum + Math.ceil(c.bytes / 8) * 8, 0);
    const z = zlib.gzipSync(columns.subarray(at, Math.min(at + n, columns.length)));
    at += n;
    t.gz = z.length;
    return z;
  });
  const m = zlib.gzipSync(JSON.stringify({ ...meta, tables }));
  const h = Buffer.from(head.subarray(0, SUMMARY_HEADER_BYTES));
  h.writeUInt32LE(m.length, 20);
  return Buffer.concat([h, m, ...gz]);
}

void test('corrupt, truncated or lying summaries end in one line naming the file', async () => {
  const trace = ownFixture('ranks', 'gloo-torch', 'rank1.json.gz');
  const good = encodeSummary(await readRankFile(trace, { budget: new EventBudget() }), 'rank1');
  const { meta, columns } = parts(good);
  const tables = meta.tables as Record<string, { rows: number; columns: { name: string }[] }>;
  const lying = structuredClone(meta);
  (lying.tables as typeof tables).gpuOps.rows += 1;
  const lyingStrings = { ...meta, strings: (meta.strings as string[]).slice(0, 3) };
  // A stack index past the stack table: the first range's stackId, set to 1e6.
  const badRef = Buffer.from(columns);
  let off = 0;
  for (const name of Object.keys(tables)) {
    const t = (meta.tables as Record<string, { columns: { name: string; bytes: number }[] }>)[name];
    for (const c of t.columns) {
      if (name === 'ranges' && c.name === 'stackId') badRef.writeInt32LE(1_000_000, off);
      off += Math.ceil(c.bytes / 8) * 8;
    }
  }
  const version = Buffer.from(good);
  version.writeUInt32LE(99, 16);
  const cases: [string, Buffer, RegExp][] = [
    ['empty', Buffer.alloc(0), /no summary header/],
    ['wrong magic', Buffer.concat([Buffer.from('gpu-lens summarx'), good.subarray(16)]), /header/],
    ['newer version', version, /format version 99; this GPU Lens reads version 1/],
    ['cut in the header', good.subarray(0, 20), /header/],
    ['cut in the meta', good.subarray(0, SUMMARY_HEADER_BYTES + 10), /meta/],
    ['cut in the columns', good.subarray(0, good.length - 100), /columns are corrupt/],
    ['bytes appended', Buffer.concat([good, Buffer.alloc(8)]), /8 bytes past the last table/],
    ['row count raised', assemble(good, lying, columns), /gpuOps: column \w+ holds/],
    ['strings cut', assemble(good, lyingStrings, columns), /no string/],
    [
      'stack index past the table',
      assemble(good, meta, badRef),
      /ranges\[0\]\.stackId: index 1000000 outside stacks/,
    ],
    ['meta not JSON', assemble(good, meta, columns).fill(0x20, 30, 40), /meta/],
  ];
  for (const [what, bytes, re] of cases) {
    assert.throws(
      () => decodeSummary(bytes, 'x.gpulens', { budget: new EventBudget() }),
      (e: Error) =>
        e.message.startsWith('x.gpulens: not a readable GPU Lens summary: ') &&
        re.test(e.message) &&
        !e.message.includes('\n'),
      what,
    );
  }
  // Through the loader, by content whatever the name, and in a folder.
  const dir = tmp();
  fs.writeFileSync(path.join(dir, 'rank0.gpulens'), good.subarray(0, good.length - 100));
  await assert.rejects(loadTrace(path.join(dir, 'rank0.gpulens')), /not a readable GPU Lens/);
  await assert.rejects(loadTrace(dir), /rank0\.gpulens: not a readable GPU Lens summary/);
  // The event budget counts a summary's records before any column is inflated.
  fs.writeFileSync(path.join(dir, 'rank0.gpulens'), good);
  await assert.rejects(
    loadTrace(path.join(dir, 'rank0.gpulens'), { maxEvents: 100 }),
    (e: Error) => e instanceof EventBudgetError,
  );
});

void test('summaries with random cells changed: a one-line refusal or a Profile the Report stage reads', async () => {
  // Seeded, so a failure replays: each round overwrites a few 4-byte cells of the inflated
  // columns with random values (lengths stay right, so every check past the sizes is exercised).
  const trace = fixture('nsys', 'rtx5000-attention-nvtx-2026.2.sqlite');
  const good = encodeSummary(await readRankFile(trace, { budget: new EventBudget() }), 'r');
  const { meta, columns } = parts(good);
  let seed = Number(process.env.GPU_LENS_FUZZ_SEED ?? 7);
  const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  let refused = 0;
  for (let round = 0; round < 60; round++) {
    const cells = Buffer.from(columns);
    for (let k = 0; k < 4; k++) {
      const at = Math.floor(rand() * (cells.length / 4)) * 4;
      const v = [0, -1, -2, 1, 2 ** 31 - 1, -(2 ** 31)][Math.floor(rand() * 6)];
      cells.writeInt32LE(rand() < 0.5 ? v : Math.floor(rand() * 2 ** 32) - 2 ** 31, at);
    }
    let profile;
    try {
      profile = decodeSummary(assemble(good, meta, cells), 'f.gpulens', {
        budget: new EventBudget(),
      }).profile;
    } catch (e) {
      assert.match((e as Error).message, /^f\.gpulens: not a readable GPU Lens summary: [^\n]+$/);
      refused++;
      continue;
    }
    // What passes the checks is a Profile like a reader's: the Report is built without error.
    buildReport(profile, { workspaceRoot: scenariosDir });
  }
  assert.ok(refused > 0 && refused < 60, `${refused} of 60 refused`);
});
