/**
 * memcpy-sync: copies that block the host (NVIDIA's `cuda_memcpy_sync`): synchronous copy APIs
 * (cudaMemcpy, cuMemcpyDtoH …) and PyTorch's blocking copy — cudaMemcpyAsync immediately followed
 * by a stream synchronize on the same thread (`.item()`, `.cpu()`, `.to("cuda")` without
 * non_blocking). Host-to-device copies of 64 KB or less are left out, as NVIDIA's rule does: the
 * driver stages them and returns at once.
 */
import { formatNs, formatBytes } from '../format';
import type { CpuCall, GpuOp, Profile } from '../model';
import { type LocatedCost, aggregateLocations, callsByThread, ns, threadKey } from './common';
import type { Rule } from './types';

const SMALL_HTOD_BYTES = 64 * 1024;
/** A sync starting this soon after an async copy returns is part of the same blocking copy. */
const FOLLOW_NS = 50_000;

export interface SyncCopy {
  call: CpuCall;
  op: GpuOp | undefined;
  /** CPU time blocked: the copy call plus the synchronize that completes it. */
  blockedNs: number;
}

type SyncCopies = { copies: SyncCopy[]; syncIndexes: Set<number> };

/** memcpy-sync and host-sync both ask: computed once per profile (sizes checked like the others). */
const syncCopyMemo = new WeakMap<Profile, { key: string; value: SyncCopies }>();

/**
 * Blocking copies, and the indexes of the synchronize calls that belong to them. Memoized per
 * profile: treat the result as read-only.
 */
export function syncCopyCalls(profile: Profile): SyncCopies {
  const key = `${profile.cpuCalls.length}:${profile.gpuOps.length}`;
  const memo = syncCopyMemo.get(profile);
  if (memo?.key === key) return memo.value;
  const value = computeSyncCopies(profile);
  syncCopyMemo.set(profile, { key, value });
  return value;
}

function computeSyncCopies(profile: Profile): SyncCopies {
  const opByCall = new Map<number, GpuOp>();
  for (const op of profile.gpuOps)
    if (op.kind === 'memcpy' && op.launchIndex >= 0) opByCall.set(op.launchIndex, op);
  const indexOf = new Map<CpuCall, number>();
  // Only copies and the syncs after them are looked up: a map of every call was a large cost.
  profile.cpuCalls.forEach((c, i) => {
    if (c.kind === 'memcpy' || c.kind === 'sync') indexOf.set(c, i);
  });
  const copies: SyncCopy[] = [];
  const syncIndexes = new Set<number>();
  for (const calls of callsByThread(profile.cpuCalls).values()) {
    calls.forEach((call, k) => {
      if (call.kind !== 'memcpy') return;
      const op = opByCall.get(indexOf.get(call) ?? -1);
      if (op?.copyKind === 'HtoD' && (op.bytes ?? 0) <= SMALL_HTOD_BYTES) return;
      if (!/Async/i.test(call.name)) {
        copies.push({ call, op, blockedNs: call.endNs - call.startNs });
        return;
      }
      const next = calls[k + 1];
      if (
        next &&
        next.kind === 'sync' &&
        /Synchronize/.test(next.name) &&
        next.startNs - call.endNs <= FOLLOW_NS &&
        threadKey(next) === threadKey(call)
      ) {
        copies.push({ call, op, blockedNs: next.endNs - call.startNs });
        syncIndexes.add(indexOf.get(next) ?? -1);
      }
    });
  }
  return { copies, syncIndexes };
}

export const memcpySync: Rule = (profile, ctx) => {
  const { copies } = syncCopyCalls(profile);
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
  return [
    {
      rule: 'memcpy-sync',
      severity: 'warning',
      title: `${copies.length} blocking copies (${formatNs(blockedNs)} CPU blocked)`,
      message:
        `${copies.length} copies (${dirText}, ${formatBytes(bytes)}) blocked the CPU for ${formatNs(blockedNs)}; ` +
        `the transfers themselves took ${formatNs(copyNs)} on the GPU.`,
      // Savings: blocked CPU time beyond the copies' own GPU time — the waiting that a non_blocking
      // copy into pinned memory hands back to the CPU for queuing the next work.
      savingsNs: ns(blockedNs - copyNs),
      savingsFrom: 'gpu-idle',
      evidence: { copyCount: copies.length, blockedNs, copyNs, bytes },
      locations: aggregateLocations(ctx, costs),
      fix: {
        title: 'Copy asynchronously from pinned memory',
        detail:
          'Pin the host buffer and pass non_blocking=True; read a device-to-host result only after an ' +
          'event says it is ready, or batch the reads.',
        snippet:
          'x = x.pin_memory().to("cuda", non_blocking=True)\n' +
          '# device → host without blocking:\n' +
          'host = torch.empty_like(y, device="cpu").pin_memory(); host.copy_(y, non_blocking=True)\n' +
          'ev = torch.cuda.Event(); ev.record()  # ... later: ev.synchronize(); use host',
      },
    },
  ];
};
