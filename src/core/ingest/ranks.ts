/**
 * Multi-rank folders: one trace per rank — Kineto JSON, nsys `.sqlite` exports or `.nsys-rep`
 * reports, or their GPU Lens summaries (`gpu-lens summarize`), at the top or in per-node
 * subfolders, named as launchers and engines name them (rank-names.ts) — merged into one Profile,
 * each rank's clock aligned on the lowest rank's (clock-align.ts), so that collectives can be
 * compared across ranks.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CollectiveTag, Profile } from '../model';
import type { StringTable } from '../model-columns';
import { emptyProfile } from '../model';
import type { CpuCalls } from '../model-cpu-calls';
import type { GpuOps } from '../model-gpu-ops';
import { alignRankClocks, type RankClock } from './clock-align';
import { EventBudget, EventBudgetError } from './event-budget';
import { identityOfRead, pickRankFiles, readRankFile, type RankFileRead } from './rank-files';
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
  const total = sizes.reduce((a, b) => a + b, 0);
  const budget = options.budget ?? new EventBudget();

  const reads: RankFileRead[] = [];
  const ids: RankIdentity[] = [];
  let done = 0;
  let baseUs: number | undefined;
  for (const [i, file] of files.entries()) {
    let read: RankFileRead;
    try {
      read = await readRankFile(file, {
        budget,
        signal: options.signal,
        nsysPath: options.nsysPath,
        // Epoch clocks of one job stay comparable when they share the first file's base.
        baseUs,
        onProgress: (n) => options.onProgress?.(done + n, total),
      });
    } catch (e) {
      // The budget counts the whole folder: name the folder, not the file that crossed it.
      if (e instanceof EventBudgetError) throw new EventBudgetError(dir, e.limit);
      throw e;
    }
    done += sizes[i];
    baseUs ??= read.baseUs || undefined;
    reads.push(read);
    ids.push(identityOfRead(names[i], read));
  }
  return merge(dir, reads, ids);
}

/** Trace files of the subfolders of `dir` (per-node layouts), by subfolder name. */
async function subfolderFiles(dir: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const e of await fs.promises.readdir(dir, { withFileTypes: true }))
    if (e.isDirectory()) out.set(e.name, await fs.promises.readdir(path.join(dir, e.name)));
  return out;
}

function merge(dir: string, reads: RankFileRead[], ids: RankIdentity[]): Profile {
  const merged = emptyProfile({
    path: dir,
    format: reads[0].profile.source.format,
    producer: '',
    schemaVersion: '',
  });
  const ranks = assignRanks(ids);
  const seen = new Set<number>();
  const clocks: RankClock[] = [];
  const metricSlices: { rank: number; from: number; to: number }[] = [];
  const spans: { rank: number; start: number; end: number }[] = [];
  for (const [i, read] of reads.entries()) {
    const rank = ranks[i];
    if (seen.has(rank)) merged.warnings.push(`${ids[i].file}: rank ${rank} appears more than once`);
    seen.add(rank);
    const from = merged.metrics.length;
    append(merged, read.profile, rank);
    metricSlices.push({ rank, from, to: merged.metrics.length });
    spans.push({ rank, start: read.profile.spanStartNs, end: read.profile.spanEndNs });
    clocks.push({
      rank,
      file: ids[i].file,
      host: ids[i].host,
      sessionStartNs: read.sessionStartNs,
    });
    if (read.profile.source.format !== merged.source.format)
      merged.warnings.push(
        `${ids[i].file}: a ${read.profile.source.format} trace among ${merged.source.format} traces`,
      );
  }
  merged.gpuOps.trim();
  merged.cpuCalls.trim();
  const { alignment, warnings } = alignRankClocks(merged, clocks);
  const offset = new Map(alignment.map((a) => [a.rank, a.offsetNs]));
  for (const s of metricSlices)
    for (let k = s.from; k < s.to; k++) merged.metrics[k].tsNs += offset.get(s.rank) ?? 0;
  merged.spanStartNs = Math.min(...spans.map((s) => s.start + (offset.get(s.rank) ?? 0)));
  merged.spanEndNs = Math.max(...spans.map((s) => s.end + (offset.get(s.rank) ?? 0)));
  merged.warnings.push(...warnings);
  merged.rankAlignment = alignment;
  merged.rankCount = seen.size;
  return merged;
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
  for (const r of p.ranges)
    merged.ranges.push({ ...r, rank, stackId: rebased(r.stackId, stackBase) });
  for (const m of p.memory) merged.memory.push({ ...m, rank });
  for (const m of p.memoryEvents)
    merged.memoryEvents.push({ ...m, rank, stackId: rebased(m.stackId, stackBase) });
  for (const m of p.metrics) merged.metrics.push({ ...m });
  // Every rank's own devices: rank 1's GPU 0 is another GPU than rank 0's, often another model.
  for (const d of p.devices) merged.devices.push({ ...d, rank });
  merged.warnings.push(...p.warnings.map((w) => `rank ${rank}: ${w}`));
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

/** Appends rank `rank`'s calls `b` to `a`: names and threads re-interned, stacks re-based. */
function appendCpuCalls(a: CpuCalls, b: CpuCalls, rank: number, stackBase: number): void {
  const n = b.length;
  const at = a.length;
  a.reserve(at + n);
  const names = stringMap(b.names, a.names);
  // A call's rank is its thread's: b's threads become rank `rank`'s.
  const threads = new Int32Array(b.threads.size);
  for (let k = 0; k < threads.length; k++)
    threads[k] = a.threads.intern(rank, b.threads.pid[k], b.threads.tid[k]);
  a.kind.set(b.kind.subarray(0, n), at);
  a.startNs.set(b.startNs.subarray(0, n), at);
  a.endNs.set(b.endNs.subarray(0, n), at);
  a.correlationId.set(b.correlationId.subarray(0, n), at);
  for (let i = 0; i < n; i++) {
    a.name[at + i] = names[b.name[i]];
    a.thread[at + i] = threads[b.thread[i]];
    a.stackId[at + i] = rebased(b.stackId[i], stackBase);
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
  const collectives = collectiveMap(b, a);
  for (const col of ['kind', 'isComm', 'copyKind', 'srcKind', 'dstKind'] as const)
    a[col].set(b[col].subarray(0, n), at);
  for (const col of ['startNs', 'endNs', 'bytes'] as const) a[col].set(b[col].subarray(0, n), at);
  a.deviceId.set(b.deviceId.subarray(0, n), at);
  a.streamId.set(b.streamId.subarray(0, n), at);
  a.rank.fill(rank, at, at + n);
  for (let i = 0; i < n; i++) {
    const j = at + i;
    a.name[j] = names[b.name[i]];
    a.shortName[j] = b.shortName[i] < 0 ? -1 : names[b.shortName[i]];
    a.launchIndex[j] = rebased(b.launchIndex[i], callBase);
    a.stackId[j] = rebased(b.stackId[i], stackBase);
    a.callerStackId[j] = rebased(b.callerStackId[i], stackBase);
    a.collective[j] = b.collective[i] < 0 ? -1 : collectives[b.collective[i]];
  }
  a.length = at + n;
}

/**
 * For each collective of `from`, its index in `to`'s (added there when new; identical tags share
 * one, as `GpuOps.internCollective` keeps them, but found by key: a rank has thousands).
 */
function collectiveMap(from: GpuOps, to: GpuOps): Int32Array {
  const key = (c: CollectiveTag): string => `${c.group}\0${c.name}\0${c.seq ?? ''}`;
  const index = new Map<string, number>();
  to.collectives.forEach((c, k) => {
    if (!index.has(key(c))) index.set(key(c), k);
  });
  const map = new Int32Array(from.collectives.length);
  from.collectives.forEach((c, k) => {
    let id = index.get(key(c));
    if (id === undefined) index.set(key(c), (id = to.collectives.push(c) - 1));
    map[k] = id;
  });
  return map;
}
