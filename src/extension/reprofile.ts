/**
 * "Re-profile and compare": runs the capture that made the shown trace again, with that trace as
 * the baseline, so each line shows how much a change (a Quick Fix) really saved next to what the
 * finding predicted. Offered after a Quick Fix; only for traces GPU Lens captured in this window.
 */
import * as vscode from 'vscode';
import {
  ReportRequest,
  SetBaselineRequest,
  type ReportResult,
  type SetBaselineParams,
} from '../shared/protocol';
import type { ServerHandle } from './client';
import { UNTRUSTED_MESSAGE, type CaptureService } from './tasks/capture-service';
import { runCaptureTask } from './tasks/commands';
import { AFTER_FIX_COMMAND } from './quick-fixes';

export const REPROFILE_COMMAND = 'gpuLens.reprofileCompare';

/** Registers the command and the offer a Quick Fix ends with. */
export function registerReprofile(
  server: ServerHandle,
  captures: CaptureService,
  refresh: () => Promise<void>,
): vscode.Disposable[] {
  /** The shown trace and the capture that made it, when GPU Lens made it in this window. */
  const current = async () => {
    if (!server.isRunning()) return undefined;
    const shown = await (await server.client()).sendRequest<ReportResult | null>(ReportRequest, {});
    const made = shown ? captures.definitionOf(shown.path) : undefined;
    return shown && made ? { shown, ...made } : undefined;
  };
  return [
    vscode.commands.registerCommand(REPROFILE_COMMAND, async () => {
      if (!vscode.workspace.isTrusted || !captures.isTrusted()) {
        void vscode.window.showErrorMessage(UNTRUSTED_MESSAGE);
        return undefined;
      }
      const run = await current();
      if (!run) {
        void vscode.window.showInformationMessage(
          'GPU Lens: the shown trace was not captured by GPU Lens in this window, so there is no capture to run again. Profile the script first.',
        );
        return undefined;
      }
      const folder =
        vscode.workspace.getWorkspaceFolder(vscode.Uri.file(run.shown.path)) ??
        vscode.workspace.workspaceFolders?.[0];
      if (!folder) return undefined;
      await (
        await server.client()
      ).sendRequest(SetBaselineRequest, {
        path: run.shown.path,
        workspaceFolder: folder.uri.fsPath,
      } satisfies SetBaselineParams);
      const outcome = await runCaptureTask(captures, run.def, folder);
      await refresh();
      if (outcome.status === 'succeeded')
        void vscode.window.showInformationMessage(
          'GPU Lens: profiled again; lines and the report compare with the previous run.',
        );
      return outcome;
    }),
    vscode.commands.registerCommand(AFTER_FIX_COMMAND, async () => {
      if (!(await current())) return;
      const choice = await vscode.window.showInformationMessage(
        'GPU Lens: Quick Fix applied. Profile again to measure what it saved?',
        'Re-profile and compare',
      );
      if (choice) await vscode.commands.executeCommand(REPROFILE_COMMAND);
    }),
  ];
}
