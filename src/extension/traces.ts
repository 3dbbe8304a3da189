/** Opening traces from the client: picks the workspace folder, shows progress with Cancel, reports. */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { OpenTraceRequest, type OpenTraceParams, type OpenTraceResult } from '../shared/protocol';
import type { ServerHandle } from './client';
import { formatNs, formatPct } from '../core/format';

/** The workspace folder a trace belongs to: the one holding it, else the active editor's, else the first. */
export function folderForTrace(traceUri: vscode.Uri): vscode.WorkspaceFolder | undefined {
  return (
    vscode.workspace.getWorkspaceFolder(traceUri) ??
    (vscode.window.activeTextEditor
      ? vscode.workspace.getWorkspaceFolder(vscode.window.activeTextEditor.document.uri)
      : undefined) ??
    vscode.workspace.workspaceFolders?.[0]
  );
}

export const TRACE_FILTERS = {
  'Profiler traces': ['sqlite', 'nsys-rep', 'json', 'gz', 'gpulens'],
};

/** Loads a trace in the server with a cancellable progress notification. Errors become messages. */
export async function openTrace(
  server: ServerHandle,
  traceUri: vscode.Uri,
  capture?: OpenTraceParams['capture'],
): Promise<OpenTraceResult | undefined> {
  const folder = folderForTrace(traceUri);
  if (!folder) {
    void vscode.window.showErrorMessage(
      'GPU Lens: open a workspace folder first: traces are mapped onto its source files.',
    );
    return undefined;
  }
  const client = await server.client();
  const loaded = server.loadingTrace(traceUri);
  try {
    const result = await vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: `GPU Lens: loading ${path.basename(traceUri.fsPath)}`,
        cancellable: true,
      },
      (_progress, token) =>
        client.sendRequest<OpenTraceResult>(
          OpenTraceRequest,
          {
            path: traceUri.fsPath,
            workspaceFolder: folder.uri.fsPath,
            capture,
          } satisfies OpenTraceParams,
          token,
        ),
    );
    const s = result.summary;
    const gpu =
      s.kernelCount > 0
        ? `GPU active ${formatPct(s.gpuActivePct)} of the GPU span (${formatNs(s.wallNs)}), ${formatPct(s.traceActivePct)} of the trace window, ${s.kernelCount} kernels`
        : 'no GPU activity recorded';
    void vscode.window.setStatusBarMessage(`GPU Lens: ${gpu}`, 5000);
    for (const w of result.warnings.slice(0, 3))
      void vscode.window.showWarningMessage(`GPU Lens: ${w}`);
    return result;
  } catch (e) {
    if (e instanceof Error && /cancel/i.test(e.message)) return undefined;
    // The server died mid-request: ServerHandle says so in words, with Retry.
    if (server.lostServer(e)) return undefined;
    void vscode.window.showErrorMessage(
      `GPU Lens: could not load ${path.basename(traceUri.fsPath)}: ${e instanceof Error ? e.message : String(e)}`,
    );
    return undefined;
  } finally {
    loaded();
  }
}
