/**
 * An independent reading of a Kineto trace for the host tests: every GPU operation goes to the
 * python_function tree of the thread that launched it (correlation → runtime call → innermost
 * python_function around the launch → `Python parent id` chain), with self time on the innermost
 * frame whose file the test selects and total time on every selected frame. Written from the
 * format description (docs FORMATS.md), sharing no code with src/core.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

interface TraceEvent {
  ph?: string;
  cat?: string;
  name: string;
  pid: number | string;
  tid: number | string;
  ts: number;
  dur?: number;
  args?: Record<string, unknown>;
}

/** Expected figures of one source line (1-based def line of a function frame). */
export interface ExpectedLine {
  file: string;
  line: number;
  function: string;
  selfNs: number;
  totalNs: number;
  kernelCount: number;
}

export interface Walk {
  lines: Map<string, ExpectedLine>;
  /** Union of GPU operation intervals per device, summed (ns). */
  gpuBusyNs: number;
}

/** Reads a plain or gzipped Chrome trace's events. */
export function readEvents(file: string): TraceEvent[] {
  let buf = fs.readFileSync(file);
  if (buf[0] === 0x1f && buf[1] === 0x8b) buf = zlib.gunzipSync(buf);
  const data = JSON.parse(buf.toString('utf8')) as { traceEvents?: TraceEvent[] } | TraceEvent[];
  return Array.isArray(data) ? data : (data.traceEvents ?? []);
}

const GPU_CATS = new Set(['kernel', 'gpu_memcpy', 'gpu_memset']);
const ns = (us: number) => Math.round(us * 1000);

/** The def-line frames `{file}({line}): {function}` named by python_function events. */
export function pythonFrames(
  events: TraceEvent[],
): { file: string; line: number; function: string }[] {
  const out: { file: string; line: number; function: string }[] = [];
  for (const e of events) {
    if (e.cat !== 'python_function') continue;
    const m = /^(.+)\((\d+)\): (.+)$/.exec(e.name);
    if (m) out.push({ file: m[1], line: Number(m[2]), function: m[3] });
  }
  return out;
}

/**
 * Recreates, under `root`, the recorded source files a trace names: every def line the trace records
 * for a file is written at its line, padding elsewhere — what a checkout of that code looks like to
 * the resolver and the editor.
 */
export function writeRecordedFiles(
  events: TraceEvent[],
  files: readonly string[],
  root: string,
): void {
  const frames = pythonFrames(events);
  for (const file of files) {
    const defs = frames.filter((f) => f.file === file);
    if (defs.length === 0) throw new Error(`the trace records no frame of ${file}`);
    const text = Array.from({ length: Math.max(...defs.map((d) => d.line)) + 3 }, () => '    pass');
    for (const d of defs) text[d.line - 1] = `def ${d.function}(*args, **kwargs):`;
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text.join('\n') + '\n');
  }
}

/** Walks every GPU operation's launch stack; `selected(file)` decides which frames count. */
export function walkTrace(events: TraceEvent[], selected: (file: string) => boolean): Walk {
  const launches = new Map<unknown, TraceEvent>();
  const pyById = new Map<unknown, TraceEvent>();
  const pyByThread = new Map<string, TraceEvent[]>();
  for (const e of events) {
    if (
      (e.cat === 'cuda_runtime' || e.cat === 'cuda_driver') &&
      e.args?.correlation !== undefined
    ) {
      launches.set(e.args.correlation, e);
    } else if (e.cat === 'python_function') {
      pyById.set(e.args?.['Python id'], e);
      const key = `${e.pid}/${e.tid}`;
      const list = pyByThread.get(key) ?? [];
      list.push(e);
      pyByThread.set(key, list);
    }
  }
  const lines = new Map<string, ExpectedLine>();
  const busyByDevice = new Map<string, [number, number][]>();
  for (const op of events) {
    if (!op.cat || !GPU_CATS.has(op.cat) || op.ph !== 'X') continue;
    const dur = ns(op.ts + (op.dur ?? 0)) - ns(op.ts);
    const device = JSON.stringify(op.args?.device ?? op.pid);
    const spans = busyByDevice.get(device) ?? [];
    spans.push([ns(op.ts), ns(op.ts + (op.dur ?? 0))]);
    busyByDevice.set(device, spans);
    const launch = launches.get(op.args?.correlation);
    if (!launch) continue;
    // Innermost = the latest-starting python_function that still spans the launch time.
    let inner: TraceEvent | undefined;
    for (const p of pyByThread.get(`${launch.pid}/${launch.tid}`) ?? []) {
      if (p.ts > launch.ts || p.ts + (p.dur ?? 0) < launch.ts) continue;
      if (!inner || p.ts > inner.ts || (p.ts === inner.ts && (p.dur ?? 0) < (inner.dur ?? 0)))
        inner = p;
    }
    const seen = new Set<string>();
    let first = true;
    for (
      let f = inner, depth = 0;
      f && depth < 10_000;
      f = pyById.get(f.args?.['Python parent id']), depth++
    ) {
      const m = /^(.+)\((\d+)\): (.+)$/.exec(f.name);
      if (!m || !selected(m[1])) continue;
      const key = `${m[1]}:${m[2]}`;
      const stat = lines.get(key) ?? {
        file: m[1],
        line: Number(m[2]),
        function: m[3],
        selfNs: 0,
        totalNs: 0,
        kernelCount: 0,
      };
      lines.set(key, stat);
      if (first) stat.selfNs += dur;
      first = false;
      if (seen.has(key)) continue;
      seen.add(key);
      stat.totalNs += dur;
      if (op.cat === 'kernel') stat.kernelCount++;
    }
  }
  let gpuBusyNs = 0;
  for (const spans of busyByDevice.values()) {
    spans.sort((a, b) => a[0] - b[0]);
    let [s, e] = spans[0];
    for (const [a, b] of spans.slice(1)) {
      if (a > e) {
        gpuBusyNs += e - s;
        [s, e] = [a, b];
      } else e = Math.max(e, b);
    }
    gpuBusyNs += e - s;
  }
  return { lines, gpuBusyNs };
}

/** "1.23 ms" → 1230000 (ns); the inverse of a three-significant-digit display. */
export function parseDuration(text: string): number {
  const m = /^(-?[\d.]+)\s*(ns|µs|us|ms|s)$/.exec(text.trim());
  if (!m) throw new Error(`not a duration: "${text}"`);
  const scale = { ns: 1, µs: 1e3, us: 1e3, ms: 1e6, s: 1e9 }[
    m[2] as 'ns' | 'µs' | 'us' | 'ms' | 's'
  ];
  return Number(m[1]) * scale;
}

/** True when a displayed figure (three significant digits) shows `expectedNs`. */
export function showsDuration(text: string, expectedNs: number): boolean {
  const shown = parseDuration(text);
  return Math.abs(shown - expectedNs) <= Math.max(1, expectedNs * 0.006);
}
