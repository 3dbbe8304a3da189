/**
 * Drill-down both ways (Report.drilldown): from a kernel to the lines that launched it (self
 * time, as attribution placed it), ranked by time; from a line to the call tree of the GPU time
 * beneath it (core/call-tree.ts). Collected while attribution walks the ops (its visitor), so both
 * agree with the lines' figures exactly; bounded so the Report stays small on huge traces.
 */
import type { Profile } from './model';
import { KERNEL } from './model-gpu-ops';
import type { Drilldown, KernelLaunchLines, LineStat } from './report-types';
import type { AttributedOpVisitor } from './attribute';
import type { StackResolver } from './stack-resolver';
import { CallTreeBuilder, StackPaths } from './call-tree';

/** Launching lines kept per kernel. */
export const DRILLDOWN_LINES_PER_KERNEL = 10;
/** Kernels (by total time) that get their launching lines. */
export const DRILLDOWN_KERNELS = 300;
/** Lines (by total GPU time) that get a call tree. */
export const DRILLDOWN_CALL_TREES = 100;

interface OpGroup {
  stackId: number;
  callerStackId?: number;
  ns: number;
  all: readonly LineStat[];
}

/** Collects what attribution decided per op; `finish` turns it into Report.drilldown. */
export class DrilldownCollector {
  /** Per kernel name: launching (self) line → time and launches. */
  private readonly byKernel = new Map<string, Map<LineStat, { ns: number; count: number }>>();
  /** Ops grouped by their stacks (millions of ops share a few thousand). */
  private readonly groups = new Map<string, OpGroup>();

  /** The visitor to pass to attributeLines. */
  readonly visit: AttributedOpVisitor = (ops, i, self, all) => {
    const ns = ops.endNs[i] - ops.startNs[i];
    if (ops.kind[i] === KERNEL) {
      const name = ops.nameOf(i);
      let lines = this.byKernel.get(name);
      if (!lines)
        this.byKernel.set(name, (lines = new Map<LineStat, { ns: number; count: number }>()));
      const s = lines.get(self);
      if (s) {
        s.ns += ns;
        s.count++;
      } else lines.set(self, { ns, count: 1 });
    }
    const stackId = ops.stackId[i];
    const callerStackId = ops.callerStackId[i] >= 0 ? ops.callerStackId[i] : undefined;
    const key = `${stackId}/${callerStackId}`;
    const g = this.groups.get(key);
    if (g) g.ns += ns;
    else this.groups.set(key, { stackId, callerStackId, ns, all });
  };

  /**
   * The drill-down of the top kernels (`kernels`: the Report's kernel table, by total time) and
   * of the lines with the most GPU time (`lines`: attribution's, by total time).
   */
  finish(
    profile: Profile,
    stacks: StackResolver,
    kernels: readonly { name: string; totalNs: number }[],
    lines: readonly LineStat[],
  ): Drilldown {
    return {
      kernels: kernels.slice(0, DRILLDOWN_KERNELS).map((k) => this.kernelLines(k)),
      callTrees: this.callTrees(profile, stacks, lines),
    };
  }

  private kernelLines(k: { name: string; totalNs: number }): KernelLaunchLines {
    const ranked = [...(this.byKernel.get(k.name) ?? [])].sort(
      (a, b) => b[1].ns - a[1].ns || b[1].count - a[1].count,
    );
    const kept = ranked.slice(0, DRILLDOWN_LINES_PER_KERNEL);
    const attributed = ranked.reduce((s, [, v]) => s + v.ns, 0);
    const keptNs = kept.reduce((s, [, v]) => s + v.ns, 0);
    return {
      kernel: k.name,
      lines: kept.map(([l, v]) => ({
        file: l.file,
        line: l.line,
        function: l.function,
        library: l.library,
        ns: v.ns,
        count: v.count,
      })),
      otherLines: ranked.length - kept.length,
      otherLinesNs: attributed - keptNs,
      unattributedNs: k.totalNs - attributed,
    };
  }

  private callTrees(profile: Profile, stacks: StackResolver, lines: readonly LineStat[]) {
    const chosen = lines.filter((l) => l.totalNs > 0).slice(0, DRILLDOWN_CALL_TREES);
    const builders = new Map(chosen.map((l) => [l, new CallTreeBuilder(l)]));
    const paths = new StackPaths(profile, stacks);
    for (const g of this.groups.values()) {
      for (const l of g.all) {
        const b = builders.get(l);
        if (b) b.add(paths.beneath(l, g.stackId, g.callerStackId) ?? [], g.ns);
      }
    }
    return chosen.map((l) => ({
      file: l.file,
      line: l.line,
      library: l.library,
      root: builders.get(l)!.finish(),
    }));
  }
}
