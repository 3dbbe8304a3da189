/**
 * tool-call-gaps: the reference texts' ReAct case. A synchronous external call (a sleep, a socket
 * or pipe read) inside an annotated range blocks the thread that drives the GPU, so the GPU idles
 * for the whole call. Found from NVTX / record_function ranges plus OS-runtime waits: a range
 * mostly spent in OS waits that launched no GPU work is a blocking call; its enclosing range is
 * the step it stalls. Works on CPU-only captures too: there the blocked time is reported as the
 * share of each step that a GPU serving loop would spend idle.
 */
import { formatNs, formatPct } from '../format';
import type { CpuCall, Profile } from '../model';
import type { Finding } from '../report-types';
import { overlapNs } from '../intervals';
import {
  SortedSpans,
  aggregateLocations,
  aggregateRangeLocations,
  callsByThread,
  ns,
  overlapWithCalls,
  rankBusy,
  threadKey,
  userRangesByThread,
  pushTo,
  isLaunchLike,
} from './common';
import type { Rule } from './types';

/** Steps and calls are grouped by name with numbers folded: react_step_3 → react_step_#. */
const family = (name: string) => name.replace(/\d+/g, '#');

interface Blocked {
  rangeIndex: number;
  parentIndex: number;
  blockedNs: number;
  waits: CpuCall[];
}

function blockedRanges(profile: Profile, minNs: number): Blocked[] {
  const byThread = callsByThread(profile.cpuCalls);
  const busy = rankBusy(profile);
  const out: Blocked[] = [];
  for (const [key, idxs] of userRangesByThread(profile)) {
    const calls = byThread.get(key) ?? [];
    const waitsAll = new SortedSpans(calls.filter((c) => c.kind === 'os-wait'));
    const launches = new SortedSpans(calls.filter(isLaunchLike));
    const candidates = new Set<number>();
    const info = new Map<number, { blockedNs: number; waits: CpuCall[] }>();
    for (const idx of idxs) {
      const r = profile.ranges[idx];
      const dur = r.endNs - r.startNs;
      const waits = waitsAll.overlapping(r.startNs, r.endNs);
      let blocked = overlapWithCalls(waits, r.startNs, r.endNs);
      // Time the GPU was busy anyway (async work queued before the call) is not lost.
      const rankUnion = busy.get(r.rank) ?? [];
      for (const w of waits) {
        blocked -= overlapNs(
          { startNs: Math.max(w.startNs, r.startNs), endNs: Math.min(w.endNs, r.endNs) },
          rankUnion,
        );
      }
      const launched = launches.anyStartIn(r.startNs, r.endNs);
      if (!launched && blocked >= minNs && blocked >= dur / 2) {
        candidates.add(idx);
        info.set(idx, { blockedNs: blocked, waits });
      }
    }
    for (const idx of candidates) {
      const r = profile.ranges[idx];
      const contains = (o: number) => {
        const x = profile.ranges[o];
        return o !== idx && x.startNs <= r.startNs && x.endNs >= r.endNs && threadKey(x) === key;
      };
      // Keep the innermost blocked range; its parent (the step it stalls) is the smallest enclosing range.
      const innerHasChild = [...candidates].some((o) => {
        const x = profile.ranges[o];
        return (
          o !== idx &&
          x.startNs >= r.startNs &&
          x.endNs <= r.endNs &&
          x.endNs - x.startNs < r.endNs - r.startNs
        );
      });
      if (innerHasChild) continue;
      const parents = idxs.filter((o) => contains(o));
      const parentIndex = parents.reduce(
        (best, o) =>
          best < 0 || profile.ranges[o].startNs >= profile.ranges[best].startNs ? o : best,
        -1,
      );
      const i = info.get(idx);
      if (i) out.push({ rangeIndex: idx, parentIndex, ...i });
    }
  }
  return out;
}

export const toolCallGaps: Rule = (profile, ctx) => {
  const blocked = blockedRanges(profile, ctx.thresholds.minGapNs);
  const groups = new Map<string, Blocked[]>();
  for (const b of blocked) {
    const key = family(profile.ranges[b.rangeIndex].name);
    pushTo(groups, key, b);
  }
  const hasGpu = profile.gpuOps.length > 0;
  const span = Math.max(1, profile.spanEndNs - profile.spanStartNs);
  const findings: Finding[] = [];
  for (const [name, list] of groups) {
    const blockedNs = list.reduce((s, b) => s + b.blockedNs, 0);
    const parents = [...new Set(list.map((b) => b.parentIndex).filter((p) => p >= 0))];
    const stepNs = parents.reduce(
      (s, p) => s + profile.ranges[p].endNs - profile.ranges[p].startNs,
      0,
    );
    const stepName = parents.length > 0 ? family(profile.ranges[parents[0]].name) : '';
    const sharePct = (blockedNs / (stepNs > 0 ? stepNs : span)) * 100;
    if (sharePct < ctx.thresholds.toolCallPct) continue;
    const waits = list.flatMap((b) => b.waits);
    const waitNames = [...new Set(waits.map((w) => w.name))].slice(0, 4).join(', ');
    const where = stepNs > 0 ? `of each ${stepName} step` : 'of the trace';
    const gpuText = hasGpu
      ? 'The GPU had no work during these calls.'
      : 'This CPU-only capture has no GPU timeline; in a GPU serving loop this is GPU idle time.';
    const evidence: Finding['evidence'] = {
      range: name,
      step: stepName || null,
      callCount: list.length,
      stepCount: parents.length,
      blockedNs,
      meanBlockedNs: ns(blockedNs / list.length),
      stepNs,
      sharePct: Number(sharePct.toFixed(2)),
      waitCalls: waitNames,
      gpuTrace: hasGpu,
    };
    findings.push({
      rule: 'tool-call-gaps',
      severity: 'warning',
      title: `Synchronous call "${name}" blocks ${formatPct(sharePct)} ${where}`,
      message:
        `"${name}" ran ${list.length} times and blocked the thread ${formatNs(blockedNs)} in total ` +
        `(${formatNs(blockedNs / list.length)} each, in ${waitNames || 'OS waits'}), ${formatPct(sharePct)} ${where}` +
        `${stepNs > 0 ? ` (${parents.length} steps, ${formatNs(stepNs)})` : ''}. ${gpuText}`,
      // Savings: the blocked time; run asynchronously it overlaps other requests' GPU work (the
      // reference case hid 85 % of it).
      savingsNs: ns(blockedNs),
      savingsFrom: 'gpu-idle',
      evidence,
      locations: [
        ...aggregateRangeLocations(
          ctx,
          list.map((b) => ({ rangeIndex: b.rangeIndex, ns: b.blockedNs })),
        ),
        ...aggregateLocations(
          ctx,
          waits.map((w) => ({ stackId: w.stackId, ns: w.endNs - w.startNs })),
        ),
      ],
      fix: {
        title: 'Run the tool call asynchronously',
        detail:
          "Submit the external call to an executor and keep the GPU busy with other requests' thought " +
          'generation meanwhile; await the result only when the step needs it.',
        snippet:
          'pool = concurrent.futures.ThreadPoolExecutor(max_workers=8)\n' +
          'async def step(req):\n' +
          '    thought = await generate(req)          # GPU\n' +
          '    obs = await asyncio.get_running_loop().run_in_executor(pool, search, thought.query)\n' +
          '    return await generate(req, obs)       # other requests used the GPU meanwhile',
      },
    });
  }
  return findings;
};
