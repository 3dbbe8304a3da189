/**
 * The call tree of the GPU time beneath one line: the frames between that line and each GPU op's
 * launch as the stacks recorded them (workspace, library and framework frames alike), with self
 * (ops launched with the frame innermost) and total time per frame. Built from the attributed ops
 * grouped by stack (core/drilldown.ts), so the root's total is the line's `totalNs` and the self
 * times of all nodes add up to it; pruning merges what it drops into "other" nodes.
 */
import type { Frame, Profile } from './model';
import type { CallTreeNode, LineStat } from './report-types';
import type { StackResolver } from './stack-resolver';

/** Most children kept per node (the rest merge into one "other" node). */
export const CALL_TREE_MAX_CHILDREN = 8;
/** Deepest level kept beneath the line (deeper frames merge into one "other" node). */
export const CALL_TREE_MAX_DEPTH = 12;
/** Most nodes of one tree, root included (the "other" nodes come on top). */
export const CALL_TREE_MAX_NODES = 100;

/** A node while the tree grows: children by frame. */
interface Growing {
  frame: { file: string; line: number; function: string };
  selfNs: number;
  totalNs: number;
  children: Map<string, Growing>;
}

const grow = (frame: Growing['frame']): Growing => ({
  frame,
  selfNs: 0,
  totalNs: 0,
  children: new Map(),
});

/** One line's tree while ops are added; `finish()` prunes it into the Report's shape. */
export class CallTreeBuilder {
  private readonly root: Growing;

  constructor(readonly line: LineStat) {
    this.root = grow({ file: line.file, line: line.line, function: line.function });
  }

  /** Adds `ns` launched through `path` (the frames beneath the line, outermost first). */
  add(path: readonly Growing['frame'][], ns: number): void {
    let node = this.root;
    node.totalNs += ns;
    for (const f of path) {
      const key = `${f.file}\n${f.line}\n${f.function}`;
      let next = node.children.get(key);
      if (!next) node.children.set(key, (next = grow(f)));
      next.totalNs += ns;
      node = next;
    }
    node.selfNs += ns;
  }

  /**
   * The pruned tree: children by total time, at most CALL_TREE_MAX_CHILDREN per node, nodes
   * taken breadth-first (the largest branches of each level first) until CALL_TREE_MAX_NODES,
   * nothing deeper than CALL_TREE_MAX_DEPTH. What is dropped merges into an "other" node with
   * only self time (`other`: how many frames it stands for), so totals still add up.
   */
  finish(): CallTreeNode {
    const out = leaf(this.root);
    let budget = CALL_TREE_MAX_NODES - 1;
    let level: [Growing, CallTreeNode, number][] = [[this.root, out, 0]];
    while (level.length > 0) {
      const next: typeof level = [];
      // Across one level, the heaviest parents get the budget first.
      level.sort((a, b) => b[0].totalNs - a[0].totalNs);
      for (const [g, node, depth] of level) {
        const kids = [...g.children.values()].sort((a, b) => b.totalNs - a.totalNs);
        const keep = depth >= CALL_TREE_MAX_DEPTH ? 0 : Math.min(CALL_TREE_MAX_CHILDREN, budget);
        budget -= Math.min(keep, kids.length);
        for (const k of kids.slice(0, keep)) {
          const child = leaf(k);
          node.children.push(child);
          next.push([k, child, depth + 1]);
        }
        const rest = kids.slice(keep);
        if (rest.length > 0) node.children.push(otherNode(rest));
      }
      level = next;
    }
    return out;
  }
}

const leaf = (g: Growing): CallTreeNode => ({
  function: g.frame.function,
  file: g.frame.file,
  line: g.frame.line,
  selfNs: g.selfNs,
  totalNs: g.totalNs,
  children: [],
});

/** Dropped subtrees as one node: their whole time as self, and how many frames they held. */
function otherNode(dropped: Growing[]): CallTreeNode {
  let ns = 0;
  let frames = 0;
  const count = (g: Growing): void => {
    frames++;
    for (const c of g.children.values()) count(c);
  };
  for (const g of dropped) {
    ns += g.totalNs;
    count(g);
  }
  return { function: '', file: '', line: 0, selfNs: ns, totalNs: ns, children: [], other: frames };
}

/**
 * The recorded frames beneath `line` on an op's stacks, outermost first: from the line's outermost
 * occurrence inward to the launch. A backward op (`callerStackId`) whose line is on the
 * `backward()` caller's stack goes down that stack, then on to the forward op's frames from its
 * innermost workspace frame (the line it is self on) inward.
 */
export class StackPaths {
  private readonly cache = new Map<string, Growing['frame'][] | null>();

  constructor(
    private readonly profile: Profile,
    private readonly stacks: StackResolver,
  ) {}

  /** The path beneath `line` (not included) for ops of `stackId` / `callerStackId`; null if off it. */
  beneath(line: LineStat, stackId: number, callerStackId?: number): Growing['frame'][] | null {
    const key = `${line.library ? 'lib:' : ''}${line.file}:${line.line}/${stackId}/${callerStackId}`;
    let hit = this.cache.get(key);
    if (hit === undefined) {
      hit = this.compute(line, stackId, callerStackId);
      this.cache.set(key, hit);
    }
    return hit;
  }

  private compute(line: LineStat, stackId: number, callerId?: number): Growing['frame'][] | null {
    const own = this.raw(stackId);
    if (callerId === undefined) return this.from(own, this.outermost(own, line));
    const caller = this.raw(callerId);
    const inCaller = this.outermost(caller, line);
    const ownSelf = own.findIndex((f) => this.stacks.paths.resolve(f.file) !== null);
    if (inCaller < 0) return this.from(own, this.outermost(own, line));
    const down = this.from(caller, inCaller) ?? [];
    return ownSelf < 0 ? down : [...down, ...this.frames(own, ownSelf)];
  }

  private raw(stackId: number): readonly Frame[] {
    return stackId >= 0 && stackId < this.profile.stacks.length ? this.profile.stacks[stackId] : [];
  }

  /** Index of the outermost frame of `stack` that is `line` (as attribution resolves it); -1. */
  private outermost(stack: readonly Frame[], line: LineStat): number {
    for (let i = stack.length - 1; i >= 0; i--) {
      const f = stack[i];
      if (f.line !== line.line) continue;
      const resolved = this.stacks.paths.resolve(f.file);
      const file = line.library
        ? resolved === null
          ? f.file.replace(/\\/g, '/')
          : null
        : resolved;
      if (file === line.file) return i;
    }
    return -1;
  }

  /** Frames inside index `i` of `stack`, outermost first; null when `i` is -1. */
  private from(stack: readonly Frame[], i: number): Growing['frame'][] | null {
    return i < 0 ? null : this.frames(stack, i - 1);
  }

  /** Frames `i` down to 0 of `stack` (innermost first), outermost first, workspace files resolved. */
  private frames(stack: readonly Frame[], i: number): Growing['frame'][] {
    const out: Growing['frame'][] = [];
    for (let j = i; j >= 0; j--) {
      const f = stack[j];
      const file = this.stacks.paths.resolve(f.file) ?? f.file.replace(/\\/g, '/');
      out.push({ file, line: f.line, function: f.function });
    }
    return out;
  }
}
