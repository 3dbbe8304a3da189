/**
 * nccl-overhead: communication kernels (NCCL/RCCL collectives) take more than
 * `thresholds.commWarnPct` of kernel time (reference texts: "NCCL overhead above 10 %"; above
 * `commBoundPct` the run is communication-bound). Reports how much of it is exposed, i.e. not
 * overlapped with compute kernels on the same device.
 */
import { formatNs, formatPct } from '../format';
import { IntervalList } from '../intervals';
import { type GpuOps, KERNEL } from '../model-gpu-ops';
import { ns } from '../numbers';
import { type LocatedCost, aggregateLocations } from './locations';
import type { Rule } from './types';

export const ncclOverhead: Rule = (profile, ctx) => {
  // Kernel and communication time in cells: V8 boxes a double that a hot loop assigns under a
  // condition.
  const sums = new Float64Array(2);
  let commCount = 0;
  const ops = profile.gpuOps;
  const { kind, startNs, endNs, isComm } = ops;
  // Summed in the timelines' order, as the costs below are (sums of non-integer ns depend on it).
  for (const tl of ctx.index.timelines) {
    for (let n = 0; n < tl.ops.length; n++) {
      const op = tl.ops[n];
      if (kind[op] !== KERNEL) continue;
      const d = endNs[op] - startNs[op];
      sums[0] += d;
      if (isComm[op]) {
        sums[1] += d;
        commCount++;
      }
    }
  }
  const [kernelNs, commNs] = sums;
  if (kernelNs === 0 || commCount === 0) return [];
  const pct = (commNs / kernelNs) * 100;
  if (pct < ctx.thresholds.commWarnPct) return [];
  // The comm kernels' locations and exposed time only once the rule fires.
  const costs: LocatedCost[] = [];
  let exposedNs = 0;
  for (const tl of ctx.index.timelines) {
    const before = costs.length;
    for (let n = 0; n < tl.ops.length; n++) {
      const op = tl.ops[n];
      if (kind[op] === KERNEL && isComm[op])
        costs.push({ stackId: ops.stackId[op], ns: endNs[op] - startNs[op] });
    }
    // Exposed communication: comm time during which no compute kernel ran on this device (none
    // without comm kernels: the op lists and unions are only built where there are some).
    if (costs.length > before) exposedNs += exposedCommNs(ops, tl.ops);
  }
  const bound = pct >= ctx.thresholds.commBoundPct;
  return [
    {
      rule: 'nccl-overhead',
      severity: bound ? 'error' : 'warning',
      title: `Communication is ${formatPct(pct)} of GPU kernel time`,
      message:
        `${commCount} collective kernels took ${formatNs(commNs)} of ${formatNs(kernelNs)} kernel time ` +
        `(${formatPct(pct)}; warn at ${ctx.thresholds.commWarnPct} %, communication-bound at ` +
        `${ctx.thresholds.commBoundPct} %). ${formatNs(exposedNs)} of it ran with no compute alongside.`,
      // Savings: the exposed communication time — what overlapping comm with compute can hide at best.
      savingsNs: ns(exposedNs),
      savingsFrom: 'kernel-time',
      evidence: {
        commPct: Number(pct.toFixed(2)),
        commNs,
        kernelNs,
        commKernelCount: commCount,
        exposedNs,
      },
      locations: aggregateLocations(ctx, costs),
      fix: {
        title: 'Overlap communication with compute, or communicate less',
        detail:
          'Bucket gradients / overlap all-reduce with the backward pass (DDP does this by default), run ' +
          'collectives on a side stream, or lower the tensor-parallel degree so fewer all-reduces are needed.',
        snippet:
          'model = DDP(model, bucket_cap_mb=25, gradient_as_bucket_view=True)\n' +
          '# async collective overlapped with independent compute:\n' +
          'work = dist.all_reduce(t, async_op=True); y = other_compute(x); work.wait()',
      },
    },
  ];
};

/** Comm kernel time of a device's ops (in start order) that overlaps no compute kernel. */
function exposedCommNs(ops: GpuOps, deviceOps: Int32Array): number {
  const { kind, startNs, endNs, isComm } = ops;
  const comm: number[] = [];
  const compute: number[] = [];
  for (const op of deviceOps) {
    if (kind[op] === KERNEL) (isComm[op] ? comm : compute).push(op);
  }
  const computeUnion = IntervalList.ofSorted(startNs, endNs, compute);
  const both = IntervalList.union([IntervalList.ofSorted(startNs, endNs, comm), computeUnion]);
  return both.totalNs() - computeUnion.totalNs();
}
