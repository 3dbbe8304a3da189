/**
 * Python stacks of python_function nodes (torch.profiler `with_stack`): each event names one frame
 * (`file(line): function`) and links to its caller by `Python parent id`.
 *
 * The tree is built while the trace streams in, so that a trace's millions of frames never sit in
 * memory with their names and ids: each node's stack is worked out as it arrives, as a "chain" (a
 * node of a trie of frames keyed by name index) on top of its parent's, and only its span and
 * chain are kept. A node that adds no frame (`nn.Module: X_0`, `<built-in …>`: about half of them)
 * and lies within its parent's span on the same thread is not kept at all: the innermost span
 * holding a point inside it is then its parent's (or a kept descendant's), with the same chain.
 * Only a chain that a query asks for becomes a Frame[] and is interned in the StackTable.
 *
 * Parents come before their children in real traces (torch writes python_function events in start
 * order). A node whose parent id has not been seen yet is kept "pending" with its name and parent
 * id, and linked by `finish` once the whole trace is read; so are its descendants. A child links
 * to the last node seen before it with its parent's id (a pending one, to the last in the trace).
 */
import type { Frame, StackTable } from '../model';
import { INITIAL_CAPACITY, Interner, SpanTable, grown } from './kineto-columns';

/** `file(line): function` → a frame, or null for `nn.Module: X_0`, `<built-in …>` and the like. */
export function parsePythonFrame(name: string, precision: Frame['precision']): Frame | null {
  const m = /^(.*)\((\d+)\): (.+)$/.exec(name);
  if (!m || m[1] === '' || name.startsWith('<built-in')) return null;
  return { file: m[1], line: Number(m[2]), function: m[3], precision };
}

/** `chain` of a row whose parent walk runs into a `Python parent id` cycle (set by `finish`). */
const CYCLE = -2;
/** `chain` of a pending row, as `PENDING - k` for pending node k. */
const PENDING = -16;
/** A pending node's state during `finish`: on the walk in progress. */
const WALKING = -3;

/**
 * The kept python_function spans (rows of the SpanTable) with each one's name and chain; `stackOf`
 * gives the stack of a row. Call `finish` once the trace is read, before any `stackOf`.
 */
export class PythonTree extends SpanTable {
  /** python_function names, each held once. */
  readonly names = new Interner();
  /** Name (index into `names`) of each kept row. */
  name = new Int32Array(INITIAL_CAPACITY);
  /** Chain of each kept row: -1 for no source frame up to its root, else see `CYCLE`, `PENDING`. */
  private chain = new Int32Array(INITIAL_CAPACITY);
  /** Per chain: its innermost frame's name index and the chain under it (-1 for none). */
  private readonly chainName: number[] = [];
  private readonly chainParent: number[] = [];
  /** Stack id of each chain, -2 until asked for. */
  private readonly chainStack: number[] = [];
  /** Chain ids by outer chain, then innermost name. */
  private readonly children = new Map<number, Map<number, number>>();
  /** Parsed frame per name (null: not a source frame), parsed once each. */
  private readonly frameOfName: (Frame | null)[] = [];
  /** The kept row standing for each node, by `Python id` (the last one seen with that id). */
  private readonly rowById = new IdRows();
  /** Pending nodes: their row and their parent's id. */
  private pendingRow: number[] = [];
  private pendingParent: number[] = [];
  /** Stack ids of rows below a parent cycle (hostile traces only). */
  private readonly cycleStacks = new Map<number, number>();

  /** Adds one python_function event (`id`, `parent`: its ids, negative when absent). */
  add(thread: number, start: number, end: number, name: string, id: number, parent: number): void {
    const n = this.names.id(name);
    const frame = this.frameOf(n);
    const p = parent >= 0 ? this.rowById.get(parent) : -1;
    const parentChain = p >= 0 ? this.chain[p] : -1;
    if (parentChain <= PENDING || (parent >= 0 && p < 0)) {
      // The parent is pending or not seen yet: linked by `finish`.
      const row = this.keep(thread, start, end, n, PENDING - this.pendingRow.length);
      this.pendingRow.push(row);
      this.pendingParent.push(parent);
      if (id >= 0) this.rowById.set(id, row);
      return;
    }
    if (
      frame === null &&
      p >= 0 &&
      this.thread[p] === thread &&
      this.start[p] <= start &&
      end <= this.end[p]
    ) {
      // Adds no frame and lies within its parent: the parent's row stands for it.
      if (id >= 0) this.rowById.set(id, p);
      return;
    }
    const chain = frame === null ? parentChain : this.chainFor(parentChain, n);
    const row = this.keep(thread, start, end, n, chain);
    if (id >= 0) this.rowById.set(id, row);
  }

  /**
   * Links the pending nodes (now that every id has been seen) and frees the id index, unless a
   * cycle needs it for `stackOf`.
   */
  finish(): void {
    let cycles = false;
    for (let k = 0; k < this.pendingRow.length; k++) {
      if (this.chain[this.pendingRow[k]] <= PENDING) this.link(k);
      if (this.chain[this.pendingRow[k]] === CYCLE) cycles = true;
    }
    if (!cycles) this.rowById.clear();
  }

  /** Stack (innermost first, interned in `table`) of kept row `row`; -1 if it has no frames. */
  stackOf(row: number, table: StackTable): number {
    const chain = this.chain[row];
    if (chain === CYCLE) return this.cyclicStackOf(row, table);
    if (chain < 0) return -1;
    let id = this.chainStack[chain];
    if (id === -2) {
      const stack: Frame[] = [];
      for (let c = chain; c >= 0; c = this.chainParent[c])
        stack.push({ ...(this.frameOf(this.chainName[c]) as Frame) });
      this.chainStack[chain] = id = table.intern(stack);
    }
    return id;
  }

  private keep(thread: number, start: number, end: number, name: number, chain: number): number {
    const row = this.addSpan(thread, start, end);
    this.name[row] = name;
    this.chain[row] = chain;
    return row;
  }

  /**
   * Walks up from pending node k through pending parents to a linked row or a root, then sets the
   * chain of each node on the way; all of them are `CYCLE` when the walk meets a cycle (or a node
   * known to lead to one).
   */
  private link(k: number): void {
    const path: number[] = [];
    let chain = -1;
    for (let row = this.pendingRow[k]; ;) {
      const known = this.chain[row];
      if (known === WALKING || known === CYCLE) {
        for (const r of path) this.chain[r] = CYCLE;
        return;
      }
      if (known > PENDING) {
        chain = known;
        break;
      }
      const parentId = this.pendingParent[PENDING - known];
      this.chain[row] = WALKING;
      path.push(row);
      const parent = parentId >= 0 ? this.rowById.get(parentId) : -1;
      if (parent < 0) break;
      row = parent;
    }
    for (let j = path.length - 1; j >= 0; j--) {
      const name = this.name[path[j]];
      if (this.frameOf(name)) chain = this.chainFor(chain, name);
      this.chain[path[j]] = chain;
    }
  }

  /** The stack of a row below a parent cycle: its frames up to the first row seen twice. */
  private cyclicStackOf(row: number, table: StackTable): number {
    const cached = this.cycleStacks.get(row);
    if (cached !== undefined) return cached;
    // Rows in a cycle were all pending: each one's parent id is still at hand.
    const pendingOf = new Map<number, number>();
    this.pendingRow.forEach((r, k) => pendingOf.set(r, k));
    const stack: Frame[] = [];
    const seen = new Set<number>();
    for (let r = row; r >= 0 && !seen.has(r);) {
      seen.add(r);
      const frame = this.frameOf(this.name[r]);
      if (frame) stack.push({ ...frame });
      const parentId = this.pendingParent[pendingOf.get(r) ?? -1] ?? -1;
      r = parentId >= 0 ? this.rowById.get(parentId) : -1;
    }
    const id = table.intern(stack);
    this.cycleStacks.set(row, id);
    return id;
  }

  private chainFor(outer: number, name: number): number {
    let byName = this.children.get(outer);
    if (!byName) this.children.set(outer, (byName = new Map<number, number>()));
    let chain = byName.get(name);
    if (chain === undefined) {
      chain = this.chainName.length;
      this.chainName.push(name);
      this.chainParent.push(outer);
      this.chainStack.push(-2);
      byName.set(name, chain);
    }
    return chain;
  }

  private frameOf(name: number): Frame | null {
    let frame = this.frameOfName[name];
    if (frame === undefined)
      this.frameOfName[name] = frame = parsePythonFrame(this.names.values[name], 'function');
    return frame;
  }

  protected override resize(capacity: number): void {
    super.resize(capacity);
    this.name = grown(this.name, capacity);
    this.chain = grown(this.chain, capacity);
  }
}

/**
 * Rows by `Python id`. Real ids are dense integers from 0 (one per node): those index an array;
 * others (sparse, fractional or huge ids, hostile traces) go to a Map.
 */
class IdRows {
  private dense = new Int32Array(INITIAL_CAPACITY).fill(-1);
  private readonly sparse = new Map<number, number>();
  private count = 0;

  /** The row set for `id`, -1 when none. */
  get(id: number): number {
    if (id < this.dense.length && this.dense[id] >= 0) return this.dense[id];
    return this.sparse.size > 0 ? (this.sparse.get(id) ?? -1) : -1;
  }

  set(id: number, row: number): void {
    this.count++;
    // Dense while ids stay within a few times the number of nodes seen.
    if (Number.isInteger(id) && id < 4 * this.count + INITIAL_CAPACITY) {
      if (id >= this.dense.length) {
        const size = Math.max(id + 1, Math.ceil(this.dense.length * 1.5));
        const bigger = new Int32Array(size).fill(-1);
        bigger.set(this.dense);
        this.dense = bigger;
      }
      this.dense[id] = row;
      if (this.sparse.size > 0) this.sparse.delete(id);
    } else this.sparse.set(id, row);
  }

  clear(): void {
    this.dense = new Int32Array(0);
    this.sparse.clear();
  }
}
