/**
 * slow-launch: GPU idle while a kernel launch call itself ran for milliseconds. The first launch
 * of a kernel loads its module (CUDA lazy loading, the default since CUDA 11.7) or JIT-compiles
 * it; in a profiled window that is start-up cost, not steady-state overhead, and CUDA Graphs would
 * not remove it. Gaps come from idle-gaps (the launch call is the largest part of the gap).
 */
import { formatNs } from '../format';
import { aggregateRefs } from './locations';
import { findIdleGaps, gapLocation } from './idle-gaps';
import { claimIdle, gapWhatIf, replayLater, replaying } from './savings';

/** Slow-launch idle under this many minGapNs is noise (a few slow calls of a normal run). */
const MIN_GAPS_NS_FACTOR = 10;

export const slowLaunch = replaying((profile, ctx) => {
  const gaps = findIdleGaps(ctx, 'slow-launch');
  const idleNs = gaps.reduce((s, g) => s + g.endNs - g.startNs, 0);
  if (idleNs < MIN_GAPS_NS_FACTOR * ctx.thresholds.minGapNs) return [];
  const which = gaps.map((g) => g.index);
  const calls = profile.cpuCalls;
  const callNs = gaps.map((g) =>
    g.launchIndex >= 0 ? calls.endNs[g.launchIndex] - calls.startNs[g.launchIndex] : 0,
  );
  const worst = Math.max(...callNs);
  const finding = claimIdle(
    {
      rule: 'slow-launch',
      severity: 'warning',
      title: `${gaps.length} slow launch calls idled the GPU ${formatNs(idleNs)}`,
      message:
        `The GPU sat idle ${formatNs(idleNs)} in ${gaps.length} gaps while the launch call itself ran ` +
        `(the slowest ${formatNs(worst)}): module loading or JIT compilation on a kernel's first launch.`,
      // Savings: replay without the in-gap part of each slow launch call (set by the replay).
      savingsNs: 0,
      savingsFrom: 'gpu-idle',
      evidence: { gapCount: gaps.length, idleNs, worstCallNs: worst },
      locations: aggregateRefs(
        gaps.map((g) => ({ ref: gapLocation(ctx, g), ns: g.endNs - g.startNs })),
      ),
      fix: {
        title: 'Warm up outside the profiled window, or load modules eagerly',
        detail:
          'Run a few iterations before the profiler starts so every kernel has been launched once, ' +
          'or set CUDA_MODULE_LOADING=EAGER to load all modules at start-up.',
        snippet:
          'CUDA_MODULE_LOADING=EAGER python app.py\n' +
          '# or warm up first:\n' +
          'for _ in range(3): step(batch)\n' +
          'torch.cuda.synchronize()  # then start the profiler',
      },
    },
    { gaps: which },
  );
  return [replayLater(finding, gapWhatIf(profile, ctx.gaps().gaps, which))];
});
