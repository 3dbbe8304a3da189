/**
 * The steps of one capture, per tool. nsys: `nsys profile` (flags the installed version lacks are
 * dropped), then `QdstrmImporter` when nsys could not import its own raw stream (Debian's
 * packaging), then `nsys export --type sqlite`. torch.profiler: the launcher shipped in the
 * extension runs the user's script unchanged. Each step is an argument array, never a shell.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { executablePathProblem } from '../../core/executable-path';
import { findNsys, NSYS_NOT_FOUND } from '../../core/ingest/nsys-export';
import type { GpuLensTaskDefinition } from './definition';
import { launcherCommand, rankOutputBase } from './launcher-command';
import type { Step, StepResult } from './process';

/** Everything a capture needs, resolved before the first step runs. */
export interface CaptureInput {
  def: GpuLensTaskDefinition;
  python: string;
  /** Absolute path of the script (undefined for a module). */
  program?: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Folder for this capture's files (created by the caller). */
  outDir: string;
  /** Output path without extension (from `def.output`, or `<outDir>/trace`). */
  outBase: string;
  /** gpuLens.nsysPath (empty: PATH and the usual install folders). */
  nsysPath: string;
  /** The workspace folder: the launcher records exact lines of files inside it. */
  workspaceFolder: string;
  /** Absolute path of python/gpu_lens_torch_launcher.py in the installed extension. */
  launcher: string;
}

/** The output base: per rank (with a rank placeholder) under a launcher, else `outBase`. */
function outputBase(input: CaptureInput): string {
  const d = input.def;
  if (!d.launcher) return input.outBase;
  return rankOutputBase(d, input.outDir, d.output !== undefined ? input.outBase : undefined);
}

/** The step that runs `inner` (program first): as is, or once per rank under the task's launcher. */
function launchStep(input: CaptureInput, inner: string[]): Step {
  const [file, args] = input.def.launcher
    ? launcherCommand(input.def, inner)
    : [inner[0], inner.slice(1)];
  return { file, args, cwd: input.cwd, env: input.env };
}

/** Files of `dir` ending in `ext`; with a launcher, at least one (and `ranks` when given). */
function rankFiles(input: CaptureInput, ext: string, what: string): string[] {
  const found = fs.readdirSync(input.outDir).filter((n) => n.endsWith(ext));
  const want = input.def.ranks ?? 1;
  if (found.length < want)
    throw new Error(
      `the job finished but ${what} wrote ${found.length} of ${want} per-rank ${ext} files in ${input.outDir}`,
    );
  return found.map((n) => path.join(input.outDir, n));
}

/** Runs one step and fails with a clear message when it does not exit 0. */
export type StepRunner = (step: Step, what: string) => Promise<StepResult>;

/** The Python command of the user's program: `python script.py args` or `python -m mod args`. */
function pythonTarget(input: CaptureInput): string[] {
  const d = input.def;
  const target = d.module ? ['-m', d.module] : [input.program ?? ''];
  return [...target, ...(d.args ?? [])];
}

const SHORT_FLAGS: Record<string, string> = {
  t: 'trace',
  s: 'sample',
  o: 'output',
  f: 'force-overwrite',
};

/** `--trace=cuda` → `trace`; `-t` → `trace`; a value (not a flag) → undefined. */
function flagName(arg: string): string | undefined {
  const long = /^--([a-z][\w-]*)/.exec(arg);
  if (long) return long[1];
  const short = /^-([a-zA-Z])$/.exec(arg);
  return short ? (SHORT_FLAGS[short[1]] ?? short[1]) : undefined;
}

const helpCache = new Map<string, Promise<Set<string>>>();

/** Long flags `nsys profile --help` lists: the installed version's capabilities. */
export function nsysProfileFlags(nsys: string): Promise<Set<string>> {
  let p = helpCache.get(nsys);
  if (!p) {
    p = new Promise((resolve) => {
      execFile(
        nsys,
        ['profile', '--help'],
        { maxBuffer: 8 * 1024 * 1024 },
        (_err, stdout, stderr) => {
          resolve(
            new Set([...`${stdout}\n${stderr}`.matchAll(/--([a-z][a-z0-9-]+)/g)].map((m) => m[1])),
          );
        },
      );
    });
    helpCache.set(nsys, p);
  }
  return p;
}

/** The value of `--sample`/`-s` among the user's flags, if given. */
function userSampleValue(userArgs: readonly string[]): string | undefined {
  for (let i = 0; i < userArgs.length; i++) {
    if (flagName(userArgs[i]) !== 'sample') continue;
    const eq = userArgs[i].indexOf('=');
    return eq >= 0 ? userArgs[i].slice(eq + 1) : userArgs[i + 1];
  }
  return undefined;
}

/**
 * `nsys profile` flags: sensible defaults the version supports, replaced by any flag of the same
 * name in the task's `nsysArgs`. The CUDA and Python backtraces that put kernels on source lines
 * (`--cudabacktrace=all`; `--python-backtrace=cuda`, which 2022.4 lacks) need CPU sampling, and CPU
 * sampling hangs nsys 2022.4 in VMs (5 of 8 captures of a short script here never finished), so it
 * is off by default (`--sample=none`) and so are the backtraces: nsys would only warn that it
 * collects none. `nsysArgs: ["--sample=process-tree"]` turns sampling on and adds the backtraces.
 * `--cpuctxsw=none`: thread switches are not used. `--wait=primary`: the capture ends when the
 * program exits, not when a daemon it started does (nsys's default `all` waits for re-parented
 * processes); `nsysArgs: ["--wait=all"]` to wait.
 */
export function nsysProfileArgs(
  supported: Set<string>,
  userArgs: readonly string[],
  outBase: string,
): string[] {
  const sampling = (userSampleValue(userArgs) ?? 'none') !== 'none';
  const backtraces: [string, string][] = sampling
    ? [
        ['cudabacktrace', '--cudabacktrace=all'],
        ['python-backtrace', '--python-backtrace=cuda'],
      ]
    : [];
  const defaults: [string, string][] = [
    ['trace', '--trace=cuda,nvtx,osrt'],
    ['sample', '--sample=none'],
    ['cpuctxsw', '--cpuctxsw=none'],
    ...backtraces,
    ['wait', '--wait=primary'],
    ['force-overwrite', '--force-overwrite=true'],
    ['output', `--output=${outBase}`],
  ];
  const given = new Set(userArgs.map(flagName).filter((n): n is string => n !== undefined));
  const kept = defaults
    .filter(([name]) => supported.has(name) && !given.has(name))
    .map(([, a]) => a);
  return [...kept, ...userArgs];
}

/** The importer that ships beside nsys (`<root>/bin/nsys` → `<root>/host-linux-x64/QdstrmImporter`). */
export function findQdstrmImporter(nsys: string): string | null {
  let real = nsys;
  try {
    real = fs.realpathSync(nsys);
  } catch {
    // Keep the path as given.
  }
  const root = path.dirname(path.dirname(real));
  const candidates = [
    path.join(root, 'host-linux-x64', 'QdstrmImporter'),
    path.join(path.dirname(real), 'QdstrmImporter'),
    '/usr/lib/nsight-systems/host-linux-x64/QdstrmImporter',
  ];
  return candidates.find((c) => fs.existsSync(c)) ?? null;
}

/** Runs an nsys capture; returns the SQLite export's path. */
export async function captureNsys(
  input: CaptureInput,
  run: StepRunner,
  write: (s: string) => void,
): Promise<string> {
  const refused = executablePathProblem('gpuLens.nsysPath', input.nsysPath);
  if (refused) throw new Error(refused);
  const nsys = findNsys(input.nsysPath);
  if (!nsys) {
    throw new Error(
      input.nsysPath
        ? `Nsight Systems was not found at gpuLens.nsysPath "${input.nsysPath}". Fix the setting, or clear it to use nsys from PATH; install Nsight Systems from https://developer.nvidia.com/nsight-systems (Debian: apt-get install nsight-systems from non-free).`
        : `${NSYS_NOT_FOUND}. Get it from https://developer.nvidia.com/nsight-systems.`,
    );
  }
  const supported = await nsysProfileFlags(nsys);
  const base = outputBase(input);
  const flags = nsysProfileArgs(supported, input.def.nsysArgs ?? [], base);
  if (flags.includes('--sample=none')) {
    write(
      'GPU Lens: CPU sampling is off (it hangs nsys in some VMs), so this capture has no CUDA or ' +
        'Python backtraces and GPU time reaches source lines through NVTX ranges only. ' +
        'To collect them, add "nsysArgs": ["--sample=process-tree"] to the task.\r\n',
    );
  }
  const profile = launchStep(input, [
    nsys,
    'profile',
    ...flags,
    input.python,
    ...pythonTarget(input),
  ]);
  await run(profile, 'the profiled program (under nsys profile)');
  if (input.def.launcher) return finishRanks(input, nsys, run, write);
  const rep = `${input.outBase}.nsys-rep`;
  const qdstrm = `${input.outBase}.qdstrm`;
  if (!fs.existsSync(rep) && fs.existsSync(qdstrm)) {
    const importer = findQdstrmImporter(nsys);
    if (!importer)
      throw new Error(`nsys left ${qdstrm} and no QdstrmImporter was found beside ${nsys}`);
    write(`\r\nnsys could not import its raw stream itself: running ${importer}\r\n`);
    await run(
      { file: importer, args: ['-i', qdstrm], cwd: input.outDir, env: input.env },
      'QdstrmImporter',
    );
    // The raw stream is large and fully contained in the report now.
    if (fs.existsSync(rep)) fs.rmSync(qdstrm, { force: true });
  }
  if (!fs.existsSync(rep)) throw new Error(`nsys profile finished but wrote no ${rep}`);
  return exportSqlite(run, nsys, rep, input);
}

/** Exports one `.nsys-rep` to the `.sqlite` beside it (what GPU Lens reads); returns its path. */
async function exportSqlite(
  run: StepRunner,
  nsys: string,
  rep: string,
  input: CaptureInput,
): Promise<string> {
  const sqlite = rep.replace(/\.nsys-rep$/, '') + '.sqlite';
  await run(
    {
      file: nsys,
      args: ['export', '--type', 'sqlite', '--force-overwrite', 'true', '--output', sqlite, rep],
      cwd: input.outDir,
      env: input.env,
    },
    'nsys export',
  );
  if (!fs.existsSync(sqlite)) throw new Error(`nsys export finished but wrote no ${sqlite}`);
  return sqlite;
}

/**
 * After a launcher job: imports every rank's raw stream when nsys could not (Debian's packaging),
 * exports each report, and returns the capture folder (it loads as one multi-rank trace).
 */
async function finishRanks(
  input: CaptureInput,
  nsys: string,
  run: StepRunner,
  write: (s: string) => void,
): Promise<string> {
  for (const qdstrm of fs.readdirSync(input.outDir).filter((n) => n.endsWith('.qdstrm'))) {
    const raw = path.join(input.outDir, qdstrm);
    if (fs.existsSync(raw.replace(/\.qdstrm$/, '.nsys-rep'))) continue;
    const importer = findQdstrmImporter(nsys);
    if (!importer)
      throw new Error(`nsys left ${raw} and no QdstrmImporter was found beside ${nsys}`);
    write(`\r\nnsys could not import ${qdstrm} itself: running ${importer}\r\n`);
    await run(
      { file: importer, args: ['-i', raw], cwd: input.outDir, env: input.env },
      'QdstrmImporter',
    );
    if (fs.existsSync(raw.replace(/\.qdstrm$/, '.nsys-rep'))) fs.rmSync(raw, { force: true });
  }
  for (const rep of rankFiles(input, '.nsys-rep', 'nsys'))
    await exportSqlite(run, nsys, rep, input);
  return input.outDir;
}

/** Runs a torch.profiler capture through the shipped launcher; returns the trace's path. */
export async function captureTorch(input: CaptureInput, run: StepRunner): Promise<string> {
  if (!fs.existsSync(input.launcher))
    throw new Error(
      `the torch.profiler launcher is missing from the extension (${input.launcher})`,
    );
  const t = input.def.torch ?? {};
  const d = input.def;
  const trace = `${outputBase(input)}.pt.trace.json`;
  const opts: string[] = ['--out', trace];
  if (t.wait !== undefined) opts.push('--wait', String(t.wait));
  if (t.warmup !== undefined) opts.push('--warmup', String(t.warmup));
  if (t.active !== undefined) opts.push('--active', String(t.active));
  if (t.recordShapes) opts.push('--record-shapes');
  if (t.profileMemory) opts.push('--profile-memory');
  // Stacks and exact lines are on unless the task turns them off.
  if (t.withStack !== false) opts.push('--with-stack');
  if (t.exactLines !== false) opts.push('--exact-lines', '--workspace', input.workspaceFolder);
  // The launcher takes `--module M ARGS…` or `SCRIPT ARGS…` (argparse REMAINDER: no `--`).
  const target = d.module
    ? ['--module', d.module, ...(d.args ?? [])]
    : [input.program ?? '', ...(d.args ?? [])];
  const step = launchStep(input, [input.python, input.launcher, ...opts, ...target]);
  await run(step, 'the profiled program (under torch.profiler)');
  if (d.launcher) {
    rankFiles(input, '.pt.trace.json', 'torch.profiler');
    return input.outDir;
  }
  if (!fs.existsSync(trace))
    throw new Error(`the program finished but torch.profiler wrote no ${trace}`);
  return trace;
}
