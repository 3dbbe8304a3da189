/**
 * host-sync: device/stream/event synchronizations on the CPU (NVIDIA's `cuda_api_sync`). A sync
 * drains the GPU's queue: after it returns the GPU idles until the CPU launches again. Syncs that
 * only complete a blocking copy are left to memcpy-sync.
 */
import { formatNs } from '../format';
import type { CpuCall } from '../model';
import { type LocatedCost, aggregateLocations, idleAfter, ns, rankBusy } from './common';
import { syncCopyCalls } from './memcpy-sync';
import type { Rule } from './types';

/** Calls that block the host until the GPU catches up (cudaStreamWaitEvent/Query do not). */
export function isBlockingSync(c: CpuCall): boolean {
  return c.kind === 'sync' && !/StreamWaitEvent|StreamQuery|EventQuery/.test(c.name);
}

export const hostSync: Rule = (profile, ctx) => {
  const copySyncs = syncCopyCalls(profile).syncIndexes;
  const syncs: CpuCall[] = [];
  profile.cpuCalls.forEach((c, i) => {
    if (isBlockingSync(c) && !copySyncs.has(i)) syncs.push(c);
  });
  if (syncs.length === 0) return [];
  const busy = rankBusy(profile);
  let blockedNs = 0;
  let drainNs = 0;
  const costs: LocatedCost[] = [];
  for (const c of syncs) {
    blockedNs += c.endNs - c.startNs;
    const drain = idleAfter(busy.get(c.rank) ?? [], c.endNs);
    drainNs += drain;
    costs.push({ stackId: c.stackId, ns: c.endNs - c.startNs + drain });
  }
  // A sync that returned while the GPU was still busy cost nothing: fire on the drained idle time.
  if (drainNs < ctx.thresholds.minGapNs) return [];
  const names = [...new Set(syncs.map((c) => c.name.replace(/_v\d+$/, '')))].slice(0, 4).join(', ');
  return [
    {
      rule: 'host-sync',
      severity: 'warning',
      title: `${syncs.length} host synchronizations (${formatNs(blockedNs)} blocked)`,
      message:
        `The CPU synchronized with the GPU ${syncs.length} times (${names}), blocked ${formatNs(blockedNs)} in ` +
        `total; after the syncs returned the GPU sat idle ${formatNs(drainNs)} until new work arrived.`,
      // Savings: the GPU idle time after each sync returned (the drained queue); the blocked time
      // itself overlaps GPU work and is not saved.
      savingsNs: ns(drainNs),
      savingsFrom: 'gpu-idle',
      evidence: { syncCount: syncs.length, blockedNs, drainNs },
      locations: aggregateLocations(ctx, costs),
      fix: {
        title: 'Drop the synchronization or move it out of the hot loop',
        detail:
          'torch.cuda.synchronize(), .item(), .cpu(), .tolist() and printing tensors wait for the GPU. ' +
          'Keep values on the GPU and read them once per N steps, or record an event and query it.',
        snippet:
          '# before: total += loss.item()\n' +
          'total += loss.detach()          # accumulate on the GPU\n' +
          'if step % 100 == 0: print(total.item())',
      },
    },
  ];
};
