/**
 * An independent walk of a GPU Lens exact-line torch.profiler capture (legacy array form) for the
 * UI tests: CPU operator time per source line, written from the marker format (docs/exact-lines.md),
 * sharing no code with src/core.
 */
import * as fs from 'node:fs';

interface RawEvent {
  name: string;
  ph?: string;
  ts: number;
  dur?: number;
  tid: number | string;
  pid: number | string;
}

/**
 * Per `file:line`: CPU time and count of the outermost operators of each thread, placed on the
 * innermost frame of the GPU Lens exact-line marker (`gpulens/1|ROOT|file:line:fn|…`) around them.
 */
export function walkCpuOps(trace: string): Map<string, { ns: number; ops: number }> {
  const events = (JSON.parse(fs.readFileSync(trace, 'utf8')) as RawEvent[]).filter(
    (e) => e.ph === 'X',
  );
  const markers = events.filter((e) => e.name.startsWith('gpulens/1|'));
  const ops = events
    .filter((e) => !e.name.startsWith('gpulens/1|'))
    .sort((a, b) => a.ts - b.ts || (b.dur ?? 0) - (a.dur ?? 0));
  const out = new Map<string, { ns: number; ops: number }>();
  let outer: RawEvent | undefined;
  for (const op of ops) {
    const end = op.ts + (op.dur ?? 0);
    const same = (e: RawEvent) => e.pid === op.pid && e.tid === op.tid;
    if (outer && same(outer) && end <= outer.ts + (outer.dur ?? 0)) continue;
    outer = op;
    const around = markers
      .filter((m) => same(m) && m.ts <= op.ts && op.ts <= m.ts + (m.dur ?? 0))
      .sort((a, b) => b.ts - a.ts)[0];
    if (!around) continue;
    const [file, line] = around.name.split('|')[2].split(':');
    const key = `${file}:${line}`;
    const v = out.get(key) ?? { ns: 0, ops: 0 };
    out.set(key, { ns: v.ns + Math.round((op.dur ?? 0) * 1000), ops: v.ops + 1 });
  }
  return out;
}
