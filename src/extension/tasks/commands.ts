/**
 * Capture wiring for the extension: the `gpuLens` task provider, the "Profile with …" commands of
 * the editor, title-bar run menu and explorer, and reloading the latest capture on start.
 */
import * as vscode from 'vscode';
import {
  CaptureService,
  captureDirectory,
  type CaptureOutcome,
  type TraceOpener,
} from './capture-service';
import { TASK_TYPE, type GpuLensTaskDefinition } from './definition';
import { latestCapture } from './history';
import { captureTask, definitionsFor, GpuLensTaskProvider } from './provider';

/** Command ids, as declared in package.json. */
export const PROFILE_COMMANDS = {
  nsys: 'gpuLens.profileNsys',
  torch: 'gpuLens.profileTorch',
} as const;

/** Registers the task provider and the profile commands; returns the capture service. */
export function registerCaptures(
  context: vscode.ExtensionContext,
  open: TraceOpener,
): CaptureService {
  const service = new CaptureService(context.extensionUri, open);
  context.subscriptions.push(
    service,
    vscode.tasks.registerTaskProvider(TASK_TYPE, new GpuLensTaskProvider(service)),
    vscode.commands.registerCommand(PROFILE_COMMANDS.nsys, (uri?: vscode.Uri) =>
      profile(service, 'nsys', uri),
    ),
    vscode.commands.registerCommand(PROFILE_COMMANDS.torch, (uri?: vscode.Uri) =>
      profile(service, 'torch', uri),
    ),
  );
  return service;
}

/**
 * Profiles a Python file (the one clicked, else the active editor's) as a task, so its output
 * shows in the task terminal. Resolves with the capture's outcome (undefined when nothing ran).
 */
async function profile(
  service: CaptureService,
  tool: GpuLensTaskDefinition['tool'],
  uri: vscode.Uri | undefined,
): Promise<CaptureOutcome | undefined> {
  const target = uri instanceof vscode.Uri ? uri : vscode.window.activeTextEditor?.document.uri;
  if (!target || target.scheme !== 'file' || !target.fsPath.endsWith('.py')) {
    void vscode.window.showErrorMessage(
      'GPU Lens: open a Python file (or right-click one) to profile it.',
    );
    return undefined;
  }
  const folder = vscode.workspace.getWorkspaceFolder(target);
  if (!folder) {
    void vscode.window.showErrorMessage(
      'GPU Lens: the file to profile must be inside an open workspace folder.',
    );
    return undefined;
  }
  const def = definitionsFor(target, folder).find((d) => d.tool === tool)!;
  // VS Code itself refuses tasks in Restricted Mode without saying why: refuse here, with reasons.
  if (!service.isTrusted()) return service.run(def, folder, () => undefined, new AbortController());
  const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === target.toString());
  if (doc?.isDirty) await doc.save();
  return runCaptureTask(service, def, folder);
}

/**
 * Runs a capture as a VS Code task (its output in the task terminal) and resolves with its
 * outcome. Callers check workspace trust first.
 */
export async function runCaptureTask(
  service: CaptureService,
  def: GpuLensTaskDefinition,
  folder: vscode.WorkspaceFolder,
): Promise<CaptureOutcome> {
  const done = new Promise<CaptureOutcome>((resolve) => {
    const sub = service.onDidFinish((o) => {
      if (o.def.tool === def.tool && o.def.program === def.program && o.def.module === def.module) {
        sub.dispose();
        resolve(o);
      }
    });
  });
  await vscode.tasks.executeTask(captureTask(def, folder, service));
  return done;
}

/**
 * Loads the newest successful capture of each workspace folder, in the background: activation
 * does not wait for it, and a failure only shows the usual load error. Only in a trusted
 * workspace: `.gpu-lens/history.json` may come with the repository, and loading an `.nsys-rep`
 * runs nsys. In Restricted Mode it waits for the user to grant trust, then restores.
 * Returns the restore in progress (or finished), for the host tests.
 */
export function restoreLatestCaptures(
  context: vscode.ExtensionContext,
  open: TraceOpener,
): () => Promise<void> {
  const restore = async () => {
    // After activation returns.
    await new Promise((resolve) => setTimeout(resolve, 0));
    if (!vscode.workspace.isTrusted) return;
    for (const folder of vscode.workspace.workspaceFolders ?? []) {
      const last = latestCapture(captureDirectory(folder));
      if (last?.tracePath)
        await open(vscode.Uri.file(last.tracePath), {
          command: last.command,
          startedAt: last.startedAt,
        });
    }
  };
  let current = restore();
  if (!vscode.workspace.isTrusted)
    context.subscriptions.push(
      vscode.workspace.onDidGrantWorkspaceTrust(() => {
        current = restore();
      }),
    );
  return () => current;
}
