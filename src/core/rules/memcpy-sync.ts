/**
 * memcpy-sync: copies made with a synchronous copy API (NVIDIA's `cuda_memcpy_sync`): cudaMemcpy,
 * cuMemcpyDtoH, hipMemcpy, hipMemcpyWithStream … — any copy call without `Async` in its name. As
 * in NVIDIA's rule, host-to-device copies of 64,000 bytes or less (the driver stages them and
 * returns at once) and copies within one device are left out. Async copies are not here: one from
 * pageable memory is memcpy-pageable's, and PyTorch's blocking copy (cudaMemcpyAsync, then a stream
 * synchronize) is counted by host-sync, at its synchronize. Differences from NVIDIA: docs/rules.md.
 */
import { formatNs, formatBytes } from '../format';
import type { CpuCall, GpuOp, Profile } from '../model';
import { callsByThread } from '../cpu-threads';
import { type LocatedCost, aggregateLocations } from './locations';
import { findIdleGaps } from './idle-gaps';
import { claimIdle, replayLater, replaying } from './savings';

/** NVIDIA's cut (`bytes <= 64000 AND copyKind == 1`): decimal, not 64 KiB. */
const SMALL_HTOD_BYTES = 64_000;

export interface SyncCopy {
  call: CpuCall;
  /** The copy on the GPU, when the trace links it to its call. */
  op: GpuOp | undefined;
  /** CPU time blocked: the copy call. */
  blockedNs: number;
}

/** Whether a copy API call returns only when its copy is done. */
export function isSyncCopyApi(c: CpuCall): boolean {
  return c.kind === 'memcpy' && !/Async/i.test(c.name);
}

/**
 * Copies made with a synchronous API, per thread in start order; a copy call inside the previous
 * counted one (the driver call under a runtime call) is the same copy.
 */
export function syncCopyCalls(profile: Profile): SyncCopy[] {
  // Most traces copy only asynchronously: then there is nothing to find.
  if (!profile.cpuCalls.some(isSyncCopyApi)) return [];
  const opByCall = new Map<CpuCall, GpuOp>();
  for (const op of profile.gpuOps)
    if (op.kind === 'memcpy' && op.launchIndex >= 0)
      opByCall.set(profile.cpuCalls[op.launchIndex], op);
  const copies: SyncCopy[] = [];
  for (const calls of callsByThread(profile.cpuCalls).values()) {
    let outerEnd = -Infinity;
    for (const call of calls) {
      if (call.kind !== 'memcpy' || (call.startNs < outerEnd && call.endNs <= outerEnd)) continue;
      outerEnd = call.endNs;
      if (!isSyncCopyApi(call)) continue;
      const op = opByCall.get(call);
      if (op?.copyKind === 'HtoD' && (op.bytes ?? 0) <= SMALL_HTOD_BYTES) continue;
      if (op?.copyKind === 'DtoD') continue;
      copies.push({ call, op, blockedNs: call.endNs - call.startNs });
    }
  }
  return copies;
}

export const memcpySync = replaying((profile, ctx) => {
  const copies = syncCopyCalls(profile);
  const blockedNs = copies.reduce((s, c) => s + c.blockedNs, 0);
  if (copies.length === 0 || blockedNs < ctx.thresholds.minGapNs) return [];
  const copyNs = copies.reduce((s, c) => s + (c.op ? c.op.endNs - c.op.startNs : 0), 0);
  const bytes = copies.reduce((s, c) => s + (c.op?.bytes ?? 0), 0);
  const dirs = new Map<string, number>();
  for (const c of copies)
    dirs.set(c.op?.copyKind ?? 'other', (dirs.get(c.op?.copyKind ?? 'other') ?? 0) + 1);
  const dirText = [...dirs].map(([d, n]) => `${n} ${d}`).join(', ');
  const costs: LocatedCost[] = copies.map((c) => ({
    stackId: c.op?.stackId ?? c.call.stackId,
    ns: c.blockedNs,
  }));
  const claim = findIdleGaps(profile, ctx.thresholds.minGapNs).filter(
    (g) => g.cause === 'host-sync' && g.blocker?.kind === 'memcpy',
  );
  const finding = claimIdle(
    {
      rule: 'memcpy-sync',
      severity: 'warning',
      title: `${copies.length} blocking copies (${formatNs(blockedNs)} CPU blocked)`,
      message:
        `${copies.length} copies (${dirText}, ${formatBytes(bytes)}) blocked the CPU for ${formatNs(blockedNs)}; ` +
        `the transfers themselves took ${formatNs(copyNs)} on the GPU.`,
      // Savings: GPU idle only, never the CPU's blocked time (the GPU may have been busy through
      // it): replay with the copies returning at once; it claims the gaps a copy drained.
      savingsNs: 0,
      savingsFrom: 'gpu-idle',
      evidence: { copyCount: copies.length, blockedNs, copyNs, bytes },
      locations: aggregateLocations(ctx, costs),
      fix: {
        title: 'Copy asynchronously from pinned memory',
        detail:
          'Use cudaMemcpyAsync (hipMemcpyAsync) on a stream from pinned memory; in PyTorch pin the ' +
          'host buffer and pass non_blocking=True, and read a device-to-host result only after an ' +
          'event says it is ready.',
        snippet:
          'x = x.pin_memory().to("cuda", non_blocking=True)\n' +
          '# device → host without blocking:\n' +
          'host = torch.empty_like(y, device="cpu").pin_memory(); host.copy_(y, non_blocking=True)\n' +
          'ev = torch.cuda.Event(); ev.record()  # ... later: ev.synchronize(); use host',
      },
    },
    { gaps: claim },
  );
  return [
    claim.length > 0
      ? replayLater(finding, { nonBlocking: new Set(copies.map((c) => c.call)) })
      : finding,
  ];
});
