/**
 * Runs the built CLI (`dist/cli.js`) on one input with a wall-clock limit, and snapshots folders so
 * a test can show that reading traces changed nothing on disk.
 */
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../unit/fixtures';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
}

/** `node dist/cli.js …args` (an argument array: no shell), killed after `limitMs`. */
export function runCli(args: string[], limitMs: number): Promise<CliRun> {
  const cli = path.join(repoRoot, 'dist', 'cli.js');
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, limitMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({
        code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        ms: Date.now() - started,
        timedOut,
      });
    });
  });
}

/** Runs `fn` over `items` with at most `limit` at a time, keeping the order of results. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Every entry under `dir` (symlinks not followed) with its type, size, mtime and, for regular
 * files, a SHA-256 of the content. FIFOs and devices are listed, never opened.
 */
export function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const st = fs.lstatSync(p);
      let what = `${st.mode}:${st.size}:${st.mtimeMs}`;
      if (e.isFile())
        what += ':' + crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex');
      out.set(path.relative(dir, p), what);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

/** Differences between two snapshots, as readable lines (empty when nothing changed). */
export function snapshotDiff(before: Map<string, string>, after: Map<string, string>): string[] {
  const diff: string[] = [];
  for (const [p, v] of before) {
    if (!after.has(p)) diff.push(`removed: ${p}`);
    else if (after.get(p) !== v) diff.push(`changed: ${p}`);
  }
  for (const p of after.keys()) if (!before.has(p)) diff.push(`created: ${p}`);
  return diff;
}
