/**
 * nccl-imbalance: per-rank (or per-GPU) communication time differs by more than
 * `thresholds.rankImbalancePct` (reference texts' diagnose_nccl_imbalance: (max − min) / max > 15 %).
 * In a collective the fast ranks wait inside the NCCL kernel for the slow one, so the rank with
 * the most communication time is the one that waited most.
 */
import { formatNs, formatPct } from '../format';
import type { Finding } from '../report-types';
import { ns } from '../numbers';
import { type LocatedCost, aggregateLocations } from './locations';
import type { Rule } from './types';
import { KERNEL } from '../model-gpu-ops';

export const ncclImbalance: Rule = (profile, ctx) => {
  const ops = profile.gpuOps;
  const { kind, isComm, rank, deviceId, startNs, endNs } = ops;
  const perGpu = new Map<string, { ns: number; count: number }>();
  for (let i = 0; i < ops.length; i++) {
    if (kind[i] !== KERNEL || !isComm[i]) continue;
    const key = `${rank[i]}:${deviceId[i]}`;
    const e = perGpu.get(key) ?? { ns: 0, count: 0 };
    e.ns += endNs[i] - startNs[i];
    e.count++;
    perGpu.set(key, e);
  }
  if (perGpu.size < 2) return [];
  const entries = [...perGpu.entries()].sort((a, b) => b[1].ns - a[1].ns);
  const [maxKey, max] = entries[0];
  const [minKey, min] = entries[entries.length - 1];
  const imbalancePct = max.ns > 0 ? ((max.ns - min.ns) / max.ns) * 100 : 0;
  if (imbalancePct <= ctx.thresholds.rankImbalancePct) return [];
  const label = (k: string) => {
    const [rank, dev] = k.split(':');
    return profile.rankCount > 1 ? `rank ${rank}` : `GPU ${dev}`;
  };
  const costs: LocatedCost[] = [];
  for (let i = 0; i < ops.length; i++)
    if (isComm[i] && `${rank[i]}:${deviceId[i]}` === maxKey)
      costs.push({ stackId: ops.stackId[i], ns: endNs[i] - startNs[i] });
  const evidence: Finding['evidence'] = {
    imbalancePct: Number(imbalancePct.toFixed(2)),
    maxCommNs: max.ns,
    minCommNs: min.ns,
    participants: perGpu.size,
    // The rank whose GPU spent the most time in collectives (the locations are its call sites).
    rank: Number(maxKey.split(':')[0]),
  };
  for (const [k, v] of entries) evidence[`${label(k)} commNs`] = v.ns;
  return [
    {
      rule: 'nccl-imbalance',
      severity: 'warning',
      title: `Communication imbalance ${formatPct(imbalancePct)} across ${perGpu.size} ${profile.rankCount > 1 ? 'ranks' : 'GPUs'}`,
      message:
        `${label(maxKey)} spent ${formatNs(max.ns)} in collectives, ${label(minKey)} ${formatNs(min.ns)} ` +
        `(spread ${formatPct(imbalancePct)}, threshold ${ctx.thresholds.rankImbalancePct} %): the fast ranks wait ` +
        `inside the collectives for the slow one.`,
      // Savings: max − min communication time — the waiting a balanced load would remove on the
      // rank that waited most.
      savingsNs: ns(max.ns - min.ns),
      savingsFrom: 'kernel-time',
      evidence,
      locations: aggregateLocations(ctx, costs),
      fix: {
        title: 'Balance the work between ranks',
        detail:
          'Give every rank the same amount of compute before each collective: even shards and sequence ' +
          'lengths, the same layers per pipeline stage, no rank-0-only work (logging, eval) in the loop.',
        snippet:
          'sampler = DistributedSampler(ds, drop_last=True)  # equal shards\n' +
          '# bucket by length so ranks get similar sequence lengths\n' +
          'if rank == 0 and step % log_every == 0: log(...)  # keep rank-0 extras rare',
      },
    },
  ];
};
