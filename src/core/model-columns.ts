/**
 * Building blocks of the Profile's columnar tables (model-gpu-ops.ts, model-cpu-calls.ts,
 * model-cpu-ranges.ts): typed columns that grow while a reader appends rows, interned strings, and
 * the CPU thread table.
 */

/** A typed-array constructor of the kinds the tables use. */
type ColumnArray = Float64Array | Int32Array | Uint32Array | Uint8Array;

/** `a` copied into a new array of the same type and `length` (rows beyond a's are zero). */
function resized<T extends ColumnArray>(a: T, length: number): T {
  const Ctor = a.constructor as new (n: number) => T;
  const b = new Ctor(length);
  b.set(length >= a.length ? a : a.subarray(0, length));
  return b;
}

/** Whether a's first n values are all the same, bit for bit. */
function isConstant(a: ColumnArray, n: number): boolean {
  // Compared as 32-bit words (one element kind per loop, which runs several times faster).
  if (a instanceof Uint8Array) return sameBytes(a, n);
  const words = new Int32Array(a.buffer, a.byteOffset, (n * a.BYTES_PER_ELEMENT) / 4);
  return sameWords(words, a.BYTES_PER_ELEMENT / 4);
}

/** Whether `words` repeats its first `period` words throughout. */
function sameWords(words: Int32Array, period: number): boolean {
  for (let k = period; k < words.length; k++) if (words[k] !== words[k - period]) return false;
  return true;
}

function sameBytes(a: Uint8Array, n: number): boolean {
  for (let k = 1; k < n; k++) if (a[k] !== a[0]) return false;
  return true;
}

/** `from[order[k]]` for each k, in a new array of from's type. */
function gathered(from: ColumnArray, order: Int32Array): ColumnArray {
  // One loop per array type: one loop over several element kinds runs several times slower.
  const n = order.length;
  if (from instanceof Float64Array) return gatherFloat64(new Float64Array(n), from, order);
  if (from instanceof Int32Array) return gatherInt32(new Int32Array(n), from, order);
  if (from instanceof Uint32Array) return gatherUint32(new Uint32Array(n), from, order);
  return gatherUint8(new Uint8Array(n), from, order);
}

function gatherFloat64(to: Float64Array, from: Float64Array, order: Int32Array): Float64Array {
  for (let k = 0; k < order.length; k++) to[k] = from[order[k]];
  return to;
}

function gatherInt32(to: Int32Array, from: Int32Array, order: Int32Array): Int32Array {
  for (let k = 0; k < order.length; k++) to[k] = from[order[k]];
  return to;
}

function gatherUint32(to: Uint32Array, from: Uint32Array, order: Int32Array): Uint32Array {
  for (let k = 0; k < order.length; k++) to[k] = from[order[k]];
  return to;
}

function gatherUint8(to: Uint8Array, from: Uint8Array, order: Int32Array): Uint8Array {
  for (let k = 0; k < order.length; k++) to[k] = from[order[k]];
  return to;
}

/**
 * Capacity after growing from `cap` to hold at least `need` rows: exactly `need` for an empty
 * table (a reader that knows its row count reserves it once, with no spare rows to trim), else
 * doubling, so appends are amortized O(1).
 */
function grownCapacity(cap: number, need: number): number {
  if (cap === 0) return need;
  let next = Math.max(16, cap);
  while (next < need) next *= 2;
  return next;
}

/**
 * A table of typed-array columns (the fields named by `columns`), row i of each being row i of the
 * table. Readers `reserve` rows, write the columns and set `length`; `trim` drops spare rows.
 */
export abstract class ColumnTable {
  length = 0;
  private capacity = 0;
  /** The fields of the subclass that are columns. */
  protected abstract readonly columns: readonly string[];

  /** Makes room for `n` rows in all (readers that know their row count call it once). */
  reserve(n: number): void {
    if (n > this.capacity) this.resizeAll(grownCapacity(this.capacity, n));
  }

  /** Drops spare capacity (once reading is done). */
  trim(): void {
    if (this.capacity > this.length) this.resizeAll(this.length);
  }

  /** Index of a new last row (its cells are zero until written). */
  protected nextRow(): number {
    if (this.length >= this.capacity) this.reserve(this.length + 1);
    return this.length++;
  }

  /** Reorders the rows: row k becomes what row `order[k]` was (`order` a permutation of them). */
  permute(order: Int32Array): void {
    const self = this as unknown as Record<string, ColumnArray>;
    const n = order.length;
    for (const c of this.columns) {
      const column = self[c];
      // A column with one value throughout (a single trace's rank, one device, no stacks) is the
      // same in any order.
      if (isConstant(column, n)) self[c] = column.length === n ? column : resized(column, n);
      else self[c] = gathered(column, order);
    }
    this.length = this.capacity = order.length;
  }

  private resizeAll(cap: number): void {
    const self = this as unknown as Record<string, ColumnArray>;
    for (const c of this.columns) self[c] = resized(self[c], cap);
    this.capacity = cap;
  }
}

/** The columns every CPU-side table has (ThreadSpanTable). */
export const THREAD_SPAN_COLUMNS = [
  'name',
  'kind',
  'startNs',
  'endNs',
  'thread',
  'stackId',
] as const;

/**
 * A table of spans on CPU threads (calls, operators): a name, a kind code, start and end, the
 * thread (an index into `threads`, which holds rank, pid and tid) and a stack id per row.
 */
export abstract class ThreadSpanTable extends ColumnTable {
  name = new Int32Array(0);
  kind = new Uint8Array(0);
  startNs = new Float64Array(0);
  endNs = new Float64Array(0);
  thread = new Int32Array(0);
  stackId = new Int32Array(0);
  readonly names = new StringTable();
  readonly threads = new ThreadTable();

  nameOf(i: number): string {
    return this.names.at(this.name[i]);
  }

  rankOf(i: number): number {
    return this.threads.rank[this.thread[i]];
  }

  pidOf(i: number): number {
    return this.threads.pid[this.thread[i]];
  }

  tidOf(i: number): number {
    return this.threads.tid[this.thread[i]];
  }
}

/** Strings held once each; rows keep their index. */
export class StringTable {
  readonly values: string[] = [];
  private readonly index = new Map<string, number>();

  intern(s: string): number {
    let id = this.index.get(s);
    if (id === undefined) {
      id = this.values.length;
      this.values.push(s);
      this.index.set(s, id);
    }
    return id;
  }

  at(id: number): string {
    return this.values[id];
  }

  get size(): number {
    return this.values.length;
  }
}

/** A CPU thread: the (rank, pid, tid) triple a call or range ran on. */
export interface ThreadId {
  rank: number;
  pid: number;
  tid: number;
}

/**
 * The CPU threads of a profile, each interned once: calls keep the thread's index, so grouping by
 * thread is grouping by one small integer (pid and tid can be above 2^32 in Kineto traces).
 */
export class ThreadTable {
  readonly rank: number[] = [];
  readonly pid: number[] = [];
  readonly tid: number[] = [];
  private readonly index = new Map<number, Map<number, Map<number, number>>>();
  // The last thread interned: consecutive rows are mostly on the same thread.
  private lastRank = NaN;
  private lastPid = NaN;
  private lastTid = NaN;
  private lastId = -1;

  intern(rank: number, pid: number, tid: number): number {
    if (rank === this.lastRank && pid === this.lastPid && tid === this.lastTid) return this.lastId;
    let pids = this.index.get(rank);
    if (!pids) this.index.set(rank, (pids = new Map<number, Map<number, number>>()));
    let tids = pids.get(pid);
    if (!tids) pids.set(pid, (tids = new Map<number, number>()));
    let id = tids.get(tid);
    if (id === undefined) {
      id = this.rank.length;
      this.rank.push(rank);
      this.pid.push(pid);
      this.tid.push(tid);
      tids.set(tid, id);
    }
    this.lastRank = rank;
    this.lastPid = pid;
    this.lastTid = tid;
    this.lastId = id;
    return id;
  }

  get size(): number {
    return this.rank.length;
  }

  /**
   * Threads of rank r become rank `ranks[r]` (a rank folder's final numbering); threads that now
   * coincide merge. Returns the new index of each old thread, in first-seen order as before.
   */
  renumberRanks(ranks: readonly number[]): Int32Array {
    const old = { rank: this.rank.splice(0), pid: this.pid.splice(0), tid: this.tid.splice(0) };
    this.index.clear();
    this.lastRank = NaN;
    this.lastId = -1;
    const to = new Int32Array(old.rank.length);
    for (let k = 0; k < to.length; k++)
      to[k] = this.intern(ranks[old.rank[k]], old.pid[k], old.tid[k]);
    return to;
  }

  /** `rank:pid:tid`, the thread's key across ranks (cpu-threads.ts threadKey). */
  key(id: number): string {
    return `${this.rank[id]}:${this.pid[id]}:${this.tid[id]}`;
  }
}

/** Code of an optional enum column's "absent". */
export const ABSENT = 255;
