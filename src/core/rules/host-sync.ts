/**
 * host-sync: device/stream/event synchronizations on the CPU (NVIDIA's `cuda_api_sync`, plus the
 * event, context and driver-API forms and their HIP names). A sync drains the GPU's queue: after
 * it returns the GPU idles until the CPU launches again. Each runtime call is one sync (Kineto's
 * `cuda_sync` mirrors are not read as calls; a driver sync nested in a runtime sync is the same
 * one); stream-waits-for-event and queries are not host blocks. Syncs that complete a copy
 * (PyTorch's blocking `.item()` / `.cpu()`: cudaMemcpyAsync, then cudaStreamSynchronize) are syncs
 * too, counted apart in the evidence. How this differs from NVIDIA's rule: docs/rules.md.
 */
import { formatNs } from '../format';
import { CALL_MEMCPY, CALL_SYNC, type CpuCalls } from '../model-cpu-calls';
import { IntervalList } from '../intervals';
import { type LocatedCost, aggregateLocations } from './locations';
import type { ProfileIndex } from '../profile-index';
import { findIdleGaps } from './idle-gaps';
import { claimIdle, replayLater, replaying } from './savings';

/** A sync starting this soon after an async copy returns is the copy's completion. */
const FOLLOW_NS = 50_000;

/** Whether call i blocks the host until the GPU catches up (classifyCudaApi's `sync`). */
export function isBlockingSync(calls: CpuCalls, i: number): boolean {
  return calls.kind[i] === CALL_SYNC;
}

/** The blocking syncs of a profile, one per API call, and whether each completes an async copy. */
export interface BlockingSyncs {
  /** Indexes into Profile.cpuCalls. */
  calls: number[];
  /** Parallel to `calls`: the call right before it on its thread was an async copy. */
  afterCopy: boolean[];
}

/**
 * Blocking sync calls, per thread in start order: a sync inside the previous counted sync's span
 * (cuStreamSynchronize under cudaStreamSynchronize when driver calls are traced) is left out.
 */
export function blockingSyncs(index: ProfileIndex): BlockingSyncs {
  const all = index.profile.cpuCalls;
  const { kind, startNs, endNs } = all;
  const calls: number[] = [];
  const afterCopy: boolean[] = [];
  for (const list of index.threads.values()) {
    let outerEnd = -Infinity;
    let prev = -1;
    for (let n = 0; n < list.idx.length; n++) {
      const c = list.idx[n];
      if (isBlockingSync(all, c)) {
        if (startNs[c] < outerEnd && endNs[c] <= outerEnd) continue;
        outerEnd = endNs[c];
        calls.push(c);
        afterCopy.push(
          prev >= 0 &&
            kind[prev] === CALL_MEMCPY &&
            /Async/i.test(all.nameOf(prev)) &&
            startNs[c] - endNs[prev] <= FOLLOW_NS,
        );
      }
      prev = c;
    }
  }
  return { calls, afterCopy };
}

export const hostSync = replaying((profile, ctx) => {
  const { calls: syncs, afterCopy } = blockingSyncs(ctx.index);
  if (syncs.length === 0) return [];
  const calls = profile.cpuCalls;
  const busy = ctx.index.rankBusy;
  let blockedNs = 0;
  let drainNs = 0;
  let afterCopyCount = 0;
  const costs: LocatedCost[] = [];
  syncs.forEach((c, k) => {
    const start = calls.startNs[c];
    const end = calls.endNs[c];
    blockedNs += end - start;
    if (afterCopy[k]) afterCopyCount++;
    const merged = busy.get(calls.rankOf(c)) ?? IntervalList.EMPTY;
    // Only inside the GPU span: before the first GPU op nothing had been queued to drain (the
    // wait for the first launch is start-up), after the last one nothing was waiting.
    const drain = merged.length > 0 && end >= merged.starts[0] ? merged.idleAfter(end) : 0;
    drainNs += drain;
    costs.push({ stackId: calls.stackId[c], ns: end - start + drain });
  });
  // A sync that returned while the GPU was still busy cost nothing: fire on the drained idle time.
  if (drainNs < ctx.thresholds.minGapNs) return [];
  const names = [...new Set(syncs.map((c) => calls.nameOf(c).replace(/_v\d+$/, '')))]
    .slice(0, 4)
    .join(', ');
  const copyText =
    afterCopyCount > 0
      ? ` ${afterCopyCount} of them waited for a copy just queued (PyTorch's .item(), .cpu(), .tolist()).`
      : '';
  const claim = findIdleGaps(
    ctx,
    'host-sync',
    (g) => g.blocker !== undefined && calls.kind[g.blocker] === CALL_SYNC,
  );
  const finding = claimIdle(
    {
      rule: 'host-sync',
      severity: 'warning',
      title: `${syncs.length} host synchronizations (${formatNs(blockedNs)} blocked)`,
      message:
        `The CPU synchronized with the GPU ${syncs.length} times (${names}), blocked ${formatNs(blockedNs)} in ` +
        `total; after the syncs returned the GPU sat idle ${formatNs(drainNs)} until new work arrived.` +
        copyText,
      // Savings: replay with the syncs returning at once (the CPU queues the next work while the
      // GPU is still busy); it claims the gaps a sync drained. The blocked time itself overlapped
      // GPU work and is not saved.
      // (no gap to claim: the saving settles to 0 without a replay)
      savingsNs: 0,
      savingsFrom: 'gpu-idle',
      evidence: { syncCount: syncs.length, blockedNs, drainNs, afterCopyCount },
      locations: aggregateLocations(ctx, costs),
      fix: {
        title: 'Drop the synchronization or move it out of the hot loop',
        edit: 'periodic-sync',
        detail:
          'torch.cuda.synchronize(), .item(), .cpu(), .tolist() and printing tensors wait for the GPU. ' +
          'Keep values on the GPU and read them once per N steps, or record an event and query it.',
        snippet:
          '# before: total += loss.item()\n' +
          'total += loss.detach()          # accumulate on the GPU\n' +
          'if step % 100 == 0: print(total.item())',
      },
    },
    { gaps: claim.map((g) => g.index) },
  );
  return [claim.length > 0 ? replayLater(finding, { nonBlocking: new Set(syncs) }) : finding];
});
