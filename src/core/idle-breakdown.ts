/**
 * The idle breakdown: every idle ns of `summary.gpuIdleNs` with exactly one cause. Inside a device's
 * span (first to last busy interval) each gap, of any size, has the cause gap-causes.ts gives it;
 * the rest of the trace's GPU window (a device that started late or finished early, zero-length
 * ops at the ends) is 'device-edge'. Σ gaps + Σ edges = devices × wall − busy = gpuIdleNs.
 */
import type { IdleCause, IdleCauseStat, SourceRef } from './report-types';
import { aggregateRefs } from './rules/locations';
import { GAP_CAUSE_TEXT, gapLocationAt, smallGapTallies } from './rules/idle-gaps';
import type { RuleContext } from './rules/types';

const EDGE_TEXT = "outside the device's own span (it started later or finished earlier)";

/** Per cause: idle ns, gap count and the idle ns behind each source line. */
interface Tally {
  ns: number;
  gaps: number;
  lines: { ref: SourceRef | null; ns: number }[];
}

/** The breakdown of the GPU idle time by cause, largest first; `wallNs` is summary.wallNs. */
export function idleBreakdown(ctx: RuleContext, wallNs: number): IdleCauseStat[] {
  const timelines = ctx.index.timelines;
  if (timelines.length === 0) return [];
  const tallies = new Map<IdleCause, Tally>();
  const tally = (cause: IdleCause): Tally => {
    let t = tallies.get(cause);
    if (!t) tallies.set(cause, (t = { ns: 0, gaps: 0, lines: [] }));
    return t;
  };
  const gaps = ctx.gaps().gaps;
  for (let k = 0; k < gaps.length; k++) {
    const t = tally(gaps.causeOf(k));
    t.ns += gaps.ns(k);
    t.gaps++;
    t.lines.push({ ref: gapLocationAt(ctx, k), ns: gaps.ns(k) });
  }
  for (const [cause, small] of smallGapTallies(ctx)) {
    const t = tally(cause);
    t.ns += small.ns;
    t.gaps += small.gaps;
    for (const [stackId, ns] of small.byStack)
      t.lines.push({ ref: stackId >= 0 ? ctx.locate(stackId) : null, ns });
  }
  for (const tl of timelines) {
    const edge = wallNs - (tl.lastNs - tl.firstNs);
    if (edge > 0) tally('device-edge').ns += edge;
  }
  const out: IdleCauseStat[] = [];
  for (const [cause, t] of tallies) {
    if (t.ns <= 0) continue;
    out.push({
      cause,
      label: cause === 'device-edge' ? EDGE_TEXT : GAP_CAUSE_TEXT[cause],
      ns: t.ns,
      gaps: t.gaps,
      location: aggregateRefs(t.lines, 1)[0] ?? null,
    });
  }
  return out.sort((a, b) => b.ns - a.ns || a.cause.localeCompare(b.cause));
}
