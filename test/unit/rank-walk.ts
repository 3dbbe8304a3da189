/**
 * Independent views of per-rank torch traces for the multi-rank tests (unit and host): gloo's
 * collectives, the clock offsets and lateness they imply, and one line's operator time, all from
 * the raw JSON events (kineto-helpers), never from the reader under test.
 */
import { loadTrace } from './kineto-helpers';

/** One rank's collectives as [startNs, endNs] on its own clock, by kind, in order. */
export type Raw = Map<string, [number, number][]>;

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return Math.round(s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2);
}

/** Offsets putting each rank on rank 0's clock: matched collectives end together. */
export function offsetsFrom(raw: Raw[]): number[] {
  return raw.map((mine) => {
    const deltas: number[] = [];
    for (const [kind, list] of raw[0])
      list.forEach(([, end], i) => {
        const other = mine.get(kind)?.[i];
        if (other) deltas.push(end - other[1]);
      });
    return median(deltas);
  });
}

/**
 * Late rank of each matched collective of `kind`, the others' summed wait, and the late rank's
 * summed lateness behind the others' median arrival.
 */
export function lateness(raw: Raw[], offsets: number[], kind: string) {
  const n = Math.min(...raw.map((r) => r.get(kind)?.length ?? 0));
  const late: number[] = [];
  let waitNs = 0;
  let lateNs = 0;
  for (let i = 0; i < n; i++) {
    const arrivals = raw.map(
      (r, rank) => (r.get(kind) as [number, number][])[i][0] + offsets[rank],
    );
    const last = arrivals.indexOf(Math.max(...arrivals));
    late.push(last);
    for (const a of arrivals) waitNs += arrivals[last] - a;
    const others = arrivals.filter((_, r) => r !== last).sort((a, b) => a - b);
    const mid = others.length >> 1;
    lateNs +=
      arrivals[last] - (others.length % 2 ? others[mid] : (others[mid - 1] + others[mid]) / 2);
  }
  return { late, waitNs, lateNs, n };
}

/** gloo's work records (`gloo:all_reduce`, `gloo:barrier`) of a torch trace: enqueue to completion. */
export function rawTorch(file: string): Raw {
  const byKind: Raw = new Map();
  const events = loadTrace(file).events;
  for (const e of events.filter((x) => /^gloo:(all_reduce|barrier)$/.test(x.name ?? ''))) {
    const kind = e.name === 'gloo:barrier' ? 'barrier' : 'allreduce';
    const start = Math.round((e.ts ?? 0) * 1000);
    const list = byKind.get(kind) ?? [];
    list.push([start, start + Math.round((e.dur ?? 0) * 1000)]);
    byKind.set(kind, list);
  }
  for (const l of byKind.values()) l.sort((a, b) => a[0] - b[0]);
  return byKind;
}

/**
 * The operator time of `script:line` in one rank's exact-lines trace: outermost operators (`::`
 * names, the marker's thread) that start inside an exact-line marker whose innermost frame is that
 * line.
 */
export function lineOpNs(file: string, script: string, line: number): number {
  const events = loadTrace(file).events.filter((e) => e.ph === 'X');
  const markers = events.filter((e) =>
    (e.name ?? '').split('|')[2]?.startsWith(`${script}:${line}:`),
  );
  const ops = events
    .filter((e) => (e.name ?? '').includes('::') && e.tid === markers[0]?.tid)
    .sort((a, b) => (a.ts ?? 0) - (b.ts ?? 0));
  let end = -Infinity;
  let ns = 0;
  for (const op of ops) {
    const s0 = op.ts ?? 0;
    if (s0 < end) continue;
    end = s0 + (op.dur ?? 0);
    if (markers.some((m) => (m.ts ?? 0) <= s0 && s0 < (m.ts ?? 0) + (m.dur ?? 0)))
      ns += Math.round((op.dur ?? 0) * 1000);
  }
  return ns;
}
