/**
 * launch-overhead: the GPU repeatedly runs dry for a moment because the CPU had not yet launched
 * the next kernel (the reference texts' "Python dispatch overhead": many small gaps between kernels,
 * CPU time well above GPU time). Large gaps are gpu-idle-gaps' business; this rule counts the
 * small ones (< minGapNs) that add up.
 */
import { formatNs, formatPct } from '../format';
import type { Finding } from '../report-types';
import { callThreadKey, topLevelOpNs } from '../cpu-threads';
import { KERNEL } from '../model-gpu-ops';
import { percentile } from '../numbers';
import { type LocatedCost, aggregateLocations } from './locations';
import type { Interval } from '../intervals';
import { addCut, claimIdle, replayLater, replaying } from './savings';

export const launchOverhead = replaying((profile, ctx) => {
  const minGap = ctx.thresholds.minGapNs;
  let spanNs = 0;
  let kernels = 0;
  // Kernel time and starved idle time in cells: V8 boxes a double that a hot loop assigns under
  // a condition.
  const sums = new Float64Array(2);
  const ops = profile.gpuOps;
  const { kind, startNs, endNs, launchIndex } = ops;
  const calls = profile.cpuCalls;
  for (const tl of ctx.index.timelines) {
    spanNs += tl.lastNs - tl.firstNs;
    let busyEnd = -Infinity;
    for (let n = 0; n < tl.ops.length; n++) {
      const op = tl.ops[n];
      if (kind[op] === KERNEL) {
        kernels++;
        sums[0] += endNs[op] - startNs[op];
        const gap = startNs[op] - busyEnd;
        // Starved: the GPU went idle before the CPU even started the launch call (the call is
        // read only after a small gap: most kernels have none).
        if (
          gap > 0 &&
          gap < minGap &&
          launchIndex[op] >= 0 &&
          calls.startNs[launchIndex[op]] >= busyEnd
        ) {
          sums[1] += gap;
        }
      }
      busyEnd = Math.max(busyEnd, endNs[op]);
    }
  }
  const [kernelNs, starvedIdle] = sums;
  if (kernels === 0 || spanNs === 0) return [];
  const starvedPct = (starvedIdle / spanNs) * 100;
  if (starvedPct < ctx.thresholds.launchStarvedPct) return [];
  // The starved kernels, the medians and the what-if are only needed when the rule fires: collected
  // here, not in the pass above. The what-if cuts the CPU time before each starved launch (what a
  // CUDA graph takes out of the loop); the test is the pass above's.
  const starved: LocatedCost[] = [];
  const kernelDurs: number[] = [];
  const launchDurs: number[] = [];
  const cuts = new Map<string, Interval[]>();
  for (const tl of ctx.index.timelines) {
    let busyEnd = -Infinity;
    for (let n = 0; n < tl.ops.length; n++) {
      const op = tl.ops[n];
      if (kind[op] === KERNEL) {
        kernelDurs.push(endNs[op] - startNs[op]);
        const call = launchIndex[op];
        if (call >= 0) launchDurs.push(calls.endNs[call] - calls.startNs[call]);
        const gap = startNs[op] - busyEnd;
        if (call >= 0 && gap > 0 && gap < minGap && calls.startNs[call] >= busyEnd) {
          starved.push({ stackId: ops.stackId[op], ns: gap });
          addCut(cuts, callThreadKey(calls, call), busyEnd, calls.startNs[call]);
        }
      }
      busyEnd = Math.max(busyEnd, endNs[op]);
    }
  }
  kernelDurs.sort((a, b) => a - b);
  launchDurs.sort((a, b) => a - b);
  const opNs = topLevelOpNs(profile);
  const evidence: Finding['evidence'] = {
    kernelCount: kernels,
    starvedKernels: starved.length,
    starvedIdleNs: starvedIdle,
    starvedPct: Number(starvedPct.toFixed(2)),
    medianKernelNs: percentile(kernelDurs, 50),
    medianLaunchCallNs: percentile(launchDurs, 50),
    kernelNs,
  };
  // The reference texts' dispatch-overhead ratio (CPU op time over GPU time; > 2 is overhead-bound).
  if (opNs > 0 && kernelNs > 0) evidence.cpuToGpuRatio = Number((opNs / kernelNs).toFixed(2));
  const finding = claimIdle(
    {
      rule: 'launch-overhead',
      severity: 'warning',
      title: `Launch-bound: ${starved.length} kernels waited for the CPU`,
      message:
        `${starved.length} of ${kernels} kernels started after a short idle gap in which the CPU had not ` +
        `yet launched them: ${formatNs(starvedIdle)} lost, ${formatPct(starvedPct)} of the GPU span ` +
        `(threshold ${ctx.thresholds.launchStarvedPct} %). Median kernel ${formatNs(percentile(kernelDurs, 50))} ` +
        `vs median launch call ${formatNs(percentile(launchDurs, 50))}.`,
      // Savings: replay without the CPU time before each starved launch (a CUDA graph replays the
      // kernels back to back); it claims the small late-launch gaps.
      savingsNs: 0,
      savingsFrom: 'gpu-idle',
      evidence,
      locations: aggregateLocations(ctx, starved),
      fix: {
        title: 'Launch the step as one CUDA graph (or fuse with torch.compile)',
        edit: 'torch-compile',
        detail:
          'Each small kernel costs a Python + dispatcher + cudaLaunchKernel round trip longer than the ' +
          'kernel itself. CUDA Graphs remove the per-kernel launch; torch.compile fuses elementwise ops.',
        snippet:
          'model = torch.compile(model, mode="reduce-overhead")  # uses CUDA graphs\n' +
          '# manual: g = torch.cuda.CUDAGraph()\n' +
          '# with torch.cuda.graph(g): static_out = model(static_in)\n' +
          '# each step: static_in.copy_(x); g.replay()',
      },
    },
    { gaps: [], smallCauses: ['late-launch'] },
  );
  return [replayLater(finding, { cuts })];
});
