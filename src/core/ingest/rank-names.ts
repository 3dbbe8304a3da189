/**
 * Which rank (and node) a per-rank trace file belongs to, from the names launchers and engines
 * write, and the global rank numbering of a whole folder:
 * - `rank3.nsys-rep` / `r3.sqlite` (nsys `-o DIR/rank%q{SLURM_PROCID}`), `rank-3.json.gz`,
 *   `rank_3…` and torchtitan's `rank3_trace.json`;
 * - vLLM `dp0_pp0_tp1_dcp0_ep0_rank1.<ts>.pt.trace.json.gz` (its `rankN` is the global rank);
 * - SGLang `<id>-TP-1-DP-0-PP-0-EP-1.trace.json.gz` (no global rank in the name: ranks are
 *   numbered by (PP, DP, TP, EP), tensor-parallel fastest, as the engines lay ranks out);
 * - torch.profiler's tensorboard handler `<host>_<pid>.<ms>.pt.trace.json` (a node, no rank);
 * - files in per-node subfolders (`DIR/node7/rank0.json`): the subfolder names the node.
 * Local ranks that repeat on several nodes are renumbered by (node, local rank).
 */

/** What a file's name (and its contents, when the reader found them) say about its rank. */
export interface RankIdentity {
  /** The file's path relative to the folder (`node1/rank0.json`). */
  file: string;
  /** A rank written in the name (`rank3`), or undefined. */
  nameRank?: number;
  /** SGLang's parallel coordinates, when the name holds them. */
  parallel?: { tp: number; dp: number; pp: number; ep: number };
  /** The node: per-node subfolder, tensorboard `<host>_<pid>` name, or the trace's own host name. */
  host?: string;
  /** `distributedInfo.rank` from inside the trace. */
  traceRank?: number;
}

/** Rank from a file name such as `rank-3.json`, `rank_3…`, `r3.nsys-rep`, `…_rank3.pt.trace.json`. */
export function rankFromFileName(name: string): number | undefined {
  const m = /rank[-_]?(\d+)/i.exec(name) ?? /^r(\d+)(?=[._-])/i.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** SGLang's `-TP-{tp}[-DP-{dp}][-PP-{pp}][-EP-{ep}]` coordinates, or undefined. */
export function parallelFromFileName(name: string): RankIdentity['parallel'] {
  const tp = /-TP-(\d+)/.exec(name);
  if (!tp) return undefined;
  const dim = (d: string): number => Number(new RegExp(`-${d}-(\\d+)`).exec(name)?.[1] ?? 0);
  return { tp: Number(tp[1]), dp: dim('DP'), pp: dim('PP'), ep: dim('EP') };
}

/** The host of torch.profiler's tensorboard handler name `<host>_<pid>.<ms>.pt.trace.json[.gz]`. */
export function hostFromFileName(name: string): string | undefined {
  return /^(.+)_\d+\.\d+\.pt\.trace\.json(\.gz)?$/i.exec(name)?.[1];
}

/** Identity from the name alone (`rel` relative to the folder; a subfolder names the node). */
export function identityFromPath(rel: string): RankIdentity {
  const parts = rel.split(/[\\/]/);
  const base = parts[parts.length - 1];
  return {
    file: rel,
    nameRank: rankFromFileName(base),
    parallel: parallelFromFileName(base),
    host: parts.length > 1 ? parts[parts.length - 2] : hostFromFileName(base),
  };
}

/**
 * Global ranks for the files of one folder, in the same order. A rank in the name wins (it is what
 * the launcher wrote; copies of one trace keep their inner rank), then SGLang coordinates, then
 * `distributedInfo.rank`, then the file's position. Where a rank repeats and the copies come from
 * different nodes, they are local ranks: the traces' own distinct `distributedInfo.rank` values are
 * used when every file has one, else every file is renumbered by (node, local rank).
 */
export function assignRanks(ids: readonly RankIdentity[]): number[] {
  const coords = ids
    .map((id, i) => ({ p: id.parallel, i }))
    .filter((x): x is { p: NonNullable<RankIdentity['parallel']>; i: number } => !!x.p)
    .sort((a, b) => a.p.pp - b.p.pp || a.p.dp - b.p.dp || a.p.tp - b.p.tp || a.p.ep - b.p.ep);
  const fromCoords = new Map(coords.map((x, n) => [x.i, n]));
  const local = ids.map((id, i) => id.nameRank ?? fromCoords.get(i) ?? id.traceRank ?? i);
  const hosts = new Set(ids.map((id) => id.host ?? ''));
  if (new Set(local).size === local.length) return local;
  const inner = ids.flatMap((id) => (id.traceRank === undefined ? [] : [id.traceRank]));
  if (inner.length === ids.length && new Set(inner).size === inner.length) return inner;
  if (hosts.size < 2) return local;
  const order = ids
    .map((id, i) => ({ host: id.host ?? '', rank: local[i], i }))
    .sort((a, b) => a.host.localeCompare(b.host) || a.rank - b.rank);
  const out = new Array<number>(ids.length);
  order.forEach((x, n) => (out[x.i] = n));
  return out;
}
