/**
 * Collectives matched across ranks by the sequence number the trace records (`Seq`: torch writes
 * it, with `Collective name` and `Process Group Name`, in the args of its `record_param_comms`
 * operator inside each `c10d::` collective and of the NCCL kernel it launches), else by position.
 *
 * No trace within reach records a `Seq` (Debian's torch 1.13 writes no collective metadata; the
 * shared A100/B200 NCCL traces have group and name but no `Seq`), so the seq tests take the real
 * captures and add it in the test as newer torch writes it: a bare number, counting from 1 per
 * process group on every rank. Then one rank loses its first collective (a dropped event, a
 * profiling window that opened one collective later): matching by seq still pairs the same
 * operations, checked against the seq values and times read here from the raw events.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { test } from 'node:test';
import { collectivesByRank, matchCollectives } from '../../src/core/collectives';
import { readRankFolder } from '../../src/core/ingest/ranks';
import { fixture, ownFixture } from './fixtures';
import { KERNEL_CATS, traceText, type TraceEvent } from './kineto-helpers';

const GLOO = ownFixture('ranks', 'gloo-torch');
const RANKS = [0, 1, 2, 3];
const A100 = fixture('torch', 'a100-nccl.json.gz');

/** A trace file's parsed value and its event list (the file keeps its shape when written back). */
function parse(file: string): { top: unknown; events: TraceEvent[] } {
  const top = JSON.parse(traceText(file)) as unknown;
  const events = Array.isArray(top)
    ? (top as TraceEvent[])
    : ((top as { traceEvents: TraceEvent[] }).traceEvents ?? []);
  return { top, events };
}

function write(dir: string, name: string, top: unknown): void {
  fs.writeFileSync(path.join(dir, name), zlib.gzipSync(JSON.stringify(top)));
}

const C10D = /^c10d::(allreduce_|barrier)$/;
const WORK = /^gloo:(all_reduce|barrier)$/;
const byTs = (a: TraceEvent, b: TraceEvent): number => (a.ts ?? 0) - (b.ts ?? 0);
const ns = (us: number | undefined): number => Math.round((us ?? 0) * 1000);

/**
 * The 4-rank gloo capture copied to a temp folder; with `seq`, a `record_param_comms` op (torch's
 * args) inside every `c10d::` collective, numbered from 1; `dropFirstOf` loses its first
 * collective (operator, metadata op and gloo work record).
 */
function glooCopy(opts: { seq: boolean; dropFirstOf?: number }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gl-seq-'));
  for (const rank of RANKS) {
    const { top, events } = parse(path.join(GLOO, `rank${rank}.json.gz`));
    const ops = events.filter((e) => C10D.test(e.name ?? '')).sort(byTs);
    if (opts.seq)
      ops.forEach((op, i) =>
        events.push({
          ph: 'X',
          cat: 'cpu_op',
          name: 'record_param_comms',
          pid: op.pid,
          tid: op.tid,
          ts: (op.ts ?? 0) + 1,
          dur: Math.min(1, Math.max(0, (op.dur ?? 0) - 2)),
          args: {
            'Collective name': op.name === 'c10d::barrier' ? 'barrier' : 'allreduce',
            'Process Group Name': '0',
            'Process Group Ranks': '[0, 1, 2, 3]',
            'Group size': 4,
            Seq: i + 1,
          },
        }),
      );
    if (rank === opts.dropFirstOf) {
      const work = events.filter((e) => WORK.test(e.name ?? '')).sort(byTs)[0];
      const op = ops[0];
      const inside = (e: TraceEvent) =>
        e.name === 'record_param_comms' &&
        e.tid === op.tid &&
        (e.ts ?? 0) >= (op.ts ?? 0) &&
        (e.ts ?? 0) <= (op.ts ?? 0) + (op.dur ?? 0);
      const kept = events.filter((e) => e !== work && e !== op && !inside(e));
      assert.equal(kept.length, events.length - (opts.seq ? 3 : 2));
      events.splice(0, events.length, ...kept);
    }
    write(dir, `rank${rank}.json.gz`, top);
  }
  return dir;
}

/**
 * Per rank, from the raw events: each gloo work record (in its rank's order, the order gloo runs
 * its queue) with the seq of the `c10d::` operator that enqueued it (the n-th with the n-th).
 */
function rawBySeq(dir: string): Map<number, Map<number, { kind: string; endNs: number }>> {
  const out = new Map<number, Map<number, { kind: string; endNs: number }>>();
  for (const rank of RANKS) {
    const { events } = parse(path.join(dir, `rank${rank}.json.gz`));
    const meta = events.filter((e) => e.name === 'record_param_comms').sort(byTs);
    const work = events.filter((e) => WORK.test(e.name ?? '')).sort(byTs);
    assert.equal(meta.length, work.length);
    out.set(
      rank,
      new Map(
        work.map((w, i) => [
          meta[i].args?.Seq as number,
          {
            kind: w.name === 'gloo:barrier' ? 'barrier' : 'allreduce',
            endNs: ns(w.ts) + ns(w.dur),
          },
        ]),
      ),
    );
  }
  return out;
}

function medianOf(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return Math.round(s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2);
}

void test('collectives: the real gloo capture records no Seq, so ranks are matched by position', async () => {
  const raw = RANKS.map((r) => parse(path.join(GLOO, `rank${r}.json.gz`)).events);
  assert.ok(raw.every((ev) => ev.every((e) => e.args?.Seq === undefined)));
  const counts = raw.map((ev) => ev.filter((e) => WORK.test(e.name ?? '')).length);
  const p = await readRankFolder(GLOO);
  assert.deepEqual(
    p.rankAlignment?.map((a) => [a.rank, a.method, a.matchedBy, a.matched]),
    RANKS.map((r) =>
      r === 0 ? [0, 'reference', null, 0] : [r, 'collective-ends', 'position', counts[0]],
    ),
  );
  assert.ok(matchCollectives(collectivesByRank(p)).every((m) => m.seq === undefined));
});

void test('collectives: matched by Seq, a rank that lost its first collective still pairs the same operations', async () => {
  const dir = glooCopy({ seq: true, dropFirstOf: 1 });
  try {
    const raw = rawBySeq(dir);
    // The seqs every rank recorded: rank 1 lacks seq 1.
    const common = [...(raw.get(0) as Map<number, unknown>).keys()].filter((s) =>
      RANKS.every((r) => raw.get(r)?.has(s)),
    );
    assert.deepEqual(common, [2, 3, 4, 5, 6]);
    const p = await readRankFolder(dir);
    const offsets = new Map((p.rankAlignment ?? []).map((a) => [a.rank, a.offsetNs]));
    const matched = matchCollectives(collectivesByRank(p));
    assert.deepEqual(
      matched.map((m) => m.seq),
      common,
    );
    for (const m of matched) {
      for (const r of RANKS) {
        const c = m.byRank.get(r);
        const want = raw.get(r)?.get(m.seq as number);
        assert.ok(c && want, `seq ${m.seq} on rank ${r}`);
        assert.equal(c.seq, m.seq);
        assert.equal(c.kind, want.kind);
        // The same operation's raw end, on the merged clock.
        assert.equal(c.endNs - (offsets.get(r) as number), want.endNs, `seq ${m.seq} rank ${r}`);
      }
    }
    // Each rank's offset: the median end difference to rank 0 over the seqs both recorded (raw).
    const both = RANKS.map((r) => [...raw.get(0)!.keys()].filter((s) => raw.get(r)!.has(s)));
    const expected = both.map((seqs, r) =>
      medianOf(seqs.map((s) => raw.get(0)!.get(s)!.endNs - raw.get(r)!.get(s)!.endNs)),
    );
    assert.deepEqual(
      p.rankAlignment?.map((a) => [a.offsetNs, a.matchedBy, a.matched]),
      RANKS.map((r) => (r === 0 ? [0, null, 0] : [expected[r], 'seq', both[r].length])),
    );
    assert.ok(
      p.warnings.some((w) => /^rank 1: 1 unpaired collective with rank 0 .*same seq/.test(w)),
      p.warnings.join('\n'),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

void test('collectives: without Seq the same lost collective shifts every later match by one', async () => {
  const dir = glooCopy({ seq: false, dropFirstOf: 1 });
  try {
    const p = await readRankFolder(dir);
    const allreduce = matchCollectives(collectivesByRank(p)).filter((m) => m.kind === 'allreduce');
    // Rank 1's n-th all_reduce is now the (n+1)-th operation: raw work records from the files.
    const work = (r: number) =>
      parse(path.join(dir, `rank${r}.json.gz`))
        .events.filter((e) => e.name === 'gloo:all_reduce')
        .sort(byTs);
    const w0 = work(0);
    const w1 = work(1);
    assert.equal(w1.length, w0.length - 1);
    assert.equal(allreduce.length, w1.length);
    const offsets = new Map((p.rankAlignment ?? []).map((a) => [a.rank, a.offsetNs]));
    allreduce.forEach((m, i) => {
      assert.equal(m.seq, undefined);
      assert.equal(
        (m.byRank.get(0)?.endNs ?? 0) - (offsets.get(0) as number),
        ns(w0[i].ts) + ns(w0[i].dur),
      );
      assert.equal(
        (m.byRank.get(1)?.endNs ?? 0) - (offsets.get(1) as number),
        ns(w1[i].ts) + ns(w1[i].dur),
      );
    });
    assert.equal(p.rankAlignment?.[1].matchedBy, 'position');
    assert.ok(
      p.warnings.some((w) =>
        /^rank 1: 1 unpaired collective with rank 0 \(different counts/.test(w),
      ),
      p.warnings.join('\n'),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

void test('collectives: NCCL kernels matched by their Seq arg, twin ranks pair identical kernels', async () => {
  // One real A100 NCCL rank as ranks 0 and 1, its kernels and metadata ops numbered per group as
  // torch numbers them; rank 1 loses its first all-reduce kernel. By seq each pair is the same
  // raw kernel (same start and end on both), by position every later pair would be shifted.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gl-seq-nccl-'));
  try {
    for (const rank of [0, 1]) {
      const { top, events } = parse(A100);
      const kernels = events
        .filter((e) => e.ph === 'X' && KERNEL_CATS.has(e.cat ?? '') && e.args?.['Collective name'])
        .sort(byTs);
      const seqOf = new Map<string, number>();
      for (const k of kernels) {
        const g = String(k.args?.['Process Group Name']);
        seqOf.set(g, (seqOf.get(g) ?? 0) + 1);
        (k.args as Record<string, unknown>).Seq = seqOf.get(g);
      }
      if (rank === 1) {
        const first = kernels.find((k) => k.args?.['Collective name'] === 'allreduce');
        events.splice(events.indexOf(first as TraceEvent), 1);
      }
      write(dir, `rank${rank}.json.gz`, top);
    }
    const raw = parse(path.join(dir, 'rank1.json.gz')).events.filter(
      (e) => e.ph === 'X' && KERNEL_CATS.has(e.cat ?? '') && typeof e.args?.Seq === 'number',
    );
    const p = await readRankFolder(dir);
    const matched = matchCollectives(collectivesByRank(p));
    assert.equal(matched.length, raw.length);
    assert.deepEqual(
      matched.map((m) => [m.seq, m.byRank.get(0)?.startNs, m.byRank.get(0)?.endNs]),
      matched.map((m) => [m.seq, m.byRank.get(1)?.startNs, m.byRank.get(1)?.endNs]),
    );
    assert.deepEqual(
      new Set(matched.map((m) => `${m.group}:${m.seq}`)),
      new Set(raw.map((e) => `${String(e.args?.['Process Group Name'])}:${String(e.args?.Seq)}`)),
    );
    assert.deepEqual(
      [
        p.rankAlignment?.[1].offsetNs,
        p.rankAlignment?.[1].matchedBy,
        p.rankAlignment?.[1].residualNs,
      ],
      [0, 'seq', 0],
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
