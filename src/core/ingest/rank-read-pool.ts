/**
 * Reads the files of a rank folder in worker threads (rank-read-worker.ts), several at once, and
 * hands the reads back in file order, so that the merge (ranks.ts) is the same as reading them one
 * after another. At most `workers` reads are alive at a time, the one being merged included: the
 * folder's peak is the merged tables and that many ranks' reads, whatever the number of ranks.
 *
 * The folder's Kineto clock base is the first file's, known only once that file is read: a file
 * started after every file before it was merged is read with it, as on one thread; one started
 * earlier reads on its own base and is moved onto the folder's (exact between epoch clocks,
 * rank-base.ts), or read again with it when it needed no base of its own. Each worker may count
 * what is left of the folder's event budget when it starts; the events it counted are then taken
 * from the folder's budget, so a folder is refused exactly when reading it on one thread would be.
 */
import * as path from 'node:path';
import * as v8 from 'node:v8';
import { EventBudget, EventBudgetError } from './event-budget';
import { reviveProfile } from './profile-transfer';
import { onFolderBase } from './rank-base';
import type { RankFileRead } from './rank-files';
import { startWorkerJob } from './worker-job';

/** What one worker reads (its `workerData`). */
export interface RankReadJob {
  file: string;
  /** The events this file may hold: what is left of the folder's budget. */
  maxEvents: number;
  nsysPath?: string;
  /** Kineto: the folder's µs base when it is known (else the file's own). */
  baseUs?: number;
}

/** Messages from a worker. */
export type FromRankWorker =
  | { type: 'progress'; bytesRead: number }
  | { type: 'done'; read: RankFileRead; events: number }
  | { type: 'failed'; message: string; overBudget: boolean };

/** Messages to a worker: cancel stops its read at the next await (a chunk, an nsys export). */
export type ToRankWorker = { type: 'cancel' };

export interface RankReadPoolOptions {
  /** Reads alive at once (at least 1). */
  workers: number;
  /** The bundled worker entry (dist/rank-read-worker.js). */
  workerPath: string;
  budget: EventBudget;
  signal?: AbortSignal;
  nsysPath?: string;
  /** Bytes read so far of file `index`. */
  onProgress?: (index: number, bytesRead: number) => void;
}

/** The worker entry beside this bundle (dist/ for the extension, the server and the CLI). */
export const DEFAULT_RANK_WORKER = path.join(__dirname, 'rank-read-worker.js');

/**
 * The reads of `files`, in their order, each on the folder's clock base (the first Kineto base
 * met). Reads not yet handed out are cancelled when the caller stops early or one fails.
 */
export async function* readRanksInWorkers(
  files: readonly string[],
  options: RankReadPoolOptions,
): AsyncGenerator<RankFileRead> {
  const pending = new Map<number, RankRead>();
  let next = 0;
  // The folder's base, from the files handed out so far (all of them before the current one).
  let baseUs: number | undefined;
  try {
    for (let i = 0; i < files.length; i++) {
      while (next < files.length && pending.size < Math.max(1, options.workers)) {
        const index = next++;
        // A file started once all files before it are merged gets the base a single thread
        // would read it with; one started earlier reads on its own base.
        const given = index === i ? baseUs : undefined;
        pending.set(index, startRead(files[index], index, options, given));
      }
      let { done, given } = pending.get(i) as RankRead;
      let taken: Taken;
      try {
        taken = await done;
        // A file that needed no base of its own among files that did (a relative clock among
        // epoch clocks) reads its times differently with the folder's base: read it again with it.
        if (given !== baseUs && baseUs && taken.read.baseUs === 0) {
          ({ done, given } = startRead(files[i], i, options, baseUs));
          taken = await done;
        }
      } finally {
        pending.delete(i);
      }
      options.budget.take(taken.events, files[i]);
      baseUs ??= taken.read.baseUs || undefined;
      yield onFolderBase(taken.read, baseUs);
    }
  } finally {
    for (const r of pending.values()) r.cancel();
  }
}

/** A file's read and the events its reader counted. */
interface Taken {
  read: RankFileRead;
  events: number;
}

interface RankRead {
  done: Promise<Taken>;
  /** The Kineto base the file is read with (undefined: its own). */
  given: number | undefined;
  cancel: () => void;
}

function startRead(
  file: string,
  index: number,
  options: RankReadPoolOptions,
  baseUs: number | undefined,
): RankRead {
  const { budget } = options;
  const job: RankReadJob = {
    file,
    maxEvents: Math.max(0, budget.limit - budget.taken),
    nsysPath: options.nsysPath,
    baseUs,
  };
  // The rank's reader may use as much heap as this thread may (the user's heap setting holds).
  const heapMb = Math.floor(v8.getHeapStatistics().heap_size_limit / 2 ** 20);
  const { done, cancel } = startWorkerJob<FromRankWorker, Taken>({
    workerPath: options.workerPath,
    workerData: job,
    heapMb,
    signal: options.signal,
    onMessage: (m, { resolve, reject }) => {
      if (m.type === 'progress') options.onProgress?.(index, m.bytesRead);
      else if (m.type === 'done')
        resolve({ read: { ...m.read, profile: reviveProfile(m.read.profile) }, events: m.events });
      // The worker's limit was the folder's remainder: the refusal names the folder's limit.
      else reject(m.overBudget ? new EventBudgetError(file, budget.limit) : new Error(m.message));
    },
    outOfMemory: () =>
      `${file}: ran out of memory reading this rank (heap limit ${heapMb} MB): ` +
      'capture fewer steps, or lower the event budget so such traces are refused early',
    failed: (line) => `${file}: reading this rank failed: ${line}`,
    stopped: (code) => `${file}: reading this rank stopped (exit code ${code})`,
    // The signal's reason (an AbortError), as the reader on one thread throws it.
    cancelled: () => {
      const reason: unknown = options.signal?.reason;
      return reason instanceof Error
        ? reason
        : new Error(`${file}: reading this rank was cancelled`);
    },
  });
  // A read that fails while an earlier one is awaited is reported when its turn comes (or dropped
  // with the rest when an earlier one fails): never an unhandled rejection.
  done.catch(() => undefined);
  return { done, cancel, given: baseUs };
}
