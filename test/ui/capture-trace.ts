/**
 * What the UI tests check a capture against: the newest successful capture in test/workspace's
 * history and the exact-line markers the torch.profiler launcher wrote into its trace.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Session } from './session';

interface HistoryEntry {
  tool: string;
  status: string;
  startedAt: string;
  tracePath: string | null;
}

/**
 * Waits (up to two minutes, a screenshot on timeout) for a torch capture started after `since`
 * (ms epoch) to succeed; returns its trace path.
 */
export function waitForTorchCapture(s: Session, folder: string, since: number): Promise<string> {
  return s.until(
    'the capture to finish',
    () => Promise.resolve(newestTorchCapture(folder, since)),
    120_000,
  );
}

/** The newest successful torch capture started after `since` (ms epoch), if any. */
function newestTorchCapture(folder: string, since: number): string | undefined {
  let captures: HistoryEntry[] = [];
  try {
    captures = (
      JSON.parse(fs.readFileSync(path.join(folder, '.gpu-lens', 'history.json'), 'utf8')) as {
        captures: HistoryEntry[];
      }
    ).captures;
  } catch {
    return undefined;
  }
  const hit = captures
    .filter(
      (c) =>
        c.tool === 'torch' &&
        c.status === 'succeeded' &&
        c.tracePath &&
        Date.parse(c.startedAt) >= since,
    )
    .pop();
  return hit?.tracePath ?? undefined;
}

/** Number of exact-line markers whose innermost frame is `file:line`, per line. */
export function markersPerLine(tracePath: string, file: string): Map<number, number> {
  const data = JSON.parse(fs.readFileSync(tracePath, 'utf8')) as
    { name?: string }[] | { traceEvents: { name?: string }[] };
  const events = Array.isArray(data) ? data : data.traceEvents;
  const out = new Map<number, number>();
  for (const e of events) {
    if (!e.name?.startsWith('gpulens/1|')) continue;
    const [rel, line] = e.name.split('|')[2].split(':');
    if (rel === file) out.set(Number(line), (out.get(Number(line)) ?? 0) + 1);
  }
  return out;
}

/** 1-based line of the first line of `file` containing `needle`. */
export function lineOf(file: string, needle: string): number {
  const i = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .findIndex((l) => l.includes(needle));
  if (i < 0) throw new Error(`${needle} not found in ${file}`);
  return i + 1;
}
