/**
 * Runs one capture step as a child process: an argument array (never a shell), its own process
 * group, output streamed to the task terminal, and a cancel that ends the whole process tree,
 * including descendants that left the group (profilers launch their target in a new session).
 */
import { spawn } from 'node:child_process';
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

/**
 * Runs `step`, writing its output through `write`. When `signal` aborts, the process tree gets
 * SIGTERM, then SIGKILL after `graceMs`; the promise settles once the step's own process exited
 * and no descendant seen at cancel time is left.
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
    const child = spawn(step.file, step.args, {
      cwd: step.cwd,
      env: step.env ?? process.env,
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
    let seen: number[] = [];
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      if (child.pid === undefined) return;
      seen = descendants(child.pid);
      signalTree(child.pid, 'SIGTERM', seen);
      killTimer = setTimeout(() => signalTree(child.pid!, 'SIGKILL', seen), graceMs);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err: NodeJS.ErrnoException) => {
      signal.removeEventListener('abort', onAbort);
      reject(err.code === 'ENOENT' ? new Error(`${step.file} was not found`) : err);
    });
    child.on('close', (code, sig) => {
      signal.removeEventListener('abort', onAbort);
      const finish = () => {
        if (killTimer) clearTimeout(killTimer);
        resolve({ code, signal: sig, tail });
      };
      if (!signal.aborted) return finish();
      // Wait (bounded) for descendants that outlive the step's own process after a cancel.
      const deadline = Date.now() + graceMs + 2_000;
      const check = () => {
        const alive = seen.filter(isAlive);
        if (alive.length === 0 || Date.now() > deadline) finish();
        else {
          for (const p of alive) signalTree(p, 'SIGKILL', []);
          setTimeout(check, 100);
        }
      };
      check();
    });
  });
}
