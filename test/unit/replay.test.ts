/**
 * The what-if replay on timelines whose answer is known by hand (times in µs, written out in each
 * case), and on every real fixture: with nothing removed it saves nothing, and no what-if saves more
 * than the idle time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CpuCall, CpuCallKind, GpuOp, Profile } from '../../src/core/model';
import { emptyProfile } from '../../src/core/model';
import { CpuCalls } from '../../src/core/model-cpu-calls';
import { GpuOps } from '../../src/core/model-gpu-ops';
import { replay, replayAll, type ReplayRequest } from '../../src/core/replay';
import { allFixtures, ownFixture } from './fixtures';
import { rowAt, rowsOf } from './table-rows';
import { loadTrace } from '../../src/core/load';
import { ProfileIndex } from '../../src/core/profile-index';

const US = 1000;
const THREAD = '0:1:1';

/** A one-thread profile built from calls [kind, name, start, end] and ops [call index, stream, start, end] (µs). */
function timeline(
  calls: [CpuCallKind, string, number, number][],
  ops: [number, number, number, number][],
): Profile {
  const p = emptyProfile({
    path: 'synthetic',
    format: 'nsys-sqlite',
    producer: 'test',
    schemaVersion: '0',
  });
  p.cpuCalls = CpuCalls.from(
    calls.map<CpuCall>(([kind, name, s, e], i) => ({
      name,
      kind,
      startNs: s * US,
      endNs: e * US,
      pid: 1,
      tid: 1,
      rank: 0,
      correlationId: i,
      stackId: -1,
    })),
  );
  p.gpuOps = GpuOps.from(
    ops.map<GpuOp>(([call, stream, s, e]) => ({
      kind: 'kernel',
      name: `k${s}`,
      startNs: s * US,
      endNs: e * US,
      deviceId: 0,
      streamId: stream,
      rank: 0,
      launchIndex: call,
      stackId: -1,
      isComm: false,
    })),
  );
  return p;
}

/** Indices of the calls `keep` holds for (every call by default), as WhatIf.nonBlocking takes them. */
const callIndices = (calls: readonly CpuCall[], keep: (c: CpuCall) => boolean = () => true) =>
  new Set(calls.flatMap((c, i) => (keep(c) ? [i] : [])));

const cut = (...ranges: [number, number][]) =>
  new Map([[THREAD, ranges.map(([s, e]) => ({ startNs: s * US, endNs: e * US }))]]);

void test('replay timeline: past 256 streams every stream keeps its own number', () => {
  // One op on each of 300 streams, one after another: op k is the first (and only) op of stream k.
  const n = 300;
  const p = timeline(
    Array.from({ length: n }, (_, k) => ['launch', 'cudaLaunchKernel', 2 * k, 2 * k + 0.5]),
    Array.from({ length: n }, (_, k) => [k, 1000 + k, 2 * k + 1, 2 * k + 2]),
  );
  const tl = new ProfileIndex(p).replayTimeline;
  assert.equal(tl.streamCount, n);
  assert.deepEqual(
    Array.from(tl.streamOf),
    Array.from({ length: n }, (_, k) => k),
  );
  assert.equal(replay(new ProfileIndex(p), {}).gpuSavedNs, 0);
});

void test('replay: removing the CPU wait before a launch closes the gap up to the stream', () => {
  // k1 runs 1–11; the thread waits 1–31, launches k2 at 31–32, k2 runs 32–42: idle 11–32 = 21 µs.
  const p = timeline(
    [
      ['launch', 'cudaLaunchKernel', 0, 1],
      ['os-wait', 'poll', 1, 31],
      ['launch', 'cudaLaunchKernel', 31, 32],
    ],
    [
      [0, 7, 1, 11],
      [2, 7, 32, 42],
    ],
  );
  assert.equal(replay(new ProfileIndex(p), {}).gpuSavedNs, 0);
  // Launched at 1–2 instead, k2 still queues behind k1 (ends 11): the whole 21 µs gap goes.
  assert.equal(replay(new ProfileIndex(p), { cuts: cut([1, 31]) }).gpuSavedNs, 21 * US);
  // Half the wait removed: k2 launches at 21 µs' end → 22, gap 11–22 is left: 10 µs saved.
  assert.equal(replay(new ProfileIndex(p), { cuts: cut([1, 11]) }).gpuSavedNs, 10 * US);
});

void test('replay: CPU time removed while the GPU was busy is absorbed by the next sync', () => {
  // k1 runs 1–51; the thread waits 1–21, then synchronizes 21–51.5; k2 launched 51.5–52.5 runs 52.5–62.5.
  const p = timeline(
    [
      ['launch', 'cudaLaunchKernel', 0, 1],
      ['os-wait', 'poll', 1, 21],
      ['sync', 'cudaDeviceSynchronize', 21, 51.5],
      ['launch', 'cudaLaunchKernel', 51.5, 52.5],
    ],
    [
      [0, 7, 1, 51],
      [3, 7, 52.5, 62.5],
    ],
  );
  // The sync would start at 1 and still return 0.5 µs after k1 ends: nothing saved.
  assert.equal(replay(new ProfileIndex(p), { cuts: cut([1, 21]) }).gpuSavedNs, 0);
  // Work after the sync does count: the 1.5 µs gap 51–52.5 is all CPU-side; removing the launch
  // call's 1 µs leaves the 0.5 µs sync tail.
  assert.equal(replay(new ProfileIndex(p), { cuts: cut([51.5, 52.5]) }).gpuSavedNs, 1 * US);
});

void test('replay: a sync that no longer blocks lets the next launch queue ahead', () => {
  // k1 1–11; sync 1–11.5; CPU work 11.5–13.5; k2 launched 13.5–14.5 runs 14.5–24.5: idle 3.5 µs.
  const p = timeline(
    [
      ['launch', 'cudaLaunchKernel', 0, 1],
      ['sync', 'cudaStreamSynchronize', 1, 11.5],
      ['other', 'work', 11.5, 13.5],
      ['launch', 'cudaLaunchKernel', 13.5, 14.5],
    ],
    [
      [0, 7, 1, 11],
      [3, 7, 14.5, 24.5],
    ],
  );
  const sync = 1; // the cudaStreamSynchronize call's index
  // Without the wait, k2 is launched by 4 µs and queues behind k1: the 3.5 µs gap goes.
  assert.equal(replay(new ProfileIndex(p), { nonBlocking: new Set([sync]) }).gpuSavedNs, 3.5 * US);
});

void test('replay: an op that waited on another stream moves with the op it waited for', () => {
  // s1: k0 0.5–1, then CPU work 1–6, k1 launched 6–7 runs 7–17. s2: k2 launched 7–8 waits for k1
  // (an event) and runs 17–27. Idle on the device: 1–7 = 6 µs.
  const p = timeline(
    [
      ['launch', 'cudaLaunchKernel', 0, 0.4],
      ['other', 'work', 1, 6],
      ['launch', 'cudaLaunchKernel', 6, 7],
      ['launch', 'cudaLaunchKernel', 7, 8],
    ],
    [
      [0, 1, 0.5, 1],
      [2, 1, 7, 17],
      [3, 2, 17, 27],
    ],
  );
  assert.equal(replay(new ProfileIndex(p), {}).gpuSavedNs, 0);
  // The work removed: k1 launched by 2 µs, k2 follows k1 (not its own launch at 3): 5 µs saved;
  // had k2 been read as free to start at its launch, the span would have shrunk by 10 µs.
  assert.equal(replay(new ProfileIndex(p), { cuts: cut([1, 6]) }).gpuSavedNs, 5 * US);
});

void test('replay: a CPU-only loop with its waits moved to a pool still waits for the last one', () => {
  // work 0–10, wait 10–160, work 160–170, wait 170–320, work 320–330.
  const p = timeline(
    [
      ['other', 'work', 0, 10],
      ['os-wait', 'poll', 10, 160],
      ['other', 'work', 160, 170],
      ['os-wait', 'poll', 170, 320],
      ['other', 'work', 320, 330],
    ],
    [],
  );
  const run = { threadKey: THREAD, endNs: 330 * US };
  const waits = cut([10, 160], [170, 320]);
  // Removed outright: 300 µs. Moved: the second wait starts at 20 and ends at 170 → 160 µs.
  assert.equal(replay(new ProfileIndex(p), { cuts: waits }, run).threadSavedNs, 300 * US);
  assert.equal(
    replay(new ProfileIndex(p), { cuts: waits, moved: true }, run).threadSavedNs,
    160 * US,
  );
});

void test('replay: on every fixture nothing removed saves nothing; every CPU call removed saves at most the idle time', async () => {
  for (const file of [...allFixtures('nsys'), ...allFixtures('torch')]) {
    const p = await loadTrace(file);
    assert.equal(replay(new ProfileIndex(p), {}).gpuSavedNs, 0, file);
    // Idle inside each device's span, from the raw ops (union per device).
    const byDevice = new Map<string, [number, number][]>();
    for (const op of rowsOf(p.gpuOps)) {
      const key = `${op.rank}:${op.deviceId}`;
      const list = byDevice.get(key) ?? [];
      list.push([op.startNs, op.endNs]);
      byDevice.set(key, list);
    }
    let idle = 0;
    for (const list of byDevice.values()) {
      list.sort((a, b) => a[0] - b[0]);
      let end = list[0][1];
      for (const [s, e] of list) {
        if (s > end) idle += s - end;
        end = Math.max(end, e);
      }
    }
    const cuts = new Map<string, { startNs: number; endNs: number }[]>();
    const calls = rowsOf(p.cpuCalls);
    for (const c of calls) {
      if (c.kind !== 'os-wait' && c.kind !== 'other') continue;
      const key = `${c.rank}:${c.pid}:${c.tid}`;
      cuts.set(key, [...(cuts.get(key) ?? []), { startNs: c.startNs, endNs: c.endNs }]);
    }
    const saved = replay(new ProfileIndex(p), { cuts, nonBlocking: callIndices(calls) }).gpuSavedNs;
    assert.ok(saved >= 0 && saved <= idle, `${file}: ${saved} ≤ ${idle}`);
  }
});

void test('replayAll: several what-ifs in one pass give each what it gives alone (every fixture, rank folders)', async () => {
  let nonZero = 0;
  const traces = [
    ...allFixtures('nsys'),
    ...allFixtures('torch'),
    ownFixture('ranks', 'gloo-nsys'),
    ownFixture('ranks', 'gloo-torch'),
  ];
  for (const file of traces) {
    const p = await loadTrace(file);
    const calls = rowsOf(p.cpuCalls);
    const cutsOf = (keep: (c: CpuCall, i: number) => boolean) => {
      const cuts = new Map<string, { startNs: number; endNs: number }[]>();
      calls.forEach((c, i) => {
        if (!keep(c, i)) return;
        const key = `${c.rank}:${c.pid}:${c.tid}`;
        cuts.set(key, [...(cuts.get(key) ?? []), { startNs: c.startNs, endNs: c.endNs }]);
      });
      return cuts;
    };
    const first = rowAt(p.cpuCalls, 0);
    const requests: ReplayRequest[] = [
      { whatIf: {} },
      { whatIf: { cuts: cutsOf((c) => c.kind === 'os-wait' || c.kind === 'other') } },
      {
        whatIf: {
          nonBlocking: callIndices(calls, (c) => c.kind === 'sync' || c.kind === 'memcpy'),
        },
      },
      {
        whatIf: {
          cuts: cutsOf((_, i) => i % 2 === 0),
          nonBlocking: callIndices(calls),
          moved: true,
        },
      },
      ...(first
        ? [
            {
              whatIf: { cuts: cutsOf((c) => c.kind === 'os-wait'), moved: true },
              run: { threadKey: `${first.rank}:${first.pid}:${first.tid}`, endNs: p.spanEndNs },
            },
          ]
        : []),
    ];
    const together = replayAll(new ProfileIndex(p), requests);
    const alone = requests.map((r) => replayAll(new ProfileIndex(p), [r])[0]);
    assert.deepEqual(together, alone, file);
    // Twice the same batch, reversed: no state is carried from one request to the next.
    assert.deepEqual(
      replayAll(new ProfileIndex(p), [...requests].reverse()),
      [...alone].reverse(),
      file,
    );
    nonZero += together.filter((r) => r.gpuSavedNs > 0 || r.threadSavedNs > 0).length;
  }
  assert.ok(nonZero > 0, 'some what-if saves something on the fixtures (the check is not vacuous)');
});
