/**
 * Runs captures end to end: the workspace-trust guard, the interpreter and output folder, a
 * progress notification with Cancel, the steps of the tool, the history entry, and, when the
 * trace is written, loading it (and opening the report when `gpuLens.autoOpenReport`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { readConfig } from '../config';
import { captureNsys, captureTorch, type CaptureInput, type StepRunner } from './capture-steps';
import {
  captureFolderName,
  describeTarget,
  validateDefinition,
  type GpuLensTaskDefinition,
} from './definition';
import { appendHistory, type CaptureStatus } from './history';
import { findInterpreter } from './interpreter';
import { displayCommand, runStep } from './process';

/** How a capture ended; `message` is the text the user was shown. */
export interface CaptureOutcome {
  def: GpuLensTaskDefinition;
  status: CaptureStatus;
  message: string;
  tracePath: string | null;
  command: string;
  startedAt: string;
  /** Whether the trace then loaded in the language server. */
  loaded: boolean;
}

/** Loads a finished capture's trace; returns whether it loaded. */
export type TraceOpener = (
  uri: vscode.Uri,
  capture: { command: string; startedAt: string },
) => Promise<boolean>;

export const UNTRUSTED_MESSAGE =
  'GPU Lens: captures run the workspace’s code, so they are disabled in an untrusted workspace. ' +
  'Trust the workspace to profile; opening existing traces still works.';

class StepFailed extends Error {}

/** Absolute capture folder of a workspace folder (`gpuLens.captureDirectory`, relative to it). */
export function captureDirectory(folder: vscode.WorkspaceFolder): string {
  return path.resolve(folder.uri.fsPath, readConfig(folder.uri).captureDirectory || '.gpu-lens');
}

export class CaptureService implements vscode.Disposable {
  private readonly finished = new vscode.EventEmitter<CaptureOutcome>();
  /** Fires when a capture ends, whatever the outcome (after its trace loaded, on success). */
  readonly onDidFinish = this.finished.event;
  /** Successful captures of this window by trace path (see definitionOf). */
  private readonly madeBy = new Map<string, { def: GpuLensTaskDefinition; command: string }>();
  /** Whether captures may run; replaceable so tests can check the untrusted path. */
  isTrusted: () => boolean = () => vscode.workspace.isTrusted;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly openTrace: TraceOpener,
  ) {}

  /**
   * Runs one capture of `def` in `folder`, writing the terminal's text through `write`.
   * Never throws: every failure becomes an outcome and a message.
   */
  async run(
    def: GpuLensTaskDefinition,
    folder: vscode.WorkspaceFolder,
    write: (text: string) => void,
    abort: AbortController,
  ): Promise<CaptureOutcome> {
    const startedAt = new Date();
    const outcome: CaptureOutcome = {
      def,
      status: 'failed',
      message: '',
      tracePath: null,
      command: '',
      startedAt: startedAt.toISOString(),
      loaded: false,
    };
    const say = (line: string) => write(`${line.replace(/\r?\n/g, '\r\n')}\r\n`);
    if (!this.isTrusted())
      return this.finish(outcome, folder, 'failed', UNTRUSTED_MESSAGE, say, false);
    const problems = validateDefinition(def);
    if (problems.length > 0) {
      return this.finish(
        outcome,
        folder,
        'failed',
        `GPU Lens: invalid gpuLens task: ${problems.join('; ')}`,
        say,
      );
    }
    const tool = def.tool === 'nsys' ? 'Nsight Systems' : 'torch.profiler';
    let outDir: string | undefined;
    try {
      const input = await this.input(def, folder, startedAt);
      outDir = input.outDir;
      say(`GPU Lens: profiling ${describeTarget(def)} with ${tool} (Python: ${input.python})`);
      const tracePath = await vscode.window.withProgress(
        {
          location: vscode.ProgressLocation.Notification,
          title: `GPU Lens: profiling ${describeTarget(def)} with ${tool}`,
          cancellable: true,
        },
        async (progress, token) => {
          token.onCancellationRequested(() => abort.abort());
          const run: StepRunner = async (step, what) => {
            const cmd = displayCommand(step);
            if (!outcome.command) outcome.command = cmd;
            progress.report({ message: what });
            say(`\r\n$ ${cmd}`);
            const r = await runStep(step, (t) => write(t.replace(/\r?\n/g, '\r\n')), abort.signal);
            if (abort.signal.aborted) throw new StepFailed('cancelled');
            if (r.code !== 0) {
              const how =
                r.code === null ? `was killed by ${r.signal}` : `exited with code ${r.code}`;
              throw new StepFailed(`${what} ${how}${lastLine(r.tail)}`);
            }
            return r;
          };
          return def.tool === 'nsys' ? captureNsys(input, run, write) : captureTorch(input, run);
        },
      );
      outcome.tracePath = tracePath;
      say(`\r\nGPU Lens: trace written to ${tracePath}`);
      outcome.loaded = await this.openTrace(vscode.Uri.file(tracePath), {
        command: outcome.command,
        startedAt: outcome.startedAt,
      });
      if (outcome.loaded && readConfig(folder.uri).autoOpenReport) {
        await vscode.commands.executeCommand('gpuLens.showReport');
      }
      return this.finish(
        outcome,
        folder,
        'succeeded',
        `GPU Lens: captured ${path.basename(tracePath)}`,
        say,
      );
    } catch (e) {
      // A capture that wrote nothing leaves no empty folder behind.
      if (outDir && !def.output) removeIfEmpty(outDir);
      if (abort.signal.aborted) {
        return this.finish(
          outcome,
          folder,
          'cancelled',
          `GPU Lens: the ${tool} capture was cancelled; its processes were stopped.`,
          say,
        );
      }
      const why = e instanceof Error ? e.message : String(e);
      return this.finish(
        outcome,
        folder,
        'failed',
        `GPU Lens: the ${tool} capture failed: ${why}`,
        say,
      );
    }
  }

  /** Resolves interpreter, folders and environment for a capture. */
  private async input(
    def: GpuLensTaskDefinition,
    folder: vscode.WorkspaceFolder,
    now: Date,
  ): Promise<CaptureInput> {
    const root = folder.uri.fsPath;
    const program = def.program ? path.resolve(root, def.program) : undefined;
    const cwd = path.resolve(root, def.cwd ?? (program ? path.dirname(program) : root));
    const python = await findInterpreter(
      program ? vscode.Uri.file(program) : folder.uri,
      def.python,
    );
    let outBase: string;
    if (def.output) {
      outBase = path
        .resolve(root, def.output)
        .replace(/(\.pt\.trace\.json|\.json|\.nsys-rep|\.sqlite)$/, '');
    } else {
      const captures = captureDirectory(folder);
      makeOwnFolder(captures);
      const dir = path.join(captures, captureFolderName(def, now));
      makeOwnFolder(dir);
      outBase = path.join(
        dir,
        (def.module ?? path.basename(def.program ?? 'trace', '.py')).replace(/[^\w.-]+/g, '_'),
      );
    }
    const outDir = path.dirname(outBase);
    fs.mkdirSync(outDir, { recursive: true }); // def.output: the user's chosen folder, as it is
    return {
      def,
      python: python.path,
      program,
      cwd,
      // Unbuffered output, so the terminal shows the program's prints as they happen.
      env: { ...process.env, PYTHONUNBUFFERED: '1', ...(def.env ?? {}) },
      outDir,
      outBase,
      nsysPath: readConfig(folder.uri).nsysPath,
      workspaceFolder: root,
      launcher: vscode.Uri.joinPath(this.extensionUri, 'python', 'gpu_lens_torch_launcher.py')
        .fsPath,
    };
  }

  private finish(
    outcome: CaptureOutcome,
    folder: vscode.WorkspaceFolder,
    status: CaptureStatus,
    message: string,
    say: (line: string) => void,
    record = true,
  ): CaptureOutcome {
    outcome.status = status;
    outcome.message = message;
    say(`\r\n${message}`);
    if (status === 'failed') void vscode.window.showErrorMessage(message);
    else if (status === 'cancelled') void vscode.window.showInformationMessage(message);
    if (record) {
      try {
        makeOwnFolder(captureDirectory(folder));
        appendHistory(captureDirectory(folder), {
          tool: outcome.def.tool,
          command: outcome.command || describeTarget(outcome.def),
          startedAt: outcome.startedAt,
          endedAt: new Date().toISOString(),
          tracePath: status === 'succeeded' ? outcome.tracePath : null,
          status,
          ...(status === 'succeeded' ? {} : { message }),
        });
      } catch (e) {
        say(
          `GPU Lens: could not update the capture history: ${e instanceof Error ? e.message : String(e)}`,
        );
      }
    }
    if (outcome.status === 'succeeded' && outcome.tracePath)
      this.madeBy.set(outcome.tracePath, { def: outcome.def, command: outcome.command });
    this.finished.fire(outcome);
    return outcome;
  }

  /**
   * The task definition (and command line) of a capture that produced `tracePath` in this window,
   * so it can run again (re-profile and compare, the agents' profile-again tool).
   */
  definitionOf(tracePath: string): { def: GpuLensTaskDefinition; command: string } | undefined {
    return this.madeBy.get(tracePath);
  }

  dispose(): void {
    this.finished.dispose();
  }
}

/** ": <last output line>" to explain a failure, or "" when there was no output. */
function lastLine(tail: string): string {
  const lines = tail
    .split(/\r?\n|\r/)
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.length > 0 ? `: ${lines[lines.length - 1]}` : '';
}

/** What `makeOwnFolder` writes: a capture holds the profiled program's environment (nsys records it). */
const GITIGNORE = "# Written by GPU Lens: captures hold the profiled program's environment.\n*\n";

/**
 * Creates `dir` when missing, with a `.gitignore` that keeps all of it out of git. A folder that
 * already exists is left as it is: it may be the user's (gpuLens.captureDirectory).
 */
function makeOwnFolder(dir: string): void {
  if (fs.existsSync(dir)) return;
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, '.gitignore'), GITIGNORE, { flag: 'wx' });
}

/** Removes `dir` when it holds nothing, or nothing but the `.gitignore` of `makeOwnFolder`. */
function removeIfEmpty(dir: string): void {
  try {
    const entries = fs.readdirSync(dir);
    const ignore = path.join(dir, '.gitignore');
    const onlyOurs =
      entries.length === 1 &&
      entries[0] === '.gitignore' &&
      fs.readFileSync(ignore, 'utf8') === GITIGNORE;
    if (onlyOurs) fs.rmSync(ignore);
    if (entries.length === 0 || onlyOurs) fs.rmdirSync(dir);
  } catch {
    // Already gone or not ours to remove.
  }
}
