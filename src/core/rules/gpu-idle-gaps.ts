/**
 * gpu-idle-gaps: the GPU was busy (kernel, memcpy or memset on any stream) less than
 * `thresholds.gpuActivePct` of the time between its first and last operation. The reference texts'
 * first question ("GPU utilization below 80 %: find the cause of the idle time"), answered gap by
 * gap with the CPU-side cause, plus NVIDIA's `gpu_time_util` view (span cut into chunks; chunks
 * under 50 % busy) as evidence.
 */
import { formatNs, formatPct } from '../format';
import type { Finding, Fix } from '../report-types';
import { pushTo } from '../collections';
import { aggregateRefs } from './locations';
import { GAP_CAUSE_TEXT, type GapCause, gapLocationAt } from './idle-gaps';
import { claimIdle, gapWhatIf, replayLater, replaying } from './savings';

/** NVIDIA's gpu_time_util recipe defaults: 30 chunks, a chunk is low when under 50 % busy. */
const CHUNKS = 30;
const LOW_CHUNK_PCT = 50;

/** The fix for each gap cause (also tool-call-gaps' fix for a blocking DataLoader fetch). */
export const GAP_FIXES: Record<GapCause, Fix> = {
  'late-launch': {
    title: 'Capture the step in a CUDA graph',
    edit: 'torch-compile',
    detail:
      'The GPU waits for the CPU to launch the next kernel (Python and dispatcher overhead). ' +
      'CUDA Graphs replay the whole step with one launch; torch.compile fuses small kernels.',
    snippet:
      'step = torch.compile(step, mode="reduce-overhead")  # CUDA graphs + fusion\n' +
      '# or: g = torch.cuda.CUDAGraph(); with torch.cuda.graph(g): out = step(static_in)\n' +
      '#     then per step: static_in.copy_(x); g.replay()',
  },
  'host-sync': {
    title: 'Remove the host synchronization from the loop',
    edit: 'periodic-sync',
    detail:
      'The CPU waited for the GPU to finish, so nothing was queued ahead and the GPU idles while the ' +
      'CPU prepares the next launch. Keep values on the GPU (no .item(), .cpu(), print of tensors).',
    snippet:
      '# before: if loss.item() > threshold: ...\n' +
      'flag = (loss > threshold)          # stays on the GPU\n' +
      'out = x.to("cpu", non_blocking=True)  # copy without blocking; read after an event',
  },
  allocation: {
    title: 'Pre-allocate buffers instead of allocating per step',
    detail: 'cudaMalloc/cudaFree block the CPU (and cudaFree synchronizes the device).',
    snippet:
      'PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True  # caching allocator\n' +
      'buf = torch.empty(max_shape, device="cuda")  # once, then reuse buf[:n]',
  },
  'os-wait': {
    title: 'Overlap the blocking call with GPU work',
    detail:
      'The launching thread sat in a sleep or a socket/pipe read while the GPU had nothing to do. ' +
      'Run the blocking call in a worker (asyncio / a thread pool) and keep the GPU fed meanwhile.',
    snippet:
      'loop = asyncio.get_running_loop()\n' +
      'fut = loop.run_in_executor(pool, blocking_call, args)  # GPU keeps working\n' +
      'result = await fut',
  },
  'cpu-range': {
    title: 'Move CPU preprocessing off the GPU loop',
    detail:
      'An annotated CPU range with no GPU work ran while the GPU idled. Prepare the next input in a ' +
      'DataLoader worker or a background thread so it overlaps the current step.',
    snippet:
      'loader = DataLoader(ds, batch_size=B, num_workers=4, pin_memory=True, prefetch_factor=2)\n' +
      'for batch in loader:\n    out = model(batch.to("cuda", non_blocking=True))',
  },
  'data-loader': {
    title: 'Load batches in DataLoader workers, pinned and prefetched',
    edit: 'dataloader-workers',
    detail:
      'The training loop waited for the DataLoader to produce the next batch while the GPU idled. ' +
      'Worker processes prepare batches ahead of the loop; pinned memory makes the copy asynchronous. ' +
      'CUDA Graphs would save nothing here: the GPU is not waiting on launches.',
    snippet:
      'loader = DataLoader(ds, batch_size=B, num_workers=8, pin_memory=True,\n' +
      '                    prefetch_factor=4, persistent_workers=True)\n' +
      'for x, y in loader:\n    x = x.to("cuda", non_blocking=True)',
  },
  'slow-launch': {
    title: 'Warm up outside the profiled window (or load modules eagerly)',
    detail:
      'The launch call itself took milliseconds: the CUDA driver loaded a module or JIT-compiled a ' +
      'kernel on its first launch (lazy loading). Run a few warm-up iterations before profiling, or ' +
      'load every module at start-up.',
    snippet:
      'CUDA_MODULE_LOADING=EAGER python train.py  # load all modules at start-up\n' +
      '# or: for _ in range(3): step(batch)   # warm-up before the profiler starts\n' +
      '#     torch.cuda.synchronize()',
  },
  queued: {
    title: 'Check what the queued work waited for',
    detail:
      'The next op had been launched before the GPU went idle and then waited: on an event, on ' +
      'another stream, or on a blocking copy. Record/wait events only where a real dependency exists ' +
      'and copy from pinned memory so copies do not serialize the stream.',
    snippet: '# record/wait events only where a real dependency exists\nstream.wait_event(ev)',
  },
  unknown: {
    title: 'Capture launch records to explain the gaps',
    detail: 'The trace does not tie GPU ops to their launches; capture with CUDA API tracing.',
    snippet: 'nsys profile --trace=cuda,nvtx,osrt python app.py',
  },
};

export const gpuIdleGaps = replaying((profile, ctx) => {
  const timelines = ctx.index.timelines;
  // CPU-only traces recorded no GPU activity at all: there is no GPU timeline to call idle.
  if (timelines.length === 0) return [];
  const first = Math.min(...timelines.map((t) => t.firstNs));
  const last = Math.max(...timelines.map((t) => t.lastNs));
  const wall = (last - first) * timelines.length;
  const busy = timelines.reduce((s, t) => s + t.busyNs, 0);
  const activePct = wall > 0 ? (busy / wall) * 100 : 100;
  if (activePct >= ctx.thresholds.gpuActivePct) return [];

  const gaps = ctx.gaps().gaps;
  let gapNs = 0;
  for (let k = 0; k < gaps.length; k++) gapNs = gapNs + gaps.endNs[k] - gaps.startNs[k];
  if (gapNs === 0) return [];
  // Gap numbers per cause, and each cause's idle time summed once (in gap order, per cause).
  const byCause = new Map<GapCause, number[]>();
  for (let k = 0; k < gaps.length; k++) pushTo(byCause, gaps.causeOf(k), k);
  const nsOf = new Map<GapCause, number>();
  for (const [c, list] of byCause) {
    const ns = list.reduce((s, k) => s + gaps.endNs[k] - gaps.startNs[k], 0);
    nsOf.set(c, ns);
  }
  const causeNs = (c: GapCause) => nsOf.get(c) ?? 0;
  const causes = [...byCause.keys()].sort((a, b) => causeNs(b) - causeNs(a));
  const top = causes[0];

  // NVIDIA gpu_time_util view: the device span cut in equal chunks, chunks under 50 % busy.
  let lowChunks = 0;
  for (const t of timelines) {
    const size = (t.lastNs - t.firstNs) / CHUNKS;
    if (size <= 0) continue;
    for (let c = 0; c < CHUNKS; c++) {
      const s = t.firstNs + c * size;
      const b = t.busy.overlapNs(s, s + size);
      if ((b / size) * 100 < LOW_CHUNK_PCT) lowChunks++;
    }
  }

  const topGaps = byCause.get(top) ?? [];
  const locations = aggregateRefs(
    topGaps.map((k) => ({ ref: gapLocationAt(ctx, k), ns: gaps.ns(k) })),
  );
  const evidence: Finding['evidence'] = {
    gpuActivePct: Number(activePct.toFixed(2)),
    gpuBusyNs: busy,
    wallNs: wall,
    gapCount: gaps.length,
    gapNs,
    lowUtilChunks: lowChunks,
    chunkCount: CHUNKS * timelines.length,
  };
  for (const c of causes) evidence[`${c}Ns`] = causeNs(c);
  const causeText = causes
    .slice(0, 3)
    .map(
      (c) => `${GAP_CAUSE_TEXT[c]} ${formatNs(causeNs(c))} (${byCause.get(c)?.length ?? 0} gaps)`,
    )
    .join('; ');
  const finding = claimIdle(
    {
      rule: 'gpu-idle-gaps',
      severity: activePct < 50 ? 'error' : 'warning',
      title: `GPU active ${formatPct(activePct)} of the time`,
      message:
        `The GPU was busy ${formatPct(activePct)} of ${formatNs(wall)} (threshold ${ctx.thresholds.gpuActivePct} %). ` +
        `${gaps.length} idle gaps of ≥ ${formatNs(ctx.thresholds.minGapNs)} add up to ${formatNs(gapNs)}: ${causeText}. ` +
        `${lowChunks} of ${CHUNKS * timelines.length} time chunks were under ${LOW_CHUNK_PCT} % busy.`,
      // Savings: replay the trace with the top cause removed (its CPU work before the launches,
      // its slow launch calls, its syncs) and measure how much shorter the GPU's run gets.
      // (queued and unknown gaps: nothing the trace says can be removed, no replay)
      savingsNs: 0,
      savingsFrom: 'gpu-idle',
      evidence,
      locations,
      fix: GAP_FIXES[top],
    },
    { gaps: topGaps },
  );
  return [
    top === 'queued' || top === 'unknown'
      ? finding
      : replayLater(finding, gapWhatIf(profile, gaps, topGaps)),
  ];
});
