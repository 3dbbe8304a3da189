/**
 * Per-line spread across ranks (multi-rank profiles): each source line's time on every rank, and
 * the fastest, median and slowest rank. A line one rank spends much longer on than the others is
 * where that rank falls behind before a collective (rules/straggler.ts names the collectives).
 *
 * The time of a line on a rank is the GPU time of the ops launched there (the line is the
 * innermost workspace frame of the launch stack, as LineStat.selfNs counts it); on a trace without
 * GPU ops, the CPU operator time of outermost operators there (as LineStat.cpuOpNs).
 */
import type { Profile } from './model';
import type { RankSpread, SourceRef } from './report-types';
import type { RuleContext } from './rules/types';

/** Lines kept, widest spread first. */
const MAX_LINES = 200;

/** Every line's spread across the ranks of `profile`; empty for a single rank. */
export function lineRankSpread(profile: Profile, ctx: RuleContext): RankSpread[] {
  if (profile.rankCount < 2) return [];
  const ranks = new Set<number>();
  const perLine = new Map<string, { ref: SourceRef; byRank: Map<number, number> }>();
  const cache = new Map<number, SourceRef | null>();
  const add = (rank: number, stackId: number, ns: number): void => {
    ranks.add(rank);
    if (stackId < 0 || ns <= 0) return;
    let ref = cache.get(stackId);
    if (ref === undefined) cache.set(stackId, (ref = ctx.locate(stackId)));
    if (!ref) return;
    const key = `${ref.file}:${ref.line}`;
    let e = perLine.get(key);
    if (!e) perLine.set(key, (e = { ref, byRank: new Map() }));
    e.byRank.set(rank, (e.byRank.get(rank) ?? 0) + ns);
  };
  if (profile.gpuOps.length > 0) {
    const ops = profile.gpuOps;
    for (let i = 0; i < ops.length; i++)
      add(ops.rank[i], ops.stackId[i], ops.endNs[i] - ops.startNs[i]);
  } else {
    for (const r of outermostOps(profile)) add(r.rank, r.stackId, r.endNs - r.startNs);
  }
  const all = [...ranks].sort((a, b) => a - b);
  const out: RankSpread[] = [];
  for (const { ref, byRank } of perLine.values()) {
    const values = all.map((rank) => ({ rank, ns: byRank.get(rank) ?? 0 }));
    values.sort((a, b) => a.ns - b.ns || a.rank - b.rank);
    const mid = values.length >> 1;
    const medianNs =
      values.length % 2 ? values[mid].ns : Math.round((values[mid - 1].ns + values[mid].ns) / 2);
    const min = values[0];
    const max = values[values.length - 1];
    out.push({
      file: ref.file,
      line: ref.line,
      minNs: min.ns,
      minRank: min.rank,
      medianNs,
      maxNs: max.ns,
      maxRank: max.rank,
    });
  }
  return out
    .sort((a, b) => b.maxNs - b.minNs - (a.maxNs - a.minNs) || a.file.localeCompare(b.file))
    .slice(0, MAX_LINES);
}

/** Operator ranges (torch cpu_op) not nested in another operator of the same thread. */
export function outermostOps(profile: Profile): Profile['ranges'] {
  const byThread = new Map<string, Profile['ranges']>();
  for (const r of profile.ranges) {
    if (r.kind !== 'op') continue;
    const k = `${r.rank}:${r.pid}:${r.tid}`;
    const l = byThread.get(k);
    if (l) l.push(r);
    else byThread.set(k, [r]);
  }
  const out: Profile['ranges'] = [];
  for (const list of byThread.values()) {
    list.sort((a, b) => a.startNs - b.startNs);
    let end = -Infinity;
    for (const r of list) {
      if (r.startNs < end) continue;
      end = r.endNs;
      out.push(r);
    }
  }
  return out;
}
