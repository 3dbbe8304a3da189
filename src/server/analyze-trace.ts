/**
 * Loads a trace and builds its Report for the language server: in a worker thread
 * (analysis-runner.ts), with work-done progress, and cancellable from the request or the progress.
 */
import * as path from 'node:path';
import {
  LSPErrorCodes,
  ResponseError,
  type CancellationToken,
  type Connection,
} from 'vscode-languageserver/node';
import type { Report } from '../core/report-types';
import type { TimelineColumns } from '../core/timeline-columns-types';
import { parsePathMap } from '../core/workspace-paths';
import { AnalysisCancelled, runAnalysis } from '../core/analysis-runner';
import { readServerSettings } from './settings';

export async function analyzeTrace(
  connection: Connection,
  tracePath: string,
  workspaceFolder: string,
  token: CancellationToken,
  /** Asks for the panel's timeline columns too (the shown trace, not a baseline). */
  onTimeline?: (columns: TimelineColumns) => void,
): Promise<Report> {
  const settings = await readServerSettings(connection, workspaceFolder);
  const { map, errors } = parsePathMap(settings.pathMap);
  const abort = new AbortController();
  token.onCancellationRequested(() => abort.abort());
  const progress = await connection.window.createWorkDoneProgress();
  progress.begin(`GPU Lens: loading ${path.basename(tracePath)}`, 0, undefined, true);
  progress.token.onCancellationRequested(() => abort.abort());
  if (token.isCancellationRequested) abort.abort();
  try {
    const report = await runAnalysis(
      {
        tracePath,
        workspaceFolder,
        nsysPath: settings.nsysPath || undefined,
        maxEvents: settings.maxEvents,
        pathMap: map,
        libraryFallback: settings.libraryFallback,
        thresholds: settings.thresholds,
        timeline: onTimeline !== undefined,
      },
      {
        signal: abort.signal,
        onProgress: (pct) => progress.report(pct),
        budgetHint: 'raise the setting gpuLens.maxEvents to load it',
        onTimeline,
      },
    );
    report.warnings.push(...errors);
    return report;
  } catch (e) {
    if (e instanceof AnalysisCancelled)
      throw new ResponseError(LSPErrorCodes.RequestCancelled, e.message);
    throw e;
  } finally {
    progress.done();
  }
}
