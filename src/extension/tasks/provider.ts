/**
 * The `gpuLens` task provider: offers "profile this file" tasks for the active Python editor in
 * Run Task, resolves tasks written in tasks.json, and runs each as a CustomExecution whose
 * pseudoterminal spawns the capture steps with argument arrays (never a shell).
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { CaptureService } from './capture-service';
import { taskLabel, TASK_TYPE, type GpuLensTaskDefinition } from './definition';

/** The task terminal of one capture: output of every step; closing it cancels the capture. */
class CaptureTerminal implements vscode.Pseudoterminal {
  private readonly writeEmitter = new vscode.EventEmitter<string>();
  private readonly closeEmitter = new vscode.EventEmitter<number>();
  private readonly abort = new AbortController();
  readonly onDidWrite = this.writeEmitter.event;
  readonly onDidClose = this.closeEmitter.event;

  constructor(
    private readonly def: GpuLensTaskDefinition,
    private readonly folder: vscode.WorkspaceFolder,
    private readonly service: CaptureService,
  ) {}

  open(): void {
    void this.service
      .run(this.def, this.folder, (t) => this.writeEmitter.fire(t), this.abort)
      .then((o) => this.closeEmitter.fire(o.status === 'succeeded' ? 0 : 1));
  }

  /** The user closed the terminal or terminated the task: stop the whole process tree. */
  close(): void {
    this.abort.abort();
  }
}

/** Builds a runnable capture task for `def` in `folder`. */
export function captureTask(
  def: GpuLensTaskDefinition,
  folder: vscode.WorkspaceFolder,
  service: CaptureService,
): vscode.Task {
  const task = new vscode.Task(
    def,
    folder,
    taskLabel(def),
    'GPU Lens',
    // VS Code hands the definition with ${file}-style variables already substituted.
    new vscode.CustomExecution((resolved) =>
      Promise.resolve(new CaptureTerminal(resolved as GpuLensTaskDefinition, folder, service)),
    ),
    [],
  );
  task.presentationOptions = {
    reveal: vscode.TaskRevealKind.Always,
    panel: vscode.TaskPanelKind.Dedicated,
    clear: true,
  };
  return task;
}

/** The two capture definitions (nsys, torch.profiler) for one Python file. */
export function definitionsFor(
  file: vscode.Uri,
  folder: vscode.WorkspaceFolder,
): GpuLensTaskDefinition[] {
  const rel = path.relative(folder.uri.fsPath, file.fsPath).split(path.sep).join('/');
  return [
    { type: TASK_TYPE, tool: 'nsys', program: rel },
    { type: TASK_TYPE, tool: 'torch', program: rel },
  ];
}

export class GpuLensTaskProvider implements vscode.TaskProvider {
  constructor(private readonly service: CaptureService) {}

  provideTasks(): vscode.Task[] {
    const doc = vscode.window.activeTextEditor?.document;
    if (!doc || doc.languageId !== 'python' || doc.uri.scheme !== 'file') return [];
    const folder = vscode.workspace.getWorkspaceFolder(doc.uri);
    if (!folder) return [];
    return definitionsFor(doc.uri, folder).map((d) => captureTask(d, folder, this.service));
  }

  resolveTask(task: vscode.Task): vscode.Task | undefined {
    const def = task.definition as GpuLensTaskDefinition;
    if (def.type !== TASK_TYPE) return undefined;
    const folder =
      task.scope && typeof task.scope === 'object'
        ? task.scope
        : vscode.workspace.workspaceFolders?.[0];
    if (!folder) return undefined;
    // Keep the definition object VS Code gave: it identifies the task for tasks.json.
    const resolved = captureTask(def, folder, this.service);
    resolved.name = task.name || resolved.name;
    return resolved;
  }
}
