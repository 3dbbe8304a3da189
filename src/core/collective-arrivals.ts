/**
 * The straggler view's data (Report.collectives): the matched collectives (collectives.ts) the
 * ranks waited longest at, with when every rank reached each. A collective starts on a rank when
 * that rank reaches it, so a rank's lateness is its start less the first rank's; the others wait
 * for the last one (rules/straggler.ts names its line).
 */
import { collectivesByRank, matchCollectives } from './collectives';
import type { Profile } from './model';
import type { CollectiveArrivals, RankArrival } from './report-types';
import { ns } from './numbers';
import { callSite } from './rules/straggler';
import type { RuleContext } from './rules/types';

/** Rows kept: enough to see a pattern, bounded so a long job's Report stays small. */
const MAX_COLLECTIVES = 50;

/** The `max` matched collectives with the most waiting, most first; [] for one rank. */
export function collectiveArrivals(
  profile: Profile,
  ctx: RuleContext,
  max = MAX_COLLECTIVES,
): CollectiveArrivals[] {
  if (profile.rankCount < 2) return [];
  const perRank = collectivesByRank(profile);
  const rows = matchCollectives(perRank).map((m) => {
    const byRank = [...m.byRank.values()].sort((a, b) => a.rank - b.rank);
    const first = Math.min(...byRank.map((c) => c.startNs));
    // The last to arrive; of ranks arriving together, the lowest.
    const last = byRank.reduce((l, c) => (c.startNs > l.startNs ? c : l));
    const arrivals: RankArrival[] = byRank.map((c) => ({
      rank: c.rank,
      startNs: Math.round(c.startNs),
      lateNs: ns(c.startNs - first),
    }));
    return {
      m,
      last,
      arrivals,
      waitNs: ns(byRank.reduce((s, c) => s + (last.startNs - c.startNs), 0)),
    };
  });
  return rows
    .sort((a, b) => b.waitNs - a.waitNs || a.last.startNs - b.last.startNs)
    .slice(0, max)
    .map(({ m, last, arrivals, waitNs }) => ({
      kind: m.kind,
      name: last.name,
      group: m.group,
      index: m.index,
      location: callSite(ctx, last),
      lastRank: last.rank,
      waitNs,
      arrivals,
    }));
}
