/**
 * The cause of one GPU idle gap, read from the op the GPU waited for and the thread that launched
 * it. The gap [start, end) before op N, launched by call L on thread T, splits into three parts:
 * T's CPU work before L started, L itself, and the time after L returned (the op was queued and
 * waited on something else). The largest part names the gap:
 *
 * - CPU work before the launch call, split by what T was doing: an OS wait, allocation calls, a
 *   DataLoader fetch, a sync or blocking copy that returned into the gap (it had drained the
 *   queue), an annotated range that launched nothing; otherwise Python / dispatcher overhead;
 * - the launch call itself (lazy module loading or JIT on a first launch);
 * - queued: launched before the GPU went idle, then waiting (an event, another stream, a copy).
 */
import type { CpuCall, CpuRange, Profile } from '../model';
import type { IdleCause } from '../report-types';
import {
  callsByThread,
  isLaunchLike,
  overlapWithCalls,
  threadKey,
  userRangesByThread,
} from '../cpu-threads';
import { SortedSpans } from '../sorted-spans';

/** The cause of a gap inside a device's span (device-edge is only in the breakdown). */
export type GapCause = Exclude<IdleCause, 'device-edge'>;

/** Human wording of each cause, used in messages, Report.gaps and the idle breakdown. */
export const GAP_CAUSE_TEXT: Record<GapCause, string> = {
  'late-launch': 'late launch (Python/dispatcher work before the launch call)',
  'data-loader': 'DataLoader fetching the next batch',
  'cpu-range': 'CPU work in an annotated range with no GPU work',
  'os-wait': 'CPU blocked in an OS wait (sleep, socket, pipe)',
  allocation: 'CUDA memory allocation',
  'host-sync': 'host synchronization drained the queue',
  'slow-launch': 'slow launch call (module load / JIT on first launch)',
  queued: 'queued work waiting on a dependency (event, another stream, a copy)',
  unknown: 'unknown (no launch record for the next GPU op)',
};

/** One gap's cause, where to show it, and how the gap splits around the launch call (ns). */
export interface GapExplanation {
  cause: GapCause;
  /** Stack to show the gap at (the launch, the wait, the allocation, the sync), or -1. */
  stackId: number;
  /** Profile.ranges index (a quiet range, a DataLoader fetch, a range around a wait), or -1. */
  rangeIndex: number;
  /** host-sync: the sync or blocking copy that returned into the gap. */
  blocker?: CpuCall;
}

/** One CPU thread's calls, launches, user ranges and DataLoader ranges, for window queries. */
interface ThreadIndex {
  calls: SortedSpans<CpuCall>;
  /** Built on first use (a range covering most of a gap's window: often never). */
  launches: () => SortedSpans<CpuCall>;
  ranges: SortedSpans<IndexedRange>;
  loaders: SortedSpans<IndexedRange>;
}

interface IndexedRange {
  idx: number;
  startNs: number;
  endNs: number;
}

/** A DataLoader fetch as torch.profiler names it (`enumerate(DataLoader)#…__next__`) or NVTX does. */
const DATA_LOADER = /DataLoader|dataloader|data_loader/;

/** Whether a range name is a DataLoader fetch. */
export const isDataLoaderRange = (name: string): boolean => DATA_LOADER.test(name);

/** Explains gaps; builds each thread's index on first use (most threads never launch). */
export class GapExplainer {
  private readonly byThread: Map<string, CpuCall[]>;
  private readonly rangesByThread: Map<string, number[]>;
  private readonly loadersByThread = new Map<string, IndexedRange[]>();
  private readonly built = new Map<string, ThreadIndex>();

  constructor(private readonly profile: Profile) {
    this.byThread = callsByThread(profile.cpuCalls);
    this.rangesByThread = userRangesByThread(profile);
    // DataLoader fetches can be framework ops (legacy Kineto), so all range kinds are searched;
    // the name test runs once per distinct name (names are interned strings).
    const isLoader = new Map<string, boolean>();
    profile.ranges.forEach((r: CpuRange, idx) => {
      let hit = isLoader.get(r.name);
      if (hit === undefined) isLoader.set(r.name, (hit = DATA_LOADER.test(r.name)));
      if (!hit) return;
      const key = threadKey(r);
      const list = this.loadersByThread.get(key);
      const item = { idx, startNs: r.startNs, endNs: r.endNs };
      if (list) list.push(item);
      else this.loadersByThread.set(key, [item]);
    });
    for (const list of this.loadersByThread.values()) list.sort((a, b) => a.startNs - b.startNs);
  }

  /**
   * The cause of the gap [gapStart, gapEnd) before an op launched by cpuCalls[launchIndex] (or -1),
   * from the three-way split alone: CPU work before the launch call counts as Python / dispatcher
   * overhead. The cheap path for small gaps (no object per gap: there can be millions).
   */
  splitCause(gapStart: number, gapEnd: number, launchIndex: number): GapCause {
    if (launchIndex < 0) return 'unknown';
    const launch = this.profile.cpuCalls[launchIndex];
    const before = Math.max(0, Math.min(launch.startNs, gapEnd) - gapStart);
    const during = Math.max(0, Math.min(launch.endNs, gapEnd) - Math.max(launch.startNs, gapStart));
    const after = gapEnd - gapStart - before - during;
    // A copy call in progress is a blocking copy waiting for its turn: queued, not a slow launch.
    if (launch.kind === 'launch' && during > before && during >= after) return 'slow-launch';
    if (before <= during || before < after) return 'queued';
    return 'late-launch';
  }

  /** The cause of a gap with where to show it; CPU work split by what the thread was doing. */
  explain(
    gapStart: number,
    gapEnd: number,
    launchIndex: number,
    nextStackId: number,
  ): GapExplanation {
    const cause = this.splitCause(gapStart, gapEnd, launchIndex);
    if (cause === 'slow-launch')
      return { cause, stackId: this.profile.cpuCalls[launchIndex].stackId, rangeIndex: -1 };
    if (cause !== 'late-launch') return { cause, stackId: nextStackId, rangeIndex: -1 };
    return this.cpuWork(this.profile.cpuCalls[launchIndex], gapStart, nextStackId);
  }

  /** What the launching thread did in [gapStart, launch start). */
  private cpuWork(launch: CpuCall, gapStart: number, nextStackId: number): GapExplanation {
    const windowNs = launch.startNs - gapStart;
    const key = threadKey(launch);
    const index = this.index(key);
    const calls = index.calls.overlapping(gapStart, launch.startNs);
    const waits = calls.filter((c) => c.kind === 'os-wait');
    const allocs = calls.filter((c) => c.kind === 'alloc' || c.kind === 'free');
    const rangeIndex = this.quietRange(index, launch, gapStart);
    if (overlapWithCalls(waits, gapStart, launch.startNs) >= windowNs / 2)
      return { cause: 'os-wait', stackId: longest(waits).stackId, rangeIndex };
    if (overlapWithCalls(allocs, gapStart, launch.startNs) >= windowNs / 2)
      return { cause: 'allocation', stackId: longest(allocs).stackId, rangeIndex: -1 };
    const loader = index.loaders
      .overlapping(gapStart, launch.startNs)
      .find(
        (r) => Math.min(r.endNs, launch.startNs) - Math.max(r.startNs, gapStart) >= windowNs / 2,
      );
    if (loader)
      return {
        cause: 'data-loader',
        stackId: this.profile.ranges[loader.idx].stackId,
        rangeIndex: loader.idx,
      };
    // A sync (or synchronous copy) that returned after the GPU went idle: the CPU had been waiting,
    // so nothing was queued ahead and the GPU idles while the CPU prepares the next launch.
    const sync = calls.find(
      (c) =>
        (c.kind === 'sync' || c.kind === 'memcpy') && c.endNs >= gapStart && c.startNs < gapStart,
    );
    if (sync) return { cause: 'host-sync', stackId: sync.stackId, rangeIndex: -1, blocker: sync };
    if (rangeIndex >= 0) return { cause: 'cpu-range', stackId: nextStackId, rangeIndex };
    return { cause: 'late-launch', stackId: nextStackId, rangeIndex: -1 };
  }

  private index(key: string): ThreadIndex {
    let t = this.built.get(key);
    if (!t) {
      const calls = this.byThread.get(key) ?? [];
      const ranges = (this.rangesByThread.get(key) ?? []).map((idx) => ({
        idx,
        startNs: this.profile.ranges[idx].startNs,
        endNs: this.profile.ranges[idx].endNs,
      }));
      let launches: SortedSpans<CpuCall> | undefined;
      t = {
        calls: new SortedSpans(calls),
        launches: () => (launches ??= new SortedSpans(calls.filter(isLaunchLike))),
        ranges: new SortedSpans(ranges),
        loaders: new SortedSpans(this.loadersByThread.get(key) ?? []),
      };
      this.built.set(key, t);
    }
    return t;
  }

  /**
   * The innermost user range on the launching thread that covers most of the CPU-side window
   * [gapStart, launch) and launched no GPU work itself, or -1.
   */
  private quietRange(index: ThreadIndex, launch: CpuCall, gapStart: number): number {
    const windowNs = launch.startNs - gapStart;
    let best = -1;
    // Ranges that end by gapStart cover none of the window: start after them.
    const ranges = index.ranges.items;
    for (let i = index.ranges.firstEndingAfter(gapStart); i < ranges.length; i++) {
      const { idx, startNs, endNs } = ranges[i];
      if (startNs >= launch.startNs) break;
      const cover = Math.min(endNs, launch.startNs) - Math.max(startNs, gapStart);
      if (cover < windowNs / 2) continue;
      const launched = index.launches().anyStartIn(startNs, endNs);
      if (!launched && (best < 0 || startNs >= this.profile.ranges[best].startNs)) best = idx;
    }
    return best;
  }
}

function longest(calls: CpuCall[]): CpuCall {
  return calls.reduce((a, b) => (b.endNs - b.startNs > a.endNs - a.startNs ? b : a));
}
