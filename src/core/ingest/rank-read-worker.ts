/**
 * Worker thread entry (dist/rank-read-worker.js): reads one file of a rank folder (rank-files.ts)
 * on its own clock base, off the thread that merges the ranks (rank-read-pool.ts), and sends the
 * read back with its Profile's columns transferred, not copied (profile-transfer.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { EventBudget, EventBudgetError } from './event-budget';
import { profileBuffers } from './profile-transfer';
import { readRankFile } from './rank-files';
import type { FromRankWorker, RankReadJob, ToRankWorker } from './rank-read-pool';

async function run(port: NonNullable<typeof parentPort>, job: RankReadJob): Promise<void> {
  const abort = new AbortController();
  port.on('message', (m: ToRankWorker) => {
    if (m.type === 'cancel') abort.abort();
  });
  const budget = new EventBudget(job.maxEvents);
  try {
    const read = await readRankFile(job.file, {
      budget,
      signal: abort.signal,
      nsysPath: job.nsysPath,
      baseUs: job.baseUs,
      onProgress: (bytesRead) =>
        port.postMessage({ type: 'progress', bytesRead } satisfies FromRankWorker),
    });
    port.postMessage(
      { type: 'done', read, events: budget.taken } satisfies FromRankWorker,
      profileBuffers(read.profile),
    );
  } catch (e) {
    port.postMessage({
      type: 'failed',
      message: e instanceof Error ? e.message : String(e),
      overBudget: e instanceof EventBudgetError,
    } satisfies FromRankWorker);
  }
  port.close();
}

if (parentPort) void run(parentPort, workerData as RankReadJob);
