/**
 * Worker thread entry (dist/analyze-worker.js): loads one trace and builds its Report off the
 * main thread of the language server, the CLI or the MCP server, which stays responsive meanwhile.
 * Cancel ends the work even inside a CPU-bound loop (the thread is terminated), and running out of
 * memory ends only this thread.
 * The Profile lives and dies here: only the Report (plain JSON) goes back, and when asked the
 * timeline columns (core/timeline-columns.ts), whose typed arrays are transferred, not copied.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { EventBudgetError } from './ingest/event-budget';
import { loadTrace } from './load';
import { buildReport } from './report';
import type { Report } from './report-types';
import type { Thresholds } from './rules/types';
import { StackResolver } from './stack-resolver';
import { buildTimelineColumns, columnBuffers } from './timeline-columns';
import type { TimelineColumns } from './timeline-columns-types';
import { PathResolver, WorkspaceIndex } from './workspace-paths';

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
  /** Also build the panel's kernel timeline columns. */
  timeline?: boolean;
}

/** Messages from the worker. */
export type FromWorker =
  | { type: 'progress'; pct: number }
  | { type: 'done'; report: Report; timeline?: TimelineColumns }
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
    const stacks = new StackResolver(
      profile,
      new PathResolver(new WorkspaceIndex(job.workspaceFolder), job.pathMap),
    );
    const report = buildReport(
      profile,
      {
        workspaceRoot: job.workspaceFolder,
        pathMap: job.pathMap,
        libraryFallback: job.libraryFallback,
        thresholds: job.thresholds,
      },
      stacks,
    );
    let timeline: TimelineColumns | undefined;
    try {
      if (job.timeline) timeline = buildTimelineColumns(profile, stacks);
    } catch (e) {
      // The Report stands without it (columns of a huge trace can fail to allocate).
      report.warnings.push(
        `The kernel timeline was not built: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    port.postMessage(
      { type: 'done', report, timeline } satisfies FromWorker,
      timeline ? columnBuffers(timeline) : [],
    );
  } catch (e) {
    port.postMessage({
      type: 'failed',
      message: e instanceof Error ? e.message : String(e),
      overBudget: e instanceof EventBudgetError,
    } satisfies FromWorker);
  }
  // No exit here: closing the port could drop the message just posted. The caller ends the thread.
}

if (parentPort) void run(parentPort, workerData as AnalyzeJob);
