/**
 * The drill-down part of the Report contract (Report.drilldown, core/drilldown.ts): kernel →
 * launching lines, line → call tree of the GPU time beneath it. Integer nanoseconds.
 */

/** A source line (as report-types.ts SourceRef; not imported, so the two files form no cycle). */
interface LineRef {
  file: string;
  line: number;
}

/** A line that launched a kernel: the kernel's self time there (where attribution put it). */
export interface KernelLaunchLine extends LineRef {
  function: string;
  /** A library line (LineStat.library): outside the workspace, `file` as recorded. */
  library: boolean;
  ns: number;
  /** Launches of the kernel from this line. */
  count: number;
}

/**
 * The lines that launched one kernel (by name, as `kernels[].name`), most time first: at most
 * ten; the others' time is `otherLinesNs`, and the time of launches that reached no line
 * `unattributedNs`, so lines + other + unattributed = the kernel's `totalNs`.
 */
export interface KernelLaunchLines {
  kernel: string;
  lines: KernelLaunchLine[];
  /** How many more lines launched it, and their time. */
  otherLines: number;
  otherLinesNs: number;
  unattributedNs: number;
}

/**
 * A frame of a line's call tree as the stacks recorded it (`file` workspace-relative when it is
 * workspace code, else as recorded). `selfNs`: GPU time of ops launched with this frame innermost;
 * `totalNs`: of this frame and every frame beneath it. An "other" node (`other`: how many frames
 * it stands for; no function, file '' and line 0) holds the time of frames pruned from the tree.
 */
export interface CallTreeNode {
  function: string;
  file: string;
  line: number;
  selfNs: number;
  totalNs: number;
  children: CallTreeNode[];
  other?: number;
}

/** The call tree beneath one line: `root` is the line itself, its totalNs the line's totalNs. */
export interface LineCallTree extends LineRef {
  library: boolean;
  root: CallTreeNode;
}

/** Report.drilldown. */
export interface Drilldown {
  /** The top kernels (by total time, at most 300), in `kernels` order. */
  kernels: KernelLaunchLines[];
  /** The lines with the most GPU time (at most 100), in `lines` order. */
  callTrees: LineCallTree[];
}
