/**
 * Runs one capture step as a child process: an argument array (never a shell), its own process
 * group, output streamed to the task terminal, and a cancel that ends every process the step
 * started, including those that left its group and tree (profilers launch their target in a new
 * session; a daemon forks twice and is re-parented). The step ends when its own process exits,
 * not when the last holder of its output pipes (such a daemon) lets go of them.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';

export interface Step {
  /** Executable (absolute path or a name looked up on PATH). */
  file: string;
  args: string[];
  cwd: string;
  env?: NodeJS.ProcessEnv;
}

export interface StepResult {
  /** Exit code; null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Last lines of output, for error messages. */
  tail: string;
}

/** Pids of every live descendant of `root` (Linux /proc; empty elsewhere). */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return [];
  }
  for (const e of entries) {
    try {
      // Field 4 of /proc/<pid>/stat is the parent pid; the command name (field 2) may hold spaces.
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(e));
      children.set(ppid, list);
    } catch {
      // The process ended while we looked.
    }
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const c of children.get(queue.shift()!) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

/** Environment variable that marks every process a step started (value: one id per step). */
export const STEP_ENV = 'GPU_LENS_STEP';

/**
 * Pids of the processes whose environment holds `STEP_ENV=id`: what a step started and still
 * runs, wherever it was re-parented. The environment is inherited through fork and exec unless a
 * program clears it on purpose. Linux /proc, own processes only (others' are unreadable); empty
 * elsewhere.
 */
export function stepProcesses(id: string): number[] {
  const entry = Buffer.from(`${STEP_ENV}=${id}\0`);
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const e of entries) {
    try {
      const env = fs.readFileSync(`/proc/${e}/environ`);
      const at = env.indexOf(entry);
      // A whole NUL-separated entry, not the tail of another variable's value.
      if ((at === 0 || (at > 0 && env[at - 1] === 0)) && isAlive(Number(e))) out.push(Number(e));
    } catch {
      // Ended while we looked, or not ours.
    }
  }
  return out;
}

/** True while `pid` runs (a zombie, dead but not yet reaped, counts as ended). */
export function isAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function signalTree(pid: number, sig: NodeJS.Signals, extra: number[]): void {
  const targets = [...new Set([...descendants(pid), ...extra])];
  try {
    process.kill(-pid, sig); // the group the step started in
  } catch {
    // Already gone.
  }
  for (const p of targets) {
    try {
      process.kill(p, sig);
    } catch {
      // Already gone.
    }
  }
}

/** Quotes an argument for display only (nothing is ever run through a shell). */
export function displayArg(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/** The command line of a step, for the terminal and the history. */
export function displayCommand(step: Step): string {
  return [step.file, ...step.args].map(displayArg).join(' ');
}

/** How long output is still read after the step's own process exited (its last lines). */
const DRAIN_MS = 300;

/**
 * Runs `step`, writing its output through `write`. The promise settles once the step's own
 * process exited and its output drained (`DRAIN_MS` at most: a process it left running may hold
 * the pipes for as long as it lives; the terminal is told its pids). When `signal` aborts, the
 * step's group, its descendants and every process carrying its `STEP_ENV` mark get SIGTERM, then
 * SIGKILL after `graceMs`; the promise then also waits (bounded) until none of them is left.
 */
export function runStep(
  step: Step,
  write: (text: string) => void,
  signal: AbortSignal,
  graceMs = 3_000,
): Promise<StepResult> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      resolve({ code: null, signal: 'SIGTERM', tail: '' });
      return;
    }
    const id = randomUUID();
    const child = spawn(step.file, step.args, {
      cwd: step.cwd,
      env: { ...(step.env ?? process.env), [STEP_ENV]: id },
      detached: true, // own process group, so a cancel reaches everything it started
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
    });
    let tail = '';
    const onData = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      tail = (tail + text).slice(-4_000);
      write(text);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const related = (pid: number) => [...new Set([...descendants(pid), ...stepProcesses(id)])];
    let seen: number[] = [];
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      if (child.pid === undefined) return;
      seen = related(child.pid);
      signalTree(child.pid, 'SIGTERM', seen);
      killTimer = setTimeout(() => signalTree(child.pid!, 'SIGKILL', related(child.pid!)), graceMs);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err: NodeJS.ErrnoException) => {
      signal.removeEventListener('abort', onAbort);
      reject(err.code === 'ENOENT' ? new Error(`${step.file} was not found`) : err);
    });
    // 'exit', not 'close': 'close' waits for every process holding the output pipes.
    child.on('exit', (code, sig) => {
      const closed = new Promise<void>((r) => child.once('close', () => r()));
      const drained = new Promise<void>((r) => setTimeout(r, DRAIN_MS));
      void Promise.race([closed, drained]).then(() => {
        // Whatever still holds the pipes writes into nothing from now on.
        child.stdout.destroy();
        child.stderr.destroy();
        const finish = () => {
          signal.removeEventListener('abort', onAbort); // a Cancel while draining still counts
          if (killTimer) clearTimeout(killTimer);
          resolve({ code, signal: sig, tail });
        };
        if (!signal.aborted) {
          const left = stepProcesses(id);
          if (left.length > 0)
            write(
              `\n[GPU Lens] the step's process exited; ${left.length} process(es) it started still ` +
                `run (pid ${left.join(', ')}); their output is no longer shown.\n`,
            );
          return finish();
        }
        // Wait (bounded) for what outlives the step's own process after a cancel.
        const deadline = Date.now() + graceMs + 2_000;
        const check = () => {
          const alive = [...new Set([...seen, ...stepProcesses(id)])].filter(isAlive);
          if (alive.length === 0 || Date.now() > deadline) finish();
          else {
            for (const p of alive) signalTree(p, 'SIGKILL', []);
            setTimeout(check, 100);
          }
        };
        check();
      });
    });
  });
}
