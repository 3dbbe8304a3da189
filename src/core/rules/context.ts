/** The RuleContext: what every rule reads besides the Profile (thresholds, locations, workload). */
import type { AttributionOptions } from '../attribute';
import type { Profile } from '../model';
import { locateRanges, type RangeLocations } from '../range-sites';
import type { KernelStat, SourceRef, Workload } from '../report-types';
import { StackResolver } from '../stack-resolver';
import { detectWorkload } from '../workload';
import { PathResolver, WorkspaceIndex } from '../workspace-paths';
import { ProfileIndex } from '../profile-index';
import { findGaps } from './idle-gaps';
import { DEFAULT_THRESHOLDS, type GapSet, type RuleContext, type Thresholds } from './types';

/** What the report has already computed from the profile, so the context does not redo it. */
export interface KnownParts {
  kernels?: readonly KernelStat[];
  rangeLocations?: RangeLocations;
  /** The report's index of the profile (a new one when absent). */
  index?: ProfileIndex;
}

/** Everything a rule needs to place its findings on workspace lines. */
export function createRuleContext(
  profile: Profile,
  options: AttributionOptions & { thresholds?: Partial<Thresholds> },
  stacks = new StackResolver(
    profile,
    new PathResolver(new WorkspaceIndex(options.workspaceRoot), options.pathMap),
  ),
  known: KnownParts = {},
): RuleContext {
  let rangeSites: (SourceRef | null)[] | null = known.rangeLocations?.sites ?? null;
  let workload: Workload | null = null;
  let gaps: GapSet | null = null;
  const index = known.index ?? new ProfileIndex(profile);
  const thresholds = { ...DEFAULT_THRESHOLDS, ...options.thresholds };
  return {
    workload: () => (workload ??= detectWorkload(profile, known.kernels)),
    thresholds,
    index,
    gaps: () => (gaps ??= findGaps(index, thresholds.minGapNs)),
    locate: (stackId) => stacks.innermost(stackId),
    locateRange: (i) => {
      rangeSites ??= locateRanges(profile, stacks).sites;
      return rangeSites[i] ?? null;
    },
  };
}
