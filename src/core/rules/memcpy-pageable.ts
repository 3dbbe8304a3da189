/**
 * memcpy-pageable: async host↔device copies to or from pageable host memory (NVIDIA's
 * `cuda_memcpy_async`). The driver stages them through a pinned buffer, so they run slower and
 * make an "async" copy synchronous with the host. A copy made with a synchronous API is
 * memcpy-sync's, whatever its memory, so no copy is claimed by both rules.
 */
import { formatNs, formatBytes } from '../format';
import type { GpuOp, Profile } from '../model';
import { ns } from '../numbers';
import { type LocatedCost, aggregateLocations } from './locations';
import { isSyncCopyApi } from './memcpy-sync';
import type { Rule } from './types';

/** Pageable copies move at roughly half the pinned bandwidth (staging copy + DMA). */
const PAGEABLE_SLOWDOWN = 0.5;

/** Whether the copy's call is a synchronous copy API (unlinked copies are kept: pageable anyway). */
function launchedBySyncApi(profile: Profile, op: GpuOp): boolean {
  const call = op.launchIndex >= 0 ? profile.cpuCalls[op.launchIndex] : undefined;
  return call !== undefined && isSyncCopyApi(call);
}

/** Host↔device copies with a pageable host end, made with an async API (or an unlinked call). */
export function pageableCopies(profile: Profile): GpuOp[] {
  return profile.gpuOps.filter(
    (op) =>
      op.kind === 'memcpy' &&
      ((op.copyKind === 'HtoD' && op.srcKind === 'pageable') ||
        (op.copyKind === 'DtoH' && op.dstKind === 'pageable')) &&
      !launchedBySyncApi(profile, op),
  );
}

export const memcpyPageable: Rule = (profile, ctx) => {
  const copies = pageableCopies(profile);
  const copyNs = copies.reduce((s, op) => s + op.endNs - op.startNs, 0);
  if (copies.length === 0 || copyNs < ctx.thresholds.minGapNs) return [];
  const bytes = copies.reduce((s, op) => s + (op.bytes ?? 0), 0);
  const gbps = copyNs > 0 ? bytes / copyNs : 0;
  const htod = copies.filter((op) => op.copyKind === 'HtoD').length;
  const costs: LocatedCost[] = copies.map((op) => ({
    stackId: op.stackId >= 0 ? op.stackId : (profile.cpuCalls[op.launchIndex]?.stackId ?? -1),
    ns: op.endNs - op.startNs,
  }));
  return [
    {
      rule: 'memcpy-pageable',
      severity: 'warning',
      title: `${copies.length} copies through pageable memory (${formatBytes(bytes)})`,
      message:
        `${copies.length} copies (${htod} host→device, ${copies.length - htod} device→host) used pageable host ` +
        `memory: ${formatBytes(bytes)} in ${formatNs(copyNs)} of GPU time (${gbps.toFixed(1)} GB/s).`,
      // Savings: pinned memory roughly doubles host↔device bandwidth, so about half the copy time.
      savingsNs: ns(copyNs * PAGEABLE_SLOWDOWN),
      savingsFrom: 'kernel-time',
      evidence: { copyCount: copies.length, bytes, copyNs, gbPerS: Number(gbps.toFixed(2)) },
      locations: aggregateLocations(ctx, costs),
      fix: {
        title: 'Use pinned (page-locked) host memory',
        edit: 'non-blocking-copy',
        detail:
          'Pin the source once (or let the DataLoader do it) and copy with non_blocking=True.',
        snippet:
          'loader = DataLoader(ds, batch_size=B, pin_memory=True)\n' +
          'x = batch.to("cuda", non_blocking=True)\n' +
          '# or once: buf = torch.empty(shape, pin_memory=True); buf.copy_(src); buf.to("cuda", non_blocking=True)',
      },
    },
  ];
};
