/**
 * The CUDA API table (CUPTI_ACTIVITY_KIND_RUNTIME) read into typed columns. On a large export this
 * runs on a worker thread with its own read-only connection, while the main thread reads the
 * kernels: the two biggest tables are scanned at once, on two cores. The worker runs inline code
 * (`eval`) that needs only better-sqlite3, so it works the same from every bundle (CLI, the
 * server's analyze worker, unit tests) with no file of its own to ship.
 */
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { walkPages, type NsysDb, type PagePlan, type RawRow } from './nsys-db';
import { READER_YOUNG_GENERATION_MB } from './worker-job';

const TABLE = 'CUPTI_ACTIVITY_KIND_RUNTIME';

/**
 * Below this many rows in either big table the two are read one after the other: starting a worker
 * (about 30 ms: a thread, a Node environment, better-sqlite3) costs more than the overlap saves.
 */
const WORKER_MIN_ROWS = 100_000;

/** Rows per chunk of the runtime table: the reader takes chunks while it reads the kernels. */
const CHUNK_ROWS = 1 << 18;

/** A chunk of the runtime table's rows, one entry per row in rowid order. */
export interface RuntimeColumns {
  length: number;
  startNs: Float64Array;
  endNs: Float64Array;
  /** globalTid, 0 where null (the reader's default). */
  globalTid: Float64Array;
  /** correlationId, 0 where null. */
  correlationId: Uint32Array;
  nameId: Int32Array;
  /** callchainId, NaN where null (SQLite has no NaN); null when not read. */
  callchainId: Float64Array | null;
  /**
   * Rows holding a value that the columns would not keep as it is (a null or non-integer where a
   * number is due, text, a blob), by row index in the chunk: the reader takes these as they were
   * read.
   */
  odd: [number, RawRow][];
}

/**
 * A runtime-table read under way. `next(wait)`: the next chunk of rows; `undefined` when none is
 * ready yet and `wait` is false; null once every chunk was taken. `abandon` stops the read.
 */
export interface RuntimeScan {
  next(wait: boolean): RuntimeColumns | null | undefined;
  abandon(): void;
}

/**
 * Starts reading the runtime table: on a worker when `onWorker` says so or, by default, when both
 * it and the kernel table are large enough; else here, a chunk per `next(true)`.
 * `withChain`: read callchainId too.
 */
export function startRuntimeScan(ndb: NsysDb, withChain: boolean, onWorker?: boolean): RuntimeScan {
  const wanted = ['start', 'end', 'globalTid', 'correlationId', 'nameId'];
  if (withChain) wanted.push('callchainId');
  const plan = ndb.pagePlan(TABLE, wanted);
  if (plan === null) return { next: () => null, abandon: () => undefined };
  const big =
    Math.min(ndb.rowCount(TABLE), ndb.rowCount('CUPTI_ACTIVITY_KIND_KERNEL')) >= WORKER_MIN_ROWS;
  if (onWorker ?? big) return startWorker(ndb.file, plan, withChain);
  // On this thread, a chunk at a time when asked to wait (after the kernels).
  const chunks = scanRuntime(ndb.db, plan, withChain, CHUNK_ROWS, walkPages);
  return {
    next: (wait: boolean) => (wait ? (chunks.next().value ?? null) : undefined),
    abandon: () => undefined,
  };
}

/** What the worker posts: a chunk, the end, or the error that stopped it. */
type WorkerMessage =
  { chunk: RuntimeColumns } | { end: true } | { error: { message: string; code?: string } };

/**
 * The worker's code: this module's scan and the page walk, by their source text (both use no
 * name from outside their bodies), run on their own connection to the same file. After each
 * message it counts it in `posted` (the reader waits on that count: see `startWorker`).
 */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { sqlite, file, plan, withChain, chunkRows, port, posted } = workerData;
const post = (message, transfer) => {
  port.postMessage(message, transfer);
  Atomics.add(posted, 0, 1);
  Atomics.notify(posted, 0);
};
const send = (chunk) => {
  const columns = [chunk.startNs, chunk.endNs, chunk.globalTid, chunk.correlationId, chunk.nameId, chunk.callchainId];
  post({ chunk }, columns.filter(Boolean).map((a) => a.buffer));
};
try {
  const Database = require(sqlite);
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const scan = (${scanRuntime.toString()});
    for (const chunk of scan(db, plan, withChain, chunkRows, (${walkPages.toString()}))) send(chunk);
  } finally {
    db.close();
  }
  post({ end: true });
} catch (e) {
  const code = typeof e?.code === 'string' ? e.code : undefined;
  post({ error: { message: e instanceof Error ? e.message : String(e), code } });
}
`;

function startWorker(file: string, plan: PagePlan, withChain: boolean): RuntimeScan {
  const { port1, port2 } = new MessageChannel();
  // Messages the worker has posted. The reader is synchronous: it takes them off the port without
  // going back to the event loop, and waits on this count when it needs one not yet posted.
  const posted = new Int32Array(new SharedArrayBuffer(4));
  let taken = 0;
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      sqlite: require.resolve('better-sqlite3'),
      file,
      plan,
      withChain,
      chunkRows: CHUNK_ROWS,
      port: port2,
      posted,
    },
    transferList: [port2],
    // Its row arrays are garbage at once: a small young generation holds them as well.
    resourceLimits: { maxYoungGenerationSizeMb: READER_YOUNG_GENERATION_MB },
  });
  // Neither keeps the process alive: a reader that failed before the end leaves nothing behind.
  worker.unref();
  port1.unref();
  let ended = false;
  const stop = (): void => {
    ended = true;
    port1.close();
    void worker.terminate();
  };
  return {
    next(wait: boolean): RuntimeColumns | null | undefined {
      if (ended) return null;
      if (Atomics.load(posted, 0) === taken) {
        if (!wait) return undefined;
        while (Atomics.load(posted, 0) === taken) Atomics.wait(posted, 0, taken);
      }
      const message = receiveMessageOnPort(port1)?.message as WorkerMessage | undefined;
      taken++;
      if (message && 'chunk' in message) {
        for (const [, row] of message.chunk.odd) {
          for (let k = 0; k < row.length; k++) row[k] = asBuffer(row[k]);
        }
        return message.chunk;
      }
      stop();
      if (message && 'end' in message) return null;
      // The same error as a read on this thread: a SqliteError's message and code.
      if (message) throw Object.assign(new Error(message.error.message), message.error);
      throw new Error(`${TABLE}: the reading thread gave no result`);
    },
    abandon(): void {
      if (!ended) stop();
    },
  };
}

/** A blob comes back from the worker as a plain Uint8Array: the Buffer that a read here gives. */
function asBuffer(v: unknown): unknown {
  return v instanceof Uint8Array && !Buffer.isBuffer(v)
    ? Buffer.from(v.buffer, v.byteOffset, v.byteLength)
    : v;
}

/**
 * Reads the runtime table's rows (start, end, globalTid, correlationId, nameId[, callchainId])
 * into typed columns, a chunk of `chunkRows` rows (the last one shorter) at a time.
 * Runs on the worker from its source text, so it uses no name from outside its body (`walk` is
 * nsys-db's walkPages).
 */
export function* scanRuntime(
  db: Database.Database,
  plan: PagePlan,
  withChain: boolean,
  chunkRows: number,
  walk: (db: Database.Database, plan: PagePlan) => Iterable<RawRow[]>,
): Generator<RuntimeColumns, void> {
  const newChunk = (): RuntimeColumns => ({
    length: 0,
    startNs: new Float64Array(chunkRows),
    endNs: new Float64Array(chunkRows),
    globalTid: new Float64Array(chunkRows),
    correlationId: new Uint32Array(chunkRows),
    nameId: new Int32Array(chunkRows),
    callchainId: withChain ? new Float64Array(chunkRows) : null,
    odd: [],
  });
  let c = newChunk();
  for (const page of walk(db, plan)) {
    for (const row of page) {
      if (c.length === chunkRows) {
        yield c;
        c = newChunk();
      }
      const n = c.length++;
      const start = row[0];
      const end = row[1];
      const gtid = row[2] ?? 0;
      const corr = row[3] ?? 0;
      const name = row[4];
      const chain = row[5] ?? NaN;
      if (
        typeof start === 'number' &&
        typeof end === 'number' &&
        typeof gtid === 'number' &&
        typeof corr === 'number' &&
        corr >>> 0 === corr &&
        typeof name === 'number' &&
        (name | 0) === name &&
        typeof chain === 'number'
      ) {
        c.startNs[n] = start;
        c.endNs[n] = end;
        c.globalTid[n] = gtid;
        c.correlationId[n] = corr;
        c.nameId[n] = name;
        if (c.callchainId) c.callchainId[n] = chain;
      } else {
        c.odd.push([n, row]);
      }
    }
  }
  if (c.length > 0) yield c;
}
