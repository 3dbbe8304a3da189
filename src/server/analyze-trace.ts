/** Loads a trace and builds its Report in the server process, with cancellable progress. */
import * as path from 'node:path';
import type { CancellationToken, Connection } from 'vscode-languageserver/node';
import { loadTrace } from '../core/load';
import { buildReport } from '../core/report';
import type { Report } from '../core/report-types';
import { parsePathMap } from '../core/workspace-paths';
import { readServerSettings } from './settings';

export async function analyzeTrace(
  connection: Connection,
  tracePath: string,
  workspaceFolder: string,
  token: CancellationToken,
): Promise<Report> {
  const settings = await readServerSettings(connection, workspaceFolder);
  const { map, errors } = parsePathMap(settings.pathMap);
  const abort = new AbortController();
  token.onCancellationRequested(() => abort.abort());
  const progress = await connection.window.createWorkDoneProgress();
  progress.begin(`GPU Lens: loading ${path.basename(tracePath)}`, 0, undefined, true);
  progress.token.onCancellationRequested(() => abort.abort());
  try {
    const profile = await loadTrace(tracePath, {
      nsysPath: settings.nsysPath || undefined,
      signal: abort.signal,
      onProgress: (done, total) =>
        progress.report(total > 0 ? Math.floor((100 * done) / total) : 0),
    });
    const report = buildReport(profile, {
      workspaceRoot: workspaceFolder,
      pathMap: map,
      thresholds: settings.thresholds,
    });
    report.warnings.push(...errors);
    return report;
  } finally {
    progress.done();
  }
}
