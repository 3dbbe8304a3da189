/**
 * Multi-rank folders: one Kineto trace per rank (`rank-3.json.gz`, `…rank3….pt.trace.json`, or a
 * `distributedInfo.rank` inside) merged into one Profile so that collectives can be compared across
 * ranks.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Profile } from '../model';
import { emptyProfile } from '../model';
import { EventBudget, EventBudgetError } from './event-budget';
import { readKinetoDetailed, type KinetoRead } from './kineto';

export interface RankFolderOptions {
  signal?: AbortSignal;
  /** Refuse folders with more trace files than this (default 256). */
  maxFiles?: number;
  /** Progress over all files: bytes read so far and total bytes of the folder's traces. */
  onProgress?: (bytesRead: number, totalBytes: number) => void;
  /** One budget for the events of all files together (default: a fresh default budget). */
  budget?: EventBudget;
}

const TRACE_FILE = /\.json(\.gz)?$/i;

/** Rank from a file name such as `rank-3.json`, `rank_3…`, `worker3_rank3.pt.trace.json.gz`. */
export function rankFromFileName(name: string): number | undefined {
  const m = /rank[-_]?(\d+)/i.exec(name);
  return m ? Number(m[1]) : undefined;
}

/**
 * Reads every trace file of `dir` into one Profile: each op, call, range and memory sample carries
 * its rank (from the file name, else `distributedInfo.rank`, else the file's position), stack ids
 * are re-based into one table, and `rankCount` is the number of distinct ranks.
 */
export async function readRankFolder(
  dir: string,
  options: RankFolderOptions = {},
): Promise<Profile> {
  const maxFiles = options.maxFiles ?? 256;
  const names = (await fs.promises.readdir(dir))
    .filter((n) => TRACE_FILE.test(n))
    .sort(byRankThenName);
  if (names.length === 0)
    throw new Error(`${dir}: no trace files (*.json, *.json.gz) in this folder`);
  if (names.length > maxFiles)
    throw new Error(`${dir}: ${names.length} trace files, more than the limit of ${maxFiles}`);
  const files = names.map((n) => path.join(dir, n));
  const sizes = await Promise.all(files.map(async (f) => (await fs.promises.stat(f)).size));
  const total = sizes.reduce((a, b) => a + b, 0);

  const merged = emptyProfile({
    path: dir,
    format: 'kineto-json',
    producer: '',
    schemaVersion: '',
  });
  merged.spanStartNs = Infinity;
  merged.spanEndNs = -Infinity;
  const ranks = new Set<number>();
  let done = 0;
  let baseUs: number | undefined;
  const budget = options.budget ?? new EventBudget();
  for (const [i, file] of files.entries()) {
    let read: KinetoRead;
    try {
      read = await readKinetoDetailed(file, {
        signal: options.signal,
        // Ranks of one job share a clock: reuse the first file's time base so they stay aligned.
        baseUs,
        onProgress: (n) => options.onProgress?.(done + n, total),
        budget,
      });
    } catch (e) {
      // The budget counts the whole folder: name the folder, not the file that crossed it.
      if (e instanceof EventBudgetError) throw new EventBudgetError(dir, e.limit);
      throw e;
    }
    done += sizes[i];
    baseUs = read.baseUs;
    const rank = rankFromFileName(names[i]) ?? read.distributedRank ?? i;
    if (ranks.has(rank)) merged.warnings.push(`${names[i]}: rank ${rank} appears more than once`);
    ranks.add(rank);
    append(merged, read.profile, rank);
  }
  if (merged.spanStartNs > merged.spanEndNs) merged.spanStartNs = merged.spanEndNs = 0;
  merged.rankCount = ranks.size;
  return merged;
}

function byRankThenName(a: string, b: string): number {
  const ra = rankFromFileName(a) ?? Infinity;
  const rb = rankFromFileName(b) ?? Infinity;
  return ra !== rb ? ra - rb : a.localeCompare(b);
}

/** Appends one rank's profile, shifting its indices (stacks, launch calls) into the merged arrays. */
function append(merged: Profile, p: Profile, rank: number): void {
  const stackBase = merged.stacks.length;
  const callBase = merged.cpuCalls.length;
  const shift = (id: number, base: number): number => (id >= 0 ? id + base : -1);
  // Loops, not push(...spread): spreading a huge array overflows the call stack.
  for (const s of p.stacks) merged.stacks.push(s);
  for (const c of p.cpuCalls)
    merged.cpuCalls.push({ ...c, rank, stackId: shift(c.stackId, stackBase) });
  for (const op of p.gpuOps)
    merged.gpuOps.push({
      ...op,
      rank,
      launchIndex: shift(op.launchIndex, callBase),
      stackId: shift(op.stackId, stackBase),
    });
  for (const r of p.ranges)
    merged.ranges.push({ ...r, rank, stackId: shift(r.stackId, stackBase) });
  for (const m of p.memory) merged.memory.push({ ...m, rank });
  for (const m of p.metrics) merged.metrics.push(m);
  const known = new Set(merged.devices.map((d) => d.id));
  merged.devices.push(...p.devices.filter((d) => !known.has(d.id)));
  merged.spanStartNs = Math.min(merged.spanStartNs, p.spanStartNs);
  merged.spanEndNs = Math.max(merged.spanEndNs, p.spanEndNs);
  merged.warnings.push(...p.warnings.map((w) => `rank ${rank}: ${w}`));
  if (!merged.source.producer) {
    merged.source.producer = p.source.producer;
    merged.source.schemaVersion = p.source.schemaVersion;
  }
}
