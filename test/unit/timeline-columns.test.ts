/**
 * The kernel timeline's columns and window queries against the traces' own events: ops per stream
 * lane (JSON events, SQL over an nsys export), the per-pixel busy fractions of an aggregated window
 * against the union of the raw intervals computed here, the single ops of a zoomed window, and each
 * kernel's launching line against the stack walked from the raw events.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadTrace } from '../../src/core/load';
import { readKineto } from '../../src/core/ingest/kineto';
import { readNsysSqlite } from '../../src/core/ingest/nsys-sqlite';
import type { Profile } from '../../src/core/model';
import { StackResolver } from '../../src/core/stack-resolver';
import { buildTimelineColumns } from '../../src/core/timeline-columns';
import {
  OP_KIND,
  type OpAnswer,
  type TimelineColumns,
  type WindowAnswer,
} from '../../src/core/timeline-columns-types';
import { MAX_OPS, queryTimeline } from '../../src/core/timeline-columns-window';
import { PathResolver, WorkspaceIndex } from '../../src/core/workspace-paths';
import { runAnalysis } from '../../src/core/analysis-runner';
import { fixture, ownFixture, repoRoot } from './fixtures';
import {
  gpuEvents,
  launchStackLines,
  loadTrace as loadKineto,
  workspaceOfRecordedFiles,
  type TraceEvent,
} from './kineto-helpers';

const BERT = fixture('torch', 'h100-bert-small-stack.json.gz');
const QWEN = fixture('torch', 'h100-qwen0.5b-stack.json.gz');
const NSYS = fixture('nsys', 'rtx5000-attention-nvtx-2026.2.sqlite');

function columnsOf(profile: Profile, workspace: string): TimelineColumns {
  const paths = new PathResolver(new WorkspaceIndex(workspace), []);
  return buildTimelineColumns(profile, new StackResolver(profile, paths));
}

/** Raw [start, end) ns of a Kineto event, rounded as the trace's µs are read. */
function spanOf(e: TraceEvent): [number, number] {
  const s = Math.round((e.ts ?? 0) * 1000);
  return [s, s + Math.round((e.dur ?? 0) * 1000)];
}

/** Per pixel of [t0, t1): ns covered by the union of `spans` (merged here, then clipped). */
function unionPerPixel(spans: [number, number][], t0: number, t1: number, pixels: number) {
  const sorted = [...spans].sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const [s, e] of sorted) {
    const last = merged[merged.length - 1];
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else merged.push([s, e]);
  }
  const px = (t1 - t0) / pixels;
  const out = new Array<number>(pixels).fill(0);
  for (const [s, e] of merged)
    for (let p = 0; p < pixels; p++) {
      const len = Math.min(e, t0 + (p + 1) * px) - Math.max(s, t0 + p * px);
      if (len > 0) out[p] += len;
    }
  return out;
}

function streamLane(c: TimelineColumns, device: number, stream: number): number {
  return c.lanes.findIndex(
    (l) => l.kind === 'stream' && l.deviceId === device && l.streamId === stream,
  );
}

function window(c: TimelineColumns, t0: number, t1: number, pixels: number, lanes?: number[]) {
  return queryTimeline(c, { kind: 'window', t0, t1, pixels, lanes }) as WindowAnswer;
}

for (const [label, file] of [
  ['H100 BERT', BERT],
  ['H100 Qwen', QWEN],
] as const) {
  void test(`timeline columns (${label}): stream lanes hold the trace's GPU ops; aggregated busy per pixel is the union of their raw intervals`, async () => {
    const { events } = loadKineto(file);
    const gpu = gpuEvents(events);
    const byStream = new Map<string, [number, number][]>();
    for (const e of gpu) {
      const key = `${String(e.args?.device)}/${String(e.args?.stream)}`;
      byStream.set(key, [...(byStream.get(key) ?? []), spanOf(e)]);
    }
    const c = columnsOf(await readKineto(file), workspaceOfRecordedFiles(events, 'transformers/'));
    assert.equal(c.lanes.filter((l) => l.kind === 'stream').length, byStream.size);
    for (const [key, spans] of byStream) {
      const [device, stream] = key.split('/').map(Number);
      const lane = streamLane(c, device, stream);
      assert.ok(lane >= 0, `a lane for device ${device} stream ${stream}`);
      assert.equal(c.laneStart[lane + 1] - c.laneStart[lane], spans.length);
      // The whole stream in 300 pixels: more ops than pixels/2 come aggregated.
      const t0 = Math.min(...spans.map((s) => s[0]));
      const t1 = Math.max(...spans.map((s) => s[1]));
      const pixels = spans.length > 600 ? 300 : Math.max(1, Math.floor(spans.length / 3));
      const w = window(c, t0 - c.baseNs, t1 - c.baseNs, pixels, [lane]);
      const row = w.rows[0];
      assert.ok(row.agg, `${spans.length} ops in ${pixels} pixels are aggregated`);
      assert.equal(row.count, spans.length);
      const expected = unionPerPixel(spans, t0, t1, pixels);
      const px = (t1 - t0) / pixels;
      const named = gpu.filter(
        (e) => `${String(e.args?.device)}/${String(e.args?.stream)}` === key,
      );
      for (let p = 0; p < pixels; p++)
        assert.ok(
          Math.abs(row.agg.busy[p] * px - expected[p]) <= 1e-4 * px + 1e-6,
          `pixel ${p}: busy ${row.agg.busy[p]} vs union ${expected[p] / px}`,
        );
      // Few wide pixels: each names the longest op starting in it (block maxima over many ops).
      for (const wide of [1, 7]) {
        const wr = window(c, t0 - c.baseNs, t1 - c.baseNs, wide, [lane]);
        const wpx = (t1 - t0) / wide;
        for (let p = 0; p < wide; p++) {
          const starting = named.filter((e) => {
            const s0 = spanOf(e)[0];
            return s0 >= t0 + p * wpx && (s0 < t0 + (p + 1) * wpx || p === wide - 1);
          });
          if (starting.length === 0) continue;
          const longest = Math.max(...starting.map((e) => spanOf(e)[1] - spanOf(e)[0]));
          const names = starting
            .filter((e) => spanOf(e)[1] - spanOf(e)[0] === longest)
            .map((e) => e.name);
          assert.ok(names.includes(wr.names[wr.rows[0].agg!.top[p]]), `longest op of ${p}/${wide}`);
        }
      }
      const busyNs = row.agg.busy.reduce((a, b) => a + b * px, 0);
      const unionNs = expected.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(busyNs - unionNs) <= 1e-4 * px * pixels, `${busyNs} vs ${unionNs}`);
      // Every busy pixel names an op that ran there (raw events of that name overlap the pixel).
      for (let p = 0; p < pixels; p++) {
        if (expected[p] === 0) continue;
        const name = w.names[row.agg.top[p]];
        const [a, b] = [t0 + p * px, t0 + (p + 1) * px];
        assert.ok(
          named.some((e) => e.name === name && spanOf(e)[0] < b && spanOf(e)[1] >= a),
          `pixel ${p} names ${name}`,
        );
      }
    }
  });
}

void test('timeline columns (H100 BERT): a zoomed window lists exactly the raw ops in it, each with the launching line of its raw stack', async () => {
  const { events } = loadKineto(BERT);
  const gpu = gpuEvents(events).sort((a, b) => (a.ts ?? 0) - (b.ts ?? 0));
  const ws = workspaceOfRecordedFiles(events, 'transformers/');
  const c = columnsOf(await readKineto(BERT), ws);
  const lines = launchStackLines(events, 'transformers/');
  // A window around the middle ten ops of the stream.
  const mid = gpu.slice(25, 35).map(spanOf);
  const t0 = mid[0][0];
  const t1 = mid[mid.length - 1][1];
  const inside = gpu.filter((e) => {
    const [s, en] = spanOf(e);
    return s < t1 && en > t0;
  });
  const w = window(c, t0 - c.baseNs, t1 - c.baseNs, 1000);
  const lane = streamLane(c, 0, 7);
  const row = w.rows.find((r) => r.lane === lane)!;
  assert.ok(row.ops, 'few ops in 1000 pixels come one by one');
  assert.equal(row.ops.index.length, inside.length);
  assert.ok(
    inside.every((e) => lines.get(e.args?.correlation as number)?.[0]),
    'every op of the window was launched from a model line',
  );
  inside.forEach((e, k) => {
    const [s, en] = spanOf(e);
    assert.equal(row.ops!.start[k] + c.baseNs, s);
    assert.equal(row.ops!.end[k] + c.baseNs, en);
    assert.equal(w.names[row.ops!.name[k]], e.name);
    const kind = e.cat === 'kernel' ? OP_KIND.kernel : OP_KIND.memcpy;
    assert.equal(row.ops!.kind[k], kind);
    const expected = lines.get(e.args?.correlation as number)?.[0] ?? null;
    const site = row.ops!.site[k] >= 0 ? w.sites[row.ops!.site[k]] : null;
    const got = site?.line && !site.line.library ? `${site.line.file}:${site.line.line}` : null;
    assert.equal(got, expected, `launching line of ${e.name}`);
    // Its stack shows that line, marked as workspace code, among the recorded frames.
    if (expected)
      assert.ok(site!.stack.some((f) => f.workspace && `${f.file}:${f.line}` === expected));
  });
  // Stepping: op queries by index and by time land on the same ops.
  const first = queryTimeline(c, { kind: 'op', lane, atNs: t0 - c.baseNs }) as OpAnswer;
  assert.equal(first.op?.start, row.ops.start[0]);
  const next = queryTimeline(c, { kind: 'op', lane, index: first.op.index + 1 }) as OpAnswer;
  assert.equal(next.op?.start, row.ops.start[1]);
  assert.equal(first.laneCount, gpu.length);
  // The CPU launch lane holds the trace's launch calls, the NVTX lane its user annotation.
  const cpu = c.lanes.flatMap((l, i) => (l.kind === 'cpu' ? [i] : []));
  const launches = events.filter(
    (e) =>
      e.ph === 'X' &&
      (e.cat === 'cuda_runtime' || e.cat === 'cuda_driver') &&
      /Launch|Memcpy|Memset/.test(e.name ?? '') &&
      !/Synchronize|Event|Query/.test(e.name ?? ''),
  );
  const inCpu = cpu.reduce((n, l) => n + c.laneStart[l + 1] - c.laneStart[l], 0);
  assert.equal(inCpu, launches.length);
});

void test('timeline columns (nsys RTX 5000): lanes per device and stream as the export says; windows stay bounded', () => {
  const db = new Database(NSYS, { readonly: true });
  const rows = db
    .prepare(
      `SELECT deviceId AS d, streamId AS s, start, end FROM CUPTI_ACTIVITY_KIND_KERNEL
       UNION ALL SELECT deviceId, streamId, start, end FROM CUPTI_ACTIVITY_KIND_MEMCPY
       UNION ALL SELECT deviceId, streamId, start, end FROM CUPTI_ACTIVITY_KIND_MEMSET`,
    )
    .all() as { d: number; s: number; start: number; end: number }[];
  db.close();
  const profile = readNsysSqlite(NSYS);
  const c = columnsOf(profile, '/nonexistent-workspace');
  const byStream = new Map<string, [number, number][]>();
  for (const r of rows) {
    const key = `${r.d}/${r.s}`;
    byStream.set(key, [...(byStream.get(key) ?? []), [r.start, r.end]]);
  }
  for (const [key, spans] of byStream) {
    const [d, s] = key.split('/').map(Number);
    const lane = streamLane(c, d, s);
    assert.ok(lane >= 0, `lane ${key}`);
    assert.equal(c.laneStart[lane + 1] - c.laneStart[lane], spans.length, `ops on ${key}`);
    const t0 = Math.min(...spans.map((x) => x[0]));
    const t1 = Math.max(...spans.map((x) => x[1]));
    const w = window(c, t0 - c.baseNs, t1 - c.baseNs, 64, [lane]);
    const row = w.rows[0];
    const expected = unionPerPixel(spans, t0, t1, 64);
    const px = (t1 - t0) / 64;
    const got = row.agg
      ? row.agg.busy.map((b) => b * px)
      : unionPerPixel(
          row.ops!.start.map((x, k) => [x + c.baseNs, row.ops!.end[k] + c.baseNs]),
          t0,
          t1,
          64,
        );
    for (let p = 0; p < 64; p++) assert.ok(Math.abs(got[p] - expected[p]) <= 1e-4 * px + 1e-6);
  }
  // The whole run in 4,000 pixels: never more than MAX_OPS single ops, pixel arrays as wide as asked.
  const all = window(c, 0, c.spanNs, 4000);
  const single = all.rows.reduce((n, r) => n + (r.ops?.index.length ?? 0), 0);
  assert.ok(single <= MAX_OPS);
  for (const r of all.rows) if (r.agg) assert.equal(r.agg.busy.length, 4000);
  assert.ok(
    c.lanes.some((l) => l.kind === 'nvtx'),
    'the NVTX ranges have a lane',
  );
  // Each lane's ops by start (the kernels and copies tables interleave on a stream).
  for (let l = 0; l < c.lanes.length; l++)
    for (let i = c.laneStart[l] + 1; i < c.laneStart[l + 1]; i++)
      assert.ok(c.start[i - 1] <= c.start[i], `lane ${l} op ${i} in start order`);
  // Nonsense requests are clamped, not errors.
  const odd = queryTimeline(c, {
    kind: 'window',
    t0: Number.NaN,
    t1: -5,
    pixels: 1e9,
    lanes: [-1, 1e6],
  }) as WindowAnswer;
  assert.equal(odd.rows.length, 0);
  assert.ok(odd.pixels <= 4096);
  assert.equal((queryTimeline(c, { kind: 'op', lane: 99999 }) as OpAnswer).op, null);
  // A lanes field that is no array (the webview's message is untrusted) means all lanes.
  const junk = queryTimeline(c, {
    kind: 'window',
    t0: 0,
    t1: c.spanNs,
    pixels: 10,
    lanes: 5 as unknown as number[],
  }) as WindowAnswer;
  assert.equal(junk.rows.length, c.lanes.length);
});

void test('timeline columns (nsys H200 nvFuser): nested NVTX ranges count once: busy per pixel is the union of the raw ranges of each thread', () => {
  const file = fixture('nsys', 'h200-nvfuser-nvtx-2024.6.sqlite');
  const db = new Database(file, { readonly: true });
  const rows = db
    .prepare(
      `SELECT globalTid AS g, start, end FROM NVTX_EVENTS
       WHERE eventType IN (59, 60) AND end IS NOT NULL`,
    )
    .all() as { g: number; start: number; end: number }[];
  db.close();
  // nsys numbers a thread globalTid = pid << 24 | tid.
  const byTid = new Map<number, [number, number][]>();
  for (const r of rows) {
    const tid = r.g % 2 ** 24;
    byTid.set(tid, [...(byTid.get(tid) ?? []), [r.start, r.end]]);
  }
  const c = columnsOf(readNsysSqlite(file), '/nonexistent-workspace');
  let nested = 0;
  for (const [tid, spans] of byTid) {
    const lane = c.lanes.findIndex((l) => l.kind === 'nvtx' && l.tid === tid);
    assert.ok(lane >= 0, `an NVTX lane for thread ${tid}`);
    assert.equal(c.laneStart[lane + 1] - c.laneStart[lane], spans.length);
    const t0 = Math.min(...spans.map((x) => x[0]));
    const t1 = Math.max(...spans.map((x) => x[1]));
    const pixels = 50;
    const row = window(c, t0 - c.baseNs, t1 - c.baseNs, pixels, [lane]).rows[0];
    if (!row.agg) continue;
    const expected = unionPerPixel(spans, t0, t1, pixels);
    const px = (t1 - t0) / pixels;
    const sum = new Array<number>(pixels).fill(0);
    for (const s of spans)
      for (const [p, v] of unionPerPixel([s], t0, t1, pixels).entries()) sum[p] += v;
    if (sum.some((v, p) => v > expected[p] + 1)) nested++;
    for (let p = 0; p < pixels; p++)
      assert.ok(Math.abs(row.agg.busy[p] * px - expected[p]) <= 1e-4 * px + 1e-6, `pixel ${p}`);
  }
  assert.ok(nested > 0, 'some thread has nested ranges (sum of ranges > their union)');
});

void test('timeline columns (4-rank gloo nsys folder): lanes are keyed by rank; each rank has its own file’s NVTX ranges', async () => {
  const dir = ownFixture('ranks', 'gloo-nsys');
  const c = columnsOf(await loadTrace(dir, {}), '/nonexistent-workspace');
  for (let rank = 0; rank < 4; rank++) {
    const db = new Database(path.join(dir, `rank${rank}.sqlite`), { readonly: true });
    const { n } = db
      .prepare(
        'SELECT COUNT(*) AS n FROM NVTX_EVENTS WHERE eventType IN (59, 60) AND end IS NOT NULL',
      )
      .get() as { n: number };
    db.close();
    const lanes = c.lanes.flatMap((l, i) => (l.kind === 'nvtx' && l.rank === rank ? [i] : []));
    assert.ok(lanes.length > 0, `rank ${rank} has an NVTX lane`);
    assert.ok(c.lanes[lanes[0]].label.startsWith(`rank ${rank} · `));
    const ops = lanes.reduce((k, l) => k + c.laneStart[l + 1] - c.laneStart[l], 0);
    assert.equal(ops, n, `rank ${rank}: NVTX ranges`);
  }
});

void test('timeline columns from the analysis worker: built beside the Report and transferred whole', async () => {
  const workerPath = path.join(repoRoot, 'dist', 'analyze-worker.js');
  assert.ok(fs.existsSync(workerPath), `${workerPath} is missing: run \`node esbuild.mjs\``);
  const { events } = loadKineto(BERT);
  let columns: TimelineColumns | undefined;
  await runAnalysis(
    {
      tracePath: BERT,
      workspaceFolder: workspaceOfRecordedFiles(events, 'transformers/'),
      maxEvents: 10_000_000,
      pathMap: [],
      thresholds: {},
      timeline: true,
    },
    { workerPath, onTimeline: (c) => (columns = c) },
  );
  assert.ok(columns, 'the columns came back');
  assert.ok(columns.start instanceof Float64Array && columns.union instanceof Float64Array);
  const lane = streamLane(columns, 0, 7);
  assert.equal(columns.laneStart[lane + 1] - columns.laneStart[lane], gpuEvents(events).length);
  // A window over them answers as on the main thread, sites included.
  const w = window(columns, 0, columns.spanNs, 1000, [lane]);
  assert.ok(w.rows[0].ops && Object.keys(w.sites).length > 0);
  // Without `timeline` the worker builds none.
  let none = true;
  await runAnalysis(
    {
      tracePath: BERT,
      workspaceFolder: os.tmpdir(),
      maxEvents: 10_000_000,
      pathMap: [],
      thresholds: {},
    },
    { workerPath, onTimeline: () => (none = false) },
  );
  assert.ok(none);
});
