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
import type { GapSet, IdleGap, RuleContext, SmallGapTally } from './types';

export { GAP_CAUSE_TEXT, type GapCause } from './gap-causes';

export type { IdleGap, SmallGapTally } from './types';

/** Every idle gap of at least minGapNs on every device, with its cause (shared: read-only). */
export function findIdleGaps(ctx: RuleContext): readonly IdleGap[] {
  return ctx.gaps().gaps;
}

/** Per cause, the idle time in gaps shorter than minGapNs (shared: treat as read-only). */
export function smallGapTallies(ctx: RuleContext): ReadonlyMap<GapCause, SmallGapTally> {
  return ctx.gaps().small;
}

/** Finds the gaps (RuleContext.gaps, computed once per report). */
export function findGaps(index: ProfileIndex, minGapNs: number): GapSet {
  const { profile } = index;
  const explainer = new GapExplainer(profile, index.threads);
  const gaps: IdleGap[] = [];
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
        gaps.push({
          rank: tl.rank,
          deviceId: tl.deviceId,
          startNs,
          endNs,
          ...why,
          launchIndex,
        });
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
  return (
    (g.rangeIndex >= 0 ? ctx.locateRange(g.rangeIndex) : null) ??
    (g.stackId >= 0 ? ctx.locate(g.stackId) : null)
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

const gapNs = (g: IdleGap): number => g.endNs - g.startNs;

/**
 * The first `max` gaps of each rank in the stable sort of `gaps` by length (longest first), in
 * that order: the same as sorting all of them and keeping each rank's first `max`, without sorting
 * hundreds of thousands of gaps. A rank's kept gaps are those with fewer than `max` gaps of the
 * rank ahead of them (longer, or as long and earlier); sorting only those keeps the same order.
 */
function largestPerRank(gaps: readonly IdleGap[], max: number): IdleGap[] {
  // Per rank, the kept gaps' positions in `gaps`, longest first (ties in position order).
  const top = new Map<number, number[]>();
  gaps.forEach((g, pos) => {
    let list = top.get(g.rank);
    if (!list) top.set(g.rank, (list = []));
    const ns = gapNs(g);
    // Later gaps lose ties, so a gap enters only when strictly longer than the shortest kept.
    if (list.length >= max && !(ns > gapNs(gaps[list[list.length - 1]]))) return;
    let at = list.length;
    while (at > 0 && ns > gapNs(gaps[list[at - 1]])) at--;
    list.splice(at, 0, pos);
    if (list.length > max) list.pop();
  });
  const kept = new Uint8Array(gaps.length);
  for (const list of top.values()) for (const pos of list) kept[pos] = 1;
  return gaps.filter((_, pos) => kept[pos]).sort((a, b) => gapNs(b) - gapNs(a));
}
