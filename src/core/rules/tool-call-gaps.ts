/**
 * tool-call-gaps: the reference texts' ReAct case. A synchronous external call (a sleep, a socket
 * or pipe read) inside an annotated range blocks the thread that drives the GPU, so the GPU idles
 * for the whole call. Found from NVTX / record_function ranges plus OS-runtime waits: a range
 * mostly spent in OS waits that launched no GPU work is a blocking call; its enclosing range is
 * the step it stalls. Works on CPU-only captures too: there the blocked time is reported as the
 * share of each step that a GPU serving loop would spend idle.
 */
import { formatNs, formatPct } from '../format';
import type { Profile } from '../model';
import { CALL_OS_WAIT } from '../model-cpu-calls';
import type { Finding } from '../report-types';
import { busyNs, IntervalList } from '../intervals';
import { pushTo } from '../collections';
import {
  callThreadKey,
  overlapWithCalls,
  ThreadCalls,
  threadKey,
  userRangesByThread,
} from '../cpu-threads';
import type { ProfileIndex } from '../profile-index';
import { ns } from '../numbers';
import { aggregateLocations, aggregateRangeLocations } from './locations';
import type { Interval } from '../intervals';
import { replay } from '../replay';
import { type IdleGap, findIdleGaps } from './idle-gaps';
import { isDataLoaderRange } from './gap-causes';
import { GAP_FIXES } from './gpu-idle-gaps';
import { addCut, claimIdle } from './savings';
import type { Rule, RuleContext } from './types';

/** Steps and calls are grouped by name with numbers folded: react_step_3 → react_step_#. */
const family = (name: string) => name.replace(/\d+/g, '#');

interface Blocked {
  rangeIndex: number;
  parentIndex: number;
  blockedNs: number;
  /** The OS waits (indexes into Profile.cpuCalls) that blocked it. */
  waits: number[];
}

/**
 * The threads that drive the GPU: those that launched GPU work. A CPU-only capture has no launches:
 * there each process's main thread (tid = pid) drives the loop, or, when it holds no user ranges,
 * the thread whose user ranges span the most time. A tool call on any other thread (a pool
 * worker) blocks nobody.
 */
export function drivingThreads(
  index: ProfileIndex,
  rangesByThread: Map<string, number[]>,
): Set<string> {
  const { profile } = index;
  const out = new Set<string>();
  const all = profile.cpuCalls;
  for (const [key, calls] of index.threads)
    if (calls.some((i) => all.isLaunchLike(i))) out.add(key);
  if (out.size > 0 || profile.gpuOps.length > 0) return out;
  const best = new Map<string, { key: string; ns: number; main: boolean }>();
  for (const [key, idxs] of rangesByThread) {
    const r0 = profile.ranges[idxs[0]];
    const proc = `${r0.rank}:${r0.pid}`;
    const main = r0.tid === r0.pid;
    const ns = busyNs(idxs.map((i) => profile.ranges[i]));
    const cur = best.get(proc);
    if (!cur || (main && !cur.main) || (main === cur.main && ns > cur.ns))
      best.set(proc, { key, ns, main });
  }
  for (const b of best.values()) out.add(b.key);
  return out;
}

function blockedRanges(index: ProfileIndex, minNs: number): Blocked[] {
  const { profile } = index;
  const all = profile.cpuCalls;
  const byThread = index.threads;
  // The ranks' busy unions are only needed for ranges with OS waits (often none).
  const rankUnion = (rank: number) => index.rankBusy.get(rank) ?? IntervalList.EMPTY;
  const rangesByThread = userRangesByThread(profile);
  const driving = drivingThreads(index, rangesByThread);
  const out: Blocked[] = [];
  for (const [key, idxs] of rangesByThread) {
    if (!driving.has(key)) continue;
    const calls = byThread.get(key) ?? new ThreadCalls(all, new Int32Array(0));
    const waitsAll = calls.ofKind(CALL_OS_WAIT);
    // The thread's launches are only looked at for ranges blocked long enough (often none).
    let launches: ThreadCalls | undefined;
    const launchedIn = (from: number, to: number) =>
      (launches ??= calls.launches()).anyStartIn(from, to);
    const candidates = new Set<number>();
    const info = new Map<number, { blockedNs: number; waits: number[] }>();
    for (const idx of idxs) {
      const r = profile.ranges[idx];
      const dur = r.endNs - r.startNs;
      const waits = waitsAll.overlapping(r.startNs, r.endNs);
      let blocked = overlapWithCalls(all, waits, r.startNs, r.endNs);
      // Time the GPU was busy anyway (async work queued before the call) is not lost.
      for (const w of waits) {
        blocked -= rankUnion(r.rank).overlapNs(
          Math.max(all.startNs[w], r.startNs),
          Math.min(all.endNs[w], r.endNs),
        );
      }
      if (blocked >= minNs && blocked >= dur / 2 && !launchedIn(r.startNs, r.endNs)) {
        candidates.add(idx);
        info.set(idx, { blockedNs: blocked, waits });
      }
    }
    for (const idx of candidates) {
      const r = profile.ranges[idx];
      const contains = (o: number) => {
        const x = profile.ranges[o];
        return o !== idx && x.startNs <= r.startNs && x.endNs >= r.endNs && threadKey(x) === key;
      };
      // Keep the innermost blocked range; its parent (the step it stalls) is the smallest enclosing range.
      const innerHasChild = [...candidates].some((o) => {
        const x = profile.ranges[o];
        return (
          o !== idx &&
          x.startNs >= r.startNs &&
          x.endNs <= r.endNs &&
          x.endNs - x.startNs < r.endNs - r.startNs
        );
      });
      if (innerHasChild) continue;
      const parents = idxs.filter((o) => contains(o));
      const parentIndex = parents.reduce(
        (best, o) =>
          best < 0 || profile.ranges[o].startNs >= profile.ranges[best].startNs ? o : best,
        -1,
      );
      const i = info.get(idx);
      if (i) out.push({ rangeIndex: idx, parentIndex, ...i });
    }
  }
  return out;
}

export const toolCallGaps: Rule = (profile, ctx) => {
  const blocked = blockedRanges(ctx.index, ctx.thresholds.minGapNs);
  const groups = new Map<string, Blocked[]>();
  for (const b of blocked) {
    const key = family(profile.ranges[b.rangeIndex].name);
    pushTo(groups, key, b);
  }
  const hasGpu = profile.gpuOps.length > 0;
  const calls = profile.cpuCalls;
  const span = Math.max(1, profile.spanEndNs - profile.spanStartNs);
  const findings: Finding[] = [];
  for (const [name, list] of groups) {
    const blockedNs = list.reduce((s, b) => s + b.blockedNs, 0);
    const parents = [...new Set(list.map((b) => b.parentIndex).filter((p) => p >= 0))];
    const stepNs = parents.reduce(
      (s, p) => s + profile.ranges[p].endNs - profile.ranges[p].startNs,
      0,
    );
    const stepName = parents.length > 0 ? family(profile.ranges[parents[0]].name) : '';
    // The blocked ranges lie on the driving threads, inside their steps: a share of at most 100 %
    // (the cap only guards traces whose several launching threads all block at once).
    const sharePct = Math.min(100, (blockedNs / (stepNs > 0 ? stepNs : span)) * 100);
    if (sharePct < ctx.thresholds.toolCallPct) continue;
    const waits = list.flatMap((b) => b.waits);
    const saving = replaySaving(profile, ctx, list);
    const waitNames = [...new Set(waits.map((w) => calls.nameOf(w)))].slice(0, 4).join(', ');
    const where = stepNs > 0 ? `of each ${stepName} step` : 'of the trace';
    const gpuText = hasGpu
      ? 'The GPU had no work during these calls.'
      : 'This CPU-only capture has no GPU timeline; in a GPU serving loop this is GPU idle time.';
    const evidence: Finding['evidence'] = {
      range: name,
      step: stepName || null,
      callCount: list.length,
      stepCount: parents.length,
      blockedNs,
      meanBlockedNs: ns(blockedNs / list.length),
      stepNs,
      sharePct: Number(sharePct.toFixed(2)),
      waitCalls: waitNames,
      gpuTrace: hasGpu,
      // The loop's run shortened by the replay with the calls moved to a pool (CPU-only traces).
      predictedLoopSavingNs: saving.loopNs,
    };
    // A blocking DataLoader fetch is data loading, not a tool call: its fix is workers/prefetch.
    const loader = isDataLoaderRange(name);
    const finding: Finding = {
      rule: 'tool-call-gaps',
      severity: 'warning',
      title: `${loader ? 'DataLoader fetch' : 'Synchronous call'} "${name}" blocks ${formatPct(sharePct)} ${where}`,
      message:
        `"${name}" ran ${list.length} times and blocked the thread ${formatNs(blockedNs)} in total ` +
        `(${formatNs(blockedNs / list.length)} each, in ${waitNames || 'OS waits'}), ${formatPct(sharePct)} ${where}` +
        `${stepNs > 0 ? ` (${parents.length} steps, ${formatNs(stepNs)})` : ''}. ${gpuText}`,
      // Savings: GPU idle removed when the replay runs without the blocked time on the driving
      // thread. A CPU-only trace has no GPU idle to save: there see predictedLoopSavingNs.
      savingsNs: saving.gpuNs,
      savingsFrom: 'gpu-idle',
      evidence,
      locations: [
        ...aggregateRangeLocations(
          ctx,
          list.map((b) => ({ rangeIndex: b.rangeIndex, ns: b.blockedNs })),
        ),
        ...aggregateLocations(
          ctx,
          waits.map((w) => ({ stackId: calls.stackId[w], ns: calls.endNs[w] - calls.startNs[w] })),
        ),
      ],
      fix: loader
        ? GAP_FIXES['data-loader']
        : {
            title: 'Run the tool call asynchronously',
            detail:
              "Submit the external call to an executor and keep the GPU busy with other requests' thought " +
              'generation meanwhile; await the result only when the step needs it.',
            snippet:
              'pool = concurrent.futures.ThreadPoolExecutor(max_workers=8)\n' +
              'async def step(req):\n' +
              '    thought = await generate(req)          # GPU\n' +
              '    obs = await asyncio.get_running_loop().run_in_executor(pool, search, thought.query)\n' +
              '    return await generate(req, obs)       # other requests used the GPU meanwhile',
          },
    };
    findings.push(claimIdle(finding, { gaps: saving.claim.map((g) => g.index) }));
  }
  return findings;
};

const contains = (outer: Interval, inner: Interval) =>
  outer.startNs <= inner.startNs && outer.endNs >= inner.endNs;

/**
 * Replays the trace without the blocked waits on the driving thread: the GPU idle that removes,
 * the os-wait gaps it claims, and how much earlier the loop's thread would finish with the calls
 * moved to a pool (they still run, so the loop cannot end before the last one does).
 */
function replaySaving(
  profile: Profile,
  ctx: RuleContext,
  list: readonly Blocked[],
): { gpuNs: number; loopNs: number; claim: IdleGap[] } {
  const calls = profile.cpuCalls;
  const cuts = new Map<string, Interval[]>();
  for (const b of list) {
    const r = profile.ranges[b.rangeIndex];
    for (const w of b.waits)
      addCut(
        cuts,
        callThreadKey(calls, w),
        Math.max(calls.startNs[w], r.startNs),
        Math.min(calls.endNs[w], r.endNs),
      );
  }
  // The run is the loop around the calls: the latest end of a range on the thread that holds one
  // of them (the loop or its last step), not the thread's last event (interpreter exit).
  const first = profile.ranges[list[0].rangeIndex];
  const key = threadKey(first);
  let endNs = -Infinity;
  for (const idx of userRangesByThread(profile).get(key) ?? []) {
    const r = profile.ranges[idx];
    if (list.some((b) => contains(r, profile.ranges[b.rangeIndex])))
      endNs = Math.max(endNs, r.endNs);
  }
  const claim = findIdleGaps(ctx, 'os-wait', (g) =>
    list.some((b) => {
      const r = profile.ranges[b.rangeIndex];
      return r.rank === g.rank && r.startNs < g.endNs && r.endNs > g.startNs;
    }),
  );
  // With GPU ops but no gap to claim the saving settles to 0: no replay needed.
  if (profile.gpuOps.length > 0 && claim.length === 0) return { gpuNs: 0, loopNs: 0, claim };
  const result = replay(ctx.index, { cuts, moved: true }, { threadKey: key, endNs });
  return {
    gpuNs: result.gpuSavedNs,
    loopNs: profile.gpuOps.length > 0 ? 0 : result.threadSavedNs,
    claim,
  };
}
