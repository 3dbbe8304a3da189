/**
 * The CUDA API table (CUPTI_ACTIVITY_KIND_RUNTIME) read into typed columns, and its calls' ids
 * put in a LaunchLinker. On a large export this runs on a worker thread, while the main thread
 * reads the kernels: the two biggest tables are read at once, on two cores. The worker runs inline
 * code (`eval`) that needs only `fs` (and better-sqlite3 where the file's pages cannot be read
 * directly), so it works the same from every bundle (CLI, the server's analyze worker, unit
 * tests) with no file of its own to ship.
 */
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { walkPages, type NsysDb, type PagePlan } from './nsys-db';
import { LaunchLinker, linkRuntimeChunk } from './nsys-launch-linker';
import { chunksOfRows, readTablePages, type ColumnChunk, type TableLayout } from './sqlite-pages';
import { READER_YOUNG_GENERATION_MB } from './worker-job';

const TABLE = 'CUPTI_ACTIVITY_KIND_RUNTIME';

/**
 * Below this many rows in either big table the two are read one after the other: starting a worker
 * (about 30 ms: a thread, a Node environment, better-sqlite3) costs more than the overlap saves.
 */
const WORKER_MIN_ROWS = 100_000;

/** Rows per chunk of the runtime table: the reader takes chunks while it reads the kernels. */
const CHUNK_ROWS = 1 << 18;

/**
 * The runtime table's columns, in this order, in each chunk (sqlite-pages.ts's ColumnChunk):
 * callchainId only when stacks are read.
 */
export const RUNTIME_COLUMNS = [
  'start',
  'end',
  'globalTid',
  'correlationId',
  'nameId',
  'callchainId',
];

/**
 * A runtime-table read under way. `next(wait)`: the next chunk of rows; `undefined` when none is
 * ready yet and `wait` is false; null once every chunk was taken. `linker()`, once every chunk was
 * taken: the calls' correlation ids, the runtime calls being the first calls of the profile, in
 * row order. `abandon` stops the read.
 */
export interface RuntimeScan {
  next(wait: boolean): ColumnChunk | null | undefined;
  linker(): LaunchLinker;
  abandon(): void;
}

/** How the worker reads the table: from the file's pages, or through better-sqlite3. */
type ScanSource = { layout: TableLayout } | { plan: PagePlan; width: number };

/**
 * Starts reading the runtime table: on a worker when `onWorker` says so or, by default, when both
 * it and the kernel table are large enough; else here, a chunk per `next(true)`.
 * `withChain`: read callchainId too.
 */
export function startRuntimeScan(ndb: NsysDb, withChain: boolean, onWorker?: boolean): RuntimeScan {
  const wanted = RUNTIME_COLUMNS.slice(0, withChain ? 6 : 5);
  const plan = ndb.pagePlan(TABLE, wanted);
  const expected = ndb.rowCount(TABLE);
  if (plan === null) {
    const linker = new LaunchLinker();
    return { next: () => null, linker: () => linker, abandon: () => undefined };
  }
  const big = Math.min(expected, ndb.rowCount('CUPTI_ACTIVITY_KIND_KERNEL')) >= WORKER_MIN_ROWS;
  if (onWorker ?? big) {
    const layout = ndb.tableLayout(TABLE, wanted);
    return startWorker(ndb.file, layout ? { layout } : { plan, width: wanted.length }, expected);
  }
  // On this thread, a chunk at a time when asked to wait (after the kernels).
  const chunks = ndb.columnChunks(TABLE, wanted, CHUNK_ROWS);
  const linker = new LaunchLinker(expected);
  let calls = 0;
  return {
    next(wait: boolean): ColumnChunk | null | undefined {
      if (!wait) return undefined;
      const chunk = chunks.next().value ?? null;
      if (chunk) {
        linkRuntimeChunk(linker, chunk, calls);
        calls += chunk.length;
      }
      return chunk;
    },
    linker: () => linker,
    abandon: () => undefined,
  };
}

/** What the worker posts: a chunk, the end with the linker, or the error that stopped it. */
type WorkerMessage =
  | { chunk: ColumnChunk }
  | { end: true; linker: LaunchLinker }
  | { error: { message: string; code?: string } };

/**
 * The worker's code: the page reader, or the page walk through better-sqlite3 on its own
 * connection to the same file, and the linker, by their source text (they use no name from
 * outside their bodies). The linker goes back at the end, its typed arrays transferred (a class
 * instance arrives as a plain object: `startWorker` gives it its prototype back). After each
 * message it counts it in `posted` (the reader waits on that count: see `startWorker`).
 */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { sqlite, file, source, chunkRows, expected, port, posted } = workerData;
const post = (message, transfer) => {
  port.postMessage(message, transfer);
  Atomics.add(posted, 0, 1);
  Atomics.notify(posted, 0);
};
try {
  const readTablePages = (${readTablePages.toString()});
  const chunksOfRows = (${chunksOfRows.toString()});
  const walkPages = (${walkPages.toString()});
  const LaunchLinker = (${LaunchLinker.toString()});
  const linkRuntimeChunk = (${linkRuntimeChunk.toString()});
  const linker = new LaunchLinker(expected);
  let calls = 0;
  let db = null;
  try {
    let chunks;
    if (source.layout) {
      chunks = readTablePages(require('node:fs'), source.layout, chunkRows);
    } else {
      const Database = require(sqlite);
      db = new Database(file, { readonly: true, fileMustExist: true });
      chunks = chunksOfRows(walkPages(db, source.plan), source.width, chunkRows);
    }
    for (const chunk of chunks) {
      linkRuntimeChunk(linker, chunk, calls);
      calls += chunk.length;
      post({ chunk }, chunk.columns.map((c) => c.buffer));
    }
  } finally {
    if (db) db.close();
  }
  post({ end: true, linker }, [linker.keys.buffer, linker.values.buffer]);
} catch (e) {
  const code = typeof e?.code === 'string' ? e.code : undefined;
  post({ error: { message: e instanceof Error ? e.message : String(e), code } });
}
`;

function startWorker(file: string, source: ScanSource, expected: number): RuntimeScan {
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
      source,
      chunkRows: CHUNK_ROWS,
      expected,
      port: port2,
      posted,
    },
    transferList: [port2],
    // What it allocates is garbage at once or transferred: a small young generation holds it.
    resourceLimits: { maxYoungGenerationSizeMb: READER_YOUNG_GENERATION_MB },
  });
  // Neither keeps the process alive: a reader that failed before the end leaves nothing behind.
  worker.unref();
  port1.unref();
  let ended = false;
  let linker: LaunchLinker | null = null;
  const stop = (): void => {
    ended = true;
    port1.close();
    void worker.terminate();
  };
  return {
    next(wait: boolean): ColumnChunk | null | undefined {
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
      if (message && 'end' in message) {
        linker = Object.setPrototypeOf(message.linker, LaunchLinker.prototype) as LaunchLinker;
        return null;
      }
      // The same error as a read on this thread: a SqliteError's message and code.
      if (message) throw Object.assign(new Error(message.error.message), message.error);
      throw new Error(`${TABLE}: the reading thread gave no result`);
    },
    linker(): LaunchLinker {
      if (!linker) throw new Error(`${TABLE}: the linker is asked for before the end of the read`);
      return linker;
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
