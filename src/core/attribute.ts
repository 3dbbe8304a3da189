/**
 * Attribution: every nanosecond of GPU time goes to the workspace source lines on the stack that
 * launched it (self: the innermost workspace frame; total: every workspace frame). A stack with
 * no workspace frame goes, with `libraryFallback`, to its innermost library frame
 * (core/library-frames.ts: self and total, `library: true`), else to `unattributedNs`, which
 * then holds the time that reached neither. Nothing is dropped. Work the
 * autograd engine launched for a `backward()` call (`GpuOp.callerStackId`) is self on the forward
 * op's line and total on the lines of the call's stack.
 */
import type { Profile } from './model';
import { type GpuOps, KERNEL } from './model-gpu-ops';
import type { CpuRanges } from './model-cpu-ranges';
import type { LineStat } from './report-types';
import type { ResolvedFrame, StackResolver } from './stack-resolver';

export interface AttributionOptions {
  /** Absolute path of the workspace folder whose code counts as user code. */
  workspaceRoot: string;
  /** Remote → local path prefixes (`/workspace` → `/home/me/proj`) for traces made elsewhere. */
  pathMap?: readonly [string, string][];
  /**
   * Stacks with no workspace frame go to their innermost library frame (`LineStat.library`)
   * instead of `unattributedNs` (default true; `gpuLens.libraryFallback`).
   */
  libraryFallback?: boolean;
}

/** A line with no time on it yet, for the frame it stands for. */
export function emptyLineStat(f: ResolvedFrame): LineStat {
  return {
    file: f.file,
    line: f.line,
    function: f.function,
    selfNs: 0,
    totalNs: 0,
    kernelCount: 0,
    precision: f.precision,
    topKernels: [],
    cpuOpNs: 0,
    opCount: 0,
    library: f.library === true,
  };
}

export interface Attribution {
  lines: LineStat[];
  unattributedNs: number;
  /** GPU time placed on library lines (reached no workspace frame, but a library frame). */
  libraryNs: number;
}

interface LineAcc {
  stat: LineStat;
  kernels: Map<string, { ns: number; count: number }>;
}

/** The line an op's self time goes to and every line its total time goes to. */
interface LineSet {
  self: LineAcc;
  all: LineAcc[];
}

/**
 * Sees each attributed GPU op with the line that got its self time and every line that got it in
 * its total (the drill-down of core/drilldown.ts follows attribution exactly this way).
 */
/** Called for each attributed op `i` of `ops` with the lines it counts on. */
export type AttributedOpVisitor = (
  ops: GpuOps,
  i: number,
  self: LineStat,
  all: readonly LineStat[],
) => void;

/** Per-line GPU (and CPU operator) time. Lines sorted by totalNs, then selfNs, descending. */
export function attributeLines(
  profile: Profile,
  stacks: StackResolver,
  options: Pick<AttributionOptions, 'libraryFallback'> = {},
  visit?: AttributedOpVisitor,
): Attribution {
  const fallback = options.libraryFallback ?? true;
  const acc = new Map<string, LineAcc>();
  const get = (f: ResolvedFrame): LineAcc => {
    // A library file's recorded path could spell a workspace path: keep the two apart.
    const key = `${f.library ? 'lib:' : ''}${f.file}:${f.line}`;
    let a = acc.get(key);
    if (!a) {
      a = {
        stat: emptyLineStat(f),
        kernels: new Map(),
      };
      acc.set(key, a);
    }
    return a;
  };

  // The lines of each stack, worked out at its first op (so lines are created in op order):
  // its innermost line, then every line on it once (recursion puts one line on the stack several
  // times; it counts once toward its total). Millions of ops share a few thousand stacks.
  const linesOfStack = new Map<number, { self: LineAcc; all: LineAcc[] } | null>();
  const linesOf = (stackId: number): { self: LineAcc; all: LineAcc[] } | null => {
    let lines = linesOfStack.get(stackId);
    if (lines !== undefined) return lines;
    const frames = stacks.frames(stackId);
    if (frames.length === 0) lines = null;
    else {
      const self = get(frames[0]);
      const seen = new Set<string>();
      const all: LineAcc[] = [];
      for (const f of frames) {
        const key = `${f.file}:${f.line}`;
        if (seen.has(key)) continue;
        seen.add(key);
        all.push(get(f));
      }
      lines = { self, all };
    }
    linesOfStack.set(stackId, lines);
    return lines;
  };

  // Backward work: self on the forward op's line (else the caller's), total on that line and on
  // every line of the backward() caller's stack, not on the forward's outer lines.
  const backwardLines = new Map<string, { self: LineAcc; all: LineAcc[] } | null>();
  const linesOfBackward = (stackId: number, callerId: number) => {
    const key = `${stackId}/${callerId}`;
    let lines = backwardLines.get(key);
    if (lines !== undefined) return lines;
    const caller = linesOf(callerId);
    const self = stacks.frames(stackId)[0];
    if (!self) lines = caller;
    else {
      const own = get(self);
      lines = { self: own, all: [own, ...(caller?.all ?? []).filter((a) => a !== own)] };
    }
    backwardLines.set(key, lines);
    return lines;
  };

  // No workspace frame: the innermost library frame of the op's own stack (else of the
  // backward() caller's) takes self and total, one line per stack so no op counts twice there.
  const libraryLines = new Map<string, LineSet | null>();
  const statsOf = new Map<LineAcc[], LineStat[]>();
  // The last stack pair asked for: consecutive ops mostly share theirs (no key string per op).
  let lastStack = NaN;
  let lastCaller = NaN;
  let lastLines: LineSet | null = null;
  const linesOfLibrary = (stackId: number, callerId = -1) => {
    if (stackId === lastStack && callerId === lastCaller) return lastLines;
    const key = `${stackId}/${callerId}`;
    let lines = libraryLines.get(key);
    if (lines === undefined) {
      const f = stacks.libraryFrame(stackId) ?? stacks.libraryFrame(callerId);
      lines = f ? { self: get(f), all: [get(f)] } : null;
      libraryLines.set(key, lines);
    }
    lastStack = stackId;
    lastCaller = callerId;
    lastLines = lines;
    return lines;
  };

  let unattributedNs = 0;
  let libraryNs = 0;
  const ops = profile.gpuOps;
  for (let i = 0; i < ops.length; i++) {
    const ns = ops.endNs[i] - ops.startNs[i];
    const stackId = ops.stackId[i];
    const caller = ops.callerStackId[i] >= 0 ? ops.callerStackId[i] : undefined;
    let lines = caller === undefined ? linesOf(stackId) : linesOfBackward(stackId, caller);
    if (!lines && fallback) {
      lines = linesOfLibrary(stackId, caller);
      if (lines) libraryNs += ns;
    }
    if (!lines) {
      unattributedNs += ns;
      continue;
    }
    const isKernel = ops.kind[i] === KERNEL;
    const name = ops.nameOf(i);
    lines.self.stat.selfNs += ns;
    for (const a of lines.all) {
      a.stat.totalNs += ns;
      if (isKernel) a.stat.kernelCount++;
      const k = a.kernels.get(name);
      if (k) {
        k.ns += ns;
        k.count++;
      } else a.kernels.set(name, { ns, count: 1 });
    }
    if (visit) {
      let all = statsOf.get(lines.all);
      if (!all) statsOf.set(lines.all, (all = lines.all.map((a) => a.stat)));
      visit(ops, i, lines.self.stat, all);
    }
  }

  const operators = profile.operators;
  for (const i of outermostOps(operators)) {
    const stackId = operators.stackId[i];
    const f = stacks.frames(stackId)[0] ?? (fallback ? stacks.libraryFrame(stackId) : null);
    if (!f) continue;
    const a = get(f);
    a.stat.cpuOpNs += operators.endNs[i] - operators.startNs[i];
    a.stat.opCount++;
  }

  const lines = [...acc.values()].map(({ stat, kernels }) => {
    stat.topKernels = [...kernels.entries()]
      .sort((x, y) => y[1].ns - x[1].ns)
      .slice(0, 5)
      .map(([name, v]) => ({ name, ns: v.ns, count: v.count }));
    return stat;
  });
  lines.sort((a, b) => b.totalNs - a.totalNs || b.selfNs - a.selfNs || b.cpuOpNs - a.cpuOpNs);
  return { lines, unattributedNs, libraryNs };
}

/**
 * Indexes of the operators not nested inside another operator of the same thread (so time is not
 * counted twice), by rank, pid, tid and start (outer first).
 */
function outermostOps(ops: CpuRanges): number[] {
  const { thread, startNs, endNs } = ops;
  const { rank, pid, tid } = ops.threads;
  const order = Array.from({ length: ops.length }, (_, i) => i).sort((a, b) => {
    const ta = thread[a];
    const tb = thread[b];
    return (
      rank[ta] - rank[tb] ||
      pid[ta] - pid[tb] ||
      tid[ta] - tid[tb] ||
      startNs[a] - startNs[b] ||
      endNs[b] - endNs[a] ||
      a - b
    );
  });
  const out: number[] = [];
  let last = -1;
  for (const i of order) {
    if (last >= 0 && thread[last] === thread[i] && endNs[i] <= endNs[last]) continue;
    out.push(i);
    last = i;
  }
  return out;
}
