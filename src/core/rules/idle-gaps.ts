/**
 * Finds the GPU's idle gaps and the CPU-side cause of each, following the reference texts'
 * decision framework: a gap right before a late kernel launch is CPU overhead; one the launching
 * thread spent returning from a synchronize is a host sync; one spent in cudaMalloc/cudaFree is an
 * allocation stall; one spent in sleeps, socket or pipe reads is an OS wait (tool call, I/O); one
 * spent inside an NVTX range that launched no GPU work is CPU work in that range.
 */
import type { CpuCall, Profile } from '../model';
import type { GapStat } from '../report-types';
import {
  SortedSpans,
  callsByThread,
  deviceTimelines,
  isLaunchLike,
  overlapWithCalls,
  threadKey,
  userRangesByThread,
} from './common';
import type { RuleContext } from './types';

export type GapCause =
  'late-launch' | 'host-sync' | 'allocation' | 'os-wait' | 'cpu-range' | 'gpu-wait' | 'unknown';

/** Human wording of each cause, used in messages and in Report.gaps. */
export const GAP_CAUSE_TEXT: Record<GapCause, string> = {
  'late-launch': 'late launch (CPU overhead before the next launch)',
  'host-sync': 'host synchronization drained the queue',
  allocation: 'CUDA memory allocation',
  'os-wait': 'CPU blocked in an OS wait (sleep, socket, pipe)',
  'cpu-range': 'CPU work in an annotated range with no GPU work',
  'gpu-wait': 'GPU-side wait (work was queued before the gap)',
  unknown: 'unknown (no launch record for the next GPU op)',
};

export interface IdleGap {
  rank: number;
  deviceId: number;
  startNs: number;
  endNs: number;
  cause: GapCause;
  /** Stack to show the gap at (the late launch, the sync, the allocation, the wait), or -1. */
  stackId: number;
  /** Profile.ranges index for 'cpu-range' and for waits inside a range, else -1. */
  rangeIndex: number;
}

/** One CPU thread's calls, launches and user ranges, indexed for window queries. */
interface ThreadIndex {
  calls: SortedSpans<CpuCall>;
  launches: SortedSpans<CpuCall>;
  ranges: SortedSpans<{ idx: number; startNs: number; endNs: number }>;
}

/** Builds each thread's index on first use (most threads never launch a late kernel). */
function threadIndexes(profile: Profile): (key: string) => ThreadIndex {
  const byThread = callsByThread(profile.cpuCalls);
  const rangesByThread = userRangesByThread(profile);
  const built = new Map<string, ThreadIndex>();
  return (key) => {
    let t = built.get(key);
    if (!t) {
      const calls = byThread.get(key) ?? [];
      const ranges = (rangesByThread.get(key) ?? []).map((idx) => ({
        idx,
        startNs: profile.ranges[idx].startNs,
        endNs: profile.ranges[idx].endNs,
      }));
      t = {
        calls: new SortedSpans(calls),
        launches: new SortedSpans(calls.filter(isLaunchLike)),
        ranges: new SortedSpans(ranges),
      };
      built.set(key, t);
    }
    return t;
  };
}

/** The report and the gpu-idle-gaps rule both ask for the gaps: computed once per profile. */
const gapMemo = new WeakMap<Profile, { key: string; gaps: IdleGap[] }>();

/** Every idle gap of at least `minGapNs` on every device, with its cause (a new array per call). */
export function findIdleGaps(profile: Profile, minGapNs: number): IdleGap[] {
  const key = `${minGapNs}:${profile.gpuOps.length}:${profile.cpuCalls.length}:${profile.ranges.length}`;
  const memo = gapMemo.get(profile);
  if (memo?.key === key) return [...memo.gaps];
  const gaps = computeIdleGaps(profile, minGapNs);
  gapMemo.set(profile, { key, gaps });
  return [...gaps];
}

function computeIdleGaps(profile: Profile, minGapNs: number): IdleGap[] {
  const thread = threadIndexes(profile);
  const gaps: IdleGap[] = [];
  for (const tl of deviceTimelines(profile)) {
    let opIdx = 0;
    for (let k = 1; k < tl.busy.length; k++) {
      const startNs = tl.busy[k - 1].endNs;
      const endNs = tl.busy[k].startNs;
      // The first op of the next busy interval is the one the GPU waited for.
      while (opIdx < tl.ops.length && tl.ops[opIdx].startNs < endNs) opIdx++;
      if (endNs - startNs < minGapNs) continue;
      const next = tl.ops[opIdx];
      gaps.push({
        rank: tl.rank,
        deviceId: tl.deviceId,
        startNs,
        endNs,
        ...explainGap(profile, thread, startNs, next?.launchIndex ?? -1, next?.stackId ?? -1),
      });
    }
  }
  return gaps;
}

function explainGap(
  profile: Profile,
  thread: (key: string) => ThreadIndex,
  gapStart: number,
  launchIndex: number,
  nextStackId: number,
): Pick<IdleGap, 'cause' | 'stackId' | 'rangeIndex'> {
  if (launchIndex < 0) return { cause: 'unknown', stackId: nextStackId, rangeIndex: -1 };
  const launch = profile.cpuCalls[launchIndex];
  // Queued before the GPU went idle: the GPU itself waited (events, other streams, launch latency).
  if (launch.startNs <= gapStart)
    return { cause: 'gpu-wait', stackId: nextStackId, rangeIndex: -1 };
  const windowNs = launch.startNs - gapStart;
  const index = thread(threadKey(launch));
  const calls = index.calls.overlapping(gapStart, launch.startNs);
  const waits = calls.filter((c) => c.kind === 'os-wait');
  const allocs = calls.filter((c) => c.kind === 'alloc' || c.kind === 'free');
  const waitNs = overlapWithCalls(waits, gapStart, launch.startNs);
  const allocNs = overlapWithCalls(allocs, gapStart, launch.startNs);
  const rangeIndex = quietRange(profile, index, launch, gapStart);
  if (waitNs >= windowNs / 2)
    return { cause: 'os-wait', stackId: longest(waits).stackId, rangeIndex };
  if (allocNs >= windowNs / 2)
    return { cause: 'allocation', stackId: longest(allocs).stackId, rangeIndex: -1 };
  // A sync (or synchronous copy) that returned after the GPU went idle: the CPU had been waiting,
  // so nothing was queued ahead and the GPU idles while the CPU prepares the next launch.
  const sync = calls.find(
    (c) =>
      (c.kind === 'sync' || c.kind === 'memcpy') && c.endNs >= gapStart && c.startNs < gapStart,
  );
  if (sync) return { cause: 'host-sync', stackId: sync.stackId, rangeIndex: -1 };
  if (rangeIndex >= 0) return { cause: 'cpu-range', stackId: nextStackId, rangeIndex };
  return { cause: 'late-launch', stackId: nextStackId, rangeIndex: -1 };
}

function longest(calls: CpuCall[]): CpuCall {
  return calls.reduce((a, b) => (b.endNs - b.startNs > a.endNs - a.startNs ? b : a));
}

/**
 * The innermost user range on the launching thread that covers most of the CPU-side window
 * [gapStart, launch) and launched no GPU work itself, or -1.
 */
function quietRange(
  profile: Profile,
  index: ThreadIndex,
  launch: CpuCall,
  gapStart: number,
): number {
  const windowNs = launch.startNs - gapStart;
  let best = -1;
  // Ranges that end by gapStart cover none of the window: start after them.
  const ranges = index.ranges.items;
  for (let i = index.ranges.firstEndingAfter(gapStart); i < ranges.length; i++) {
    const { idx, startNs, endNs } = ranges[i];
    if (startNs >= launch.startNs) break;
    const cover = Math.min(endNs, launch.startNs) - Math.max(startNs, gapStart);
    if (cover < windowNs / 2) continue;
    const launched = index.launches.anyStartIn(startNs, endNs);
    if (!launched && (best < 0 || startNs >= profile.ranges[best].startNs)) best = idx;
  }
  return best;
}

/** The largest gaps (for Report.gaps), located through the rule context. */
export function gapStats(profile: Profile, ctx: RuleContext, max = 50): GapStat[] {
  return findIdleGaps(profile, ctx.thresholds.minGapNs)
    .sort((a, b) => b.endNs - b.startNs - (a.endNs - a.startNs))
    .slice(0, max)
    .map((g) => ({
      deviceId: g.deviceId,
      startNs: g.startNs,
      endNs: g.endNs,
      cause: GAP_CAUSE_TEXT[g.cause],
      location:
        (g.rangeIndex >= 0 ? ctx.locateRange(g.rangeIndex) : null) ??
        (g.stackId >= 0 ? ctx.locate(g.stackId) : null),
    }));
}
