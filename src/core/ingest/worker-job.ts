/**
 * One job in a worker thread, settled once: by the worker's messages (`onMessage`), or with a
 * one-line Error when the thread fails, runs out of memory or stops. Used for a rank folder's files
 * (rank-read-pool.ts) and for the server's analyses (core/analysis-runner.ts). Cancelling settles
 * at once, asks the worker to stop (a `{ type: 'cancel' }` message: it stops at its next await, and
 * an nsys export kills its child) and ends the thread after a grace period, since a CPU-bound loop
 * never reads the message.
 */
import { Worker } from 'node:worker_threads';

export interface WorkerJobOptions<M, T> {
  /** The bundled worker entry. */
  workerPath: string;
  workerData: unknown;
  /** The thread's heap limit (old and young generations together). */
  heapMb: number;
  signal?: AbortSignal;
  /** Handles one message from the worker: resolves or rejects the job when it is the last. */
  onMessage: (message: M, settle: Settle<T>) => void;
  /** One line each: the thread ran out of memory, threw, or exited without settling. */
  outOfMemory: () => string;
  failed: (firstLine: string) => string;
  stopped: (exitCode: number) => string;
  /** The rejection of a cancelled job. */
  cancelled: () => Error;
  /** Called once the thread has exited. */
  onExit?: () => void;
}

export interface Settle<T> {
  resolve: (value: T) => void;
  reject: (error: Error) => void;
}

export interface WorkerJob<T> {
  done: Promise<T>;
  cancel: () => void;
}

/**
 * The young generation (two semi-spaces and the new large-object space) of a worker that reads a
 * trace: 24 MB, semi-spaces of 8 MB. Node 24 sizes it from the machine's memory (192 MB on a
 * 24 GiB host, 48 MB under Node 20), and a reader's short-lived objects (JSON.parse batches,
 * better-sqlite3's row arrays) fill whatever it is given, so the default cost ~120–150 MiB of peak
 * RSS on large traces (docs/benchmarks.md, "The young generation") and no measurable speed.
 */
export const READER_YOUNG_GENERATION_MB = 24;

/** How long a cancelled worker may take to stop on its own (an nsys export killing its child). */
const CANCEL_GRACE_MS = 1000;

export function startWorkerJob<M, T>(o: WorkerJobOptions<M, T>): WorkerJob<T> {
  const worker = new Worker(o.workerPath, {
    workerData: o.workerData,
    // Old and young generations together hold `heapMb`, as the caller's own heap limit does.
    resourceLimits: {
      maxOldGenerationSizeMb: Math.max(16, o.heapMb - READER_YOUNG_GENERATION_MB),
      maxYoungGenerationSizeMb: READER_YOUNG_GENERATION_MB,
    },
  });
  let exited = false;
  let cancel = (): void => undefined;
  const done = new Promise<T>((resolve, reject) => {
    let settled = false;
    const settle = (finish: () => void): void => {
      if (settled) return;
      settled = true;
      o.signal?.removeEventListener('abort', onAbort);
      finish();
    };
    // Settled by a message: the worker has nothing left to do.
    const finished: Settle<T> = {
      resolve: (v) => settle(() => (resolve(v), void worker.terminate())),
      reject: (e) => settle(() => (reject(e), void worker.terminate())),
    };
    worker.on('message', (m: M) => o.onMessage(m, finished));
    worker.on('error', (e: Error & { code?: string }) =>
      settle(() =>
        reject(
          new Error(
            e.code === 'ERR_WORKER_OUT_OF_MEMORY'
              ? o.outOfMemory()
              : o.failed(e.message.split('\n')[0]),
          ),
        ),
      ),
    );
    worker.on('exit', (code) => {
      exited = true;
      o.onExit?.();
      settle(() => reject(new Error(o.stopped(code))));
    });
    cancel = () => {
      settle(() => reject(o.cancelled()));
      if (exited) return;
      worker.postMessage({ type: 'cancel' });
      const timer = setTimeout(() => void worker.terminate(), CANCEL_GRACE_MS);
      worker.once('exit', () => clearTimeout(timer));
    };
    const onAbort = (): void => cancel();
    if (o.signal?.aborted) onAbort();
    else o.signal?.addEventListener('abort', onAbort);
  });
  return { done, cancel: () => cancel() };
}
