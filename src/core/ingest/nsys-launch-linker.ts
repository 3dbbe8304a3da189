/**
 * Which CUDA API call launched each GPU operation of an nsys export: correlationId → call index,
 * per process. Built from the runtime table's chunks (`linkRuntimeChunk`), on the runtime-table
 * worker when there is one (nsys-table-scan.ts): both run there from their source text, so they
 * use no name from outside their bodies.
 */
import type { ColumnChunk } from './sqlite-pages';

/**
 * correlationId → index of the API call, per process. Correlation ids are unique within a process
 * but not across processes. The uint32 ids (CUPTI's) are kept in one column sorted by id (a stable
 * radix sort, once every call is in: the runtime table comes in runs of increasing ids), beside
 * each entry's call and process, and found by galloping from the last one found: kernels ask in
 * nearly increasing order, so a lookup touches a few neighbouring cells where a hash table of
 * millions of ids touches a random one of tens of MB. Other ids go to a map keyed by
 * "process:correlation".
 */
export class LaunchLinker {
  /** Per entry (a call with a uint32 id): the id, sorted once `seal` ran; the call; the process. */
  private ids: Uint32Array;
  private calls: Int32Array;
  /** Index in `procKeys` of each entry's process; null while every entry is procKeys[0]'s. */
  private procs: Int32Array | null = null;
  private count = 0;
  /** Whether ids were added in non-decreasing order (then no sort is needed). */
  private inOrder = true;
  private sealed = false;
  /** The position `find` last landed on. */
  private finger = 0;
  /** Process keys by index, the index of each, and the index of the last one added. */
  private readonly procKeys: number[] = [];
  private readonly procIndex = new Map<number, number>();
  private lastProc = -1;
  private readonly overflow = new Map<string, number>();

  /**
   * `expected`: about how many calls will be added (NsysDb.rowCount, which the event budget has
   * bounded): the columns start that large.
   */
  constructor(expected = 0) {
    const capacity = Math.max(1024, expected);
    this.ids = new Uint32Array(capacity);
    this.calls = new Int32Array(capacity);
  }

  add(correlationId: number, proc: number, callIndex: number): void {
    if (correlationId >>> 0 !== correlationId) {
      // CUPTI ids are uint32; anything else is kept out of the typed columns.
      for (const key of [`${proc}:${correlationId}`, `*:${correlationId}`]) {
        if (!this.overflow.has(key)) this.overflow.set(key, callIndex);
      }
      return;
    }
    if (this.sealed) throw new Error('LaunchLinker: a call added after the first lookup');
    let p = this.lastProc;
    if (p < 0 || this.procKeys[p] !== proc) {
      p = this.procIndex.get(proc) ?? -1;
      if (p < 0) this.procIndex.set(proc, (p = this.procKeys.push(proc) - 1));
      this.lastProc = p;
    }
    const n = this.count;
    if (n === this.ids.length) this.grow(2 * n);
    if (this.procs === null && p > 0) this.procs = new Int32Array(this.ids.length);
    this.ids[n] = correlationId;
    this.calls[n] = callIndex;
    if (this.procs !== null) this.procs[n] = p;
    if (n > 0 && correlationId < this.ids[n - 1]) this.inOrder = false;
    this.count = n + 1;
  }

  /**
   * Index of the launching call, or -1: the first call added with this id in process `proc`, or in
   * any process when `proc` is null (old schemas without globalPid) and only one has the id.
   */
  find(correlationId: number, proc: number | null): number {
    if (correlationId >>> 0 !== correlationId) {
      return this.overflow.get(`${proc ?? '*'}:${correlationId}`) ?? -1;
    }
    if (!this.sealed) this.seal();
    const { ids, procs, count } = this;
    let at = this.lowerBound(correlationId);
    if (at === count || ids[at] !== correlationId) return -1;
    if (procs === null) return proc === null || proc === this.procKeys[0] ? this.calls[at] : -1;
    if (proc === null) {
      // The id of one process only: its first call.
      for (let k = at + 1; k < count && ids[k] === correlationId; k++)
        if (procs[k] !== procs[at]) return -1;
      return this.calls[at];
    }
    const p = this.procIndex.get(proc);
    for (; at < count && ids[at] === correlationId; at++)
      if (procs[at] === p) return this.calls[at];
    return -1;
  }

  /**
   * The first position whose id is ≥ `id`, galloping from the last position found, then halving
   * the bracket.
   */
  private lowerBound(id: number): number {
    const { ids, count: n } = this;
    // The answer is in (lo, hi]: ids[lo] < id (or lo = -1), ids[hi] ≥ id (or hi = n).
    let lo: number;
    let hi: number;
    const f = Math.min(this.finger, n - 1);
    if (f < 0 || ids[f] >= id) {
      hi = f < 0 ? n : f;
      let step = 1;
      lo = hi - 1;
      while (lo >= 0 && ids[lo] >= id) {
        hi = lo;
        step *= 2;
        lo = hi - step;
      }
      if (lo < -1) lo = -1;
    } else {
      lo = f;
      let step = 1;
      hi = lo + 1;
      while (hi < n && ids[hi] < id) {
        lo = hi;
        step *= 2;
        hi = Math.min(n, lo + step);
      }
    }
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      if (ids[mid] >= id) hi = mid;
      else lo = mid;
    }
    this.finger = hi;
    return hi;
  }

  /**
   * Ends the adding (of uint32 ids; the first lookup does it too) and sorts the entries by id,
   * keeping the order they were added in among equal ids (so that the first call of an id comes
   * first): least significant digit first, 13 bits a pass, a pass skipped where every id has the
   * same digit (ids below 2^26, as CUPTI's are for tens of millions of calls, take two).
   */
  seal(): void {
    if (this.sealed) return;
    this.sealed = true;
    const n = this.count;
    this.grow(n);
    if (this.inOrder) return;
    let keys: Uint32Array = this.ids;
    let order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    let keysTo: Uint32Array = new Uint32Array(n);
    let orderTo = new Int32Array(n);
    const counts = new Int32Array(8192);
    for (let shift = 0; shift < 32; shift += 13) {
      counts.fill(0);
      for (let i = 0; i < n; i++) counts[(keys[i] >>> shift) & 8191]++;
      if (counts[(keys[0] >>> shift) & 8191] === n) continue;
      for (let d = 0, sum = 0; d < 8192; d++) {
        const c = counts[d];
        counts[d] = sum;
        sum += c;
      }
      for (let i = 0; i < n; i++) {
        const at = counts[(keys[i] >>> shift) & 8191]++;
        keysTo[at] = keys[i];
        orderTo[at] = order[i];
      }
      [keys, keysTo] = [keysTo, keys];
      [order, orderTo] = [orderTo, order];
    }
    const calls = new Int32Array(n);
    for (let i = 0; i < n; i++) calls[i] = this.calls[order[i]];
    const procs = this.procs;
    if (procs !== null) {
      const sorted = new Int32Array(n);
      for (let i = 0; i < n; i++) sorted[i] = procs[order[i]];
      this.procs = sorted;
    }
    this.ids = keys;
    this.calls = calls;
  }

  /** Resizes the columns to `size` entries. */
  private grow(size: number): void {
    const resize = <T extends Uint32Array | Int32Array>(a: T, make: (n: number) => T): T => {
      if (a.length === size) return a;
      const b = make(size);
      b.set(a.subarray(0, Math.min(a.length, size)));
      return b;
    };
    this.ids = resize(this.ids, (k) => new Uint32Array(k));
    this.calls = resize(this.calls, (k) => new Int32Array(k));
    if (this.procs !== null) this.procs = resize(this.procs, (k) => new Int32Array(k));
  }
}

/**
 * Adds the calls of a chunk of the runtime table (RUNTIME_COLUMNS: globalTid and correlationId
 * are its 3rd and 4th), the first of them call `first`, to `linker`: each id as a raw row has it
 * (0 for NULL), in the process of its thread (the bits of globalTid above the tid).
 */
export function linkRuntimeChunk(linker: LaunchLinker, chunk: ColumnChunk, first: number): void {
  const globalTid = chunk.columns[2];
  const correlationId = chunk.columns[3];
  const odd = chunk.odd;
  let nextOdd = 0;
  let lastGtid: unknown = NaN;
  let proc = 0;
  for (let r = 0; r < chunk.length; r++) {
    let gtid: unknown;
    let corr: unknown;
    if (nextOdd < odd.length && odd[nextOdd][0] === r) {
      const row = odd[nextOdd++][1];
      gtid = row[2] ?? 0;
      corr = row[3] ?? 0;
    } else {
      const g = globalTid[r];
      const c = correlationId[r];
      gtid = g === g ? g : 0;
      corr = c === c ? c : 0;
    }
    if (gtid !== lastGtid) {
      lastGtid = gtid;
      proc = Math.floor((gtid as number) / 16777216); // nsys-db.ts's processKey
    }
    linker.add(corr as number, proc, first + r);
  }
}
