/**
 * memcpy-sync: copies made with a synchronous copy API (NVIDIA's `cuda_memcpy_sync`): cudaMemcpy,
 * cuMemcpyDtoH, hipMemcpy, hipMemcpyWithStream … — any copy call without `Async` in its name. As
 * in NVIDIA's rule, host-to-device copies of 64,000 bytes or less (the driver stages them and
 * returns at once) and copies within one device are left out. Async copies are not here: one from
 * pageable memory is memcpy-pageable's, and PyTorch's blocking copy (cudaMemcpyAsync, then a stream
 * synchronize) is counted by host-sync, at its synchronize. Differences from NVIDIA: docs/rules.md.
 */
import { formatNs, formatBytes } from '../format';
import type { Profile } from '../model';
import { CALL_MEMCPY, type CpuCalls } from '../model-cpu-calls';
import { COPY_KINDS, type GpuOps, MEMCPY } from '../model-gpu-ops';
import { type LocatedCost, aggregateLocations } from './locations';
import type { ProfileIndex } from '../profile-index';
import { findIdleGaps } from './idle-gaps';
import { claimIdle, replayLater, replaying } from './savings';

/** NVIDIA's cut (`bytes <= 64000 AND copyKind == 1`): decimal, not 64 KiB. */
const SMALL_HTOD_BYTES = 64_000;

export interface SyncCopy {
  /** The copy call (an index into Profile.cpuCalls). */
  call: number;
  /** The copy on the GPU (an index into Profile.gpuOps), -1 when the trace does not link it. */
  op: number;
  /** CPU time blocked: the copy call. */
  blockedNs: number;
}

/** Whether copy API call i returns only when its copy is done. */
export function isSyncCopyApi(calls: CpuCalls, i: number): boolean {
  return calls.kind[i] === CALL_MEMCPY && !/Async/i.test(calls.nameOf(i));
}

/** Bytes op i moved, 0 when not recorded. */
export function bytesOf(ops: GpuOps, i: number): number {
  const b = ops.bytesOf(i);
  return Number.isNaN(b) ? 0 : b;
}

/** Whether some call of `calls` is a synchronous copy API call. */
function anySyncCopyApi(calls: CpuCalls): boolean {
  for (let i = 0; i < calls.length; i++) if (isSyncCopyApi(calls, i)) return true;
  return false;
}

/** The copy each call launched (call index → op index), for copies linked to their call. */
function copyOpByCall(profile: Profile): Map<number, number> {
  const ops = profile.gpuOps;
  const out = new Map<number, number>();
  for (let i = 0; i < ops.length; i++)
    if (ops.kind[i] === MEMCPY && ops.launchIndex[i] >= 0) out.set(ops.launchIndex[i], i);
  return out;
}

/**
 * Copies made with a synchronous API, per thread in start order; a copy call inside the previous
 * counted one (the driver call under a runtime call) is the same copy.
 */
export function syncCopyCalls(index: ProfileIndex): SyncCopy[] {
  // Most traces copy only asynchronously: then there is nothing to find.
  const { profile } = index;
  const all = profile.cpuCalls;
  if (!anySyncCopyApi(all)) return [];
  const ops = profile.gpuOps;
  const opByCall = copyOpByCall(profile);
  const { kind, startNs, endNs } = all;
  const copies: SyncCopy[] = [];
  for (const calls of index.threads.values()) {
    let outerEnd = -Infinity;
    for (let n = 0; n < calls.idx.length; n++) {
      const call = calls.idx[n];
      if (kind[call] !== CALL_MEMCPY || (startNs[call] < outerEnd && endNs[call] <= outerEnd))
        continue;
      outerEnd = endNs[call];
      if (!isSyncCopyApi(all, call)) continue;
      const op = opByCall.get(call) ?? -1;
      const copyKind = op >= 0 ? COPY_KINDS[ops.copyCode(op, 'copyKind')] : undefined;
      if (copyKind === 'HtoD' && bytesOf(ops, op) <= SMALL_HTOD_BYTES) continue;
      if (copyKind === 'DtoD') continue;
      copies.push({ call, op, blockedNs: endNs[call] - startNs[call] });
    }
  }
  return copies;
}

export const memcpySync = replaying((profile, ctx) => {
  const copies = syncCopyCalls(ctx.index);
  const blockedNs = copies.reduce((s, c) => s + c.blockedNs, 0);
  if (copies.length === 0 || blockedNs < ctx.thresholds.minGapNs) return [];
  const ops = profile.gpuOps;
  const calls = profile.cpuCalls;
  const copyNs = copies.reduce(
    (s, c) => s + (c.op >= 0 ? ops.endNs[c.op] - ops.startNs[c.op] : 0),
    0,
  );
  const bytes = copies.reduce((s, c) => s + (c.op >= 0 ? bytesOf(ops, c.op) : 0), 0);
  const dirs = new Map<string, number>();
  for (const c of copies) {
    const dir = (c.op >= 0 ? COPY_KINDS[ops.copyCode(c.op, 'copyKind')] : undefined) ?? 'other';
    dirs.set(dir, (dirs.get(dir) ?? 0) + 1);
  }
  const dirText = [...dirs].map(([d, n]) => `${n} ${d}`).join(', ');
  const costs: LocatedCost[] = copies.map((c) => ({
    stackId: c.op >= 0 ? ops.stackId[c.op] : calls.stackId[c.call],
    ns: c.blockedNs,
  }));
  const claim = findIdleGaps(
    ctx,
    'host-sync',
    (g) => g.blocker !== undefined && calls.kind[g.blocker] === CALL_MEMCPY,
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
    { gaps: claim.map((g) => g.index) },
  );
  return [
    claim.length > 0
      ? replayLater(finding, { nonBlocking: new Set(copies.map((c) => c.call)) })
      : finding,
  ];
});
