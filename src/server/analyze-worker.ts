/**
 * Worker thread entry (dist/analyze-worker.js): loads one trace and builds its Report off the
 * server's main thread. The server stays responsive meanwhile, Cancel ends the work even inside a
 * CPU-bound loop (the thread is terminated), and running out of memory ends only this thread.
 * The Profile lives and dies here: only the Report (plain JSON) goes back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { EventBudgetError } from '../core/ingest/event-budget';
import { loadTrace } from '../core/load';
import { buildReport } from '../core/report';
import type { Report } from '../core/report-types';
import type { Thresholds } from '../core/rules/types';

/** What to analyze (the worker's `workerData`). */
export interface AnalyzeJob {
  tracePath: string;
  workspaceFolder: string;
  nsysPath?: string;
  maxEvents: number;
  pathMap: [string, string][];
  /** See AttributionOptions.libraryFallback. */
  libraryFallback?: boolean;
  thresholds: Partial<Thresholds>;
}

/** Messages from the worker. */
export type FromWorker =
  | { type: 'progress'; pct: number }
  | { type: 'done'; report: Report }
  | { type: 'failed'; message: string; overBudget: boolean };

/** Messages to the worker: cancel stops at the next await (an nsys export, a chunk read). */
export type ToWorker = { type: 'cancel' };

async function run(port: NonNullable<typeof parentPort>, job: AnalyzeJob): Promise<void> {
  const abort = new AbortController();
  port.on('message', (m: ToWorker) => {
    if (m.type === 'cancel') abort.abort();
  });
  let last = -1;
  try {
    const profile = await loadTrace(job.tracePath, {
      nsysPath: job.nsysPath,
      signal: abort.signal,
      maxEvents: job.maxEvents,
      onProgress: (done, total) => {
        const pct = total > 0 ? Math.floor((100 * done) / total) : 0;
        if (pct !== last)
          port.postMessage({ type: 'progress', pct: (last = pct) } satisfies FromWorker);
      },
    });
    const report = buildReport(profile, {
      workspaceRoot: job.workspaceFolder,
      pathMap: job.pathMap,
      libraryFallback: job.libraryFallback,
      thresholds: job.thresholds,
    });
    port.postMessage({ type: 'done', report } satisfies FromWorker);
  } catch (e) {
    port.postMessage({
      type: 'failed',
      message: e instanceof Error ? e.message : String(e),
      overBudget: e instanceof EventBudgetError,
    } satisfies FromWorker);
  }
  // No exit here: closing the port could drop the message just posted. The server ends the thread.
}

if (parentPort) void run(parentPort, workerData as AnalyzeJob);
