/**
 * Clock alignment of a rank folder. Every file keeps its own time base (nsys counts from its
 * session start, torch 1.13 from its profiler start, Kineto from an epoch clock that differs
 * between nodes), so the merged ranks are put on the lowest rank's clock:
 * - by matched collectives (collectives.ts: the same `Seq` where the trace records one, else the
 *   n-th of a kind in its group, is one operation on every rank), and a collective completes on
 *   all ranks together (it waits for the last one), so the median of
 *   `end(reference) − end(rank)` over the matched pairs is the rank's offset;
 * - without collectives in common, nsys files by their sessions' wall-clock starts;
 * - else the times stay as recorded (`trace-clock`).
 */
import { collectivesByRank, matchCollectives } from '../collectives';
import type { Profile, RankAlignment } from '../model';
import { median } from '../numbers';

/** The alignment fields of a rank not aligned on collectives. */
const NO_MATCH = { matched: 0, matchedBy: null, residualNs: 0 } as const;

/** What alignment needs to know about one merged file. */
export interface RankClock {
  rank: number;
  file: string;
  host?: string;
  sessionStartNs?: bigint;
}

/**
 * Aligns the ranks of `merged` in place (every time of a rank shifted by its offset) and returns
 * how each rank was aligned, with warnings where the ranks' collectives do not pair up.
 */
export function alignRankClocks(
  merged: Profile,
  clocks: readonly RankClock[],
): { alignment: RankAlignment[]; warnings: string[] } {
  const warnings: string[] = [];
  const sorted = [...clocks].sort((a, b) => a.rank - b.rank);
  if (sorted.length === 0) return { alignment: [], warnings };
  const ref = sorted[0];
  const perRank = collectivesByRank(merged);
  const alignment: RankAlignment[] = [];
  for (const c of sorted) {
    const base = { rank: c.rank, file: c.file, host: c.host ?? null };
    if (c === ref) {
      alignment.push({ ...base, offsetNs: 0, method: 'reference', ...NO_MATCH });
      continue;
    }
    const pairs = matchCollectives(perRank, [ref.rank, c.rank]);
    if (pairs.length > 0) {
      const bySeq = pairs.filter((p) => p.seq !== undefined).length;
      const matchedBy =
        bySeq === pairs.length ? 'seq' : bySeq === 0 ? 'position' : ('mixed' as const);
      const deltas = pairs
        .map((p) => endOf(p.byRank.get(ref.rank)) - endOf(p.byRank.get(c.rank)))
        .sort((a, b) => a - b);
      const offsetNs = Math.round(median(deltas));
      const residuals = deltas.map((d) => Math.abs(d - offsetNs)).sort((a, b) => a - b);
      alignment.push({
        ...base,
        offsetNs,
        method: 'collective-ends',
        matched: pairs.length,
        matchedBy,
        residualNs: Math.round(median(residuals)),
      });
      const total = (perRank.get(ref.rank)?.length ?? 0) + (perRank.get(c.rank)?.length ?? 0);
      const unpaired = total - 2 * pairs.length;
      if (unpaired)
        warnings.push(
          `rank ${c.rank}: ${unpaired} unpaired collective${unpaired === 1 ? '' : 's'} with ` +
            `rank ${ref.rank} ` +
            (matchedBy === 'seq'
              ? `(no collective of the same seq on the other rank); the others were matched by seq`
              : `(different counts per kind); the first of each kind were matched`),
        );
    } else if (c.sessionStartNs !== undefined && ref.sessionStartNs !== undefined) {
      const offsetNs = Number(c.sessionStartNs - ref.sessionStartNs);
      alignment.push({ ...base, offsetNs, method: 'session-start', ...NO_MATCH });
    } else {
      alignment.push({ ...base, offsetNs: 0, method: 'trace-clock', ...NO_MATCH });
      if (perRank.size > 0 || c.sessionStartNs !== undefined)
        warnings.push(
          `rank ${c.rank}: no collective in common with rank ${ref.rank}: its clock is not aligned`,
        );
    }
  }
  shift(merged, new Map(alignment.map((a) => [a.rank, a.offsetNs])));
  return { alignment, warnings };
}

function endOf(c: { endNs: number } | undefined): number {
  return c ? c.endNs : 0;
}

/** Adds each rank's offset to every time it recorded. */
function shift(p: Profile, offsets: Map<number, number>): void {
  if ([...offsets.values()].every((o) => o === 0)) return;
  const at = (rank: number): number => offsets.get(rank) ?? 0;
  const ops = p.gpuOps;
  for (let i = 0; i < ops.length; i++) {
    const o = at(ops.rank[i]);
    ops.startNs[i] += o;
    ops.endNs[i] += o;
  }
  // A call's rank is its thread's: one offset per thread.
  const calls = p.cpuCalls;
  const threadOffset = calls.threads.rank.map(at);
  for (let i = 0; i < calls.length; i++) {
    const o = threadOffset[calls.thread[i]];
    calls.startNs[i] += o;
    calls.endNs[i] += o;
  }
  const operators = p.operators;
  const operatorOffset = operators.threads.rank.map(at);
  for (let i = 0; i < operators.length; i++) {
    const o = operatorOffset[operators.thread[i]];
    operators.startNs[i] += o;
    operators.endNs[i] += o;
  }
  for (const x of p.ranges) {
    const o = at(x.rank);
    x.startNs += o;
    x.endNs += o;
  }
  for (const t of [p.memory, p.memoryEvents])
    for (let i = 0; i < t.length; i++) t.tsNs[i] += at(t.rank[i]);
}
