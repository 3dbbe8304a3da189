/**
 * step-time: per-iteration latency from `ProfilerStep#N` ranges (kind 'step') or, without them, the
 * user-marked ranges that look like iterations (NVTX / record_function names with a step number or
 * step/iter/batch/epoch in them, the same once the number is folded, ≥ 3 non-overlapping instances
 * on one thread; the family with the most total time wins). Ranges the frameworks open themselves
 * (torch.compile graph calls named by a hash, optimizer and data-loader wrappers, collectives,
 * emit_nvtx operators) are never steps: they repeat once per step, or many times in one.
 * Reports p50/p95/p99 (nearest rank) and fires on outliers slower than
 * `thresholds.stepOutlierFactor` × the median (reference texts: compare percentile distributions;
 * the tail, not the median, breaks SLOs).
 */
import { formatNs } from '../format';
import type { Profile } from '../model';
import type { StepStats } from '../report-types';
import { pushTo } from '../collections';
import { threadKey } from '../cpu-threads';
import { ns, percentile } from '../numbers';
import { aggregateRangeLocations } from './locations';
import type { Rule } from './types';

const MIN_STEPS = 3;
/** Longest name taken for an iteration range. */
const MAX_ITERATION_NAME = 200;
const family = (name: string) => name.replace(/\d+/g, '#');

/** Ranges that torch, its compilers and communication libraries open on their own. */
const FRAMEWORK_RANGE =
  /CompiledFxGraph|Torch-Compiled Region|TorchDynamo|CompiledFunction|^Optimizer\.|^enumerate\(DataLoader\)|^DistributedDataParallel\.|^(nccl|gloo|mpi|ucc|c10d):|^(aten|autograd|c10d|cuda|cudnn)::|, seq = \d+|^cudaGraph/;
/**
 * Whether `name` has a token mixing letters and digits long enough to be a hash (a compiled
 * graph's key): a maximal alphanumeric run of 12 or more with both. Each run is looked at once; a
 * lookahead at every position (`(?=[a-z]*\d)…`) rescanned the rest of the run, quadratic in a long
 * name (minutes for a 1 MB one).
 */
function hasHashToken(name: string): boolean {
  for (const m of name.matchAll(/[a-z0-9]{12,}/gi))
    if (/\d/.test(m[0]) && /[a-z]/i.test(m[0])) return true;
  return false;
}

/** True for a user-marked range whose name says it is one iteration of a loop. */
export function isIterationRangeName(name: string): boolean {
  // Iteration names are short ("react_step_3"); a long one is data, and scanning it per range and
  // per call of stepRanges cost seconds on a trace whose every NVTX text is 1 MB.
  if (name.length > MAX_ITERATION_NAME) return false;
  if (FRAMEWORK_RANGE.test(name) || hasHashToken(name)) return false;
  // Iteration ranges carry their index as a word of its own (react_step_3, iter 12) or say so.
  return /(^|[^a-z0-9])\d+([^a-z0-9]|$)|step|iter|batch|epoch/i.test(name);
}

/** Indexes (into Profile.ranges) of the iteration ranges, in trace order. */
export function stepRanges(profile: Profile): number[] {
  const seen = new Set<string>();
  const steps: number[] = [];
  // A plain loop: a Kineto trace has about a million operator ranges to skip.
  profile.ranges.forEach((r, i) => {
    if (r.kind !== 'step') return;
    // Kineto writes ProfilerStep#N on the CPU and again as a GPU annotation: keep one.
    const key = `${r.rank}:${r.name}`;
    if (seen.has(key)) return;
    seen.add(key);
    steps.push(i);
  });
  if (steps.length > 0)
    return steps.sort((a, b) => profile.ranges[a].startNs - profile.ranges[b].startNs);
  const families = new Map<string, number[]>();
  // Names repeat (interned): each is tested once (40 k NVTX ranges cost ~50 ms of regex scans).
  const isIteration = new Map<string, boolean>();
  profile.ranges.forEach((r, i) => {
    if (r.kind !== 'nvtx' && r.kind !== 'annotation') return;
    let hit = isIteration.get(r.name);
    if (hit === undefined) isIteration.set(r.name, (hit = isIterationRangeName(r.name)));
    if (!hit) return;
    const key = `${threadKey(r)}|${family(r.name)}`;
    pushTo(families, key, i);
  });
  let best: number[] = [];
  let bestNs = 0;
  for (const idxs of families.values()) {
    if (idxs.length < MIN_STEPS) continue;
    idxs.sort((a, b) => profile.ranges[a].startNs - profile.ranges[b].startNs);
    const overlapping = idxs.some(
      (x, k) => k > 0 && profile.ranges[x].startNs < profile.ranges[idxs[k - 1]].endNs,
    );
    if (overlapping) continue;
    const total = idxs.reduce((s, x) => s + profile.ranges[x].endNs - profile.ranges[x].startNs, 0);
    if (total > bestNs) {
      best = idxs;
      bestNs = total;
    }
  }
  return best;
}

/** Step-time statistics for Report.steps, or null when the trace has fewer than 3 steps. */
export function stepStats(profile: Profile): StepStats | null {
  const steps = stepRanges(profile);
  if (steps.length < MIN_STEPS) return null;
  const durationsNs = steps.map((i) => profile.ranges[i].endNs - profile.ranges[i].startNs);
  const sorted = [...durationsNs].sort((a, b) => a - b);
  return {
    count: durationsNs.length,
    p50Ns: percentile(sorted, 50),
    p95Ns: percentile(sorted, 95),
    p99Ns: percentile(sorted, 99),
    meanNs: ns(durationsNs.reduce((s, d) => s + d, 0) / durationsNs.length),
    durationsNs,
  };
}

export const stepTime: Rule = (profile, ctx) => {
  const steps = stepRanges(profile);
  const stats = stepStats(profile);
  if (!stats) return [];
  const limit = stats.p50Ns * ctx.thresholds.stepOutlierFactor;
  const outliers = steps.filter((i) => profile.ranges[i].endNs - profile.ranges[i].startNs > limit);
  if (outliers.length === 0) return [];
  const excess = outliers.reduce(
    (s, i) => s + profile.ranges[i].endNs - profile.ranges[i].startNs - stats.p50Ns,
    0,
  );
  const slowest = outliers.reduce((a, b) =>
    profile.ranges[b].endNs - profile.ranges[b].startNs >
    profile.ranges[a].endNs - profile.ranges[a].startNs
      ? b
      : a,
  );
  const slowNs = profile.ranges[slowest].endNs - profile.ranges[slowest].startNs;
  const name = family(profile.ranges[steps[0]].name);
  return [
    {
      rule: 'step-time',
      severity: 'warning',
      title: `${outliers.length} slow ${name} steps (p99 ${formatNs(stats.p99Ns)} vs p50 ${formatNs(stats.p50Ns)})`,
      message:
        `${stats.count} steps: p50 ${formatNs(stats.p50Ns)}, p95 ${formatNs(stats.p95Ns)}, p99 ${formatNs(stats.p99Ns)}, ` +
        `mean ${formatNs(stats.meanNs)}. ${outliers.length} took more than ${ctx.thresholds.stepOutlierFactor}× the median; ` +
        `the slowest, "${profile.ranges[slowest].name}", took ${formatNs(slowNs)}.`,
      // Savings: the outliers' time above the median step — what a steady loop would not spend.
      savingsNs: ns(excess),
      savingsFrom: 'gpu-idle',
      evidence: {
        stepCount: stats.count,
        p50Ns: stats.p50Ns,
        p95Ns: stats.p95Ns,
        p99Ns: stats.p99Ns,
        meanNs: stats.meanNs,
        outlierCount: outliers.length,
        slowestStep: profile.ranges[slowest].name,
        slowestNs: slowNs,
      },
      locations: aggregateRangeLocations(
        ctx,
        outliers.map((i) => ({
          rangeIndex: i,
          ns: profile.ranges[i].endNs - profile.ranges[i].startNs,
        })),
      ),
      fix: {
        title: 'Find what the slow steps do differently',
        detail:
          'Typical causes: recompilation on a new shape, garbage collection, a data-loader stall, an ' +
          'allocation or checkpoint/logging every N steps. Pad shapes, freeze the GC, prefetch data.',
        snippet:
          'import gc; gc.freeze()                   # no full collections mid-loop\n' +
          'torch._dynamo.config.cache_size_limit = 64  # or pad inputs to fixed buckets\n' +
          'loader = DataLoader(ds, num_workers=4, prefetch_factor=4, persistent_workers=True)',
      },
    },
  ];
};
