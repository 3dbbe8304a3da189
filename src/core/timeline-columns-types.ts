/**
 * The kernel timeline's data shapes: the columns the analysis worker builds
 * (core/timeline-columns.ts) and the queries and answers between the panel and the server
 * (core/timeline-columns-window.ts). Plain types, so the webview reads them without the builders.
 */

/** What a lane shows. Lanes are keyed by rank, then device and stream, or process and thread. */
export type LaneKind = 'nvtx' | 'cpu' | 'stream';

/** One timeline lane. */
export interface TimelineLane {
  kind: LaneKind;
  rank: number;
  /** The GPU of a `stream` lane; -1 for CPU lanes. */
  deviceId: number;
  /** The stream of a `stream` lane; -1 for CPU lanes. */
  streamId: number;
  /** The process and thread of a CPU lane; -1 for stream lanes. */
  pid: number;
  tid: number;
  label: string;
}

/** Ops per block of TimelineColumns.blockLongest (and blocks per superLongest block). */
export const BLOCK = 64;

/** Kind codes of the `kind` column. */
export const OP_KIND = { kernel: 0, memcpy: 1, memset: 2, range: 3, launch: 4 } as const;
export type OpKindCode = (typeof OP_KIND)[keyof typeof OP_KIND];

/** A stack frame of a launching site: `file` workspace-relative when `workspace`, else as recorded. */
export interface SiteFrame {
  file: string;
  line: number;
  function: string;
  workspace: boolean;
}

/**
 * Where ops were launched from: the line attribution puts their self time on (innermost workspace
 * frame, else the backward() caller's, else the innermost library frame), and the stack.
 */
export interface LaunchSite {
  /** The launching line, or null when no frame of the stack reached a workspace or library file. */
  line: { file: string; line: number; function: string; library: boolean } | null;
  /** The recorded stack, innermost first, at most MAX_SITE_FRAMES frames. */
  stack: SiteFrame[];
}

/** The columnar timeline of one trace. */
export interface TimelineColumns {
  /** Trace-clock ns of time 0 of the columns (the earliest start of any op). */
  baseNs: number;
  /** Last end, relative to baseNs. */
  spanNs: number;
  lanes: TimelineLane[];
  /** Ops of lane l are the indices laneStart[l] … laneStart[l + 1] - 1, by start. */
  laneStart: Uint32Array;
  /** ns relative to baseNs (exact integers well below 2^53). */
  start: Float64Array;
  end: Float64Array;
  /**
   * Per op, the op of its lane up to it (by start) that ends last: `end[reach[i]]` is the running
   * maximum end, non-decreasing within a lane, so a binary search finds the first op reaching t.
   */
  reach: Uint32Array;
  /**
   * Per op, the length of the union of its lane's ops up to it (by start): the union's length
   * before any t is `union[k] - max(0, end[reach[k]] - t)` with k the last op starting before t
   * (the op ending last covers all of [t, its end)). Per-pixel busy time in two binary searches.
   */
  union: Float64Array;
  /** Per block of BLOCK ops, the longest op's index; per block of BLOCK² ops, the same. */
  blockLongest: Uint32Array;
  superLongest: Uint32Array;
  /** Index into `names`. */
  name: Uint32Array;
  kind: Uint8Array;
  /** Index into `sites`, or -1. */
  site: Int32Array;
  names: string[];
  sites: LaunchSite[];
}

/** A window request: [t0, t1) in ns relative to the columns' base, drawn `pixels` wide. */
export interface WindowQuery {
  kind: 'window';
  t0: number;
  t1: number;
  pixels: number;
  /** Lane indices to answer; all (up to MAX_LANES) when absent. */
  lanes?: number[];
}

/** One op by its place in a lane: the `index`-th op, or the first starting at or after `atNs`. */
export interface OpQuery {
  kind: 'op';
  lane: number;
  index?: number;
  atNs?: number;
}

export type TimelineQuery = WindowQuery | OpQuery;

/** Single ops of a lane in the window, as parallel arrays (`index` is the op's place in its lane). */
export interface LaneOps {
  index: number[];
  start: number[];
  end: number[];
  name: number[];
  kind: number[];
  site: number[];
}

/** Per-pixel aggregates of a lane: busy fraction 0..1 and the longest op's name id (-1: none). */
export interface LaneAggregate {
  busy: number[];
  top: number[];
}

export interface WindowLane {
  lane: number;
  /** Ops of the lane that reach into the window. */
  count: number;
  ops?: LaneOps;
  agg?: LaneAggregate;
}

/** What a WindowQuery answers. `names` and `sites` hold the entries the answer refers to. */
export interface WindowAnswer {
  kind: 'window';
  baseNs: number;
  spanNs: number;
  t0: number;
  t1: number;
  pixels: number;
  lanes: TimelineLane[];
  rows: WindowLane[];
  names: Record<number, string>;
  sites: Record<number, LaunchSite>;
}

/** One op with its name and launching site (null: no such op). */
export interface OpAnswer {
  kind: 'op';
  baseNs: number;
  lane: number;
  /** Ops in the lane (to step through them). */
  laneCount: number;
  op: TimelineOp | null;
}

/** One op of a lane (times in ns relative to the columns' base). */
export interface TimelineOp {
  /** Its place in its lane. */
  index: number;
  start: number;
  end: number;
  name: string;
  kind: number;
  site: LaunchSite | null;
}

export type TimelineAnswer = WindowAnswer | OpAnswer;
