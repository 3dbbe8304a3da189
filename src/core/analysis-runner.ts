/**
 * Runs one analysis (load + Report) in a worker thread (analyze-worker.ts) and settles with its
 * Report, or a one-line Error: over the event budget, out of memory, or stopped. The language
 * server, the CLI and the MCP server analyze this way: the Profile lives and dies in the thread
 * (nothing of it stays in the caller's heap), and the thread's young generation is the readers'
 * (worker-job.ts). Free of LSP types, so tests drive it directly.
 */
import * as path from 'node:path';
import * as v8 from 'node:v8';
import { startWorkerJob, type WorkerJob } from './ingest/worker-job';
import type { Report } from './report-types';
import type { TimelineColumns } from './timeline-columns-types';
import type { AnalyzeJob, FromWorker } from './analyze-worker';

export interface RunOptions {
  /** Aborting settles at once with {@link AnalysisCancelled}; the worker is ended within a second. */
  signal?: AbortSignal;
  onProgress?: (pct: number) => void;
  /**
   * The worker's heap limit (old and young generations); default the caller's own (the room the
   * analysis had in-process).
   */
  heapMb?: number;
  /** The worker bundle; default analyze-worker.js beside the running bundle (server, CLI). */
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

let running = 0;

/** Analysis workers alive right now (ended ones no longer count). */
export function runningAnalyses(): number {
  return running;
}

export function runAnalysis(job: AnalyzeJob, options: RunOptions = {}): Promise<Report> {
  const heapMb = options.heapMb ?? Math.floor(v8.getHeapStatistics().heap_size_limit / 2 ** 20);
  const name = path.basename(job.tracePath);
  let started: WorkerJob<Report>;
  try {
    started = startWorkerJob<FromWorker, Report>({
      workerPath: options.workerPath ?? path.join(__dirname, 'analyze-worker.js'),
      workerData: job,
      heapMb,
      signal: options.signal,
      onMessage: (m, { resolve, reject }) => {
        if (m.type === 'progress') options.onProgress?.(m.pct);
        else if (m.type === 'done') {
          if (m.timeline) options.onTimeline?.(m.timeline);
          resolve(m.report);
        } else
          reject(
            new Error(
              m.overBudget && options.budgetHint
                ? `${m.message}: ${options.budgetHint}`
                : m.message,
            ),
          );
      },
      outOfMemory: () =>
        `${job.tracePath}: ran out of memory analyzing ${name} (heap limit ${heapMb} MB): ` +
        'capture fewer steps, or lower the event budget so such traces are refused early',
      failed: (line) => `${job.tracePath}: the analysis failed: ${line}`,
      stopped: (code) => `${job.tracePath}: the analysis stopped (exit code ${code})`,
      cancelled: () => new AnalysisCancelled(job.tracePath),
      onExit: () => running--,
    });
  } catch (e) {
    return Promise.reject(e instanceof Error ? e : new Error(String(e)));
  }
  running++;
  return started.done;
}
