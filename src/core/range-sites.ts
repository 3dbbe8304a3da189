/**
 * Where NVTX / record_function ranges are opened in the workspace, and what each range cost.
 *
 * A range is located from the stack recorded when it was pushed, when the trace has one. Otherwise
 * its literal name is looked up in the workspace's calls that open ranges (`nvtx.annotate("x")`,
 * `torch.cuda.nvtx.range_push("x")`, `record_function("x")`, f-strings like `f"step_{i}"` …). A
 * name found at several call sites is reported as ambiguous rather than guessed.
 */
import type { Profile } from './model';
import type { RangeStat, SourceRef } from './report-types';
import type { StackResolver } from './stack-resolver';
import { sortByStart } from './intervals';

/**
 * Calls that open a range, followed by a string literal on one line (group 1 is the prefix, group 3
 * the literal's body). The body's two alternatives never match the same text (a backslash only
 * starts an escape), so a line that never closes its quote costs one pass, not one try for each of
 * the 2^n ways to split a run of backslashes into escapes.
 */
const RANGE_CALL =
  /\b(?:annotate|range|range_push|push_range|range_start|start_range|record_function|mark)\s*\(\s*(?:message\s*=\s*|name\s*=\s*)?([rRbBuUfF]{0,2})(["'])((?:\\[^\n]|(?!\2)[^\\\n])*)\2/g;

interface Site {
  ref: SourceRef;
  /** A plain literal (not an f-string template): preferred when several sites match. */
  exact: boolean;
  /** Matches a range name: exact text, or an f-string's template with `{…}` as wildcards. */
  test: (name: string) => boolean;
}

/**
 * The literal text of an f-string body between its replacement fields (`{…}`, nested braces of a
 * format spec included; `{{` and `}}` are literal braces), or null when it has no field. An
 * unclosed `{` is kept as literal text.
 */
export function fStringSegments(body: string): string[] | null {
  const segments: string[] = [];
  let lit = '';
  let fields = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if ((c === '{' || c === '}') && body[i + 1] === c) {
      lit += c;
      i++;
    } else if (c === '{') {
      let depth = 1;
      let j = i + 1;
      for (; j < body.length && depth > 0; j++) {
        if (body[j] === '{') depth++;
        else if (body[j] === '}') depth--;
      }
      if (depth > 0) {
        lit += body.slice(i);
        break;
      }
      segments.push(lit);
      lit = '';
      fields++;
      i = j - 1;
    } else {
      lit += c;
    }
  }
  segments.push(lit);
  return fields > 0 ? segments : null;
}

/**
 * Whether `name` is `segments[0] x1 segments[1] x2 … segments[k]` for some strings x1…xk (each
 * replacement field can produce any text, the empty text included). Linear in the name for each
 * segment: no regular expression is built from source text (`^a.*?b.*?c$` backtracks
 * exponentially in the number of fields when the name does not match).
 *
 * Why greedy is exact: the first segment must be a prefix and the last a suffix, not overlapping.
 * The middle segments must occur in order, without overlap, between them. If any such placement
 * exists, putting each middle segment at its leftmost occurrence after the previous one also works:
 * by induction, the greedy segment i ends no later than segment i of the given placement, so that
 * placement's segment i+1 still starts after it, and the leftmost occurrence ends no later still.
 * So the template matches iff the greedy scan places every middle segment before the suffix.
 */
export function matchesSegments(segments: string[], name: string): boolean {
  const first = segments[0];
  const last = segments[segments.length - 1];
  if (segments.length < 2 || name.length < first.length + last.length) return false;
  if (!name.startsWith(first) || !name.endsWith(last)) return false;
  const end = name.length - last.length;
  let at = first.length;
  for (let i = 1; i < segments.length - 1; i++) {
    const j = name.indexOf(segments[i], at);
    // The leftmost occurrence ends first: if it runs into the suffix, every later one does too.
    if (j < 0 || j + segments[i].length > end) return false;
    at = j + segments[i].length;
  }
  return true;
}

/** Every range-opening call with a literal name in the workspace's Python files. */
function findSites(stacks: StackResolver): Site[] {
  const index = stacks.paths.index;
  const sites: Site[] = [];
  for (const file of index.pythonFiles()) {
    const text = index.read(file);
    if (text === null || !/range|annotate|record_function/.test(text)) continue;
    const lineStarts = [0];
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) lineStarts.push(i + 1);
    for (const m of text.matchAll(RANGE_CALL)) {
      const isF = /f/i.test(m[1]);
      const body = m[3];
      let lo = 0;
      let hi = lineStarts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (lineStarts[mid] <= (m.index ?? 0)) lo = mid;
        else hi = mid - 1;
      }
      const ref = { file, line: lo + 1 };
      const segments = isF ? fStringSegments(body) : null;
      if (segments) {
        sites.push({ ref, exact: false, test: (n) => matchesSegments(segments, n) });
      } else {
        // An f-string without fields is its text with `{{` / `}}` read as single braces.
        const text = isF ? body.replace(/([{}])\1/g, '$1') : body;
        sites.push({ ref, exact: true, test: (n) => n === text });
      }
    }
  }
  return sites;
}

export interface RangeLocations {
  /** Per Profile.ranges index: where that range was opened, or null. */
  sites: (SourceRef | null)[];
  /** Per range name: the call sites found by literal search when there were several. */
  ambiguous: Map<string, SourceRef[]>;
}

/** Locates every annotated range (stack first, then literal search by name). */
export function locateRanges(profile: Profile, stacks: StackResolver): RangeLocations {
  let sites: Site[] | null = null;
  const byName = new Map<string, SourceRef | null>();
  const ambiguous = new Map<string, SourceRef[]>();
  const out = profile.ranges.map((r) => {
    const fromStack = stacks.innermost(r.stackId);
    if (fromStack) return fromStack;
    if (byName.has(r.name)) return byName.get(r.name) ?? null;
    sites ??= findSites(stacks);
    const matching = sites.filter((s) => s.test(r.name));
    const exact = matching.filter((s) => s.exact);
    const chosen = exact.length === 1 ? exact[0] : matching.length === 1 ? matching[0] : null;
    const found = chosen ? chosen.ref : null;
    if (!chosen && matching.length > 1)
      ambiguous.set(
        r.name,
        matching.map((s) => s.ref),
      );
    byName.set(r.name, found);
    return found;
  });
  return { sites: out, ambiguous };
}

/**
 * Per range name: count, wall time and GPU time. A GPU op belongs to a range when the API call that
 * launched it started inside the range on the same thread (NVIDIA's NVTX projection).
 */
export function rangeStats(profile: Profile, locations: RangeLocations): RangeStat[] {
  const stats = new Map<string, RangeStat>();
  profile.ranges.forEach((r, i) => {
    let s = stats.get(r.name);
    if (!s) {
      s = { name: r.name, count: 0, wallNs: 0, gpuNs: 0, location: locations.sites[i] };
      const amb = locations.ambiguous.get(r.name);
      if (amb && !s.location) s.ambiguous = amb;
      stats.set(r.name, s);
    }
    s.count++;
    s.wallNs += r.endNs - r.startNs;
    if (!s.location && locations.sites[i]) s.location = locations.sites[i];
  });

  if (profile.ranges.length === 0) return sortStats(stats);
  const gpuNs = rangeGpuNs(profile);
  for (const [name, ns] of gpuNs) stats.get(name)!.gpuNs = ns;
  return sortStats(stats);
}

/** One thread's ranges (Profile.ranges indexes) and the ops its calls launched. */
interface RangeThread {
  ranges: number[];
  launches: Int32Array;
}

/**
 * GPU time per range name: per thread, range starts and ends in time order with that thread's
 * launches merged in, and a count of the active ranges of each name. Columns and index arrays
 * only (no event object per range; a 1 M-kernel export has a million launches).
 */
function rangeGpuNs(profile: Profile): Map<string, number> {
  const { ranges } = profile;
  // One cell more, at Infinity: the end of every thread's lists (a sentinel rather than a bounds
  // test whose result V8 would box on each of millions of steps).
  const none = ranges.length;
  const rangeStart = new Float64Array(none + 1).fill(Infinity, none);
  const rangeEnd = new Float64Array(none + 1).fill(Infinity, none);
  const nameIds = new Map<string, number>();
  const rangeName = new Int32Array(ranges.length);
  const threads = new Map<string, RangeThread>();
  ranges.forEach((r, i) => {
    rangeStart[i] = r.startNs;
    rangeEnd[i] = r.endNs;
    let id = nameIds.get(r.name);
    if (id === undefined) nameIds.set(r.name, (id = nameIds.size));
    rangeName[i] = id;
    const key = `${r.rank}:${r.pid}:${r.tid}`;
    const th = threads.get(key);
    if (th) th.ranges.push(i);
    else threads.set(key, { ranges: [i], launches: new Int32Array(0) });
  });
  const launchNs = collectLaunches(profile, threads);
  const gpu = new Float64Array(nameIds.size);
  const sweep = new NameSweep(rangeName, nameIds.size);
  const { gpuOps: ops } = profile;
  for (const { ranges: list, launches } of threads.values()) {
    // Stable sorts: ties keep index order, as the event sort did (launch order fixes the order of
    // the additions to each name's sum).
    const starts = new Int32Array(list.length + 1).fill(none);
    starts.set(list);
    const ends = starts.slice();
    sortByStart(rangeStart, starts.subarray(0, list.length));
    sortByStart(rangeEnd, ends.subarray(0, list.length));
    sortByStart(launchNs, launches);
    sweep.reset();
    let s = 0;
    let e = 0;
    for (let k = 0; k < launches.length; k++) {
      const opIndex = launches[k];
      // At equal times: starts before launches before ends, so a launch at a range's edge is inside.
      const t = launchNs[opIndex];
      for (;;) {
        const ts = rangeStart[starts[s]];
        const te = rangeEnd[ends[e]];
        if (ts <= te && ts <= t) sweep.start(starts[s++]);
        else if (te < ts && te < t) sweep.end(ends[e++]);
        else break;
      }
      if (sweep.size === 0) continue;
      const ns = ops.endNs[opIndex] - ops.startNs[opIndex];
      for (let a = 0; a < sweep.size; a++) gpu[sweep.active[a]] += ns;
    }
  }
  const out = new Map<string, number>();
  for (const [name, id] of nameIds) out.set(name, gpu[id]);
  return out;
}

/**
 * Each thread's launches (op indexes, in op order) into `threads`; returns each op's launch call
 * start (the sort key), 0 for ops of other threads.
 */
function collectLaunches(profile: Profile, threads: Map<string, RangeThread>): Float64Array {
  const ops = profile.gpuOps;
  const calls = profile.cpuCalls;
  const list = [...threads.values()];
  // Slot of each call thread id in `list`, or -1 (one key string per thread id, not per op).
  const slotOf = new Int32Array(calls.threads.size).fill(-2);
  const slot = (thread: number): number => {
    if (slotOf[thread] === -2) {
      const th = threads.get(calls.threads.key(thread));
      slotOf[thread] = th ? list.indexOf(th) : -1;
    }
    return slotOf[thread];
  };
  const counts = new Int32Array(list.length);
  const opSlot = new Int32Array(ops.length).fill(-1);
  const launchNs = new Float64Array(ops.length);
  for (let i = 0; i < ops.length; i++) {
    const li = ops.launchIndex[i];
    if (li < 0) continue;
    const t = slot(calls.thread[li]);
    if (t < 0) continue;
    opSlot[i] = t;
    counts[t]++;
    launchNs[i] = calls.startNs[li];
  }
  list.forEach((th, t) => (th.launches = new Int32Array(counts[t])));
  counts.fill(0);
  for (let i = 0; i < ops.length; i++) {
    const t = opSlot[i];
    if (t >= 0) list[t].launches[counts[t]++] = i;
  }
  return launchNs;
}

/**
 * The ranges active in a sweep (a start adds a range, an end removes it, each at most once, as a
 * set would) and the names with at least one active range.
 */
class NameSweep {
  /** The names with an open range, `size` of them, in no particular order (each sums alone). */
  readonly active: Int32Array;
  size = 0;
  /** Where each active name is in `active`. */
  private readonly at: Int32Array;
  private readonly isActive: Uint8Array;
  private readonly count: Int32Array;

  constructor(
    private readonly rangeName: Int32Array,
    names: number,
  ) {
    this.isActive = new Uint8Array(rangeName.length);
    this.count = new Int32Array(names);
    this.active = new Int32Array(names);
    this.at = new Int32Array(names);
  }

  start(range: number): void {
    if (this.isActive[range]) return;
    this.isActive[range] = 1;
    const name = this.rangeName[range];
    if (this.count[name]++ === 0) {
      this.at[name] = this.size;
      this.active[this.size++] = name;
    }
  }

  end(range: number): void {
    if (!this.isActive[range]) return;
    this.isActive[range] = 0;
    const name = this.rangeName[range];
    if (--this.count[name] === 0) {
      // The last active name takes its place.
      const last = this.active[--this.size];
      this.active[this.at[name]] = last;
      this.at[last] = this.at[name];
    }
  }

  /** Ends every name (a new thread); ranges of the last thread stay marked but are never seen. */
  reset(): void {
    for (let k = 0; k < this.size; k++) this.count[this.active[k]] = 0;
    this.size = 0;
  }
}

function sortStats(stats: Map<string, RangeStat>): RangeStat[] {
  return [...stats.values()].sort((a, b) => b.gpuNs - a.gpuNs || b.wallNs - a.wallNs);
}
