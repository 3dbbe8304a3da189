/**
 * Captures of distributed jobs: the `gpuLens` task's `launcher` (srun, torchrun, mpirun) starts the
 * ranks, and the profiler runs *inside* it, once per rank, writing one trace per rank with the
 * rank in its name (`rank%q{SLURM_PROCID}.nsys-rep`, `rank{rank}.pt.trace.json`), so the capture
 * folder loads as one multi-rank trace. The classic mistakes are refused before anything runs.
 */
import * as path from 'node:path';
import type { GpuLensTaskDefinition } from './definition';

export type Launcher = 'srun' | 'torchrun' | 'mpirun';

/** The environment variable that holds the global rank under each launcher. */
export const RANK_VARIABLE: Readonly<Record<Launcher, string>> = {
  srun: 'SLURM_PROCID',
  torchrun: 'RANK',
  mpirun: 'OMPI_COMM_WORLD_RANK',
};

/** Placeholders that put a rank into an output name: nsys `%q{VAR}`, the torch launcher's `{rank}`. */
const RANK_PLACEHOLDER = {
  nsys: /%q\{(SLURM_PROCID|SLURM_LOCALID|RANK|OMPI_COMM_WORLD_RANK|PMI_RANK|PMIX_RANK)\}/,
  torch: /\{rank\}/,
};

/**
 * Launcher arguments that give some ranks a command of their own, so only the others run under
 * the profiler: MPMD app contexts and Slurm heterogeneous jobs (`:`), srun `--multi-prog`,
 * mpirun `--app` / `-configfile` files.
 */
const PER_RANK_COMMANDS = /^(:|--multi-prog|-?-app|-?-configfile)(=|$)/;
/**
 * A reference to a rank variable (`$SLURM_PROCID`, `${RANK}` …): a per-rank condition (`bash -c
 * 'if [ $RANK = 0 ]; then exec "$@"; …'`) around the profiler. srun's `%t` is a file name pattern.
 */
const RANK_REFERENCE =
  /\$\{?(SLURM_PROCID|SLURM_LOCALID|SLURM_NODEID|RANK|LOCAL_RANK|GROUP_RANK|NODE_RANK|OMPI_COMM_WORLD_RANK|OMPI_COMM_WORLD_LOCAL_RANK|PMI_RANK|PMIX_RANK)\b/;

/** Programs that start ranks themselves: profiled from outside, all ranks end in one report. */
const LAUNCHER_PROGRAM = /(^|[\\/])(torchrun|srun|mpirun|mpiexec)$/;
const LAUNCHER_MODULE = /^torch\.distributed\.(run|launch)$/;

/**
 * Problems with a distributed task, each a one-line message (empty when it can run): nsys around a
 * launcher (every rank in one report), an output template without a rank (the ranks overwrite one
 * file), nsys `--output` given in `nsysArgs` without a rank, a subset of the ranks profiled (the
 * profiled ranks run slower, the others wait for them in every collective and can time out in
 * NCCL), bad launcher options.
 */
export function launcherProblems(d: Partial<GpuLensTaskDefinition>): string[] {
  const errors: string[] = [];
  const wrapsLauncher =
    (d.program !== undefined && LAUNCHER_PROGRAM.test(d.program)) ||
    (d.module !== undefined && LAUNCHER_MODULE.test(d.module));
  if (wrapsLauncher)
    errors.push(
      `the profiler would run around ${d.program ?? `-m ${d.module ?? ''}`}, so every rank would ` +
        `land in one ${d.tool === 'nsys' ? 'report' : 'trace'}: set "launcher" (with "ranks") and ` +
        'give the training script as "program", so the profiler runs inside the launcher, once per rank',
    );
  if (d.launcher === undefined) return errors;
  if (!(d.launcher in RANK_VARIABLE)) {
    errors.push('"launcher" must be "srun", "torchrun" or "mpirun"');
    return errors;
  }
  for (const k of ['ranks', 'nodes'] as const) {
    const v = d[k];
    if (v !== undefined && (!Number.isInteger(v) || v < 1))
      errors.push(`"${k}" must be a whole number ≥ 1`);
  }
  if (d.ranks === undefined && d.launcher !== 'srun')
    errors.push(`"ranks" is needed with "launcher": "${d.launcher}" (processes to start)`);
  if (
    d.launcherArgs !== undefined &&
    !(Array.isArray(d.launcherArgs) && d.launcherArgs.every((a) => typeof a === 'string'))
  )
    errors.push('"launcherArgs" must be an array of strings');
  const subset = subsetOfRanks(d);
  if (subset !== undefined)
    errors.push(
      `${subset} would profile only some of the ranks: the others wait for the slower profiled ` +
        'ones in every collective and can time out in NCCL; GPU Lens profiles every rank, ' +
        'one trace each: remove it',
    );
  if (d.partition !== undefined && d.launcher !== 'srun')
    errors.push('"partition" is a Slurm option: it needs "launcher": "srun"');
  const placeholder = d.tool === 'nsys' ? `%q{${RANK_VARIABLE[d.launcher]}}` : '{rank}';
  if (
    d.output !== undefined &&
    !RANK_PLACEHOLDER[d.tool === 'nsys' ? 'nsys' : 'torch'].test(d.output)
  )
    errors.push(
      `"output" has no rank in it, so every rank would write the same file: put ${placeholder} ` +
        `into it (e.g. "captures/run1/rank${placeholder}")`,
    );
  const nsysOut = (d.nsysArgs ?? []).find((a) => /^(-o|--output)(=|$)/.test(a));
  if (nsysOut !== undefined)
    errors.push(
      '"nsysArgs" sets the output itself: with a launcher GPU Lens names one report per rank; ' +
        'use "output" (with the rank in it) instead',
    );
  return errors;
}

/** What in the task makes only some ranks run under the profiler, quoted, or undefined. */
function subsetOfRanks(d: Partial<GpuLensTaskDefinition>): string | undefined {
  const launcherArgs = Array.isArray(d.launcherArgs) ? d.launcherArgs : [];
  const perRank = launcherArgs.find((a) => typeof a === 'string' && PER_RANK_COMMANDS.test(a));
  if (perRank !== undefined) return `"launcherArgs" ${JSON.stringify(perRank)}`;
  const condition = launcherArgs.find((a) => typeof a === 'string' && RANK_REFERENCE.test(a));
  if (condition !== undefined)
    return `a per-rank condition in "launcherArgs" (${JSON.stringify(condition.slice(0, 80))})`;
  if (typeof d.python === 'string' && RANK_REFERENCE.test(d.python))
    return `a per-rank condition in "python" (${JSON.stringify(d.python.slice(0, 80))})`;
  return undefined;
}

/** The per-rank output base: `output` as given, else `<outDir>/rank<placeholder>`. */
export function rankOutputBase(d: GpuLensTaskDefinition, outDir: string, output?: string): string {
  if (output !== undefined) return output;
  const launcher = d.launcher as Launcher;
  const placeholder = d.tool === 'nsys' ? `%q{${RANK_VARIABLE[launcher]}}` : '{rank}';
  return path.join(outDir, `rank${placeholder}`);
}

/**
 * The launcher's command line around `inner` (the per-rank command, program first):
 * `srun -n N [-N nodes] [-p partition] ARGS… inner`, `torchrun --nproc-per-node N [--nnodes
 * nodes] ARGS… --no-python inner`, `mpirun -np N ARGS… inner`.
 */
export function launcherCommand(d: GpuLensTaskDefinition, inner: string[]): [string, string[]] {
  const extra = d.launcherArgs ?? [];
  const n = d.ranks !== undefined ? String(d.ranks) : undefined;
  switch (d.launcher as Launcher) {
    case 'srun':
      return [
        'srun',
        [
          ...(n ? ['-n', n] : []),
          ...(d.nodes !== undefined ? ['-N', String(d.nodes)] : []),
          ...(d.partition ? ['-p', d.partition] : []),
          ...extra,
          ...inner,
        ],
      ];
    case 'torchrun':
      return [
        'torchrun',
        [
          '--nproc-per-node',
          n ?? '1',
          ...(d.nodes !== undefined ? ['--nnodes', String(d.nodes)] : []),
          ...extra,
          // The per-rank command is a program (nsys, or the task's interpreter), not a script.
          '--no-python',
          ...inner,
        ],
      ];
    case 'mpirun':
      return ['mpirun', ['-np', n ?? '1', ...extra, ...inner]];
  }
}
