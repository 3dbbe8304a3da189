/**
 * Collectives of a (multi-rank) profile, per rank, in the order each rank ran them, and their
 * matching across ranks. Where the trace records the collective's sequence number in its process
 * group (newer torch: `Seq` in the args of NCCL kernels and `record_param_comms` operators), one
 * (group, kind, seq) is one operation on every rank, whatever a rank skipped or added (a dropped
 * event, a profiling window that opens later on one rank). Without it, the n-th collective of one
 * kind in one process group (communicator, when the trace names it) is the same operation on every
 * rank (an SPMD program issues a group's collectives in one order on every rank). Used to align
 * the ranks' clocks (ingest/clock-align.ts: matched collectives *end* together) and to find the
 * rank that arrives last (rules/straggler.ts: a collective *starts* when its rank reaches it).
 *
 * Sources, the first a rank has wins, so one operation is never counted twice:
 * 1. GPU communication kernels (NCCL/RCCL): start = the kernel reached the stream head, end = done.
 * 2. Process-group work records on the CPU (`gloo:all_reduce`, `nccl:all_reduce`): the work's
 *    whole life on the backend thread, from enqueue to completion (the wait is inside).
 * 3. Dispatcher operators (`c10d::allreduce_`) or user ranges (NVTX / record_function) named after
 *    a collective (`all_reduce`, `allreduce` …).
 * The collective's call site is the stack of its `c10d::` operator (or kernel launch): a work
 * record runs on a backend thread without one, so the n-th operator of the kind lends its stack
 * (and its group and seq: an operator takes them from the `record_param_comms` op inside it).
 */
import type { CollectiveTag, CpuRange, Profile } from './model';
import type { CpuRanges } from './model-cpu-ranges';
import { KERNEL } from './model-gpu-ops';

/** One collective on one rank. */
export interface Collective {
  rank: number;
  /** Normalized kind: `allreduce`, `allgather`, `reducescatter`, `broadcast`, `barrier` … */
  kind: string;
  /** The process group (communicator) when the trace names it, else ''. */
  group: string;
  /** Name as recorded (kernel or range name). */
  name: string;
  startNs: number;
  endNs: number;
  /** Stack of the call site (Profile.stacks), or -1. */
  stackId: number;
  /** Index into Profile.ranges of a user range that marks the call (its site locates it), or -1. */
  rangeIndex: number;
  /** A GPU kernel (else a CPU-side operation). */
  gpu: boolean;
  /** The sequence number the trace records for it in its group (`Seq`), when it does. */
  seq?: number;
}

/** One collective operation (a kind in one process group), on every rank that has it. */
export interface MatchedCollective {
  kind: string;
  group: string;
  /** 0-based occurrence of the kind in its group on the first rank. */
  index: number;
  /** The trace's sequence number it was matched by; absent: matched by position (`index`). */
  seq?: number;
  byRank: Map<number, Collective>;
}

const KINDS: [RegExp, string][] = [
  [/all_?reduce/i, 'allreduce'],
  [/all_?gather|allgather_base/i, 'allgather'],
  [/reduce_?scatter/i, 'reducescatter'],
  [/all_?to_?all/i, 'alltoall'],
  [/broadcast/i, 'broadcast'],
  [/barrier/i, 'barrier'],
  [/send_?recv/i, 'sendrecv'],
  [/(^|[:_])reduce_?$|_reduce_|ncclDevKernel_Reduce|ncclKernel_Reduce/i, 'reduce'],
  [/(^|[:_])send/i, 'send'],
  [/(^|[:_])recv/i, 'recv'],
];

/** The kind of a collective's kernel or range name, or null when the name is no collective. */
export function collectiveKind(name: string): string | null {
  for (const [re, kind] of KINDS) if (re.test(name)) return kind;
  return null;
}

/** `gloo:all_reduce`, `nccl:all_reduce`, `mpi:…`: a process group's work record. */
const WORK_RECORD = /^(gloo|nccl|mpi|ucc|xccl):[a-z_]+$/i;
/** `c10d::allreduce_`, `c10d::_allgather_base_`: the dispatcher operator of a collective call. */
const C10D_OP = /^c10d::/;
/** A user range that names a collective outright (`all_reduce`, `allreduce_grads` is not one). */
const USER_COLLECTIVE =
  /^(all_?reduce|all_?gather|reduce_?scatter|all_?to_?all|broadcast|barrier)$/i;

type Source = 'kernel' | 'work' | 'op' | 'user';

const seqOf = (tag: CollectiveTag | undefined): { seq?: number } =>
  tag?.seq === undefined ? {} : { seq: tag.seq };

/** Every rank's collectives (by the rank each op carries), each list in start order. */
export function collectivesByRank(profile: Profile): Map<number, Collective[]> {
  const found = new Map<number, Map<Source, Collective[]>>();
  const add = (source: Source, c: Collective): void => {
    let bySource = found.get(c.rank);
    if (!bySource) found.set(c.rank, (bySource = new Map<Source, Collective[]>()));
    const list = bySource.get(source);
    if (list) list.push(c);
    else bySource.set(source, [c]);
  };
  const ops = profile.gpuOps;
  for (let i = 0; i < ops.length; i++) {
    if (ops.kind[i] !== KERNEL || ops.isComm[i] === 0) continue;
    const tag = ops.collectiveOf(i);
    const name = ops.nameOf(i);
    const kind = collectiveKind(tag?.name ?? name);
    if (!kind) continue;
    add('kernel', {
      rank: ops.rank[i],
      kind,
      group: tag?.group ?? '',
      name,
      startNs: ops.startNs[i],
      endNs: ops.endNs[i],
      stackId: ops.stackId[i],
      rangeIndex: -1,
      gpu: true,
      ...seqOf(tag),
    });
  }
  addOperators(profile.operators, (c) => add('op', c));
  profile.ranges.forEach((r, i) => {
    const source = userRangeSource(r);
    const kind = source ? collectiveKind(r.name) : null;
    if (!source || !kind) return;
    add(source, {
      rank: r.rank,
      kind,
      group: '',
      name: r.name,
      startNs: r.startNs,
      endNs: r.endNs,
      stackId: r.stackId,
      rangeIndex: i,
      gpu: false,
    });
  });
  const out = new Map<number, Collective[]>();
  for (const [rank, bySource] of found) {
    for (const list of bySource.values()) list.sort((a, b) => a.startNs - b.startNs);
    const chosen =
      bySource.get('kernel') ?? bySource.get('work') ?? bySource.get('op') ?? bySource.get('user');
    if (!chosen) continue;
    const ops = bySource.get('op');
    if (chosen !== ops && ops) lendCallSites(chosen, ops);
    out.set(rank, chosen);
  }
  return out;
}

/** The `c10d::` operators named after a collective, with the group and seq their tags name. */
function addOperators(ops: CpuRanges, add: (c: Collective) => void): void {
  const tags = new CommTags(ops);
  // By name index: the collective kind of a `c10d::` operator's name, null for any other.
  const kinds = ops.names.values.map((name) => (C10D_OP.test(name) ? collectiveKind(name) : null));
  for (let i = 0; i < ops.length; i++) {
    const kind = kinds[ops.name[i]];
    if (!kind) continue;
    const tag = tags.inside(i);
    add({
      rank: ops.rankOf(i),
      kind,
      group: tag?.group ?? '',
      name: ops.nameOf(i),
      startNs: ops.startNs[i],
      endNs: ops.endNs[i],
      stackId: ops.stackId[i],
      rangeIndex: -1,
      gpu: false,
      ...seqOf(tag),
    });
  }
}

function userRangeSource(r: CpuRange): Source | null {
  if (r.kind === 'step') return null;
  if (WORK_RECORD.test(r.name)) return 'work';
  return USER_COLLECTIVE.test(r.name) ? 'user' : null;
}

/**
 * The `record_param_comms` operators of a profile (torch records one inside each `c10d::`
 * collective operator, on the caller's thread), by rank and thread in start order.
 */
class CommTags {
  /** Operator indexes by thread (index into `ops.threads`). */
  private readonly byThread = new Map<number, number[]>();

  constructor(private readonly ops: CpuRanges) {
    const named = ops.collectives.map((c) => collectiveKind(c.name) !== null);
    for (let i = 0; i < ops.length; i++) {
      const c = ops.collective[i];
      if (c < 0 || !named[c]) continue;
      const list = this.byThread.get(ops.thread[i]);
      if (list) list.push(i);
      else this.byThread.set(ops.thread[i], [i]);
    }
    const start = ops.startNs;
    for (const list of this.byThread.values()) list.sort((a, b) => start[a] - start[b]);
  }

  /** The collective named by the first `record_param_comms` within operator `op` on its thread. */
  inside(op: number): CollectiveTag | undefined {
    const list = this.byThread.get(this.ops.thread[op]);
    if (!list) return undefined;
    const { startNs, endNs } = this.ops;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (startNs[list[mid]] < startNs[op]) lo = mid + 1;
      else hi = mid;
    }
    const r = list[lo];
    return r !== undefined && endNs[r] <= endNs[op] ? this.ops.collectiveOf(r) : undefined;
  }
}

/**
 * Gives each collective without a call site the stack of the n-th `c10d::` operator of its kind,
 * and without a seq the operator's group and seq, where the rank has as many of both (else the
 * n-th would not be the same call).
 */
function lendCallSites(chosen: Collective[], ops: Collective[]): void {
  const opsByKind = groupByKind(ops);
  const chosenByKind = groupByKind(chosen);
  const seen = new Map<string, number>();
  for (const c of chosen) {
    const n = seen.get(c.kind) ?? 0;
    seen.set(c.kind, n + 1);
    const sameKind = opsByKind.get(c.kind);
    const op = sameKind?.[n];
    if (!op) continue;
    if (c.stackId < 0) c.stackId = op.stackId;
    if (c.seq === undefined && op.seq !== undefined) {
      if (sameKind.length !== chosenByKind.get(c.kind)?.length) continue;
      c.seq = op.seq;
      if (!c.group) c.group = op.group;
    }
  }
}

function groupByKind(
  list: readonly Collective[],
  key: (c: Collective) => string = (c) => c.kind,
): Map<string, Collective[]> {
  const byKind = new Map<string, Collective[]>();
  for (const c of list) {
    const k = key(c);
    const l = byKind.get(k);
    if (l) l.push(c);
    else byKind.set(k, [c]);
  }
  return byKind;
}

/** Matching key: the kind within its process group (the group's own order of collectives). */
const matchKey = (c: Collective): string => `${c.group}\0${c.kind}`;

/**
 * Matches collectives of each kind and process group across `ranks` (all of them must have it),
 * in the order of the first rank's starts: by the trace's sequence number where every rank
 * records one for every collective of the kind and group, else the n-th with the n-th. Kinds
 * some rank lacks are left out.
 */
export function matchCollectives(
  perRank: ReadonlyMap<number, readonly Collective[]>,
  ranks: readonly number[] = [...perRank.keys()].sort((a, b) => a - b),
): MatchedCollective[] {
  if (ranks.length < 2) return [];
  const grouped = ranks.map((r) => groupByKind(perRank.get(r) ?? [], matchKey));
  const out: MatchedCollective[] = [];
  for (const key of grouped[0].keys()) {
    const lists = grouped.map((g) => g.get(key) ?? []);
    if (lists.some((l) => l.length === 0)) continue;
    const bySeq = lists.every((l) => l.every((c) => c.seq !== undefined));
    out.push(...(bySeq ? matchBySeq(ranks, lists) : matchByPosition(ranks, lists)));
  }
  const ref = ranks[0];
  return out.sort(
    (a, b) => (a.byRank.get(ref) as Collective).startNs - (b.byRank.get(ref) as Collective).startNs,
  );
}

/** The n-th of each rank's list with the n-th of the others' (one kind in one group). */
function matchByPosition(
  ranks: readonly number[],
  lists: readonly Collective[][],
): MatchedCollective[] {
  const out: MatchedCollective[] = [];
  const count = Math.min(...lists.map((l) => l.length));
  for (let index = 0; index < count; index++) {
    const byRank = new Map<number, Collective>();
    ranks.forEach((r, i) => byRank.set(r, lists[i][index]));
    out.push({ kind: lists[0][0].kind, group: lists[0][0].group, index, byRank });
  }
  return out;
}

/**
 * The collectives of one kind and group with the same seq on every rank (the n-th with a seq
 * with the n-th: a coalesced group of operations can share one).
 */
function matchBySeq(ranks: readonly number[], lists: readonly Collective[][]): MatchedCollective[] {
  const bySeq = lists.map((l) => {
    const m = new Map<number, Collective[]>();
    for (const c of l) {
      const same = m.get(c.seq as number);
      if (same) same.push(c);
      else m.set(c.seq as number, [c]);
    }
    return m;
  });
  const out: MatchedCollective[] = [];
  const seen = new Map<number, number>();
  lists[0].forEach((c, index) => {
    const seq = c.seq as number;
    const n = seen.get(seq) ?? 0;
    seen.set(seq, n + 1);
    const byRank = new Map<number, Collective>();
    ranks.forEach((r, i) => {
      const other = bySeq[i].get(seq)?.[n];
      if (other) byRank.set(r, other);
    });
    if (byRank.size === ranks.length)
      out.push({ kind: c.kind, group: c.group, index, seq, byRank });
  });
  return out;
}
