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
import type { CpuRanges } from './model-cpu-ranges';
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
    const operators = profile.operators;
    for (const i of outermostOps(operators))
      add(operators.rankOf(i), operators.stackId[i], operators.endNs[i] - operators.startNs[i]);
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

/**
 * Indexes of the operators (torch cpu_op) not nested in another operator of the same thread,
 * thread by thread (in order of first appearance), each thread's by start.
 */
export function outermostOps(ops: CpuRanges): number[] {
  const byThread = new Map<number, number[]>();
  for (let i = 0; i < ops.length; i++) {
    const l = byThread.get(ops.thread[i]);
    if (l) l.push(i);
    else byThread.set(ops.thread[i], [i]);
  }
  const { startNs, endNs } = ops;
  const out: number[] = [];
  for (const list of byThread.values()) {
    list.sort((a, b) => startNs[a] - startNs[b] || a - b);
    let end = -Infinity;
    for (const i of list) {
      if (startNs[i] < end) continue;
      end = endNs[i];
      out.push(i);
    }
  }
  return out;
}
