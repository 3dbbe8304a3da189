/**
 * Finds every GPU idle gap on every device and its cause (gap-causes.ts), following the reference
 * texts' decision framework: GPU utilization first, then the cause of the idle time. Gaps of at
 * least `minGapNs` are kept one by one (with the stack or range to show them at); smaller ones are
 * explained on the cheap path and tallied per cause, so every idle nanosecond inside a device's
 * span has exactly one cause.
 */
import type { ProfileIndex } from '../profile-index';
import type { GapStat, SourceRef } from '../report-types';
import { GAP_CAUSE_TEXT, type GapCause, GapExplainer } from './gap-causes';
import { IdleGapTable } from './idle-gap-table';
import type { GapSet, IdleGap, RuleContext, SmallGapTally } from './types';

export { GAP_CAUSE_TEXT, type GapCause } from './gap-causes';

export type { IdleGap, SmallGapTally } from './types';

/** The idle gaps of at least minGapNs of `cause` for which `keep` holds, as objects in order. */
export function findIdleGaps(
  ctx: RuleContext,
  cause: GapCause,
  keep?: (g: IdleGap) => boolean,
): IdleGap[] {
  return ctx.gaps().gaps.where(cause, keep);
}

/** Per cause, the idle time in gaps shorter than minGapNs (shared: treat as read-only). */
export function smallGapTallies(ctx: RuleContext): ReadonlyMap<GapCause, SmallGapTally> {
  return ctx.gaps().small;
}

/** Finds the gaps (RuleContext.gaps, computed once per report). */
export function findGaps(index: ProfileIndex, minGapNs: number): GapSet {
  const { profile } = index;
  const explainer = new GapExplainer(profile, index.threads);
  const gaps = new IdleGapTable();
  const small = new SmallGaps();
  const ops = profile.gpuOps;
  for (const tl of index.timelines) {
    const { busy } = tl;
    let opIdx = 0;
    for (let k = 1; k < busy.length; k++) {
      // The gap from one busy interval's end to the next one's start.
      const startNs = busy.ends[k - 1];
      const endNs = busy.starts[k];
      // The first op of the next busy interval is the one the GPU waited for.
      while (opIdx < tl.ops.length && ops.startNs[tl.ops[opIdx]] < endNs) opIdx++;
      const next = opIdx < tl.ops.length ? tl.ops[opIdx] : -1;
      const launchIndex = next >= 0 ? ops.launchIndex[next] : -1;
      const stackId = next >= 0 ? ops.stackId[next] : -1;
      if (endNs - startNs >= minGapNs) {
        const why = explainer.explain(startNs, endNs, launchIndex, stackId);
        gaps.add(tl.rank, tl.deviceId, startNs, endNs, why, launchIndex);
        continue;
      }
      small.add(explainer.splitCause(startNs, endNs, launchIndex), stackId, endNs - startNs);
    }
  }
  return { gaps, small: small.finish() };
}

/**
 * Tallies the small gaps per cause and stack. Consecutive gaps mostly share both: the current
 * stack's sum is kept in a local and written to its map when the cause or stack changes (the same
 * additions in the same order, without two map lookups for each of millions of gaps).
 */
class SmallGaps {
  private readonly tallies = new Map<GapCause, SmallGapTally>();
  private cause: GapCause | undefined;
  private tally: SmallGapTally | undefined;
  private stackId = 0;
  private stackNs = 0;

  add(cause: GapCause, stackId: number, ns: number): void {
    if (cause !== this.cause || stackId !== this.stackId || !this.tally) {
      this.flush();
      let t = this.tallies.get(cause);
      if (!t) this.tallies.set(cause, (t = { ns: 0, gaps: 0, byStack: new Map() }));
      this.cause = cause;
      this.tally = t;
      this.stackId = stackId;
      this.stackNs = t.byStack.get(stackId) ?? 0;
    }
    this.tally.ns += ns;
    this.tally.gaps++;
    this.stackNs += ns;
  }

  finish(): Map<GapCause, SmallGapTally> {
    this.flush();
    return this.tallies;
  }

  private flush(): void {
    this.tally?.byStack.set(this.stackId, this.stackNs);
  }
}

/** Where a gap is shown: its range's call site, else its stack's workspace line. */
export function gapLocation(ctx: RuleContext, g: IdleGap): SourceRef | null {
  return locateGap(ctx, g.rangeIndex, g.stackId);
}

/** gapLocation of gap k of the report's gaps. */
export function gapLocationAt(ctx: RuleContext, k: number): SourceRef | null {
  const { rangeIndex, stackId } = ctx.gaps().gaps;
  return locateGap(ctx, rangeIndex[k], stackId[k]);
}

function locateGap(ctx: RuleContext, rangeIndex: number, stackId: number): SourceRef | null {
  return (
    (rangeIndex >= 0 ? ctx.locateRange(rangeIndex) : null) ??
    (stackId >= 0 ? ctx.locate(stackId) : null)
  );
}

/**
 * The largest gaps of each rank (for Report.gaps: `max` per rank, so one rank's long gaps do not
 * crowd out another's lanes), largest first, located through the rule context.
 */
export function gapStats(ctx: RuleContext, max = 50): GapStat[] {
  return largestPerRank(ctx.gaps().gaps, max).map((g) => ({
    rank: g.rank,
    deviceId: g.deviceId,
    startNs: g.startNs,
    endNs: g.endNs,
    cause: GAP_CAUSE_TEXT[g.cause],
    causeId: g.cause,
    location: gapLocation(ctx, g),
  }));
}

/**
 * The first `max` gaps of each rank in the stable sort of the gaps by length (longest first), in
 * that order: the same as sorting all of them and keeping each rank's first `max`, without sorting
 * hundreds of thousands of gaps. A rank's kept gaps are those with fewer than `max` gaps of the
 * rank ahead of them (longer, or as long and earlier); sorting only those keeps the same order.
 */
function largestPerRank(gaps: IdleGapTable, max: number): IdleGap[] {
  // Per rank, the kept gaps' numbers, longest first (ties in number order).
  const top = new Map<number, number[]>();
  for (let k = 0; k < gaps.length; k++) {
    const rank = gaps.rank[k];
    let list = top.get(rank);
    if (!list) top.set(rank, (list = []));
    const ns = gaps.ns(k);
    // Later gaps lose ties, so a gap enters only when strictly longer than the shortest kept.
    if (list.length >= max && !(ns > gaps.ns(list[list.length - 1]))) continue;
    let at = list.length;
    while (at > 0 && ns > gaps.ns(list[at - 1])) at--;
    list.splice(at, 0, k);
    if (list.length > max) list.pop();
  }
  const kept = [...top.values()].flat().sort((a, b) => a - b);
  return kept.map((k) => gaps.at(k)).sort((a, b) => b.endNs - b.startNs - (a.endNs - a.startNs));
}
