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
import type { CpuRange, Profile } from '../model';
import {
  CALL_ALLOC,
  CALL_FREE,
  CALL_LAUNCH,
  CALL_MEMCPY,
  CALL_OS_WAIT,
  CALL_SYNC,
} from '../model-cpu-calls';
import type { IdleCause } from '../report-types';
import {
  callThreadKey,
  ClippedUnion,
  threadKey,
  ThreadCalls,
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
  /**
   * Profile.ranges index (a quiet range, a DataLoader fetch, a range around a wait), or -1 (also
   * for a DataLoader fetch that is an operator: located by its stack).
   */
  rangeIndex: number;
  /** host-sync: Profile.cpuCalls index of the sync or blocking copy that returned into the gap. */
  blocker?: number;
}

/** One CPU thread's calls, launches, user ranges and DataLoader ranges, for window queries. */
interface ThreadIndex {
  calls: ThreadCalls;
  /** Built on first use (a range covering most of a gap's window: often never). */
  launches: () => ThreadCalls;
  ranges: SortedSpans<IndexedRange>;
  loaders: SortedSpans<Loader>;
}

interface IndexedRange {
  idx: number;
  startNs: number;
  endNs: number;
}

/** A DataLoader fetch: a user range (`idx`) or an operator (`idx` -1), with its stack. */
interface Loader extends IndexedRange {
  stackId: number;
}

/** A DataLoader fetch as torch.profiler names it (`enumerate(DataLoader)#…__next__`) or NVTX does. */
const DATA_LOADER = /DataLoader|dataloader|data_loader/;

/** Whether a range name is a DataLoader fetch. */
export const isDataLoaderRange = (name: string): boolean => DATA_LOADER.test(name);

/** Explains gaps; builds each thread's index on first use (most threads never launch). */
export class GapExplainer {
  private readonly rangesByThread: Map<string, number[]>;
  private readonly loadersByThread = new Map<string, Loader[]>();
  private readonly built = new Map<string, ThreadIndex>();

  /** `byThread`: the profile's calls per thread (ProfileIndex.threads). */
  constructor(
    private readonly profile: Profile,
    private readonly byThread: ReadonlyMap<string, ThreadCalls>,
  ) {
    this.rangesByThread = userRangesByThread(profile);
    // DataLoader fetches can be framework ops (legacy Kineto), so operators are searched too;
    // the name test runs once per distinct name (names are interned strings).
    const isLoader = new Map<string, boolean>();
    profile.ranges.forEach((r: CpuRange, idx) => {
      let hit = isLoader.get(r.name);
      if (hit === undefined) isLoader.set(r.name, (hit = DATA_LOADER.test(r.name)));
      if (hit)
        this.addLoader(threadKey(r), {
          idx,
          startNs: r.startNs,
          endNs: r.endNs,
          stackId: r.stackId,
        });
    });
    const ops = profile.operators;
    const opLoader = ops.names.values.map((name) => DATA_LOADER.test(name));
    for (let i = 0; i < ops.length; i++) {
      if (!opLoader[ops.name[i]]) continue;
      const { startNs, endNs, stackId } = ops;
      this.addLoader(ops.threads.key(ops.thread[i]), {
        idx: -1,
        startNs: startNs[i],
        endNs: endNs[i],
        stackId: stackId[i],
      });
    }
    for (const list of this.loadersByThread.values()) list.sort((a, b) => a.startNs - b.startNs);
  }

  private addLoader(key: string, item: Loader): void {
    const list = this.loadersByThread.get(key);
    if (list) list.push(item);
    else this.loadersByThread.set(key, [item]);
  }

  /**
   * The cause of the gap [gapStart, gapEnd) before an op launched by cpuCalls[launchIndex] (or -1),
   * from the three-way split alone: CPU work before the launch call counts as Python / dispatcher
   * overhead. The cheap path for small gaps (no object per gap: there can be millions).
   */
  splitCause(gapStart: number, gapEnd: number, launchIndex: number): GapCause {
    if (launchIndex < 0) return 'unknown';
    const calls = this.profile.cpuCalls;
    const launchStart = calls.startNs[launchIndex];
    const before = Math.max(0, Math.min(launchStart, gapEnd) - gapStart);
    const during = Math.max(
      0,
      Math.min(calls.endNs[launchIndex], gapEnd) - Math.max(launchStart, gapStart),
    );
    const after = gapEnd - gapStart - before - during;
    // A copy call in progress is a blocking copy waiting for its turn: queued, not a slow launch.
    if (calls.kind[launchIndex] === CALL_LAUNCH && during > before && during >= after)
      return 'slow-launch';
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
      return { cause, stackId: this.profile.cpuCalls.stackId[launchIndex], rangeIndex: -1 };
    if (cause !== 'late-launch') return { cause, stackId: nextStackId, rangeIndex: -1 };
    return this.cpuWork(launchIndex, gapStart, nextStackId);
  }

  /** What the thread of the launch call `launch` did in [gapStart, launch start). */
  private cpuWork(launch: number, gapStart: number, nextStackId: number): GapExplanation {
    const all = this.profile.cpuCalls;
    const launchStart = all.startNs[launch];
    const windowNs = launchStart - gapStart;
    const index = this.index(callThreadKey(all, launch));
    const work = windowWork(index.calls, gapStart, launchStart);
    if (work.waits.ns >= windowNs / 2) {
      const rangeIndex = this.quietRange(index, launchStart, gapStart);
      return { cause: 'os-wait', stackId: all.stackId[work.waits.longest], rangeIndex };
    }
    if (work.allocs.ns >= windowNs / 2)
      return { cause: 'allocation', stackId: all.stackId[work.allocs.longest], rangeIndex: -1 };
    const loader = index.loaders
      .overlapping(gapStart, launchStart)
      .find((r) => Math.min(r.endNs, launchStart) - Math.max(r.startNs, gapStart) >= windowNs / 2);
    if (loader) return { cause: 'data-loader', stackId: loader.stackId, rangeIndex: loader.idx };
    // A sync (or synchronous copy) that returned after the GPU went idle: the CPU had been waiting,
    // so nothing was queued ahead and the GPU idles while the CPU prepares the next launch.
    const sync = work.sync;
    if (sync >= 0)
      return { cause: 'host-sync', stackId: all.stackId[sync], rangeIndex: -1, blocker: sync };
    const rangeIndex = this.quietRange(index, launchStart, gapStart);
    if (rangeIndex >= 0) return { cause: 'cpu-range', stackId: nextStackId, rangeIndex };
    return { cause: 'late-launch', stackId: nextStackId, rangeIndex: -1 };
  }

  private index(key: string): ThreadIndex {
    let t = this.built.get(key);
    if (!t) {
      const all = this.profile.cpuCalls;
      const calls = this.byThread.get(key) ?? new ThreadCalls(all, new Int32Array(0));
      const ranges = (this.rangesByThread.get(key) ?? []).map((idx) => ({
        idx,
        startNs: this.profile.ranges[idx].startNs,
        endNs: this.profile.ranges[idx].endNs,
      }));
      let launches: ThreadCalls | undefined;
      t = {
        calls,
        launches: () => (launches ??= calls.launches()),
        ranges: new SortedSpans(ranges),
        loaders: new SortedSpans(this.loadersByThread.get(key) ?? []),
      };
      this.built.set(key, t);
    }
    return t;
  }

  /**
   * The innermost user range on the launching thread that covers most of the CPU-side window
   * [gapStart, launchStart) and launched no GPU work itself, or -1.
   */
  private quietRange(index: ThreadIndex, launchStart: number, gapStart: number): number {
    const windowNs = launchStart - gapStart;
    let best = -1;
    // Ranges that end by gapStart cover none of the window: start after them.
    const ranges = index.ranges.items;
    for (let i = index.ranges.firstEndingAfter(gapStart); i < ranges.length; i++) {
      const { idx, startNs, endNs } = ranges[i];
      if (startNs >= launchStart) break;
      const cover = Math.min(endNs, launchStart) - Math.max(startNs, gapStart);
      if (cover < windowNs / 2) continue;
      const launched = index.launches().anyStartIn(startNs, endNs);
      if (!launched && (best < 0 || startNs >= this.profile.ranges[best].startNs)) best = idx;
    }
    return best;
  }
}

/** What a thread's calls overlapping [from, to) did: waits, allocations, the first sync. */
interface WindowWork {
  waits: ClippedUnion;
  allocs: ClippedUnion;
  /** The first sync or synchronous copy that started before `from` (and ends after it), or -1. */
  sync: number;
}

/**
 * One walk over the thread's calls overlapping [from, to) (ThreadCalls.overlapping without an
 * array per gap: there can be hundreds of thousands of large gaps).
 */
function windowWork(thread: ThreadCalls, from: number, to: number): WindowWork {
  const { calls, idx } = thread;
  const { kind, startNs, endNs } = calls;
  const waits = new ClippedUnion(from, to);
  const allocs = new ClippedUnion(from, to);
  let sync = -1;
  for (let k = thread.firstEndingAfter(from); k < idx.length; k++) {
    const i = idx[k];
    if (startNs[i] >= to) break;
    if (!(endNs[i] > from)) continue;
    const c = kind[i];
    if (c === CALL_OS_WAIT) waits.add(calls, i);
    else if (c === CALL_ALLOC || c === CALL_FREE) allocs.add(calls, i);
    else if (sync < 0 && (c === CALL_SYNC || c === CALL_MEMCPY) && startNs[i] < from) sync = i;
  }
  waits.finish();
  allocs.finish();
  return { waits, allocs, sync };
}
