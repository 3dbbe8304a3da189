/**
 * Memory on the line: the profiler's allocations and frees (Profile.memoryEvents) paired by
 * (rank, device, address), replayed into live bytes over time, and at the device's allocation
 * peak the live allocations grouped by the line whose operator made them. Lines get the bytes
 * they allocated, the bytes still live from them at the peak and that part's share of the peak;
 * the peak names the lines holding most of it (the memory-pressure rule points at them).
 *
 * One device's figures: GPU memory when the trace records any, else host memory (a CPU-only
 * capture); of several devices, the one nearest its capacity (else the largest peak).
 */
import { findDevice, type Profile } from './model';
import { MEMORY_DEVICES, type MemoryEvents } from './model-memory';
import type { LineStat, MemoryPeak, SourceRef } from './report-types';
import { emptyLineStat } from './attribute';
import type { ResolvedFrame, StackResolver } from './stack-resolver';

/** A line as a locator gives it: library lines are kept apart from workspace ones. */
type Located = SourceRef & { library?: true };

/** The memory figures of one line, on the peak's device. */
export interface LineMemory<T extends Located> {
  frame: T;
  allocBytes: number;
  liveAtPeakBytes: number;
}

/** The peak (without `nearCapacity`, which needs the threshold) and every line's figures. */
export interface MemoryAnalysis<T extends Located> {
  peak: Omit<MemoryPeak, 'nearCapacity'>;
  /** By line key (`lib:` prefix for library lines), most live at the peak first. */
  lines: Map<string, LineMemory<T>>;
}

/** Holders are taken until they hold this share of the peak's attributed live bytes… */
const HOLDER_SHARE = 0.5;
/** …or this many lines. */
const MAX_HOLDERS = 5;

/** The key attribute.ts gives a line, so figures land on the same LineStat. */
export function lineKey(f: Located): string {
  return `${f.library ? 'lib:' : ''}${f.file}:${f.line}`;
}

interface DevicePeak {
  /** The device's events: indexes into Profile.memoryEvents, in time order. */
  events: number[];
  /** Index of the event after which the peak was reached. */
  at: number;
  peakBytes: number;
  tracedBytes: number;
  capacity: number | null;
}

/**
 * Replays one device's events (time order) and finds its peak: the allocator's total allocated
 * when recorded, else the sum of the trace's own live allocations. A free whose allocation came
 * before the trace changes nothing the trace made; an address allocated again replaces the old.
 */
function devicePeak(table: MemoryEvents, events: number[], capacity: number | null): DevicePeak {
  const { addr, bytes, totalAllocated } = table;
  const live = new Map<number, number>();
  let traced = 0;
  let best: DevicePeak = { events, at: -1, peakBytes: -1, tracedBytes: 0, capacity };
  events.forEach((e, i) => {
    const prev = live.get(addr[e]);
    if (bytes[e] !== 0 && prev !== undefined) {
      traced -= prev;
      live.delete(addr[e]);
    }
    if (bytes[e] > 0) {
      live.set(addr[e], bytes[e]);
      traced += bytes[e];
    }
    // NaN: no running total recorded.
    const recorded = totalAllocated[e];
    const total = Math.max(Number.isNaN(recorded) ? traced : recorded, traced);
    if (total > best.peakBytes) best = { ...best, at: i, peakBytes: total, tracedBytes: traced };
  });
  return best;
}

/** The allocations still live after `events[at]`: each allocating event (its table index). */
function liveAt(table: MemoryEvents, events: readonly number[], at: number): number[] {
  const { addr, bytes } = table;
  const live = new Map<number, number>();
  for (let i = 0; i <= at; i++) {
    const e = events[i];
    if (bytes[e] > 0) live.set(addr[e], e);
    else if (bytes[e] < 0) live.delete(addr[e]);
  }
  return [...live.values()];
}

/**
 * The peak and per-line memory of the profile's allocation events, lines placed by `locate`
 * (a stack id → its line, or null); null when the trace has no allocation events.
 */
export function memoryAtPeak<T extends Located>(
  profile: Profile,
  locate: (stackId: number) => T | null,
): MemoryAnalysis<T> | null {
  const table = profile.memoryEvents;
  const { rank, deviceId, tsNs, bytes, stackId } = table;
  let anyGpu = false;
  for (let e = 0; e < table.length && !anyGpu; e++) anyGpu = table.isGpu(e);
  const kind = anyGpu ? 'gpu' : 'cpu';
  const code = MEMORY_DEVICES.indexOf(kind);
  const groups = new Map<string, number[]>();
  for (let e = 0; e < table.length; e++) {
    if (table.device[e] !== code) continue;
    const key = `${rank[e]}:${deviceId[e]}`;
    const g = groups.get(key);
    if (g) g.push(e);
    else groups.set(key, [e]);
  }
  let chosen: DevicePeak | null = null;
  const share = (p: DevicePeak): number => (p.capacity ? p.peakBytes / p.capacity : -1);
  for (const events of groups.values()) {
    // Merged ranks append their events: time order per device (stable for equal times).
    events.sort((a, b) => tsNs[a] - tsNs[b] || a - b);
    const e = events[0];
    const capacity =
      kind === 'gpu' ? (findDevice(profile, rank[e], deviceId[e])?.totalMemoryBytes ?? null) : null;
    const p = devicePeak(table, events, capacity);
    if (p.at < 0) continue;
    if (
      !chosen ||
      share(p) > share(chosen) ||
      (share(p) === share(chosen) && p.peakBytes > chosen.peakBytes)
    )
      chosen = p;
  }
  if (!chosen) return null;
  const { events, at, peakBytes, tracedBytes, capacity } = chosen;

  const lines = new Map<string, LineMemory<T>>();
  const located = new Map<number, T | null>();
  const lineOf = (stackId: number): LineMemory<T> | null => {
    let f = located.get(stackId);
    if (f === undefined) located.set(stackId, (f = locate(stackId)));
    if (!f) return null;
    const key = lineKey(f);
    let m = lines.get(key);
    if (!m) lines.set(key, (m = { frame: f, allocBytes: 0, liveAtPeakBytes: 0 }));
    return m;
  };
  for (const e of events) {
    const m = bytes[e] > 0 ? lineOf(stackId[e]) : null;
    if (m) m.allocBytes += bytes[e];
  }
  let unattributedBytes = 0;
  for (const e of liveAt(table, events, at)) {
    const m = lineOf(stackId[e]);
    if (m) m.liveAtPeakBytes += bytes[e];
    else unattributedBytes += bytes[e];
  }
  const sorted = [...lines.entries()].sort(
    (a, b) => b[1].liveAtPeakBytes - a[1].liveAtPeakBytes || b[1].allocBytes - a[1].allocBytes,
  );
  const attributed = tracedBytes - unattributedBytes;
  const holders: SourceRef[] = [];
  let held = 0;
  for (const [, m] of sorted) {
    if (m.liveAtPeakBytes <= 0 || holders.length >= MAX_HOLDERS) break;
    if (held >= HOLDER_SHARE * attributed) break;
    holders.push({ file: m.frame.file, line: m.frame.line });
    held += m.liveAtPeakBytes;
  }
  const peakEvent = events[at];
  return {
    peak: {
      device: kind,
      rank: rank[peakEvent],
      deviceId: deviceId[peakEvent],
      tsNs: tsNs[peakEvent],
      peakBytes,
      capacityBytes: capacity,
      capacityPct: capacity ? Number(((100 * peakBytes) / capacity).toFixed(2)) : null,
      beforeTraceBytes: peakBytes - tracedBytes,
      unattributedBytes,
      holders,
    },
    lines: new Map(sorted),
  };
}

/**
 * The Report's lines with their memory figures (lines that only allocated are added, with no
 * time), and the peak; lines are unchanged and the peak absent without allocation events.
 * Lines are placed as CPU operator time is: innermost workspace frame, else (libraryFallback)
 * the innermost library frame.
 */
export function memoryOnLines(
  profile: Profile,
  lines: readonly LineStat[],
  stacks: StackResolver,
  options: { libraryFallback?: boolean; memoryPressurePct: number },
): { lines: LineStat[]; memoryPeak?: MemoryPeak } {
  const fallback = options.libraryFallback ?? true;
  const analysis = memoryAtPeak<ResolvedFrame>(
    profile,
    (id) => stacks.frames(id)[0] ?? (fallback ? stacks.libraryFrame(id) : null),
  );
  if (!analysis) return { lines: [...lines] };
  const { peak } = analysis;
  const figures = (m: LineMemory<ResolvedFrame> | undefined) => ({
    allocBytes: m?.allocBytes ?? 0,
    liveAtPeakBytes: m?.liveAtPeakBytes ?? 0,
    peakSharePct:
      m && peak.peakBytes > 0 ? Number(((100 * m.liveAtPeakBytes) / peak.peakBytes).toFixed(2)) : 0,
  });
  const seen = new Set<string>();
  const out = lines.map((s) => {
    const key = lineKey(s.library ? { ...s, library: true } : { file: s.file, line: s.line });
    seen.add(key);
    return { ...s, ...figures(analysis.lines.get(key)) };
  });
  for (const [key, m] of analysis.lines) {
    if (seen.has(key)) continue;
    out.push({ ...emptyLineStat(m.frame), ...figures(m) });
  }
  const nearCapacity = peak.capacityPct !== null && peak.capacityPct >= options.memoryPressurePct;
  return { lines: out, memoryPeak: { ...peak, nearCapacity } };
}
