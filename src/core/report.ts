/** Builds the Report (the contract every presentation reads) from a Profile. */
import type { Profile } from './model';
import { REPORT_SCHEMA, type Report } from './report-types';
import { attributeLines, type AttributionOptions } from './attribute';
import { collectiveArrivals } from './collective-arrivals';
import { createRuleContext } from './rules/context';
import { StackResolver } from './stack-resolver';
import { DrilldownCollector } from './drilldown';
import { idleBreakdown } from './idle-breakdown';
import { memoryOnLines } from './memory-lines';
import { locateRanges, rangeStats } from './range-sites';
import { lineRankSpread } from './rank-spread';
import { gpuTotals, kernelTable, timelineTracks } from './summary';
import { classify, gapStats, runRules, stepStats } from './rules/index';
import type { Thresholds } from './rules/types';
import { pathHints, pathWarnings } from './path-hints';
import { ProfileIndex } from './profile-index';
import { PathResolver, WorkspaceIndex, toPosixPath } from './workspace-paths';

export interface ReportOptions extends AttributionOptions {
  thresholds?: Partial<Thresholds>;
}

/**
 * `stacks` resolves the profile's stacks against `options`' workspace and path map; pass one to
 * share its resolved frames with another stage (the analysis worker's kernel timeline).
 */
export function buildReport(
  profile: Profile,
  options: ReportOptions,
  stacks = new StackResolver(
    profile,
    new PathResolver(new WorkspaceIndex(options.workspaceRoot), options.pathMap),
  ),
): Report {
  const paths = stacks.paths;
  // What several stages derive from the profile, built once and dropped with the report build.
  const index = new ProfileIndex(profile);
  const totals = gpuTotals(index);
  const drill = new DrilldownCollector();
  const attribution = attributeLines(profile, stacks, options, drill.visit);
  const { unattributedNs, libraryNs } = attribution;
  // Time on library lines reached no workspace frame either: a path map may still place it.
  const noWorkspaceNs = unattributedNs + libraryNs;
  const rangeLocations = locateRanges(profile, stacks);
  const ranges = rangeStats(profile, rangeLocations);
  const kernels = kernelTable(profile);
  const ctx = createRuleContext(profile, options, stacks, { kernels, rangeLocations, index });
  const { lines, memoryPeak } = memoryOnLines(profile, attribution.lines, stacks, {
    libraryFallback: options.libraryFallback,
    memoryPressurePct: ctx.thresholds.memoryPressurePct,
  });
  const timelineStartNs = firstGpuStart(profile);
  const hints =
    noWorkspaceNs > 0
      ? pathHints(profile, stacks, paths.index.pythonFiles(), toPosixPath(options.workspaceRoot))
      : null;
  return {
    schema: REPORT_SCHEMA,
    source: { ...profile.source },
    summary: {
      ...totals,
      classification: classify(profile, ctx.thresholds, index),
      idleBreakdown: idleBreakdown(ctx, totals.wallNs),
    },
    workload: ctx.workload(),
    kernels,
    lines,
    rankSpread: lineRankSpread(profile, ctx),
    collectives: collectiveArrivals(profile, ctx),
    ranges,
    findings: runRules(profile, ctx),
    unattributedNs,
    pathHints: hints,
    gaps: gapStats(ctx),
    steps: stepStats(profile),
    timelineStartNs,
    timeline: timelineTracks(index, timelineStartNs, totals.wallNs),
    ...(memoryPeak ? { memoryPeak } : {}),
    drilldown: drill.finish(profile, stacks, kernels, attribution.lines),
    warnings: [...profile.warnings, ...pathWarnings(hints, noWorkspaceNs, totals.gpuBusyNs)],
  };
}

/** Start of the GPU timeline (first op), or of the trace when it has no GPU ops. */
function firstGpuStart(profile: Profile): number {
  let first = Infinity;
  const { startNs } = profile.gpuOps;
  for (let i = 0; i < profile.gpuOps.length; i++) if (startNs[i] < first) first = startNs[i];
  return first === Infinity ? profile.spanStartNs : first;
}
