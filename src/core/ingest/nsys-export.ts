/**
 * Runs the installed Nsight Systems CLI: locating it, asking its version, and exporting an
 * `.nsys-rep` to SQLite. Always an argument array (never a shell), and never written next to the
 * user's report.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { executablePathProblem } from '../executable-path';

export const NSYS_NOT_FOUND =
  'Nsight Systems (nsys) was not found on PATH; install it (Debian: apt-get install nsight-systems ' +
  'from contrib/non-free) or set gpuLens.nsysPath';

const EXE = process.platform === 'win32' ? 'nsys.exe' : 'nsys';

function isExecutable(file: string): boolean {
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Newest `/opt/nvidia/nsight-systems/<version>/bin/nsys` (the NVIDIA installer's layout). */
function fromNvidiaInstallDir(): string | null {
  const root = '/opt/nvidia/nsight-systems';
  let versions: string[];
  try {
    versions = fs.readdirSync(root);
  } catch {
    return null;
  }
  versions.sort((a, b) => b.localeCompare(a, undefined, { numeric: true }));
  for (const v of versions) {
    const candidate = path.join(root, v, 'bin', EXE);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

/**
 * `name` in the absolute folders of PATH. Relative entries (`.`, `bin`) are skipped: they would
 * resolve against the working folder, which may be a workspace nobody vetted.
 */
function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir || !path.isAbsolute(dir)) continue;
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

/** Fixed install folders of nsys, tried after PATH: CUDA toolkit, Debian's package. */
const STANDARD_DIRS = ['/usr/local/cuda/bin', '/usr/lib/nsight-systems/bin'];

/**
 * Finds the nsys executable: the configured path (an absolute file, or a bare name looked up on
 * PATH) when given, otherwise `nsys` on PATH, then the CUDA toolkit, Debian's and the NVIDIA
 * installer's folders. Returns null when none is found; a configured path that does not exist
 * or is relative (see {@link executablePathProblem}) gives null too.
 */
export function findNsys(configured?: string): string | null {
  const c = configured?.trim();
  if (c) {
    if (executablePathProblem('gpuLens.nsysPath', c)) return null;
    if (path.isAbsolute(c)) return isExecutable(c) ? c : null;
    return onPath(c);
  }
  return (
    onPath(EXE) ??
    STANDARD_DIRS.map((d) => path.join(d, EXE)).find(isExecutable) ??
    fromNvidiaInstallDir()
  );
}

interface RunResult {
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], signal?: AbortSignal): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { signal, maxBuffer: 16 * 1024 * 1024, windowsHide: true },
      (err, stdout, stderr) => {
        if (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') reject(new Error(NSYS_NOT_FOUND));
          else if (err.name === 'AbortError')
            reject(new Error(`${path.basename(file)} was cancelled`));
          else
            reject(
              new Error(
                `${path.basename(file)} ${args[0] ?? ''} failed: ${tail(stderr || stdout || err.message)}`,
              ),
            );
          return;
        }
        resolve({ stdout, stderr });
      },
    );
  });
}

function tail(text: string): string {
  const lines = text.trim().split(/\r?\n/).filter(Boolean);
  return lines.slice(-5).join(' | ');
}

/** The version `nsys --version` prints, e.g. "2022.4.2.1" from "NVIDIA Nsight Systems version 2022.4.2.1-df9881f". */
export async function nsysVersion(nsysPath: string): Promise<string> {
  const { stdout, stderr } = await run(nsysPath, ['--version']);
  const text = `${stdout}\n${stderr}`;
  const m = /version\s+(\d+(?:\.\d+)+)/i.exec(text) ?? /(\d{4}\.\d+(?:\.\d+)*)/.exec(text);
  if (!m) throw new Error(`could not read the nsys version from: ${tail(text)}`);
  return m[1];
}

/**
 * Exports `repPath` (.nsys-rep / .qdrep) to `<outDir>/<name>.sqlite` with
 * `nsys export --type sqlite` and returns that path. `outDir` is created when missing and must not
 * be the report's own folder. Callers that only read the export use `withNsysExport` instead.
 */
export async function exportNsysRep(
  repPath: string,
  outDir: string,
  opts: { nsysPath?: string; signal?: AbortSignal } = {},
): Promise<string> {
  const rep = path.resolve(repPath);
  if (!fs.existsSync(rep)) throw new Error(`no such report: ${rep}`);
  const dir = path.resolve(outDir);
  if (dir === path.dirname(rep)) {
    throw new Error(`refusing to export next to the report itself (${dir}); use a cache folder`);
  }
  const refused = executablePathProblem('gpuLens.nsysPath', opts.nsysPath ?? '');
  if (refused) throw new Error(refused);
  const nsys = findNsys(opts.nsysPath);
  if (!nsys) throw new Error(NSYS_NOT_FOUND);
  fs.mkdirSync(dir, { recursive: true });
  const name = path.basename(rep).replace(/\.(nsys-rep|qdrep)$/i, '');
  const out = path.join(dir, `${name}.sqlite`);
  const args = ['export', '--type', 'sqlite', '--force-overwrite', 'true', '--output', out, rep];
  await run(nsys, args, opts.signal);
  if (!fs.existsSync(out)) throw new Error(`nsys export reported success but wrote no ${out}`);
  return out;
}

/**
 * Exports `repPath` into a fresh private folder of the temp folder, hands the SQLite file's path to
 * `use`, and removes the folder once `use` settles, the export fails, or `signal` cancels it. The
 * export holds the profiled process's whole environment (TARGET_INFO_SYSTEM_ENV), so the folder
 * is `mkdtemp`'s (unique, never pre-created by someone else, mode 0700) and the file is made 0600.
 * `use` must be done with the file when it returns (or its promise settles).
 */
export async function withNsysExport<T>(
  repPath: string,
  opts: { nsysPath?: string; signal?: AbortSignal },
  use: (sqlitePath: string) => T | Promise<T>,
): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-lens-export-'));
  try {
    const sqlite = await exportNsysRep(repPath, dir, opts);
    fs.chmodSync(sqlite, 0o600); // nsys creates it under the umask (0644 mostly)
    return await use(sqlite);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
