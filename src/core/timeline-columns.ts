/**
 * The kernel-level timeline as columns: every GPU op (kernel, memcpy, memset), NVTX / annotation
 * range and CPU launch call of a Profile, in typed arrays sorted by (lane, start), with small tables
 * of lanes, names and launching sites beside them. Built in the analysis worker (the Profile never
 * leaves it) and transferred to the server by its ArrayBuffers; timeline-columns-window.ts answers
 * the panel's window queries from it. About 37 bytes per op.
 */
import type { StackResolver } from './stack-resolver';
import type { Profile, Stack } from './model';
import {
  BLOCK,
  OP_KIND,
  type LaneKind,
  type LaunchSite,
  type OpKindCode,
  type TimelineColumns,
  type TimelineLane,
} from './timeline-columns-types';

/** Deepest stack kept per site (the innermost frames; the launching line is among them). */
export const MAX_SITE_FRAMES = 32;

/** The typed arrays of a TimelineColumns, to transfer them between threads without copying. */
export function columnBuffers(c: TimelineColumns): ArrayBuffer[] {
  return [
    c.laneStart,
    c.start,
    c.end,
    c.reach,
    c.union,
    c.blockLongest,
    c.superLongest,
    c.name,
    c.kind,
    c.site,
  ].map((a) => a.buffer as ArrayBuffer);
}

/** The columns while they are gathered (in Profile order, before sorting by lane and start). */
class Gather {
  n = 0;
  lane: Uint32Array;
  start: Float64Array;
  end: Float64Array;
  name: Uint32Array;
  kind: Uint8Array;
  site: Int32Array;

  constructor(capacity: number) {
    this.lane = new Uint32Array(capacity);
    this.start = new Float64Array(capacity);
    this.end = new Float64Array(capacity);
    this.name = new Uint32Array(capacity);
    this.kind = new Uint8Array(capacity);
    this.site = new Int32Array(capacity);
  }

  push(lane: number, start: number, end: number, name: number, kind: OpKindCode, site: number) {
    const i = this.n++;
    this.lane[i] = lane;
    this.start[i] = start;
    this.end[i] = end;
    this.name[i] = name;
    this.kind[i] = kind;
    this.site[i] = site;
  }
}

/** Builds the columns of a Profile; `stacks` resolves frames as the Report's attribution does. */
export function buildTimelineColumns(profile: Profile, stacks: StackResolver): TimelineColumns {
  const lanes: TimelineLane[] = [];
  const laneIds = new Map<string, number>();
  const names: string[] = [];
  const nameIds = new Map<string, number>();
  const sites: LaunchSite[] = [];
  const siteIds = new Map<string, number>();
  const ranges = profile.ranges;
  const ops = profile.gpuOps;
  const calls = profile.cpuCalls;
  const launches: number[] = [];
  for (let i = 0; i < calls.length; i++) if (calls.isLaunchLike(i)) launches.push(i);
  const g = new Gather(ops.length + ranges.length + launches.length);

  const laneOf = (l: Omit<TimelineLane, 'label'>): number => {
    const key = `${l.kind}/${l.rank}/${l.deviceId}/${l.streamId}/${l.pid}/${l.tid}`;
    let id = laneIds.get(key);
    if (id === undefined) {
      id = lanes.length;
      lanes.push({ ...l, label: laneLabel(l, profile.rankCount > 1) });
      laneIds.set(key, id);
    }
    return id;
  };
  const nameOf = (n: string): number => {
    let id = nameIds.get(n);
    if (id === undefined) {
      id = names.length;
      names.push(n);
      nameIds.set(n, id);
    }
    return id;
  };
  // Most ops have no backward() caller: their sites are keyed by stack id alone (no string per op).
  const ownSites = new Map<number, number>();
  const siteOf = (stackId: number, callerId = -1): number => {
    if (stackId < 0 && callerId < 0) return -1;
    if (callerId < 0) {
      let own = ownSites.get(stackId);
      if (own === undefined) {
        own = sites.length;
        sites.push(launchSite(profile, stacks, stackId, -1));
        ownSites.set(stackId, own);
      }
      return own;
    }
    const key = `${stackId}/${callerId}`;
    let id = siteIds.get(key);
    if (id === undefined) {
      id = sites.length;
      sites.push(launchSite(profile, stacks, stackId, callerId));
      siteIds.set(key, id);
    }
    return id;
  };
  let lastCpu: { kind: LaneKind; rank: number; pid: number; tid: number; lane: number } | null =
    null;
  const cpuLane = (kind: LaneKind, x: { rank: number; pid: number; tid: number }): number => {
    const l = lastCpu;
    if (l && l.kind === kind && l.rank === x.rank && l.pid === x.pid && l.tid === x.tid)
      return l.lane;
    const lane = laneOf({ kind, rank: x.rank, deviceId: -1, streamId: -1, pid: x.pid, tid: x.tid });
    lastCpu = { kind, rank: x.rank, pid: x.pid, tid: x.tid, lane };
    return lane;
  };

  // Consecutive ops mostly share a lane: the last one is reused without building its key.
  let last: { rank: number; deviceId: number; streamId: number; lane: number } | null = null;
  // The ops table's name ids mapped to the columns' (each name looked up once).
  const opName = new Int32Array(ops.names.size).fill(-1);
  for (let i = 0; i < ops.length; i++) {
    const rank = ops.rank[i];
    const deviceId = ops.deviceId[i];
    const streamId = ops.streamId[i];
    if (!last || last.rank !== rank || last.deviceId !== deviceId || last.streamId !== streamId) {
      const lane = laneOf({ kind: 'stream', rank, deviceId, streamId, pid: -1, tid: -1 });
      last = { rank, deviceId, streamId, lane };
    }
    const site = siteOf(ops.stackId[i], ops.callerStackId[i]);
    const n = ops.name[i];
    if (opName[n] < 0) opName[n] = nameOf(ops.names.at(n));
    g.push(last.lane, ops.startNs[i], ops.endNs[i], opName[n], OP_KIND[ops.kindOf(i)], site);
  }
  // Framework operators (aten::…) are left out: the CPU lane shows the launch calls they make.
  for (const r of ranges)
    g.push(
      cpuLane('nvtx', r),
      r.startNs,
      r.endNs,
      nameOf(r.name),
      OP_KIND.range,
      siteOf(r.stackId),
    );
  for (const i of launches) {
    const t = calls.thread[i];
    const thread = {
      rank: calls.threads.rank[t],
      pid: calls.threads.pid[t],
      tid: calls.threads.tid[t],
    };
    g.push(
      cpuLane('cpu', thread),
      calls.startNs[i],
      calls.endNs[i],
      nameOf(calls.nameOf(i)),
      OP_KIND.launch,
      siteOf(calls.stackId[i]),
    );
  }
  return toColumns(lanes, g, names, sites);
}

/** Lanes in display order (by rank: NVTX, CPU launches, then streams by device), ops by lane. */
function toColumns(
  lanes: TimelineLane[],
  g: Gather,
  names: string[],
  sites: LaunchSite[],
): TimelineColumns {
  const kindOrder: Record<LaneKind, number> = { nvtx: 0, cpu: 1, stream: 2 };
  const order = lanes
    .map((_, i) => i)
    .sort((a, b) => {
      const x = lanes[a];
      const y = lanes[b];
      return (
        x.rank - y.rank ||
        kindOrder[x.kind] - kindOrder[y.kind] ||
        x.deviceId - y.deviceId ||
        x.streamId - y.streamId ||
        x.pid - y.pid ||
        x.tid - y.tid
      );
    });
  const rankOf = new Uint32Array(lanes.length);
  order.forEach((old, i) => (rankOf[old] = i));
  const n = g.n;
  // Counting sort by lane (stable: each lane's ops keep Profile order, mostly by start already),
  // then a sort of only the lanes that are not in start order.
  const laneStart = new Uint32Array(lanes.length + 1);
  for (let i = 0; i < n; i++) laneStart[rankOf[g.lane[i]] + 1]++;
  for (let l = 0; l < lanes.length; l++) laneStart[l + 1] += laneStart[l];
  const perm = new Uint32Array(n);
  const fill = laneStart.slice(0, lanes.length);
  for (let i = 0; i < n; i++) perm[fill[rankOf[g.lane[i]]]++] = i;
  const scratch = new Uint32Array(n);
  for (let l = 0; l < lanes.length; l++)
    sortByStart(perm.subarray(laneStart[l], laneStart[l + 1]), scratch, g);
  let base = Infinity;
  for (let i = 0; i < n; i++) if (g.start[i] < base) base = g.start[i];
  if (base === Infinity) base = 0;
  const c: TimelineColumns = {
    baseNs: base,
    spanNs: 0,
    lanes: order.map((i) => lanes[i]),
    laneStart,
    start: new Float64Array(n),
    end: new Float64Array(n),
    reach: new Uint32Array(n),
    union: new Float64Array(n),
    blockLongest: new Uint32Array(Math.ceil(n / BLOCK)),
    superLongest: new Uint32Array(Math.ceil(n / BLOCK / BLOCK)),
    name: new Uint32Array(n),
    kind: new Uint8Array(n),
    site: new Int32Array(n),
    names,
    sites,
  };
  for (let l = 0; l < lanes.length; l++) {
    let reach = -1;
    let union = 0;
    for (let i = laneStart[l]; i < laneStart[l + 1]; i++) {
      const j = perm[i];
      const start = g.start[j] - base;
      // A reversed interval (end before start) is drawn as an instant, never backwards.
      const end = Math.max(g.end[j], g.start[j]) - base;
      c.start[i] = start;
      c.end[i] = end;
      const covered = reach < 0 ? -Infinity : c.end[reach];
      union += Math.max(0, end - Math.max(start, covered));
      if (end > covered) reach = i;
      c.reach[i] = reach;
      c.union[i] = union;
      c.name[i] = g.name[j];
      c.kind[i] = g.kind[j];
      c.site[i] = g.site[j];
      if (end > c.spanNs) c.spanNs = end;
    }
  }
  fillLongest(c);
  return c;
}

/**
 * Sorts a lane's op indices by start (longer first on ties, so an enclosing range comes before
 * what it holds). A lane is a few runs already in order (a table's kernels, then its copies; one
 * thread's calls), so runs are found and merged pairwise: O(n log runs), no comparator sort.
 */
function sortByStart(seg: Uint32Array, scratch: Uint32Array, g: Gather): void {
  const before = (a: number, b: number) =>
    g.start[a] < g.start[b] || (g.start[a] === g.start[b] && g.end[a] > g.end[b]);
  let runs = [0];
  for (let k = 1; k < seg.length; k++) if (before(seg[k], seg[k - 1])) runs.push(k);
  runs.push(seg.length);
  let src = seg;
  let dst = scratch.subarray(0, seg.length);
  while (runs.length > 2) {
    const next = [0];
    for (let r = 0; r + 1 < runs.length; r += 2) {
      const lo = runs[r];
      const mid = runs[r + 1];
      const hi = r + 2 < runs.length ? runs[r + 2] : mid;
      let i = lo;
      let j = mid;
      let o = lo;
      while (i < mid && j < hi) dst[o++] = before(src[j], src[i]) ? src[j++] : src[i++];
      while (i < mid) dst[o++] = src[i++];
      while (j < hi) dst[o++] = src[j++];
      next.push(hi);
    }
    runs = next;
    [src, dst] = [dst, src];
  }
  if (src !== seg) seg.set(src);
}

/** The longest op of each block and super-block (ties: the first). */
function fillLongest(c: TimelineColumns): void {
  const len = (i: number) => c.end[i] - c.start[i];
  for (let b = 0; b < c.blockLongest.length; b++) {
    let best = b * BLOCK;
    for (let i = best + 1; i < Math.min(c.start.length, (b + 1) * BLOCK); i++)
      if (len(i) > len(best)) best = i;
    c.blockLongest[b] = best;
  }
  for (let s = 0; s < c.superLongest.length; s++) {
    let best = c.blockLongest[s * BLOCK];
    for (let b = s * BLOCK + 1; b < Math.min(c.blockLongest.length, (s + 1) * BLOCK); b++)
      if (len(c.blockLongest[b]) > len(best)) best = c.blockLongest[b];
    c.superLongest[s] = best;
  }
}

function laneLabel(l: Omit<TimelineLane, 'label'>, ranked: boolean): string {
  const r = ranked ? `rank ${l.rank} · ` : '';
  if (l.kind === 'stream') return `${r}GPU ${l.deviceId} · stream ${l.streamId}`;
  return `${r}${l.kind === 'nvtx' ? 'NVTX' : 'CPU launches'} · thread ${l.tid}`;
}

function launchSite(
  profile: Profile,
  stacks: StackResolver,
  stackId: number,
  callerId: number,
): LaunchSite {
  const own = stacks.frames(stackId)[0] ?? stacks.frames(callerId)[0];
  const lib = own ? null : (stacks.libraryFrame(stackId) ?? stacks.libraryFrame(callerId));
  const hit = own ?? lib;
  const raw: Stack = profile.stacks[stackId] ?? profile.stacks[callerId] ?? [];
  return {
    line: hit
      ? { file: hit.file, line: hit.line, function: hit.function, library: hit.library === true }
      : null,
    stack: raw.slice(0, MAX_SITE_FRAMES).map((f) => {
      const file = stacks.paths.resolve(f.file);
      return file !== null
        ? { file, line: f.line, function: f.function, workspace: true }
        : { file: f.file, line: f.line, function: f.function, workspace: false };
    }),
  };
}
