/**
 * Which Python runs a capture: the task's own `python`, else the interpreter selected in the
 * Python extension (its public `environments` API), else `gpuLens.pythonPath`, else `python3`.
 */
import * as vscode from 'vscode';
import { executablePathProblem } from '../../core/executable-path';
import { readConfig } from '../config';

/** The part of the `ms-python.python` extension API used here (@vscode/python-extension types). */
interface PythonExtensionApi {
  environments?: {
    getActiveEnvironmentPath(resource?: vscode.Uri): { id: string; path: string };
    resolveEnvironment(
      env: { id: string; path: string } | string,
    ): Promise<{ executable: { uri?: vscode.Uri } } | undefined>;
  };
}

export interface Interpreter {
  path: string;
  /** Where it came from, printed in the task terminal. */
  source: 'task' | 'python extension' | 'gpuLens.pythonPath' | 'default';
}

/** Asks the Python extension for its active interpreter; undefined when absent or undecided. */
async function fromPythonExtension(resource: vscode.Uri | undefined): Promise<string | undefined> {
  const ext = vscode.extensions.getExtension<PythonExtensionApi>('ms-python.python');
  if (!ext) return undefined;
  try {
    const api = ext.isActive ? ext.exports : await ext.activate();
    const envs = api?.environments;
    if (!envs) return undefined;
    const active = envs.getActiveEnvironmentPath(resource);
    // `path` may be an environment folder (conda); the resolved executable is the binary.
    const resolved = await envs.resolveEnvironment(active);
    return resolved?.executable.uri?.fsPath ?? active.path;
  } catch {
    // A Python extension that fails to activate must not block captures: fall through.
    return undefined;
  }
}

/** Resolves the interpreter for a capture of `resource` (the script or its folder). */
export async function findInterpreter(
  resource: vscode.Uri | undefined,
  explicit?: string,
): Promise<Interpreter> {
  if (explicit && explicit.trim()) return { path: explicit.trim(), source: 'task' };
  const fromExt = await fromPythonExtension(resource);
  if (fromExt) return { path: fromExt, source: 'python extension' };
  const configured = readConfig(resource).pythonPath.trim();
  const refused = executablePathProblem('gpuLens.pythonPath', configured);
  if (refused) throw new Error(refused);
  if (configured) return { path: configured, source: 'gpuLens.pythonPath' };
  return { path: 'python3', source: 'default' };
}
