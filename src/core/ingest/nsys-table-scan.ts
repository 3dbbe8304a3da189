/**
 * A big nsys table read into typed columns (sqlite-pages.ts's ColumnChunk) on a worker thread,
 * while the calling thread turns the chunks already read into the Profile: the kernel table and
 * the CUDA API table are read at once, each on a thread of its own, and the API table's calls go
 * into a LaunchLinker there too. The worker runs inline code (`eval`) that needs only `fs` (and
 * better-sqlite3 where the file's pages cannot be read directly), so it works the same from every
 * bundle (CLI, the server's analyze worker, unit tests) with no file of its own to ship.
 */
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { walkPages, type NsysDb, type PagePlan } from './nsys-db';
import { LaunchLinker, linkRuntimeChunk } from './nsys-launch-linker';
import { chunksOfRows, readTablePages, type ColumnChunk, type TableLayout } from './sqlite-pages';
import { READER_YOUNG_GENERATION_MB } from './worker-job';

/**
 * Below this many rows a table is read on the calling thread: starting a worker (about 30 ms: a
 * thread, a Node environment) costs more than the overlap saves.
 */
export const WORKER_MIN_ROWS = 100_000;

/**
 * Chunks a worker may have posted that the reader has not taken yet: a worker ahead of its reader
 * waits rather than queueing the whole table in memory.
 */
const IN_FLIGHT = 4;

/**
 * A table read under way. `next(wait)`: the next chunk of rows; `undefined` when none is ready yet
 * and `wait` is false; null once every chunk was taken. `recycle(chunk)`: the reader is done with
 * a chunk, whose memory the next ones take (a fresh chunk costs page faults, and memory outside
 * the JS heap, which triggers full collections as it grows). `linker()`, once every chunk was
 * taken, for a scan started `withLinker`: the rows' correlation ids as calls 0, 1, … in row order
 * (linkRuntimeChunk). `abandon` stops the read.
 */
export interface TableScan {
  next(wait: boolean): ColumnChunk | null | undefined;
  recycle(chunk: ColumnChunk): void;
  linker(): LaunchLinker;
  abandon(): void;
}

export interface TableScanOptions {
  /** Read on a worker (default: when the table has WORKER_MIN_ROWS rows or more). */
  onWorker?: boolean;
  /** Put each chunk's calls in a LaunchLinker (the CUDA API table). */
  withLinker?: boolean;
  chunkRows: number;
}

/** How the worker reads the table: from the file's pages, or through better-sqlite3. */
type ScanSource = { layout: TableLayout } | { plan: PagePlan; width: number };

/**
 * Starts reading `wanted` columns of `table`: on a worker, or here, a chunk per `next(true)` (a
 * `next(false)` gives nothing: the rows are read when the caller has nothing else to do).
 */
export function startTableScan(
  ndb: NsysDb,
  table: string,
  wanted: readonly string[],
  options: TableScanOptions,
): TableScan {
  const plan = ndb.pagePlan(table, wanted);
  const expected = ndb.rowCount(table);
  const withLinker = options.withLinker ?? false;
  const noLinker = (): LaunchLinker => {
    throw new Error(`${table}: no linker was asked for, or the read has not ended`);
  };
  if (plan === null) {
    const linker = new LaunchLinker();
    return {
      next: () => null,
      recycle: () => {},
      linker: withLinker ? () => linker : noLinker,
      abandon: () => {},
    };
  }
  if (options.onWorker ?? expected >= WORKER_MIN_ROWS) {
    const layout = ndb.tableLayout(table, wanted);
    const source = layout ? { layout } : { plan, width: wanted.length };
    return startWorker(table, ndb.file, source, { ...options, withLinker }, expected);
  }
  const free: Float64Array[][] = [];
  const chunks = ndb.columnChunks(table, wanted, options.chunkRows, () => free.pop() ?? null);
  const linker = withLinker ? new LaunchLinker(expected) : null;
  let calls = 0;
  return {
    next(wait: boolean): ColumnChunk | null | undefined {
      if (!wait) return undefined;
      const chunk = chunks.next().value ?? null;
      if (chunk && linker) {
        linkRuntimeChunk(linker, chunk, calls);
        calls += chunk.length;
      }
      return chunk;
    },
    recycle: (chunk: ColumnChunk) => free.push(chunk.columns),
    linker: linker ? () => linker : noLinker,
    abandon: () => {},
  };
}

/** What the worker posts: a chunk, the end (with the linker), or the error that stopped it. */
type WorkerMessage =
  | { chunk: ColumnChunk }
  | { end: true; linker: LaunchLinker | null }
  | { error: { message: string; code?: string } };

/**
 * The worker's code: the page reader, or the page walk through better-sqlite3 on its own
 * connection to the same file, and the linker, by their source text (they use no name from
 * outside their bodies). The linker goes back at the end, its typed arrays transferred (a class
 * instance arrives as a plain object: `startWorker` gives it its prototype back). After each
 * message it counts it in counts[0] (the reader waits on that count: see `startWorker`); before
 * each chunk it waits until the reader's count of messages taken, counts[1], is close enough.
 */
const WORKER_SOURCE = `
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const { sqlite, file, source, chunkRows, withLinker, expected, inFlight, port, counts } = workerData;
const post = (message, transfer) => {
  for (let taken = Atomics.load(counts, 1); Atomics.load(counts, 0) - taken >= inFlight; ) {
    Atomics.wait(counts, 1, taken);
    taken = Atomics.load(counts, 1);
  }
  port.postMessage(message, transfer);
  Atomics.add(counts, 0, 1);
  Atomics.notify(counts, 0);
};
try {
  const readTablePages = (${readTablePages.toString()});
  const chunksOfRows = (${chunksOfRows.toString()});
  const walkPages = (${walkPages.toString()});
  const LaunchLinker = (${LaunchLinker.toString()});
  const linkRuntimeChunk = (${linkRuntimeChunk.toString()});
  const linker = withLinker ? new LaunchLinker(expected) : null;
  let calls = 0;
  let db = null;
  try {
    // The reader sends back the columns of chunks it is done with.
    const recycled = () => receiveMessageOnPort(port)?.message ?? null;
    let chunks;
    if (source.layout) {
      chunks = readTablePages(require('node:fs'), source.layout, chunkRows, recycled);
    } else {
      const Database = require(sqlite);
      db = new Database(file, { readonly: true, fileMustExist: true });
      chunks = chunksOfRows(walkPages(db, source.plan), source.width, chunkRows, recycled);
    }
    for (const chunk of chunks) {
      if (linker) linkRuntimeChunk(linker, chunk, calls);
      calls += chunk.length;
      post({ chunk }, chunk.columns.map((c) => c.buffer));
    }
  } finally {
    if (db) db.close();
  }
  if (linker) linker.seal();
  const columns = linker ? [linker.ids, linker.calls, linker.procs].filter(Boolean) : [];
  post({ end: true, linker }, columns.map((c) => c.buffer));
} catch (e) {
  const code = typeof e?.code === 'string' ? e.code : undefined;
  post({ error: { message: e instanceof Error ? e.message : String(e), code } });
}
`;

function startWorker(
  table: string,
  file: string,
  source: ScanSource,
  options: TableScanOptions,
  expected: number,
): TableScan {
  const { port1, port2 } = new MessageChannel();
  // Messages the worker has posted, and those taken. The reader is synchronous: it takes them off
  // the port without going back to the event loop, and waits on the first count when it needs one
  // not yet posted; the worker waits on the second.
  const counts = new Int32Array(new SharedArrayBuffer(8));
  let taken = 0;
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      sqlite: require.resolve('better-sqlite3'),
      file,
      source,
      chunkRows: options.chunkRows,
      withLinker: options.withLinker,
      expected,
      inFlight: IN_FLIGHT,
      port: port2,
      counts,
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
      if (Atomics.load(counts, 0) === taken) {
        if (!wait) return undefined;
        while (Atomics.load(counts, 0) === taken) Atomics.wait(counts, 0, taken);
      }
      const message = receiveMessageOnPort(port1)?.message as WorkerMessage | undefined;
      Atomics.store(counts, 1, ++taken);
      Atomics.notify(counts, 1);
      if (message && 'chunk' in message) {
        for (const [, row] of message.chunk.odd) {
          for (let k = 0; k < row.length; k++) row[k] = asBuffer(row[k]);
        }
        return message.chunk;
      }
      stop();
      if (message && 'end' in message) {
        if (message.linker)
          linker = Object.setPrototypeOf(message.linker, LaunchLinker.prototype) as LaunchLinker;
        return null;
      }
      // The same error as a read on this thread: a SqliteError's message and code.
      if (message) throw Object.assign(new Error(message.error.message), message.error);
      throw new Error(`${table}: the reading thread gave no result`);
    },
    recycle(chunk: ColumnChunk): void {
      if (!ended)
        port1.postMessage(
          chunk.columns,
          chunk.columns.map((c) => c.buffer as ArrayBuffer),
        );
    },
    linker(): LaunchLinker {
      if (!linker) throw new Error(`${table}: no linker was asked for, or the read has not ended`);
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
