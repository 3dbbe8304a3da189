/**
 * An independent reading of a Kineto trace's `[memory]` events for the memory-per-line tests:
 * each allocation goes to its enclosing operator (the innermost op of its thread whose span holds
 * it) and that op's line (exact-line marker, else the python_function chain); allocations and
 * frees are paired by Addr and replayed to the peak of `Total Allocated`. Written from the
 * format, sharing no code with src/core.
 */
import type { TraceEvent } from './kineto-helpers';

export interface Expected {
  /** line key `file:line` → bytes allocated, bytes live at the peak. */
  lines: Map<string, { alloc: number; live: number }>;
  peakBytes: number;
  liveTotal: number;
  unplacedLive: number;
}

const isOp = (e: TraceEvent): boolean =>
  e.ph === 'X' &&
  (e.cat === 'cpu_op' || (e.cat === undefined && (e.name ?? '').includes('::'))) &&
  !(e.name ?? '').startsWith('gpulens/');

/** The innermost span of `spans` (same thread) holding `ts`: latest start, then shortest. */
function innermost(spans: TraceEvent[], ts: number): TraceEvent | undefined {
  let best: TraceEvent | undefined;
  for (const s of spans) {
    if ((s.ts ?? 0) > ts || (s.ts ?? 0) + (s.dur ?? 0) < ts) continue;
    if (!best || (s.ts ?? 0) > (best.ts ?? 0) || (s.dur ?? 0) < (best.dur ?? 0)) best = s;
  }
  return best;
}

function byThread(events: TraceEvent[], keep: (e: TraceEvent) => boolean) {
  const m = new Map<string, TraceEvent[]>();
  for (const e of events) {
    if (!keep(e)) continue;
    const k = `${e.pid}/${e.tid}`;
    m.set(k, [...(m.get(k) ?? []), e]);
  }
  return (e: TraceEvent) => m.get(`${e.pid}/${e.tid}`) ?? [];
}

/** Line of an op from the exact-line marker around its start: `gpulens/1|ROOT|REL:LINE:FUNC|…`. */
export function markerLine(events: TraceEvent[]): (op: TraceEvent) => string | null {
  const markers = byThread(events, (e) => e.ph === 'X' && (e.name ?? '').startsWith('gpulens/1|'));
  return (op) => {
    const m = innermost(markers(op), op.ts ?? 0);
    if (!m) return null;
    const frame = (m.name ?? '').split('|')[2];
    const [rel, line] = frame.split(':');
    return `${rel}:${line}`;
  };
}

/** Line of an op: the first selected frame up the python_function chain around its start. */
export function pythonLine(
  events: TraceEvent[],
  files: string[],
): (op: TraceEvent) => string | null {
  const py = byThread(events, (e) => e.cat === 'python_function');
  const byId = new Map(
    events.filter((e) => e.cat === 'python_function').map((e) => [e.args?.['Python id'], e]),
  );
  return (op) => {
    for (let f = innermost(py(op), op.ts ?? 0); f; f = byId.get(f.args?.['Python parent id'])) {
      const m = /^(.+)\((\d+)\): /.exec(f.name ?? '');
      if (m && files.includes(m[1])) return `${m[1]}:${m[2]}`;
    }
    return null;
  };
}

/** Memory per line of one device kind's events, by the enclosing operator's line. */
export function expected(
  events: TraceEvent[],
  gpu: boolean,
  lineOfOp: (op: TraceEvent) => string | null,
): Expected {
  const ops = byThread(events, isOp);
  const mem = events
    .filter((e) => e.name === '[memory]' && typeof e.args?.Addr === 'number')
    .filter((e) => (e.args?.['Device Type'] !== 0) === gpu)
    .sort((a, b) => (a.ts ?? 0) - (b.ts ?? 0));
  const lineOf = (e: TraceEvent): string | null => {
    const op = innermost(ops(e), e.ts ?? 0);
    return op ? lineOfOp(op) : null;
  };
  let peakAt = -1;
  let peakBytes = -1;
  mem.forEach((e, i) => {
    const total = e.args?.['Total Allocated'] as number;
    if (total > peakBytes) [peakAt, peakBytes] = [i, total];
  });
  const live = new Map<number, TraceEvent>();
  for (const e of mem.slice(0, peakAt + 1)) {
    const bytes = e.args?.Bytes as number;
    if (bytes > 0) live.set(e.args?.Addr as number, e);
    else if (bytes < 0) live.delete(e.args?.Addr as number);
  }
  const lines = new Map<string, { alloc: number; live: number }>();
  const get = (k: string) => lines.get(k) ?? lines.set(k, { alloc: 0, live: 0 }).get(k)!;
  for (const e of mem) {
    const k = (e.args?.Bytes as number) > 0 ? lineOf(e) : null;
    if (k) get(k).alloc += e.args?.Bytes as number;
  }
  let liveTotal = 0;
  let unplacedLive = 0;
  for (const e of live.values()) {
    const bytes = e.args?.Bytes as number;
    liveTotal += bytes;
    const k = lineOf(e);
    if (k) get(k).live += bytes;
    else unplacedLive += bytes;
  }
  return { lines, peakBytes, liveTotal, unplacedLive };
}
