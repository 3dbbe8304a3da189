/**
 * GPU-idle savings: what a fix removes is measured by replaying the trace with the cause taken out
 * (replay.ts), and each finding claims the idle gaps it explains so that no two findings count the
 * same idle ns. runRules settles the claims: specific findings first (largest saving first), the
 * umbrella findings (gpu-idle-gaps, step-time) last, each capped at what is left unclaimed.
 *
 * The rules leave their what-ifs to be replayed (replayLater): runRules replays those of every
 * rule together in one pass over the ops (resolveReplays), a rule called on its own replays its own.
 */
import type { Profile } from '../model';
import type { ProfileIndex } from '../profile-index';
import type { Interval } from '../intervals';
import type { Finding } from '../report-types';
import { type WhatIf, replayAll } from '../replay';
import { callThreadKey } from '../cpu-threads';
import type { GapCause } from './gap-causes';
import type { IdleGapTable } from './idle-gap-table';
import { smallGapTallies } from './idle-gaps';
import type { Rule, RuleContext } from './types';

/** The idle a finding's fix would remove: gaps of at least minGapNs, and small-gap causes. */
export interface IdleClaim {
  /** Numbers of the gaps (rows of the report's IdleGapTable: IdleGap.index). */
  gaps: readonly number[];
  /** Causes whose gaps under minGapNs (tallied, not listed) the finding claims. */
  smallCauses?: readonly GapCause[];
}

const claims = new WeakMap<Finding, IdleClaim>();

/** Attaches the finding's claim on the idle gaps (kept beside the Report data, not in it). */
export function claimIdle<F extends Finding>(finding: F, claim: IdleClaim): F {
  claims.set(finding, claim);
  return finding;
}

const pending = new WeakMap<Finding, WhatIf>();

/**
 * Leaves the finding's savingsNs to the replay of `whatIf` (the GPU idle it removes): resolveReplays
 * sets it.
 */
export function replayLater<F extends Finding>(finding: F, whatIf: WhatIf): F {
  pending.set(finding, whatIf);
  return finding;
}

/** Replays the pending what-ifs of `findings` in one pass and sets their savingsNs. */
export function resolveReplays(index: ProfileIndex, findings: readonly Finding[]): void {
  const waiting = findings.filter((f) => pending.has(f));
  const results = replayAll(
    index,
    waiting.map((f) => ({ whatIf: pending.get(f) as WhatIf })),
  );
  waiting.forEach((f, k) => {
    f.savingsNs = results[k].gpuSavedNs;
    pending.delete(f);
  });
}

/** A rule whose findings may leave replays pending; `plan` is the rule without resolving them. */
export type ReplayingRule = Rule & { plan: Rule };

/** The rule that resolves `plan`'s pending replays itself (for a rule called on its own). */
export function replaying(plan: Rule): ReplayingRule {
  const rule: Rule = (profile, ctx) => {
    const findings = plan(profile, ctx);
    resolveReplays(ctx.index, findings);
    return findings;
  };
  return Object.assign(rule, { plan });
}

/** Rules whose findings summarize idle that specific findings explain: settled last. */
const UMBRELLA = new Set(['gpu-idle-gaps', 'step-time']);

/**
 * Caps each gpu-idle finding's savings at the idle ns of its claim that no earlier finding took,
 * and all of them together at `idleNs` (summary.gpuIdleNs). Mutates savingsNs.
 */
export function settleIdleClaims(ctx: RuleContext, findings: Finding[], idleNs: number): void {
  const small = smallGapTallies(ctx);
  const gaps = ctx.gaps().gaps;
  const takenGaps = new Uint8Array(gaps.length);
  const takenSmall = new Set<GapCause>();
  let used = 0;
  const order = findings
    .filter((f) => f.savingsFrom === 'gpu-idle')
    .sort(
      (a, b) =>
        Number(UMBRELLA.has(a.rule)) - Number(UMBRELLA.has(b.rule)) || b.savingsNs - a.savingsNs,
    );
  for (const f of order) {
    const claim = claims.get(f);
    let available = Infinity;
    if (claim) {
      available = 0;
      for (const k of claim.gaps) if (!takenGaps[k]) available += gaps.ns(k);
      for (const c of claim.smallCauses ?? [])
        if (!takenSmall.has(c)) available += small.get(c)?.ns ?? 0;
      for (const k of claim.gaps) takenGaps[k] = 1;
      for (const c of claim.smallCauses ?? []) takenSmall.add(c);
    }
    f.savingsNs = Math.max(0, Math.min(f.savingsNs, available, idleNs - used));
    used += f.savingsNs;
  }
}

/** Adds [startNs, endNs) to the CPU time a what-if removes from the thread `key` (threadKey). */
export function addCut(
  cuts: Map<string, Interval[]>,
  key: string,
  startNs: number,
  endNs: number,
): void {
  if (!(endNs > startNs)) return;
  const list = cuts.get(key);
  const cut = { startNs, endNs };
  if (list) list.push(cut);
  else cuts.set(key, [cut]);
}

/**
 * The what-if that removes what caused each gap: the launching thread's CPU work before the launch
 * call (CPU-side causes), the in-gap part of a slow launch call, the sync that drained the queue.
 * Queued and unknown gaps have nothing the trace says can be removed.
 */
export function gapWhatIf(profile: Profile, gaps: IdleGapTable, which: readonly number[]): WhatIf {
  const calls = profile.cpuCalls;
  const cuts = new Map<string, Interval[]>();
  const nonBlocking = new Set<number>();
  // One key string per thread, not per gap (there can be hundreds of thousands of gaps).
  const keys: string[] = [];
  for (const k of which) {
    const launch = gaps.launchIndex[k];
    if (launch < 0) continue;
    const key = (keys[calls.thread[launch]] ??= callThreadKey(calls, launch));
    const start = calls.startNs[launch];
    const cause = gaps.causeOf(k);
    const gapStart = gaps.startNs[k];
    const gapEnd = gaps.endNs[k];
    if (cause === 'slow-launch')
      addCut(cuts, key, Math.max(start, gapStart), Math.min(calls.endNs[launch], gapEnd));
    else if (cause === 'host-sync' && gaps.blocker[k] >= 0) nonBlocking.add(gaps.blocker[k]);
    else if (cause !== 'queued' && cause !== 'unknown')
      addCut(cuts, key, gapStart, Math.min(start, gapEnd));
  }
  return { cuts, nonBlocking };
}
