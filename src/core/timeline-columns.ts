/**
 * The kernel-level timeline as columns: every GPU op (kernel, memcpy, memset), NVTX / annotation
 * range and CPU launch call of a Profile, in typed arrays sorted by (lane, start), with small tables
 * of lanes, names and launching sites beside them. Built in the analysis worker (the Profile never
 * leaves it) and transferred to the server by its ArrayBuffers; timeline-columns-window.ts answers
 * the panel's window queries from it. About 30 bytes per op.
 */
import type { StackResolver } from './stack-resolver';
import type { Profile, Stack } from './model';
import {
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
  return [c.laneStart, c.start, c.end, c.maxEnd, c.name, c.kind, c.site].map(
    (a) => a.buffer as ArrayBuffer,
  );
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
  const ranges = profile.ranges.filter((r) => r.kind !== 'op');
  const calls = profile.cpuCalls.filter(
    (c) => c.kind === 'launch' || c.kind === 'memcpy' || c.kind === 'memset',
  );
  const g = new Gather(profile.gpuOps.length + ranges.length + calls.length);

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
  const siteOf = (stackId: number, callerId = -1): number => {
    if (stackId < 0 && callerId < 0) return -1;
    const key = `${stackId}/${callerId}`;
    let id = siteIds.get(key);
    if (id === undefined) {
      id = sites.length;
      sites.push(launchSite(profile, stacks, stackId, callerId));
      siteIds.set(key, id);
    }
    return id;
  };
  const cpuLane = (kind: LaneKind, x: { rank: number; pid: number; tid: number }) =>
    laneOf({ kind, rank: x.rank, deviceId: -1, streamId: -1, pid: x.pid, tid: x.tid });

  for (const op of profile.gpuOps) {
    const lane = laneOf({
      kind: 'stream',
      rank: op.rank,
      deviceId: op.deviceId,
      streamId: op.streamId,
      pid: -1,
      tid: -1,
    });
    const site = siteOf(op.stackId, op.callerStackId);
    g.push(lane, op.startNs, op.endNs, nameOf(op.name), OP_KIND[op.kind], site);
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
  for (const c of calls)
    g.push(
      cpuLane('cpu', c),
      c.startNs,
      c.endNs,
      nameOf(c.name),
      OP_KIND.launch,
      siteOf(c.stackId),
    );
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
  for (let l = 0; l < lanes.length; l++) {
    const seg = perm.subarray(laneStart[l], laneStart[l + 1]);
    let sorted = true;
    for (let k = 1; k < seg.length && sorted; k++) sorted = g.start[seg[k - 1]] <= g.start[seg[k]];
    if (!sorted) seg.sort((a, b) => g.start[a] - g.start[b] || g.end[b] - g.end[a]);
  }
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
    maxEnd: new Float64Array(n),
    name: new Uint32Array(n),
    kind: new Uint8Array(n),
    site: new Int32Array(n),
    names,
    sites,
  };
  for (let l = 0; l < lanes.length; l++) {
    let running = -Infinity;
    for (let i = laneStart[l]; i < laneStart[l + 1]; i++) {
      const j = perm[i];
      c.start[i] = g.start[j] - base;
      // A reversed interval (end before start) is drawn as an instant, never backwards.
      c.end[i] = Math.max(g.end[j], g.start[j]) - base;
      running = Math.max(running, c.end[i]);
      c.maxEnd[i] = running;
      c.name[i] = g.name[j];
      c.kind[i] = g.kind[j];
      c.site[i] = g.site[j];
      if (c.end[i] > c.spanNs) c.spanNs = c.end[i];
    }
  }
  return c;
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
