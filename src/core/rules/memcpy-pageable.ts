/**
 * memcpy-pageable: async host↔device copies to or from pageable host memory (NVIDIA's
 * `cuda_memcpy_async`). The driver stages them through a pinned buffer, so they run slower and
 * make an "async" copy synchronous with the host. A copy made with a synchronous API is
 * memcpy-sync's, whatever its memory, so no copy is claimed by both rules.
 */
import { formatNs, formatBytes } from '../format';
import type { Profile } from '../model';
import { COPY_KINDS, MEM_KINDS, MEMCPY } from '../model-gpu-ops';
import { ns } from '../numbers';
import { type LocatedCost, aggregateLocations } from './locations';
import { bytesOf, isSyncCopyApi } from './memcpy-sync';
import type { Rule } from './types';

/** Pageable copies move at roughly half the pinned bandwidth (staging copy + DMA). */
const PAGEABLE_SLOWDOWN = 0.5;

const HTOD = COPY_KINDS.indexOf('HtoD');
const DTOH = COPY_KINDS.indexOf('DtoH');
const PAGEABLE = MEM_KINDS.indexOf('pageable');

/** Whether op i's call is a synchronous copy API (unlinked copies are kept: pageable anyway). */
function launchedBySyncApi(profile: Profile, i: number): boolean {
  const call = profile.gpuOps.launchIndex[i];
  return call >= 0 && call < profile.cpuCalls.length && isSyncCopyApi(profile.cpuCalls, call);
}

/**
 * Host↔device copies with a pageable host end, made with an async API (or an unlinked call), as
 * indexes into Profile.gpuOps.
 */
export function pageableCopies(profile: Profile): number[] {
  const ops = profile.gpuOps;
  const out: number[] = [];
  // Only ops with copy details can be pageable: their rows, in op order.
  const { copies } = ops;
  for (let r = 0; r < copies.length; r++) {
    const i = copies.op[r];
    if (ops.kind[i] !== MEMCPY) continue;
    const pageable =
      (copies.copyKind[r] === HTOD && copies.srcKind[r] === PAGEABLE) ||
      (copies.copyKind[r] === DTOH && copies.dstKind[r] === PAGEABLE);
    if (pageable && !launchedBySyncApi(profile, i)) out.push(i);
  }
  return out;
}

/** The stack of call `i`, -1 when there is no such call. */
function callStackId(profile: Profile, i: number): number {
  return i >= 0 && i < profile.cpuCalls.length ? profile.cpuCalls.stackId[i] : -1;
}

export const memcpyPageable: Rule = (profile, ctx) => {
  const ops = profile.gpuOps;
  const copies = pageableCopies(profile);
  const copyNs = copies.reduce((s, i) => s + ops.endNs[i] - ops.startNs[i], 0);
  if (copies.length === 0 || copyNs < ctx.thresholds.minGapNs) return [];
  const bytes = copies.reduce((s, i) => s + bytesOf(ops, i), 0);
  const gbps = copyNs > 0 ? bytes / copyNs : 0;
  const htod = copies.filter((i) => ops.copyCode(i, 'copyKind') === HTOD).length;
  const costs: LocatedCost[] = copies.map((i) => ({
    stackId: ops.stackId[i] >= 0 ? ops.stackId[i] : callStackId(profile, ops.launchIndex[i]),
    ns: ops.endNs[i] - ops.startNs[i],
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
