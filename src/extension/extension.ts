/**
 * GPU Lens extension entry point. Activation only registers things: the language server starts on
 * first need (a trace opened or captured, the report shown), so opening a Python file stays cheap.
 */
import * as vscode from 'vscode';
import {
  ClearRequest,
  ReportRequest,
  SetBaselineRequest,
  type ReportResult,
  type SetBaselineResult,
  SelectTraceRequest,
  StatusRequest,
  type StatusResult,
} from '../shared/protocol';
import { ServerHandle } from './client';
import { LineHeat, type HeatMark } from './line-heat';
import { registerAgentTools } from './lm-tools';
import { offerPathMap, registerPathMapCommand } from './path-map';
import { QuickFixProvider } from './quick-fixes';
import { registerReprofile } from './reprofile';
import { ReportPanel } from './panel';
import { TraceStatusBar } from './status-bar';
import { registerCaptures, restoreLatestCaptures } from './tasks/commands';
import type { CaptureService } from './tasks/capture-service';
import { folderForTrace, openTrace, TRACE_FILTERS } from './traces';

export interface GpuLensApi {
  /** The running language client (started on first call). Used by the host tests. */
  client: ServerHandle['client'];
  /** Runs captures and reports their outcomes (`onDidFinish`). Used by the host tests. */
  captures: CaptureService;
  /**
   * Settles when the latest restore of previous captures has finished (or decided not to run,
   * in Restricted Mode). Used by the host tests.
   */
  restored: () => Promise<void>;
  /** The line heat marks applied to a document's editors now. Used by the host tests. */
  lineHeat: (uri: vscode.Uri) => readonly HeatMark[];
}

export function activate(context: vscode.ExtensionContext): GpuLensApi {
  const server = new ServerHandle(context);
  const statusBar = new TraceStatusBar();
  const panel = new ReportPanel(context, server);
  const heat = new LineHeat(server);
  context.subscriptions.push(server, statusBar, panel, heat);
  // A server that died took its annotations with it: the status bar no longer names a trace.
  context.subscriptions.push(server.onStopped(() => statusBar.hide()));

  const open = async (uri: vscode.Uri, capture?: { command: string; startedAt: string }) => {
    const result = await openTrace(server, uri, capture);
    if (result) {
      statusBar.show(uri.fsPath, result);
      await panel.refresh();
      const folder = folderForTrace(uri);
      if (result.pathMapSuggestion && folder) void offerPathMap(folder, result.pathMapSuggestion);
    }
    return result;
  };

  const loadCapture = async (uri: vscode.Uri, capture: { command: string; startedAt: string }) =>
    (await open(uri, capture)) !== undefined;
  const captures = registerCaptures(context, loadCapture);
  context.subscriptions.push(...registerAgentTools(server, captures));
  context.subscriptions.push(
    vscode.languages.registerCodeActionsProvider(
      { language: 'python', scheme: 'file' },
      new QuickFixProvider(server, context.asAbsolutePath('python/gpu_lens_edits.py')),
      { providedCodeActionKinds: [vscode.CodeActionKind.QuickFix] },
    ),
    ...registerReprofile(server, captures, () => panel.refresh()),
    registerPathMapCommand(),
    // Reloads the server starts itself (a changed gpuLens.pathMap re-attributes) refresh the panel.
    server.onTraceLoaded(() => void panel.refresh()),
  );

  context.subscriptions.push(
    // "Open in GPU Lens" in the explorer's context menu of trace files.
    vscode.commands.registerCommand('gpuLens.openInGpuLens', (uri?: vscode.Uri) =>
      vscode.commands.executeCommand('gpuLens.openTrace', uri),
    ),
    vscode.commands.registerCommand('gpuLens.openTrace', async (uri?: vscode.Uri) => {
      const target = uri ?? (await pickTrace('Open a profiler trace'));
      return target ? open(target) : undefined;
    }),
    vscode.commands.registerCommand('gpuLens.showReport', (at?: { file: string; line: number }) =>
      panel.show(at),
    ),
    vscode.commands.registerCommand('gpuLens.compareWithBaseline', async (uri?: vscode.Uri) => {
      const target = uri ?? (await pickTrace('Compare with which baseline trace?'));
      const folder = target ? folderForTrace(target) : undefined;
      if (!target || !folder) return undefined;
      try {
        const result = await (
          await server.client()
        ).sendRequest<SetBaselineResult>(SetBaselineRequest, {
          path: target.fsPath,
          workspaceFolder: folder.uri.fsPath,
        });
        void vscode.window.showInformationMessage(
          `GPU Lens: compared with ${vscode.workspace.asRelativePath(target)}: ` +
            `${result.flaggedLines} lines and ${result.flaggedKernels} kernels changed past the threshold.`,
        );
        await panel.refresh();
        return result;
      } catch (e) {
        void vscode.window.showErrorMessage(
          `GPU Lens: could not load the baseline: ${e instanceof Error ? e.message : String(e)}`,
        );
        return undefined;
      }
    }),
    vscode.commands.registerCommand('gpuLens.clearBaseline', async () => {
      const editor = vscode.window.activeTextEditor;
      const folder =
        (editor && vscode.workspace.getWorkspaceFolder(editor.document.uri)) ??
        vscode.workspace.workspaceFolders?.[0];
      if (!server.isRunning() || !folder) return;
      await (
        await server.client()
      ).sendRequest(SetBaselineRequest, { path: null, workspaceFolder: folder.uri.fsPath });
      await panel.refresh();
    }),
    vscode.commands.registerCommand('gpuLens.clearAnnotations', async () => {
      if (!server.isRunning()) return;
      await (await server.client()).sendRequest(ClearRequest);
      statusBar.hide();
      heat.refresh();
    }),
    // With a trace id (from a script or a test) the quick pick is skipped.
    vscode.commands.registerCommand('gpuLens.selectTrace', async (traceId?: string) => {
      const client = await server.client();
      const status = await client.sendRequest<StatusResult>(StatusRequest);
      if (status.loaded.length === 0) {
        void vscode.window.showInformationMessage(
          'GPU Lens: no trace is loaded yet. Profile a file or open a trace.',
        );
        return false;
      }
      const id =
        traceId ??
        (
          await vscode.window.showQuickPick(
            status.loaded.map((t) => ({
              label: vscode.workspace.asRelativePath(t.path),
              description: t.active ? 'active' : '',
              id: t.id,
            })),
            { title: 'GPU Lens: show which trace?' },
          )
        )?.id;
      if (!id || !(await client.sendRequest<boolean>(SelectTraceRequest, { id }))) return false;
      const shown = await client.sendRequest<ReportResult | null>(ReportRequest, { id });
      if (shown) statusBar.show(shown.path, shown.report);
      heat.refresh();
      await panel.refresh();
      return true;
    }),
  );

  // After activation returns: the previous session's latest capture loads in the background.
  const restored = restoreLatestCaptures(context, loadCapture);
  return {
    client: () => server.client(),
    captures,
    restored,
    lineHeat: (uri) => heat.marks(uri),
  };
}

/** Asks for one trace file. */
async function pickTrace(title: string): Promise<vscode.Uri | undefined> {
  const picked = await vscode.window.showOpenDialog({
    canSelectMany: false,
    filters: TRACE_FILTERS,
    title,
  });
  return picked?.[0];
}

export function deactivate(): void {
  // Disposables in context.subscriptions stop the server.
}
