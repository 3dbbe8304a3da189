/**
 * alloc-stalls: cudaMalloc/cudaFree (and driver equivalents) slower than `thresholds.slowAllocNs`
 * (reference texts: "cudaMalloc above 1 ms" — fragmentation, or cudaFree synchronizing the device).
 */
import { formatNs } from '../format';
import type { CpuCall } from '../model';
import { adviceFor } from './advice';
import { type LocatedCost, aggregateLocations } from './locations';
import type { Interval } from '../intervals';
import { findIdleGaps } from './idle-gaps';
import { addCut, claimIdle, replayLater, replaying } from './savings';

export const allocStalls = replaying((profile, ctx) => {
  // One pass, no array of every allocation call (a million-call trace holds many).
  let allCount = 0;
  let allNs = 0;
  const slow: CpuCall[] = [];
  for (const c of profile.cpuCalls) {
    if (c.kind !== 'alloc' && c.kind !== 'free') continue;
    allCount++;
    allNs = allNs + c.endNs - c.startNs;
    if (c.endNs - c.startNs > ctx.thresholds.slowAllocNs) slow.push(c);
  }
  if (slow.length === 0) return [];
  const slowNs = slow.reduce((s, c) => s + c.endNs - c.startNs, 0);
  const worst = slow.reduce((a, b) => (b.endNs - b.startNs > a.endNs - a.startNs ? b : a));
  const names = [...new Set(slow.map((c) => c.name.replace(/_v\d+$/, '')))].join(', ');
  const costs: LocatedCost[] = slow.map((c) => ({ stackId: c.stackId, ns: c.endNs - c.startNs }));
  const cuts = new Map<string, Interval[]>();
  for (const c of slow) addCut(cuts, c, c.startNs, c.endNs);
  const claim = findIdleGaps(profile, ctx.thresholds.minGapNs).filter(
    (g) => g.cause === 'allocation',
  );
  const finding = claimIdle(
    {
      rule: 'alloc-stalls',
      severity: 'warning',
      title: `${slow.length} slow CUDA allocation calls (${formatNs(slowNs)})`,
      message:
        `${slow.length} of ${allCount} allocation/free calls (${names}) took longer than ` +
        `${formatNs(ctx.thresholds.slowAllocNs)}: ${formatNs(slowNs)} in total, the worst ${formatNs(worst.endNs - worst.startNs)}. ` +
        `All allocation calls took ${formatNs(allNs)}.`,
      // Savings: replay without the slow calls (a pre-allocated pool takes them out of the run):
      // only the GPU idle they caused counts, not CPU time the GPU spent busy anyway.
      // (no gap to claim: the saving settles to 0 without a replay)
      savingsNs: 0,
      savingsFrom: 'gpu-idle',
      evidence: {
        slowCount: slow.length,
        allocCallCount: allCount,
        slowNs,
        worstNs: worst.endNs - worst.startNs,
        allAllocNs: allNs,
      },
      locations: aggregateLocations(ctx, costs),
      // Fitted to the workload (rules/advice.ts): every variant sets expandable segments.
      fix: adviceFor('alloc-stalls', ctx.workload()),
    },
    { gaps: claim },
  );
  return [claim.length > 0 ? replayLater(finding, { cuts }) : finding];
});
