/**
 * The `gpuLens` task type: what a capture task in tasks.json (or a provided one) holds, checked
 * before anything runs so a typo gives a clear message instead of a half-started profiler.
 */
import * as path from 'node:path';
import type * as vscode from 'vscode';
import { launcherProblems, type Launcher } from './launcher-command';

/** Task type id, as declared in package.json `taskDefinitions`. */
export const TASK_TYPE = 'gpuLens';

/** torch.profiler schedule and options (see python/gpu_lens_torch_launcher.py). */
export interface TorchOptions {
  wait?: number;
  warmup?: number;
  active?: number;
  recordShapes?: boolean;
  profileMemory?: boolean;
  withStack?: boolean;
  /** Per-line attribution through the launcher's line tracer (on by default). */
  exactLines?: boolean;
}

/** A `gpuLens` task definition as written in tasks.json. */
export interface GpuLensTaskDefinition extends vscode.TaskDefinition {
  type: typeof TASK_TYPE;
  tool: 'nsys' | 'torch';
  /** Python script to profile (absolute, or relative to the workspace folder). Exclusive with `module`. */
  program?: string;
  /** Python module to run as `python -m module`. Exclusive with `program`. */
  module?: string;
  args?: string[];
  /** Working directory (relative to the workspace folder); default: the script's folder, or the workspace folder. */
  cwd?: string;
  env?: Record<string, string>;
  /** Interpreter; default: the Python extension's, else gpuLens.pythonPath, else python3. */
  python?: string;
  /** Extra `nsys profile` flags; a flag given here replaces the default of the same name. */
  nsysArgs?: string[];
  torch?: TorchOptions;
  /** Trace path without extension, relative to the workspace folder; default: a new folder in the capture directory. */
  output?: string;
  /** Start the ranks of a distributed job with this launcher, the profiler inside it (one trace per rank). */
  launcher?: Launcher;
  /** Processes to start (srun -n, torchrun --nproc-per-node, mpirun -np). */
  ranks?: number;
  /** Nodes (srun -N, torchrun --nnodes). */
  nodes?: number;
  /** Slurm partition (srun -p). */
  partition?: string;
  /** Further launcher arguments, before the per-rank command. */
  launcherArgs?: string[];
}

/** Checks a definition's shape; returns the problems found (empty when it can run). */
export function validateDefinition(d: Partial<GpuLensTaskDefinition>): string[] {
  const errors: string[] = [];
  if (d.tool !== 'nsys' && d.tool !== 'torch') errors.push('"tool" must be "nsys" or "torch"');
  if (!d.program && !d.module) errors.push('give "program" (a script) or "module"');
  if (d.program && d.module) errors.push('give either "program" or "module", not both');
  const strings = (v: unknown): boolean =>
    Array.isArray(v) && v.every((x) => typeof x === 'string');
  if (d.args !== undefined && !strings(d.args)) errors.push('"args" must be an array of strings');
  if (d.nsysArgs !== undefined && !strings(d.nsysArgs))
    errors.push('"nsysArgs" must be an array of strings');
  if (
    d.env !== undefined &&
    (typeof d.env !== 'object' || Object.values(d.env).some((v) => typeof v !== 'string'))
  ) {
    errors.push('"env" must map names to strings');
  }
  const t = d.torch;
  if (t !== undefined) {
    for (const k of ['wait', 'warmup', 'active'] as const) {
      const v = t[k];
      if (v !== undefined && (!Number.isInteger(v) || v < 0))
        errors.push(`"torch.${k}" must be a whole number ≥ 0`);
    }
    if (t.active === 0) errors.push('"torch.active" must be at least 1');
  }
  errors.push(...launcherProblems(d));
  return errors;
}

/** What a capture runs, for labels, history and the hover's "Capture:" line. */
export function describeTarget(d: GpuLensTaskDefinition): string {
  const target = d.module ? `-m ${d.module}` : path.basename(d.program ?? '');
  return [target, ...(d.args ?? [])].join(' ');
}

/** The task label shown in Run Task. */
export function taskLabel(d: GpuLensTaskDefinition): string {
  const tool = d.tool === 'nsys' ? 'Nsight Systems' : 'torch.profiler';
  return `Profile ${describeTarget(d)} with ${tool}`;
}

/** A file-system-safe, sortable folder name for one capture: `20250101-120000-train-nsys`. */
export function captureFolderName(d: GpuLensTaskDefinition, now: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const stamp =
    `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}-` +
    `${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
  const base = (d.module ?? path.basename(d.program ?? 'capture', '.py')).replace(/[^\w.-]+/g, '_');
  return `${stamp}-${base}-${d.tool}`;
}
