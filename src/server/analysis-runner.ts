/**
 * Runs one analysis (load + Report) in a worker thread (analyze-worker.ts) and settles with its
 * Report, or a one-line Error: over the event budget, out of memory, or stopped. Free of LSP
 * types, so tests drive it directly.
 */
import * as path from 'node:path';
import * as v8 from 'node:v8';
import { Worker } from 'node:worker_threads';
import type { Report } from '../core/report-types';
import type { TimelineColumns } from '../core/timeline-columns-types';
import type { AnalyzeJob, FromWorker, ToWorker } from './analyze-worker';

export interface RunOptions {
  /** Aborting settles at once with {@link AnalysisCancelled}; the worker is ended within a second. */
  signal?: AbortSignal;
  onProgress?: (pct: number) => void;
  /** The worker's heap limit; default the server's own (the room the analysis had in-process). */
  heapMb?: number;
  /** The worker bundle; default dist/analyze-worker.js beside the running server bundle. */
  workerPath?: string;
  /** Appended to an over-budget message: which setting raises the budget. */
  budgetHint?: string;
  /** Receives the timeline columns of a job with `timeline: true`, before the Report settles. */
  onTimeline?: (columns: TimelineColumns) => void;
}

/** The rejection of a cancelled analysis. */
export class AnalysisCancelled extends Error {
  constructor(tracePath: string) {
    super(`loading ${path.basename(tracePath)} was cancelled`);
  }
}

/** How long a cancelled worker may take to stop on its own (an nsys export killing its child). */
const CANCEL_GRACE_MS = 1000;
let running = 0;

/** Analysis workers alive right now (ended ones no longer count). */
export function runningAnalyses(): number {
  return running;
}

export function runAnalysis(job: AnalyzeJob, options: RunOptions = {}): Promise<Report> {
  const heapMb = options.heapMb ?? Math.floor(v8.getHeapStatistics().heap_size_limit / 2 ** 20);
  const name = path.basename(job.tracePath);
  return new Promise<Report>((resolve, reject) => {
    const worker = new Worker(options.workerPath ?? path.join(__dirname, 'analyze-worker.js'), {
      workerData: job,
      resourceLimits: { maxOldGenerationSizeMb: heapMb },
    });
    running++;
    let settled = false;
    const settle = (finish: () => void): void => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', cancel);
      finish();
    };
    const finished = (finish: () => void): void => {
      settle(finish);
      void worker.terminate();
    };
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'progress') options.onProgress?.(m.pct);
      else if (m.type === 'done') {
        if (m.timeline) options.onTimeline?.(m.timeline);
        finished(() => resolve(m.report));
      } else
        finished(() =>
          reject(
            new Error(
              m.overBudget && options.budgetHint
                ? `${m.message}: ${options.budgetHint}`
                : m.message,
            ),
          ),
        );
    });
    worker.on('error', (e: Error & { code?: string }) =>
      settle(() =>
        reject(
          new Error(
            e.code === 'ERR_WORKER_OUT_OF_MEMORY'
              ? `${job.tracePath}: ran out of memory analyzing ${name} (heap limit ${heapMb} MB): ` +
                  'capture fewer steps, or lower the event budget so such traces are refused early'
              : `${job.tracePath}: the analysis failed: ${e.message.split('\n')[0]}`,
          ),
        ),
      ),
    );
    worker.on('exit', (code) => {
      running--;
      settle(() => reject(new Error(`${job.tracePath}: the analysis stopped (exit code ${code})`)));
    });
    function cancel(): void {
      settle(() => reject(new AnalysisCancelled(job.tracePath)));
      worker.postMessage({ type: 'cancel' } satisfies ToWorker);
      // A CPU-bound loop never reads the message: end the thread after the grace period.
      const timer = setTimeout(() => void worker.terminate(), CANCEL_GRACE_MS);
      worker.once('exit', () => clearTimeout(timer));
    }
    if (options.signal?.aborted) cancel();
    else options.signal?.addEventListener('abort', cancel);
  });
}
