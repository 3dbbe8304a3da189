/**
 * One file of a rank folder: a Kineto trace (`.json`, `.json.gz`), an nsys SQLite export
 * (`.sqlite`), an nsys report (`.nsys-rep`, exported to a private temp folder first) or a GPU Lens
 * summary of one of these (`.gpulens`, written by `gpu-lens summarize`), read on
 * its own clock, with what the folder's merge needs: the trace's own rank and node, and for nsys
 * the session's start on the wall clock (its event times count from there).
 */
import * as path from 'node:path';
import { pushTo } from '../collections';
import type { Profile } from '../model';
import { EventBudget } from './event-budget';
import { readKinetoDetailed } from './kineto';
import { NsysDb } from './nsys-db';
import { withNsysExport } from './nsys-export';
import { readNsysSqlite } from './nsys-sqlite';
import { identityFromPath, type RankIdentity } from './rank-names';
import { SUMMARY_EXT } from './summary-file';
import { readSummaryFile } from './summary-file-read';

/** File names a rank folder reads. */
export const RANK_FILE = /\.(json|json\.gz|sqlite|nsys-rep|qdrep|gpulens)$/i;
/** The extensions of the traces a summary can be made from (stripped to name its summary). */
const TRACE_EXT = /\.(json|json\.gz|sqlite|nsys-rep|qdrep)$/i;

export interface RankFileRead {
  profile: Profile;
  /** `distributedInfo.rank` (Kineto), when the trace has it. */
  traceRank?: number;
  /** `host_name` written into the trace (Kineto), when it has one. */
  host?: string;
  /**
   * nsys: wall-clock ns of the session start (TARGET_INFO_SESSION_START_TIME.utcEpochNs), exact
   * (past 2^53, hence a bigint).
   */
  sessionStartNs?: bigint;
  /** Kineto: the µs base subtracted from epoch-scale timestamps (shared by the folder's files). */
  baseUs?: number;
  /** Summaries: the file name of the trace it was made from (its rank when the summary's has none). */
  traceName?: string;
}

export interface RankFileOptions {
  budget: EventBudget;
  signal?: AbortSignal;
  nsysPath?: string;
  /** Kineto: the base of the files read before (epoch clocks of one job stay comparable). */
  baseUs?: number;
  onProgress?: (bytesRead: number) => void;
}

/** Reads one rank file by its extension. */
export async function readRankFile(file: string, options: RankFileOptions): Promise<RankFileRead> {
  if (/\.(nsys-rep|qdrep)$/i.test(file))
    return withNsysExport(file, { nsysPath: options.nsysPath, signal: options.signal }, (db) => {
      const read = readNsys(db, options.budget);
      read.profile.source.path = file;
      return read;
    });
  if (/\.sqlite$/i.test(file)) return readNsys(file, options.budget);
  if (file.toLowerCase().endsWith(SUMMARY_EXT))
    return readSummaryFile(file, { budget: options.budget, baseUs: options.baseUs });
  const read = await readKinetoDetailed(file, {
    signal: options.signal,
    baseUs: options.baseUs,
    onProgress: options.onProgress,
    budget: options.budget,
  });
  return {
    profile: read.profile,
    traceRank: read.distributedRank,
    host: read.hostName,
    baseUs: read.baseUs,
  };
}

function readNsys(file: string, budget: EventBudget): RankFileRead {
  const profile = readNsysSqlite(file, { budget });
  return { profile, sessionStartNs: sessionStart(file) };
}

/** The session's wall-clock start, or undefined when the export lacks it. */
function sessionStart(file: string): bigint | undefined {
  const ndb = NsysDb.open(file);
  try {
    const table = 'TARGET_INFO_SESSION_START_TIME';
    if (!ndb.has(table) || !ndb.columns(table).has('utcEpochNs')) return undefined;
    const v: unknown = ndb.db
      .prepare(`SELECT utcEpochNs FROM "${table}" LIMIT 1`)
      .pluck()
      .safeIntegers(true)
      .get();
    return typeof v === 'bigint' ? v : undefined;
  } finally {
    ndb.close();
  }
}

/**
 * The files of a folder to read, relative to it: trace files at the top, else in per-node
 * subfolders (one level). Of a report and its export with the same name, the export is read; of
 * a trace and its summary (`rank0.json.gz`, `rank0.gpulens`), the summary — unless the original
 * was modified after it (`modifiedMs`: a capture run again into the same folder), then the original.
 */
export function pickRankFiles(
  top: string[],
  sub: Map<string, string[]>,
  modifiedMs: (rel: string) => number = () => 0,
): string[] {
  const direct = top.filter((n) => RANK_FILE.test(n));
  const chosen =
    direct.length > 0
      ? direct
      : [...sub].flatMap(([dir, names]) =>
          names.filter((n) => RANK_FILE.test(n)).map((n) => path.join(dir, n)),
        );
  const skip = new Set<string>();
  // A report and its export: the export, unless the report is newer.
  const exports = new Map(chosen.filter((n) => /\.sqlite$/i.test(n)).map((n) => [stem(n), n]));
  for (const n of chosen) {
    const exported = /\.(nsys-rep|qdrep)$/i.test(n) ? exports.get(stem(n)) : undefined;
    if (exported) skip.add(modifiedMs(n) > modifiedMs(exported) ? exported : n);
  }
  // A summary and the traces it may come from (the same name): the summary, unless one is newer.
  const traces = new Map<string, string[]>();
  for (const n of chosen)
    if (!isSummary(n) && !skip.has(n)) pushTo(traces, n.replace(TRACE_EXT, ''), n);
  for (const summary of chosen.filter(isSummary)) {
    const originals = traces.get(summaryStem(summary)) ?? [];
    if (originals.some((t) => modifiedMs(t) > modifiedMs(summary))) skip.add(summary);
    else for (const t of originals) skip.add(t);
  }
  return chosen.filter((n) => !skip.has(n));
}

/**
 * The rank identity of a file read from `rel` in a folder: its name's, with the trace's own rank and
 * host; a summary whose name says no rank takes the name of the trace it was made from.
 */
export function identityOfRead(rel: string, read: RankFileRead): RankIdentity {
  const own = identityFromPath(rel);
  const trace = read.traceName === undefined ? undefined : identityFromPath(read.traceName);
  const named = own.nameRank !== undefined || own.parallel !== undefined;
  return {
    ...own,
    nameRank: named ? own.nameRank : trace?.nameRank,
    parallel: named ? own.parallel : trace?.parallel,
    host: own.host ?? trace?.host ?? read.host,
    traceRank: read.traceRank,
  };
}

/** The summary name of a trace: its extension replaced by `.gpulens` (`rank3.json.gz` → `rank3.gpulens`). */
export function summaryName(traceName: string): string {
  return traceName.replace(TRACE_EXT, '') + SUMMARY_EXT;
}

const isSummary = (n: string): boolean => n.toLowerCase().endsWith(SUMMARY_EXT);
const summaryStem = (n: string): string => n.slice(0, -SUMMARY_EXT.length).replace(TRACE_EXT, '');

function stem(rel: string): string {
  return rel.replace(/\.[^./\\]+$/, '');
}
