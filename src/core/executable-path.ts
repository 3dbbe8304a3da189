/** Checks on executable paths taken from settings (`gpuLens.nsysPath`, `gpuLens.pythonPath`). */
import * as path from 'node:path';

/**
 * Why a configured executable path is refused, or undefined when it is usable as given: empty,
 * an absolute path, or a bare command name looked up on PATH. A relative path (`tools/nsys`) is
 * refused rather than resolved against whatever the working folder happens to be (for the
 * language server and tasks that is the workspace, which may be a repository nobody vetted).
 */
export function executablePathProblem(setting: string, configured: string): string | undefined {
  const c = configured.trim();
  if (!c || path.isAbsolute(c) || !/[/\\]/.test(c)) return undefined;
  return `${setting} must be an absolute path or a command name on PATH; "${c}" is relative and was refused`;
}
