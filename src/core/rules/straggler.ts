/**
 * straggler: the rank that reaches a collective last, and the line that made it late. Collectives
 * are matched across ranks (collectives.ts: the n-th of a kind is one operation), on the clocks
 * the rank folder aligned. A collective starts on a rank when that rank reaches it, so for each:
 * the last rank to start is late; every other rank waits `lastStart − its start`.
 *
 * The blame: between the previous matched collective's end and this one's start each rank did
 * its own work. Per source line (operators, user ranges at their own time, GPU ops at their
 * launch line), the late rank's time there minus the median of the other ranks' is the extra time
 * that line took; the lines with the most extra time come first, then the collective's call site.
 */
import type { Collective, MatchedCollective } from '../collectives';
import { collectivesByRank, matchCollectives } from '../collectives';
import { formatNs } from '../format';
import type { Profile } from '../model';
import { outermostOps } from '../rank-spread';
import type { Finding, SourceRef } from '../report-types';
import { median, ns } from '../numbers';
import { SortedSpans } from '../sorted-spans';
import type { RuleContext, Rule } from './types';

/** Most findings (late rank × collective call site), largest wait first. */
const MAX_FINDINGS = 5;
/**
 * Blamed lines per finding: those with at least this share of the top line's extra time, and of
 * the lateness they would explain (less is noise of the ranks' own pace).
 */
const LINE_SHARE = 0.2;
const MAX_LINES = 3;

interface Group {
  rank: number;
  kind: string;
  name: string;
  site: SourceRef | null;
  waitNs: number;
  lateNs: number;
  savingNs: number;
  count: number;
  waiting: number;
  gpu: boolean;
  extraByLine: Map<string, { ref: SourceRef; ns: number }>;
}

export const straggler: Rule = (profile, ctx) => {
  if (profile.rankCount < 2) return [];
  const perRank = collectivesByRank(profile);
  const ranks = [...perRank.keys()].sort((a, b) => a - b);
  const matched = matchCollectives(perRank, ranks);
  if (matched.length === 0) return [];
  const work = new RankWork(profile, ctx);
  const groups = new Map<string, Group>();
  const prevEnd = new Map<number, number>();
  for (const m of matched) {
    const arrivals = [...m.byRank.values()].sort((a, b) => a.startNs - b.startNs);
    const last = arrivals[arrivals.length - 1];
    const others = arrivals.slice(0, -1);
    const waitNs = others.reduce((s, c) => s + (last.startNs - c.startNs), 0);
    const site = callSite(ctx, last);
    const key = `${last.rank}\0${m.kind}\0${site ? `${site.file}:${site.line}` : ''}`;
    let g = groups.get(key);
    if (!g)
      groups.set(
        key,
        (g = {
          rank: last.rank,
          kind: m.kind,
          name: last.name,
          site,
          waitNs: 0,
          lateNs: 0,
          savingNs: 0,
          count: 0,
          waiting: others.length,
          gpu: last.gpu,
          extraByLine: new Map(),
        }),
      );
    g.waitNs += waitNs;
    g.lateNs += last.startNs - medianOf(others.map((c) => c.startNs));
    g.savingNs += last.startNs - others[others.length - 1].startNs;
    g.count++;
    if (ranks.every((r) => prevEnd.has(r))) blame(g, m, last.rank, prevEnd, work);
    for (const [r, c] of m.byRank) prevEnd.set(r, c.endNs);
  }
  // Lateness within the clocks' alignment error is noise: a group counts when its collectives are
  // late on average by more than twice the worst residual (and at least minGapNs).
  const residual = Math.max(0, ...(profile.rankAlignment ?? []).map((a) => a.residualNs));
  const floor = Math.max(ctx.thresholds.minGapNs, 2 * residual);
  return [...groups.values()]
    .filter((g) => g.lateNs / g.count >= floor)
    .sort((a, b) => b.waitNs - a.waitNs)
    .slice(0, MAX_FINDINGS)
    .map((g) => finding(g, profile));
};

/** Adds the late rank's extra time per line in the window before this collective. */
function blame(
  g: Group,
  m: MatchedCollective,
  late: number,
  prevEnd: Map<number, number>,
  work: RankWork,
): void {
  const perRank = new Map<number, Map<string, { ref: SourceRef; ns: number }>>();
  for (const [r, c] of m.byRank)
    perRank.set(r, work.byLine(r, prevEnd.get(r) as number, c.startNs));
  const mine = perRank.get(late) as Map<string, { ref: SourceRef; ns: number }>;
  for (const [key, { ref, ns: lateNs }] of mine) {
    const others = [...perRank].filter(([r]) => r !== late).map(([, l]) => l.get(key)?.ns ?? 0);
    const extra = lateNs - medianOf(others);
    if (extra <= 0) continue;
    const e = g.extraByLine.get(key);
    if (e) e.ns += extra;
    else g.extraByLine.set(key, { ref, ns: extra });
  }
}

/** Where a collective was called: its launch / operator stack, else its user range's site. */
export function callSite(ctx: RuleContext, c: Collective): SourceRef | null {
  if (c.stackId >= 0) return ctx.locate(c.stackId);
  return c.rangeIndex >= 0 ? ctx.locateRange(c.rangeIndex) : null;
}

function medianOf(values: readonly number[]): number {
  return median([...values].sort((a, b) => a - b));
}

/**
 * Per rank, the timed work that a line can own: outermost operators (at their stack's line), user
 * ranges (at their site, own time only: nested ranges are their children's) and non-collective GPU
 * ops (at their launch line).
 */
interface Timed {
  startNs: number;
  endNs: number;
  ref: SourceRef;
}

class RankWork {
  private readonly items = new Map<number, Timed[]>();
  /** Per rank, the items sorted by start with their overlap index (built on first use). */
  private readonly spans = new Map<number, SortedSpans<Timed>>();

  constructor(profile: Profile, ctx: RuleContext) {
    const add = (rank: number, startNs: number, endNs: number, ref: SourceRef | null): void => {
      if (!ref || endNs <= startNs) return;
      let list = this.items.get(rank);
      if (!list) this.items.set(rank, (list = []));
      list.push({ startNs, endNs, ref });
    };
    const stackRef = cache((id: number) => (id >= 0 ? ctx.locate(id) : null));
    const ops = profile.gpuOps;
    for (let i = 0; i < ops.length; i++)
      if (!ops.isComm[i]) add(ops.rank[i], ops.startNs[i], ops.endNs[i], stackRef(ops.stackId[i]));
    const operators = profile.operators;
    for (const i of outermostOps(operators))
      add(
        operators.rankOf(i),
        operators.startNs[i],
        operators.endNs[i],
        stackRef(operators.stackId[i]),
      );
    const byThread = new Map<string, number[]>();
    profile.ranges.forEach((r, i) => {
      if (r.kind === 'step') return;
      const k = `${r.rank}:${r.pid}:${r.tid}`;
      const l = byThread.get(k);
      if (l) l.push(i);
      else byThread.set(k, [i]);
    });
    for (const list of byThread.values()) {
      list.sort((a, b) => profile.ranges[a].startNs - profile.ranges[b].startNs);
      for (const [i, self] of ownTime(profile, list))
        for (const part of self) add(profile.ranges[i].rank, part[0], part[1], ctx.locateRange(i));
    }
  }

  /** Time per line on `rank` inside [from, to). */
  byLine(rank: number, from: number, to: number): Map<string, { ref: SourceRef; ns: number }> {
    const out = new Map<string, { ref: SourceRef; ns: number }>();
    let spans = this.spans.get(rank);
    if (!spans) {
      const list = (this.items.get(rank) ?? []).sort((a, b) => a.startNs - b.startNs);
      this.spans.set(rank, (spans = new SortedSpans(list)));
    }
    for (const it of spans.overlapping(from, to)) {
      const d = Math.min(it.endNs, to) - Math.max(it.startNs, from);
      if (d <= 0) continue;
      const key = `${it.ref.file}:${it.ref.line}`;
      const e = out.get(key);
      if (e) e.ns += d;
      else out.set(key, { ref: it.ref, ns: d });
    }
    return out;
  }
}

/** Each range's own time (its span less its children's), as [start, end) parts. */
function ownTime(profile: Profile, sorted: readonly number[]): Map<number, [number, number][]> {
  const out = new Map<number, [number, number][]>();
  const stack: { i: number; at: number }[] = [];
  const close = (upTo: number): void => {
    while (stack.length > 0 && profile.ranges[stack[stack.length - 1].i].endNs <= upTo) {
      const top = stack.pop() as { i: number; at: number };
      const end = profile.ranges[top.i].endNs;
      if (end > top.at) (out.get(top.i) as [number, number][]).push([top.at, end]);
      if (stack.length > 0) stack[stack.length - 1].at = end;
    }
  };
  for (const i of sorted) {
    const r = profile.ranges[i];
    close(r.startNs);
    const parent = stack[stack.length - 1];
    if (parent && r.startNs > parent.at)
      (out.get(parent.i) as [number, number][]).push([parent.at, r.startNs]);
    out.set(i, []);
    stack.push({ i, at: r.startNs });
  }
  close(Infinity);
  return out;
}

function cache<T>(f: (id: number) => T): (id: number) => T {
  const m = new Map<number, T>();
  return (id) => {
    if (!m.has(id)) m.set(id, f(id));
    return m.get(id) as T;
  };
}

function finding(g: Group, profile: Profile): Finding {
  const blamed = [...g.extraByLine.values()].sort((a, b) => b.ns - a.ns);
  const top = blamed.length > 0 ? blamed[0].ns : 0;
  const lines = blamed
    .filter((l) => l.ns >= top * LINE_SHARE && l.ns >= g.lateNs * LINE_SHARE)
    .slice(0, MAX_LINES);
  const locations: SourceRef[] = lines.map((l) => l.ref);
  if (g.site && !locations.some((l) => l.file === g.site?.file && l.line === g.site.line))
    locations.push(g.site);
  const at = g.site ? `${g.kind} (${g.site.file}:${g.site.line})` : g.kind;
  const onGpus = profile.gpuOps.length > 0;
  const where =
    lines.length > 0
      ? ` Before it, rank ${g.rank} spent ${formatNs(lines[0].ns)} more than the others at ` +
        `${lines[0].ref.file}:${lines[0].ref.line}.`
      : ' No recorded work on that rank explains the delay (an unprofiled wait, or startup skew).';
  return {
    rule: 'straggler',
    severity: 'warning',
    title: `Rank ${g.rank} arrives ${formatNs(g.lateNs)} late at ${at}`,
    message:
      `rank ${g.rank} arrives ${formatNs(g.lateNs)} late at ${at} over ${g.count} ` +
      `collective${g.count === 1 ? '' : 's'}; ${g.waiting} ranks wait ${formatNs(g.waitNs)}.` +
      where,
    // A collective ends when its last rank arrives: had the late rank arrived with the next-latest,
    // each would have ended that much sooner.
    savingsNs: ns(g.savingNs),
    // The waiting ranks spin inside the collective (GPU kernel time); a CPU-side collective on
    // ranks that have GPUs leaves those GPUs idle instead.
    savingsFrom: !g.gpu && onGpus ? 'gpu-idle' : 'kernel-time',
    evidence: {
      rank: g.rank,
      waitNs: ns(g.waitNs),
      lateNs: ns(g.lateNs),
      collective: g.name,
      kind: g.kind,
      collectives: g.count,
      waitingRanks: g.waiting,
      blamedNs: lines.length > 0 ? ns(lines[0].ns) : 0,
    },
    locations,
    fix: {
      title: `Even out the work rank ${g.rank} does before ${g.kind}`,
      detail:
        `The other ranks idle in ${g.kind} until rank ${g.rank} arrives. Give every rank the same ` +
        'work before each collective (balanced shards and sequence lengths, no per-rank extras ' +
        'such as logging or checkpointing on the critical path), or move the extra work after ' +
        'the collective or onto a side stream / thread.',
      snippet:
        'sampler = DistributedSampler(ds, drop_last=True)  # equal shards per rank\n' +
        'if rank == 0 and step % log_every == 0:  # keep rank-only extras rare\n' +
        '    log(metrics)',
    },
  };
}
