/**
 * Multi-rank folders: one trace per rank — Kineto JSON, nsys `.sqlite` exports or `.nsys-rep`
 * reports, or their GPU Lens summaries (`gpu-lens summarize`), at the top or in per-node
 * subfolders, named as launchers and engines name them (rank-names.ts) — merged into one Profile,
 * each rank's clock aligned on the lowest rank's (clock-align.ts), so that collectives can be
 * compared across ranks.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Profile } from '../model';
import type { StringTable, ThreadTable } from '../model-columns';
import { emptyProfile } from '../model';
import type { CpuCalls } from '../model-cpu-calls';
import type { CpuRanges } from '../model-cpu-ranges';
import type { GpuOps } from '../model-gpu-ops';
import { alignRankClocks, type RankClock } from './clock-align';
import { EventBudget, EventBudgetError } from './event-budget';
import { identityOfRead, pickRankFiles, readRankFile, type RankFileRead } from './rank-files';
import { DEFAULT_RANK_WORKER, readRanksInWorkers } from './rank-read-pool';
import { assignRanks, rankFromFileName, type RankIdentity } from './rank-names';

export { rankFromFileName } from './rank-names';

export interface RankFolderOptions {
  signal?: AbortSignal;
  /** Refuse folders with more trace files than this (default 256). */
  maxFiles?: number;
  /** Progress over all files: bytes read so far and total bytes of the folder's traces. */
  onProgress?: (bytesRead: number, totalBytes: number) => void;
  /** One budget for the events of all files together (default: a fresh default budget). */
  budget?: EventBudget;
  /** nsys executable for `.nsys-rep` files (default: found on PATH / the usual places). */
  nsysPath?: string;
  /**
   * Files read at once in worker threads (default: one per core, up to 4, when the files average
   * at least `WORKER_MIN_MEAN_BYTES`; 1: on this thread).
   */
  workers?: number;
  /** The worker entry (default: rank-read-worker.js beside this bundle; missing: on this thread). */
  workerPath?: string;
}

/**
 * Reads every trace file of `dir` into one Profile: each op, call, range and memory sample carries
 * its global rank (rank-names.ts), stack ids are re-based into one table, every rank's times are
 * shifted onto the lowest rank's clock (`rankAlignment` says how), and `rankCount` is the number of
 * distinct ranks.
 */
export async function readRankFolder(
  dir: string,
  options: RankFolderOptions = {},
): Promise<Profile> {
  const maxFiles = options.maxFiles ?? 256;
  const top = await fs.promises.readdir(dir);
  const names = pickRankFiles(
    top,
    await subfolderFiles(dir),
    (rel) => fs.statSync(path.join(dir, rel)).mtimeMs,
  );
  if (names.length === 0) {
    // nsys packagings without their importer leave raw streams (Debian's 2022.4 does).
    const raw = top.filter((n) => n.endsWith('.qdstrm')).length;
    throw new Error(
      raw > 0
        ? `${dir}: only ${raw} raw nsys stream(s) (*.qdstrm): import each with nsys's QdstrmImporter -i FILE.qdstrm first`
        : `${dir}: no trace files (*.json, *.json.gz, *.sqlite, *.nsys-rep) in this folder or its subfolders`,
    );
  }
  if (names.length > maxFiles)
    throw new Error(`${dir}: ${names.length} trace files, more than the limit of ${maxFiles}`);
  names.sort(byRankThenName);
  const files = names.map((n) => path.join(dir, n));
  const sizes = await Promise.all(files.map(async (f) => (await fs.promises.stat(f)).size));
  const budget = options.budget ?? new EventBudget();

  // Each rank is appended to the merged tables as soon as it is read and its own Profile dropped,
  // so a folder never holds more than the merged Profile and a few ranks' reads (rank-read-pool.ts).
  // Ranks are only known once every file's identity is (rank-names.ts): until then file i stands
  // as rank i.
  let merged: Profile | undefined;
  const parts: RankPart[] = [];
  const ids: RankIdentity[] = [];
  const progress = new FolderProgress(sizes, options.onProgress);
  const reads = readRanks(files, sizes, options, budget, (i, n) => progress.update(i, n));
  let i = 0;
  try {
    for await (const read of reads) {
      progress.update(i, sizes[i]);
      ids.push(identityOfRead(names[i], read));
      merged ??= emptyProfile({
        path: dir,
        format: read.profile.source.format,
        producer: '',
        schemaVersion: '',
      });
      parts.push(appendPart(merged, read, i));
      i++;
    }
  } catch (e) {
    // The budget counts the whole folder: name the folder, not the file that crossed it.
    if (e instanceof EventBudgetError) throw new EventBudgetError(dir, e.limit);
    throw e;
  }
  return finish(merged as Profile, parts, ids);
}

/**
 * The folder's reads in file order: in worker threads, several at once, when there are several
 * files, more than one worker is allowed and the worker entry was bundled beside this code;
 * otherwise one after another on this thread, each Kineto file on the first one's clock base.
 */
function readRanks(
  files: readonly string[],
  sizes: readonly number[],
  options: RankFolderOptions,
  budget: EventBudget,
  onProgress: (index: number, bytesRead: number) => void,
): AsyncGenerator<RankFileRead> {
  const workers = Math.min(files.length, options.workers ?? defaultRankWorkers(sizes));
  const workerPath = options.workerPath ?? DEFAULT_RANK_WORKER;
  if (workers > 1 && fs.existsSync(workerPath))
    return readRanksInWorkers(files, {
      workers,
      workerPath,
      budget,
      signal: options.signal,
      nsysPath: options.nsysPath,
      onProgress,
    });
  return readRanksHere(files, options, budget, onProgress);
}

async function* readRanksHere(
  files: readonly string[],
  options: RankFolderOptions,
  budget: EventBudget,
  onProgress: (index: number, bytesRead: number) => void,
): AsyncGenerator<RankFileRead> {
  let baseUs: number | undefined;
  for (const [i, file] of files.entries()) {
    const read = await readRankFile(file, {
      budget,
      signal: options.signal,
      nsysPath: options.nsysPath,
      // Epoch clocks of one job stay comparable when they share the first file's base.
      baseUs,
      onProgress: (n) => onProgress(i, n),
    });
    baseUs ??= read.baseUs || undefined;
    yield read;
  }
}

/**
 * Mean file size (on disk) from which a folder's files are read in worker threads by default. A
 * worker costs ~0.2 s before it reads (measured here: ~0.12 s to start a bare Node worker, ~0.1 s
 * more to load its bundle): 200 files of one event each took 23 s in workers and 1.7 s on one
 * thread, while a file of 8 MB takes longer than that to read.
 */
export const WORKER_MIN_MEAN_BYTES = 8 * 1024 * 1024;

/**
 * One read per core, up to 4: each read alive adds one rank's reading to the folder's peak, and
 * the merge on this thread keeps a core busy too. Small files are read on this thread.
 */
function defaultRankWorkers(sizes: readonly number[]): number {
  const mean = sizes.reduce((a, b) => a + b, 0) / Math.max(1, sizes.length);
  return mean < WORKER_MIN_MEAN_BYTES ? 1 : Math.min(4, os.availableParallelism());
}

/** Bytes read of the folder's files together, from each file's own count. */
class FolderProgress {
  private readonly read: Float64Array;
  private done = 0;
  private readonly total: number;

  constructor(
    sizes: readonly number[],
    private readonly onProgress?: (bytesRead: number, totalBytes: number) => void,
  ) {
    this.read = new Float64Array(sizes.length);
    this.total = sizes.reduce((a, b) => a + b, 0);
  }

  update(index: number, bytesRead: number): void {
    this.done += bytesRead - this.read[index];
    this.read[index] = bytesRead;
    this.onProgress?.(this.done, this.total);
  }
}

/** What the merge keeps of one rank's read once its rows are in the merged tables. */
interface RankPart {
  format: Profile['source']['format'];
  warnings: string[];
  metrics: { from: number; to: number };
  span: { start: number; end: number };
  sessionStartNs?: bigint;
}

function appendPart(merged: Profile, read: RankFileRead, provisionalRank: number): RankPart {
  const from = merged.metrics.length;
  append(merged, read.profile, provisionalRank);
  return {
    format: read.profile.source.format,
    warnings: read.profile.warnings,
    metrics: { from, to: merged.metrics.length },
    span: { start: read.profile.spanStartNs, end: read.profile.spanEndNs },
    sessionStartNs: read.sessionStartNs,
  };
}

/** Trace files of the subfolders of `dir` (per-node layouts), by subfolder name. */
async function subfolderFiles(dir: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const e of await fs.promises.readdir(dir, { withFileTypes: true }))
    if (e.isDirectory()) out.set(e.name, await fs.promises.readdir(path.join(dir, e.name)));
  return out;
}

/**
 * Gives every row its rank (rank-names.ts, from all the files' identities), then puts every rank
 * on the reference rank's clock (clock-align.ts).
 */
function finish(merged: Profile, parts: RankPart[], ids: RankIdentity[]): Profile {
  const ranks = assignRanks(ids);
  if (ranks.some((r, i) => r !== i)) renumberRanks(merged, ranks);
  const seen = new Set<number>();
  const clocks: RankClock[] = [];
  for (const [i, part] of parts.entries()) {
    const rank = ranks[i];
    if (seen.has(rank)) merged.warnings.push(`${ids[i].file}: rank ${rank} appears more than once`);
    seen.add(rank);
    merged.warnings.push(...part.warnings.map((w) => `rank ${rank}: ${w}`));
    clocks.push({
      rank,
      file: ids[i].file,
      host: ids[i].host,
      sessionStartNs: part.sessionStartNs,
    });
    if (part.format !== merged.source.format)
      merged.warnings.push(
        `${ids[i].file}: a ${part.format} trace among ${merged.source.format} traces`,
      );
  }
  merged.gpuOps.trim();
  merged.cpuCalls.trim();
  merged.operators.trim();
  const { alignment, warnings } = alignRankClocks(merged, clocks);
  const offset = new Map(alignment.map((a) => [a.rank, a.offsetNs]));
  const shiftOf = (i: number) => offset.get(ranks[i]) ?? 0;
  parts.forEach(({ metrics }, i) => {
    for (let k = metrics.from; k < metrics.to; k++) merged.metrics[k].tsNs += shiftOf(i);
  });
  merged.spanStartNs = Math.min(...parts.map((p, i) => p.span.start + shiftOf(i)));
  merged.spanEndNs = Math.max(...parts.map((p, i) => p.span.end + shiftOf(i)));
  merged.warnings.push(...warnings);
  merged.rankAlignment = alignment;
  merged.rankCount = seen.size;
  return merged;
}

/** Rows appended as rank i (file i) become rank `ranks[i]`; threads of one rank merge. */
function renumberRanks(p: Profile, ranks: readonly number[]): void {
  const ops = p.gpuOps;
  for (let i = 0; i < ops.length; i++) ops.rank[i] = ranks[ops.rank[i]];
  for (const table of [p.cpuCalls, p.operators]) {
    const to = table.threads.renumberRanks(ranks);
    for (let i = 0; i < table.length; i++) table.thread[i] = to[table.thread[i]];
  }
  for (const list of [p.ranges, p.devices]) for (const x of list) x.rank = ranks[x.rank ?? 0];
  for (const t of [p.memory, p.memoryEvents])
    for (let i = 0; i < t.length; i++) t.rank[i] = ranks[t.rank[i]];
}

function byRankThenName(a: string, b: string): number {
  const ra = rankFromFileName(path.basename(a)) ?? Infinity;
  const rb = rankFromFileName(path.basename(b)) ?? Infinity;
  return ra !== rb ? ra - rb : a.localeCompare(b);
}

/** Appends one rank's profile, shifting its indices (stacks, launch calls) into the merged arrays. */
function append(merged: Profile, p: Profile, rank: number): void {
  const stackBase = merged.stacks.length;
  const callBase = merged.cpuCalls.length;
  // Loops, not push(...spread): spreading a huge array overflows the call stack.
  for (const s of p.stacks) merged.stacks.push(s);
  appendCpuCalls(merged.cpuCalls, p.cpuCalls, rank, stackBase);
  appendGpuOps(merged.gpuOps, p.gpuOps, rank, stackBase, callBase);
  appendOperators(merged.operators, p.operators, rank, stackBase);
  for (const r of p.ranges)
    merged.ranges.push({ ...r, rank, stackId: rebased(r.stackId, stackBase) });
  for (let i = 0; i < p.memory.length; i++) merged.memory.push({ ...p.memory.get(i), rank });
  for (let i = 0; i < p.memoryEvents.length; i++) {
    const m = p.memoryEvents.get(i);
    merged.memoryEvents.push({ ...m, rank, stackId: rebased(m.stackId, stackBase) });
  }
  for (const m of p.metrics) merged.metrics.push({ ...m });
  // Every rank's own devices: rank 1's GPU 0 is another GPU than rank 0's, often another model.
  for (const d of p.devices) merged.devices.push({ ...d, rank });
  if (!merged.source.producer) {
    merged.source.producer = p.source.producer;
    merged.source.schemaVersion = p.source.schemaVersion;
  }
}

/** `id + base`, or -1 for none. */
function rebased(id: number, base: number): number {
  return id >= 0 ? id + base : -1;
}

/** For each string of `from`, its index in `to` (interned there). */
function stringMap(from: StringTable, to: StringTable): Int32Array {
  const map = new Int32Array(from.size);
  for (let k = 0; k < from.size; k++) map[k] = to.intern(from.at(k));
  return map;
}

/** For each thread of `from`, its index in `to` as a thread of rank `rank` (a row's rank is its thread's). */
function threadMap(from: ThreadTable, to: ThreadTable, rank: number): Int32Array {
  const map = new Int32Array(from.size);
  for (let k = 0; k < from.size; k++) map[k] = to.intern(rank, from.pid[k], from.tid[k]);
  return map;
}

/** Appends rank `rank`'s calls `b` to `a`: names and threads re-interned, stacks re-based. */
function appendCpuCalls(a: CpuCalls, b: CpuCalls, rank: number, stackBase: number): void {
  const n = b.length;
  const at = a.length;
  a.reserve(at + n);
  const names = stringMap(b.names, a.names);
  const threads = threadMap(b.threads, a.threads, rank);
  a.kind.set(b.kind.subarray(0, n), at);
  a.startNs.set(b.startNs.subarray(0, n), at);
  a.endNs.set(b.endNs.subarray(0, n), at);
  a.correlationId.set(b.correlationId.subarray(0, n), at);
  for (const [i, id] of b.oddIds) a.oddIds.set(at + i, id);
  for (let i = 0; i < n; i++) {
    a.name[at + i] = names[b.name[i]];
    a.thread[at + i] = threads[b.thread[i]];
    a.stackId[at + i] = rebased(b.stackId[i], stackBase);
  }
  a.length = at + n;
}

/** Appends rank `rank`'s operators `b` to `a` as appendCpuCalls does calls (and collectives). */
function appendOperators(a: CpuRanges, b: CpuRanges, rank: number, stackBase: number): void {
  const n = b.length;
  const at = a.length;
  a.reserve(at + n);
  const names = stringMap(b.names, a.names);
  const threads = threadMap(b.threads, a.threads, rank);
  const collectives = Int32Array.from(b.collectives, (c) => a.internCollective(c));
  a.kind.set(b.kind.subarray(0, n), at);
  a.startNs.set(b.startNs.subarray(0, n), at);
  a.endNs.set(b.endNs.subarray(0, n), at);
  for (let i = 0; i < n; i++) {
    const j = at + i;
    a.name[j] = names[b.name[i]];
    a.domain[j] = names[b.domain[i]];
    a.thread[j] = threads[b.thread[i]];
    a.stackId[j] = rebased(b.stackId[i], stackBase);
    a.collective[j] = b.collective[i] < 0 ? -1 : collectives[b.collective[i]];
  }
  a.length = at + n;
}

/** Appends rank `rank`'s ops `b` to `a`: names and collectives re-interned, indices re-based. */
function appendGpuOps(
  a: GpuOps,
  b: GpuOps,
  rank: number,
  stackBase: number,
  callBase: number,
): void {
  const n = b.length;
  const at = a.length;
  a.reserve(at + n);
  const names = stringMap(b.names, a.names);
  const collectives = Int32Array.from(b.collectives, (c) => a.internCollective(c));
  for (const col of ['kind', 'isComm'] as const) a[col].set(b[col].subarray(0, n), at);
  for (const col of ['startNs', 'endNs'] as const) a[col].set(b[col].subarray(0, n), at);
  a.copies.append(b.copies, at);
  a.deviceId.set(b.deviceId.subarray(0, n), at);
  a.streamId.set(b.streamId.subarray(0, n), at);
  a.rank.fill(rank, at, at + n);
  for (let i = 0; i < n; i++) {
    const j = at + i;
    a.name[j] = names[b.name[i]];
    a.launchIndex[j] = rebased(b.launchIndex[i], callBase);
    a.stackId[j] = rebased(b.stackId[i], stackBase);
    a.callerStackId[j] = rebased(b.callerStackId[i], stackBase);
  }
  a.opCollectives.append(b.opCollectives, at, collectives);
  for (const [name, short] of b.shortNames()) a.setShortOfName(names[name], names[short]);
  a.length = at + n;
}
