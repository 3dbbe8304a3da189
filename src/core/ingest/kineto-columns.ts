/**
 * Compact storage for what the Kineto reader keeps only until stacks are resolved: spans on CPU
 * threads in typed-array columns (one number per field, no object per event) and interned strings
 * (thread keys, python_function names, call stacks) held once each, referred to by index.
 *
 * A 1.2 GB trace holds ~2.5 M python_function events: as objects with their own copies of the
 * name and `pid:tid` strings they took ~500 MB; as columns ~100 MB.
 */

import { sortByStart } from '../intervals';

type Column = Float64Array | Int32Array | Uint8Array;

/** Rows a new table has room for. */
export const INITIAL_CAPACITY = 1024;

/** A copy of `col` with room for `capacity` entries. */
export function grown<T extends Column>(col: T, capacity: number): T {
  const out = new (col.constructor as new (n: number) => T)(capacity);
  out.set(col.subarray(0, Math.min(col.length, capacity)));
  return out;
}

/** Strings stored once each, numbered in order of first sight. */
export class Interner {
  readonly values: string[] = [];
  private readonly index = new Map<string, number>();

  /** Index of `s`, added when new. */
  id(s: string): number {
    let i = this.index.get(s);
    if (i === undefined) {
      i = this.values.length;
      this.values.push(s);
      this.index.set(s, i);
    }
    return i;
  }

  /** The stored copy of `s` (so equal strings share one copy). */
  canonical(s: string): string {
    return this.values[this.id(s)];
  }
}

/**
 * CPU threads, numbered by their `pid:tid` key as the trace spells pid and tid (so pid 7 and pid
 * "7" are one thread, as `String` makes them). Looked up by the raw values without building the
 * key string per event.
 */
export class ThreadKeys {
  readonly keys = new Interner();
  private readonly byPid = new Map<unknown, Map<unknown, number>>();
  // The last thread looked up: consecutive events are mostly on one thread.
  private lastPid: unknown = undefined;
  private lastTid: unknown = undefined;
  private lastId = -1;

  id(pid: unknown, tid: unknown): number {
    if (this.lastId >= 0 && pid === this.lastPid && tid === this.lastTid) return this.lastId;
    // Only primitives are cached: an object pid (hostile input) is a new key every time.
    const cacheable = isPrimitive(pid) && isPrimitive(tid);
    let tids = cacheable ? this.byPid.get(pid) : undefined;
    let id = tids?.get(tid);
    if (id === undefined) {
      id = this.keys.id(`${String(pid)}:${String(tid)}`);
      if (cacheable) {
        if (!tids) this.byPid.set(pid, (tids = new Map<unknown, number>()));
        tids.set(tid, id);
      }
    }
    if (cacheable) {
      this.lastPid = pid;
      this.lastTid = tid;
      this.lastId = id;
    }
    return id;
  }
}

function isPrimitive(v: unknown): boolean {
  return v === undefined || v === null || typeof v === 'number' || typeof v === 'string';
}

/**
 * Rows of typed-array columns, appended one at a time; subclasses declare the columns and grow
 * them in `resize` (with `grown`). Capacity grows by half each time, so at most a third is unused.
 */
export abstract class Columns {
  length = 0;
  private capacity = INITIAL_CAPACITY;

  /** Index of a new row, growing the columns when they are full. */
  protected nextRow(): number {
    if (this.length === this.capacity) {
      this.capacity = Math.ceil(this.capacity * 1.5) + 16;
      this.resize(this.capacity);
    }
    return this.length++;
  }

  /** Grows every column to `capacity`. */
  protected abstract resize(capacity: number): void;
}

/** Time spans on CPU threads (thread index, start and end ns); subclasses add columns. */
export class SpanTable extends Columns {
  thread = new Int32Array(INITIAL_CAPACITY);
  start = new Float64Array(INITIAL_CAPACITY);
  end = new Float64Array(INITIAL_CAPACITY);
  /** Span indices grouped by thread and sorted by start (see `byThread`), built on first use. */
  private sorted: ThreadOrder | null = null;

  /** Appends a span; returns its index. */
  addSpan(thread: number, start: number, end: number): number {
    const i = this.nextRow();
    this.thread[i] = thread;
    this.start[i] = start;
    this.end[i] = end;
    this.sorted = null;
    return i;
  }

  protected resize(capacity: number): void {
    this.thread = grown(this.thread, capacity);
    this.start = grown(this.start, capacity);
    this.end = grown(this.end, capacity);
  }

  /**
   * Span indices grouped by thread, each group sorted by start, outer spans first when two start
   * together (longer first, then index order): computed once, reused by every query.
   */
  byThread(): ThreadOrder {
    if (this.sorted) return this.sorted;
    const n = this.length;
    const groups = new Map<number, number>();
    for (let i = 0; i < n; i++) groups.set(this.thread[i], (groups.get(this.thread[i]) ?? 0) + 1);
    const offsets = new Map<number, { from: number; to: number }>();
    let at = 0;
    for (const [thread, count] of groups) {
      offsets.set(thread, { from: at, to: at });
      at += count;
    }
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const g = offsets.get(this.thread[i]) as { from: number; to: number };
      order[g.to++] = i;
    }
    for (const g of offsets.values()) this.sortGroup(order.subarray(g.from, g.to));
    this.sorted = { order, groups: offsets };
    return this.sorted;
  }

  /**
   * Sorts one thread's span indices (ascending on entry) by start, then end descending, then
   * index. Readers append spans mostly in start order already, so a natural merge sort by start
   * (stable: ties keep index order) and an insertion sort of each run of equal starts by end cost
   * a few linear passes, where a comparator sort of 2.5 M python_function spans cost ~0.8 s.
   */
  private sortGroup(idx: Int32Array): void {
    const { start, end } = this;
    sortByStart(start, idx);
    for (let k = 1; k < idx.length; k++) {
      if (start[idx[k]] !== start[idx[k - 1]] || end[idx[k]] <= end[idx[k - 1]]) continue;
      // idx[k] ends later than the span before it with the same start: move it before every
      // such span (ties on end keep index order, as the run is in index order).
      const s = idx[k];
      let j = k;
      while (j > 0 && start[idx[j - 1]] === start[s] && end[idx[j - 1]] < end[s]) {
        idx[j] = idx[j - 1];
        j--;
      }
      idx[j] = s;
    }
  }
}

/** Span indices in thread groups: `order[from, to)` for each thread. */
export interface ThreadOrder {
  order: Int32Array;
  groups: Map<number, { from: number; to: number }>;
}

/** A span table that keeps one extra number per span (a stack id, an index elsewhere). */
export class TaggedSpans extends SpanTable {
  tag = new Float64Array(INITIAL_CAPACITY);

  add(thread: number, start: number, end: number, tag: number): number {
    const i = this.addSpan(thread, start, end);
    this.tag[i] = tag;
    return i;
  }

  protected override resize(capacity: number): void {
    super.resize(capacity);
    this.tag = grown(this.tag, capacity);
  }
}

/** Points on CPU threads (thread index and ns), e.g. where a call or a range starts. */
export interface ThreadPoints {
  length: number;
  thread: Int32Array;
  ts: Float64Array;
}

/** Flow endpoints by flow id (the last one seen wins, as trace viewers do). */
export class FlowPoints {
  private readonly index = new Map<string, number>();
  private thread: number[] = [];
  private ts: number[] = [];

  set(id: string, thread: number, ts: number): void {
    this.index.set(id, this.thread.length);
    this.thread.push(thread);
    this.ts.push(ts);
  }

  get size(): number {
    return this.index.size;
  }

  has(id: string): boolean {
    return this.index.has(id);
  }

  /** Flow ids in order of first sight. */
  ids(): IterableIterator<string> {
    return this.index.keys();
  }

  /** The points of `ids` (each must be present). */
  points(ids: readonly string[]): ThreadPoints {
    const out = newPoints(ids.length);
    ids.forEach((id, j) => {
      const i = this.index.get(id) as number;
      out.thread[j] = this.thread[i];
      out.ts[j] = this.ts[i];
    });
    return out;
  }

  /** Every (id, thread, ts) in order of first sight of the id. */
  *entries(): IterableIterator<[string, number, number]> {
    for (const [id, i] of this.index) yield [id, this.thread[i], this.ts[i]];
  }
}

/** An empty set of `n` points to fill. */
export function newPoints(n: number): ThreadPoints {
  return { length: n, thread: new Int32Array(n), ts: new Float64Array(n) };
}
