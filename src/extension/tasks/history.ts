/**
 * The capture history: `<capture directory>/history.json`, one entry per finished capture (newest
 * last), so the latest trace can be reloaded on the next start and the user sees what ran when.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const HISTORY_FILE = 'history.json';
/** Entries kept; older ones are dropped from the file (their traces stay on disk). */
const MAX_ENTRIES = 200;

export type CaptureStatus = 'succeeded' | 'failed' | 'cancelled';

export interface CaptureRecord {
  tool: 'nsys' | 'torch';
  /** The command line that ran, as shown to the user. */
  command: string;
  /** ISO 8601 start and end times. */
  startedAt: string;
  endedAt: string;
  /** Absolute path of the trace GPU Lens reads (null when the capture produced none). */
  tracePath: string | null;
  status: CaptureStatus;
  /** Why it failed or was cancelled. */
  message?: string;
}

/** The history in `dir` (empty when missing or unreadable: a broken file never blocks a capture). */
export function readHistory(dir: string): CaptureRecord[] {
  try {
    const data = JSON.parse(fs.readFileSync(path.join(dir, HISTORY_FILE), 'utf8')) as unknown;
    const list = (data as { captures?: unknown }).captures;
    return Array.isArray(list)
      ? (list as CaptureRecord[]).filter((r) => typeof r?.startedAt === 'string')
      : [];
  } catch {
    return [];
  }
}

/** Appends a record, writing through a temporary file so a crash never leaves half a file. */
export function appendHistory(dir: string, record: CaptureRecord): void {
  fs.mkdirSync(dir, { recursive: true });
  const captures = [...readHistory(dir), record].slice(-MAX_ENTRIES);
  const file = path.join(dir, HISTORY_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ captures }, null, 2) + '\n');
  fs.renameSync(tmp, file);
}

/** Whether `file` exists and lies inside `dir` once symlinks are resolved (a link cannot lead out). */
function existsInside(dir: string, file: string): boolean {
  try {
    const rel = path.relative(fs.realpathSync(dir), fs.realpathSync(file));
    return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
  } catch {
    return false;
  }
}

/**
 * The newest successful capture whose trace still exists inside `dir`, if any. The file may come
 * from the repository (a committed `.gpu-lens/history.json`): a trace path that leads elsewhere
 * is never offered for loading.
 */
export function latestCapture(dir: string): CaptureRecord | undefined {
  const all = readHistory(dir);
  for (let i = all.length - 1; i >= 0; i--) {
    const r = all[i];
    if (
      r.status === 'succeeded' &&
      typeof r.tracePath === 'string' &&
      existsInside(dir, r.tracePath)
    )
      return r;
  }
  return undefined;
}
