/**
 * Independent views of Kineto trace files for the tests: whole-file zlib + JSON.parse, so the
 * expected values never come from the reader under test.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

export interface TraceEvent {
  ph?: string;
  cat?: string;
  name?: string;
  pid?: number | string;
  tid?: number | string;
  ts?: number;
  dur?: number;
  id?: number;
  args?: Record<string, unknown>;
}

/** Raw text of a trace file (.json or .json.gz). */
export function traceText(file: string): string {
  const buf = fs.readFileSync(file);
  return (buf[0] === 0x1f && buf[1] === 0x8b ? zlib.gunzipSync(buf) : buf).toString('utf8');
}

/** The trace's top-level value and its events. */
export function loadTrace(file: string): { top: Record<string, unknown>; events: TraceEvent[] } {
  const data = JSON.parse(traceText(file)) as unknown;
  if (Array.isArray(data)) return { top: {}, events: data as TraceEvent[] };
  const top = data as Record<string, unknown>;
  return { top, events: top.traceEvents as TraceEvent[] };
}

export const KERNEL_CATS = new Set(['kernel', 'Kernel']);
export const MEMCPY_CATS = new Set(['gpu_memcpy', 'Memcpy']);
export const MEMSET_CATS = new Set(['gpu_memset', 'Memset']);
export const LAUNCH_CATS = new Set(['cuda_runtime', 'cuda_driver', 'Runtime']);

/** The trace's GPU operations (kernels, memcpy, memset): complete events of those categories. */
export function gpuEvents(events: readonly TraceEvent[]): TraceEvent[] {
  return events.filter(
    (e) =>
      e.ph === 'X' &&
      (KERNEL_CATS.has(e.cat ?? '') ||
        MEMCPY_CATS.has(e.cat ?? '') ||
        MEMSET_CATS.has(e.cat ?? '')),
  );
}

export function durNs(e: TraceEvent): number {
  return Math.round((e.dur ?? 0) * 1000);
}

/** Per-name kernel count and total ns, summed directly over the trace's kernel events. */
export function kernelTotals(events: TraceEvent[]): Map<string, { count: number; ns: number }> {
  const totals = new Map<string, { count: number; ns: number }>();
  for (const e of events) {
    if (e.ph !== 'X' || !KERNEL_CATS.has(e.cat ?? '')) continue;
    const t = totals.get(e.name ?? '') ?? { count: 0, ns: 0 };
    t.count++;
    t.ns += durNs(e);
    totals.set(e.name ?? '', t);
  }
  return totals;
}

/** A python_function style name `file(line): fn`, or null for other names. */
export function frameOf(name: string): { file: string; line: number; function: string } | null {
  const m = /^(.*)\((\d+)\): (.+)$/.exec(name);
  if (!m || name.startsWith('<built-in')) return null;
  return { file: m[1], line: Number(m[2]), function: m[3] };
}

/**
 * For each GPU op's correlation id: its launch stack's source frames, innermost first — walked
 * directly: correlation → launch event → innermost enclosing python_function on that thread →
 * `Python parent id` chain (names that are no source frame, `<built-in …>`, skipped).
 */
export function launchStackFrames(
  events: TraceEvent[],
): Map<number, { file: string; line: number; function: string }[]> {
  const py = events.filter((e) => e.cat === 'python_function' && e.ph === 'X');
  const byId = new Map(py.map((e) => [e.args?.['Python id'] as number, e]));
  const out = new Map<number, { file: string; line: number; function: string }[]>();
  for (const launch of events) {
    if (!LAUNCH_CATS.has(launch.cat ?? '') || launch.args?.correlation === undefined) continue;
    const t = launch.ts ?? 0;
    let inner: TraceEvent | undefined;
    for (const p of py) {
      if (p.pid !== launch.pid || p.tid !== launch.tid) continue;
      const s = p.ts ?? 0;
      if (s <= t && t <= s + (p.dur ?? 0) && (!inner || s >= (inner.ts ?? 0))) inner = p;
    }
    const frames: { file: string; line: number; function: string }[] = [];
    const visited = new Set<number>();
    for (
      let f = inner;
      f && !visited.has(f.args?.['Python id'] as number);
      f = byId.get(f.args?.['Python parent id'] as number)
    ) {
      visited.add(f.args?.['Python id'] as number);
      const fr = frameOf(f.name ?? '');
      if (fr) frames.push(fr);
    }
    out.set(launch.args.correlation as number, frames);
  }
  return out;
}

/**
 * For each GPU op's correlation id: the `file:line` keys of its launch stack's frames under
 * `userPrefix`, innermost first (launchStackFrames).
 */
export function launchStackLines(events: TraceEvent[], userPrefix: string): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const [id, frames] of launchStackFrames(events))
    out.set(
      id,
      frames.filter((f) => f.file.startsWith(userPrefix)).map((f) => `${f.file}:${f.line}`),
    );
  return out;
}

/**
 * A temp workspace holding (empty) every file under `userPrefix` that the trace's python_function
 * frames name: what a checkout of that code looks like to the path resolver.
 */
export function workspaceOfRecordedFiles(events: TraceEvent[], userPrefix: string): string {
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'gl-recorded-ws-'));
  for (const e of events) {
    const fr = e.cat === 'python_function' ? frameOf(e.name ?? '') : null;
    if (!fr || !fr.file.startsWith(userPrefix)) continue;
    fs.mkdirSync(path.dirname(path.join(ws, fr.file)), { recursive: true });
    fs.writeFileSync(path.join(ws, fr.file), '');
  }
  return ws;
}
