/**
 * alloc-stalls: cudaMalloc/cudaFree (and driver equivalents) slower than `thresholds.slowAllocNs`
 * (reference texts: "cudaMalloc above 1 ms" — fragmentation, or cudaFree synchronizing the device).
 */
import { formatNs } from '../format';
import { CALL_ALLOC, CALL_FREE } from '../model-cpu-calls';
import { callThreadKey } from '../cpu-threads';
import { adviceFor } from './advice';
import { type LocatedCost, aggregateLocations } from './locations';
import type { Interval } from '../intervals';
import { findIdleGaps } from './idle-gaps';
import { addCut, claimIdle, replayLater, replaying } from './savings';

export const allocStalls = replaying((profile, ctx) => {
  // One pass, no array of every allocation call (a million-call trace holds many).
  const calls = profile.cpuCalls;
  const { kind, startNs, endNs } = calls;
  let allCount = 0;
  let allNs = 0;
  const slow: number[] = [];
  for (let c = 0; c < calls.length; c++) {
    if (kind[c] !== CALL_ALLOC && kind[c] !== CALL_FREE) continue;
    allCount++;
    allNs = allNs + endNs[c] - startNs[c];
    if (endNs[c] - startNs[c] > ctx.thresholds.slowAllocNs) slow.push(c);
  }
  if (slow.length === 0) return [];
  const dur = (c: number) => endNs[c] - startNs[c];
  const slowNs = slow.reduce((s, c) => s + endNs[c] - startNs[c], 0);
  const worstNs = dur(slow.reduce((a, b) => (dur(b) > dur(a) ? b : a)));
  const names = [...new Set(slow.map((c) => calls.nameOf(c).replace(/_v\d+$/, '')))].join(', ');
  const costs: LocatedCost[] = slow.map((c) => ({ stackId: calls.stackId[c], ns: dur(c) }));
  const cuts = new Map<string, Interval[]>();
  for (const c of slow) addCut(cuts, callThreadKey(calls, c), startNs[c], endNs[c]);
  const claim = findIdleGaps(ctx, 'allocation');
  const finding = claimIdle(
    {
      rule: 'alloc-stalls',
      severity: 'warning',
      title: `${slow.length} slow CUDA allocation calls (${formatNs(slowNs)})`,
      message:
        `${slow.length} of ${allCount} allocation/free calls (${names}) took longer than ` +
        `${formatNs(ctx.thresholds.slowAllocNs)}: ${formatNs(slowNs)} in total, the worst ${formatNs(worstNs)}. ` +
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
        worstNs,
        allAllocNs: allNs,
      },
      locations: aggregateLocations(ctx, costs),
      // Fitted to the workload (rules/advice.ts): every variant sets expandable segments.
      fix: adviceFor('alloc-stalls', ctx.workload()),
    },
    { gaps: claim.map((g) => g.index) },
  );
  return [claim.length > 0 ? replayLater(finding, { cuts }) : finding];
});
