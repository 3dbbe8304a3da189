/**
 * Python stacks of python_function nodes (torch.profiler `with_stack`): each event names one frame
 * (`file(line): function`) and links to its caller by `Python parent id`.
 */
import type { Frame, StackTable } from '../model';
import type { PyFrames } from './kineto-event-tables';

/** `file(line): function` → a frame, or null for `nn.Module: X_0`, `<built-in …>` and the like. */
export function parsePythonFrame(name: string, precision: Frame['precision']): Frame | null {
  const m = /^(.*)\((\d+)\): (.+)$/.exec(name);
  if (!m || m[1] === '' || name.startsWith('<built-in')) return null;
  return { file: m[1], line: Number(m[2]), function: m[3], precision };
}

/** `chainOf` value of a node whose chain is not known yet. */
const UNKNOWN = -2;
/** Chain of a node whose parent walk runs into a `Python parent id` cycle. */
const CYCLE = -3;
/** Chain of a node on the walk in progress. */
const WALKING = -4;

/**
 * Stack ids for python_function nodes. A node's stack is its own frame (when its name is a source
 * frame) on top of its parent's stack, so each node's stack is worked out once, as a "chain" (a
 * node of a trie of frames keyed by name index), and shared by its descendants: no parent chain is
 * walked, nor any name parsed, twice. Only a chain that a query asks for becomes a Frame[] and is
 * interned in the StackTable.
 */
export class PythonTree {
  /** Index of each node's parent python_function, -1 for a root or an unknown parent. */
  private readonly parentOf: Int32Array;
  /** Chain of each node (-1: no source frame up to the root, or `UNKNOWN`, `CYCLE`, `WALKING`). */
  private readonly chainOf: Int32Array;
  /** Per chain: its innermost frame's name index and the chain under it (-1 for none). */
  private readonly chainName: number[] = [];
  private readonly chainParent: number[] = [];
  /** Stack id of each chain, `UNKNOWN` until asked for. */
  private readonly chainStack: number[] = [];
  /** Chain ids by outer chain, then innermost name. */
  private readonly children = new Map<number, Map<number, number>>();
  /** Stack ids of nodes whose parent walk meets a cycle (hostile traces only). */
  private readonly cycleCache = new Map<number, number>();
  /** Parsed frame per python_function name (null: not a source frame), parsed once each. */
  private readonly frameOfName: (Frame | null | undefined)[] = [];

  constructor(
    private readonly frames: PyFrames,
    private readonly table: StackTable,
  ) {
    this.parentOf = parentIndices(frames);
    this.chainOf = new Int32Array(frames.length).fill(UNKNOWN);
  }

  /** Stack (innermost first) from python_function `index` up to its root; -1 if it has no frames. */
  stackOf(index: number): number {
    let chain = this.chainOf[index];
    if (chain === UNKNOWN) chain = this.walk(index);
    // Below a cycle, each node's walk goes once around it from where it starts: not shared.
    if (chain === CYCLE) return this.cyclicStackOf(index);
    if (chain < 0) return -1;
    let id = this.chainStack[chain];
    if (id === UNKNOWN) {
      const stack: Frame[] = [];
      for (let c = chain; c >= 0; c = this.chainParent[c])
        stack.push({ ...(this.frameOf(this.chainName[c]) as Frame) });
      this.chainStack[chain] = id = this.table.intern(stack);
    }
    return id;
  }

  /**
   * Walks up from `index` to a root or a node already known, then sets the chain of each node on
   * the way; all of them are `CYCLE` when the walk meets a cycle (or a node known to lead to one).
   */
  private walk(index: number): number {
    const path: number[] = [];
    let chain = -1;
    for (let i = index; i >= 0; i = this.parentOf[i]) {
      const known = this.chainOf[i];
      if (known === WALKING || known === CYCLE) {
        for (const p of path) this.chainOf[p] = CYCLE;
        return CYCLE;
      }
      if (known !== UNKNOWN) {
        chain = known;
        break;
      }
      this.chainOf[i] = WALKING;
      path.push(i);
    }
    for (let k = path.length - 1; k >= 0; k--) {
      const name = this.frames.name[path[k]];
      if (this.frameOf(name)) chain = this.chainFor(chain, name);
      this.chainOf[path[k]] = chain;
    }
    return chain;
  }

  private chainFor(outer: number, name: number): number {
    let byName = this.children.get(outer);
    if (!byName) this.children.set(outer, (byName = new Map<number, number>()));
    let chain = byName.get(name);
    if (chain === undefined) {
      chain = this.chainName.length;
      this.chainName.push(name);
      this.chainParent.push(outer);
      this.chainStack.push(UNKNOWN);
      byName.set(name, chain);
    }
    return chain;
  }

  /** The stack of a node below a parent cycle: its frames up to the first node seen twice. */
  private cyclicStackOf(index: number): number {
    const cached = this.cycleCache.get(index);
    if (cached !== undefined) return cached;
    const stack: Frame[] = [];
    const seen = new Set<number>();
    for (let i = index; i >= 0 && !seen.has(i); i = this.parentOf[i]) {
      seen.add(i);
      const frame = this.frameOf(this.frames.name[i]);
      if (frame) stack.push({ ...frame });
    }
    const id = this.table.intern(stack);
    this.cycleCache.set(index, id);
    return id;
  }

  private frameOf(name: number): Frame | null {
    let frame = this.frameOfName[name];
    if (frame === undefined)
      this.frameOfName[name] = frame = parsePythonFrame(this.frames.names.values[name], 'function');
    return frame;
  }
}

/**
 * The index of each node's parent (by `Python parent id`; the last node with an id wins), or -1.
 * Dense integer ids (the usual case) are looked up in an array rather than a Map of every node.
 */
function parentIndices(frames: PyFrames): Int32Array {
  const n = frames.length;
  let maxId = -1;
  let dense = true;
  for (let i = 0; i < n; i++) {
    const id = frames.idOf(i);
    if (id < 0) continue;
    if (!Number.isInteger(id)) dense = false;
    if (id > maxId) maxId = id;
  }
  dense &&= maxId < 2 * n + 1024;
  const out = new Int32Array(n).fill(-1);
  if (dense) {
    const byId = new Int32Array(maxId + 1).fill(-1);
    for (let i = 0; i < n; i++) if (frames.idOf(i) >= 0) byId[frames.idOf(i)] = i;
    for (let i = 0; i < n; i++) {
      const p = frames.parentOf(i);
      if (p >= 0 && p <= maxId && Number.isInteger(p)) out[i] = byId[p];
    }
  } else {
    const byId = new Map<number, number>();
    for (let i = 0; i < n; i++) if (frames.idOf(i) >= 0) byId.set(frames.idOf(i), i);
    for (let i = 0; i < n; i++)
      if (frames.parentOf(i) >= 0) out[i] = byId.get(frames.parentOf(i)) ?? -1;
  }
  return out;
}
