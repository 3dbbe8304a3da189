/**
 * Opens any trace GPU Lens reads: an nsys SQLite export, an `.nsys-rep` (exported first with the
 * installed nsys), a Kineto JSON (plain or gzipped), a GPU Lens summary of one of these
 * (ingest/summary-file.ts), or a folder of per-rank traces or summaries (ingest/ranks.ts).
 * The format is decided by content where the name is not enough.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { putOpsInDeviceOrder } from './model-op-order';
import type { Profile } from './model';
import { EventBudget } from './ingest/event-budget';
import { withNsysExport } from './ingest/nsys-export';
import { readNsysSqlite } from './ingest/nsys-sqlite';
import { readKineto } from './ingest/kineto';
import { readRankFolder } from './ingest/ranks';
import { isSummaryHead, readSummaryFile } from './ingest/summary-file-read';

export interface LoadOptions {
  nsysPath?: string;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  /** Most events (trace events, nsys activity rows) read (default `DEFAULT_MAX_EVENTS`). */
  maxEvents?: number;
}

export type TraceKind = 'nsys-rep' | 'nsys-sqlite' | 'kineto-json' | 'rank-folder' | 'summary';

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

/** Decides what a path holds, reading at most its first 16 bytes. */
export function detectTraceKind(p: string): TraceKind {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch {
    throw new Error(`cannot open ${p}: no such file or folder`);
  }
  if (st.isDirectory()) return 'rank-folder';
  if (p.endsWith('.nsys-rep') || p.endsWith('.qdrep')) return 'nsys-rep';
  if (st.size === 0) throw new Error(`${path.basename(p)} is empty`);
  const head = Buffer.alloc(16);
  const fd = fs.openSync(p, 'r');
  try {
    fs.readSync(fd, head, 0, 16, 0);
  } finally {
    fs.closeSync(fd);
  }
  if (head.equals(SQLITE_MAGIC)) return 'nsys-sqlite';
  if (isSummaryHead(head)) return 'summary';
  if (head[0] === 0x1f && head[1] === 0x8b) return 'kineto-json';
  const first = head.toString('latin1').trimStart()[0];
  if (first === '{' || first === '[') return 'kineto-json';
  throw new Error(
    `${path.basename(p)} is not a trace GPU Lens reads (expected an nsys SQLite export, .nsys-rep, torch.profiler JSON, or a gpu-lens summary)`,
  );
}

/**
 * Reads the trace at `p` into a Profile. An `.nsys-rep` is exported to a private temp folder that
 * is removed as soon as the export is read (the reader is eager: the Profile holds no reference to
 * the file), so no copy of the profiled process's environment stays on disk. Past `maxEvents`
 * it throws an `EventBudgetError` (ingest/event-budget.ts) before memory grows further. The GPU
 * ops come back in device order (model-op-order.ts).
 */
export async function loadTrace(p: string, options: LoadOptions = {}): Promise<Profile> {
  const profile = await read(p, options);
  putOpsInDeviceOrder(profile.gpuOps);
  return profile;
}

async function read(p: string, options: LoadOptions): Promise<Profile> {
  const budget = new EventBudget(options.maxEvents);
  switch (detectTraceKind(p)) {
    case 'rank-folder':
      return readRankFolder(p, {
        signal: options.signal,
        onProgress: options.onProgress,
        budget,
        nsysPath: options.nsysPath,
      });
    case 'nsys-rep':
      return withNsysExport(p, { nsysPath: options.nsysPath, signal: options.signal }, (sqlite) => {
        const profile = readNsysSqlite(sqlite, { budget });
        profile.source.path = p;
        return profile;
      });
    case 'nsys-sqlite':
      return readNsysSqlite(p, { budget });
    case 'kineto-json':
      return readKineto(p, { signal: options.signal, onProgress: options.onProgress, budget });
    case 'summary': {
      // The Report names the summary opened; format and producer stay the trace's.
      const { profile } = await readSummaryFile(p, { budget });
      profile.source.path = p;
      return profile;
    }
  }
}
