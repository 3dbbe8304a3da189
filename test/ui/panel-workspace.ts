/**
 * Temporary workspaces for the panel's UI tests, made from a real Kineto fixture: the trace copied
 * in, and a stand-in for every `transformers/…` source file its Python stacks name (as many lines
 * as the deepest line recorded), so the stacks resolve to workspace lines the editor can open.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { fixture } from '../unit/fixtures';

/** One Chrome-trace event (the fields the tests read). */
export interface TraceEvent {
  ph?: string;
  cat?: string;
  name: string;
  ts?: number;
  dur?: number;
}

/** The small all-features torch.profiler trace (H100, BERT, with stacks). */
export const BERT = fixture('torch', 'h100-bert-small-stack.json.gz');

/** Reads a (gzipped) Chrome trace's events. */
export function readEvents(file: string): { traceEvents: TraceEvent[] } & Record<string, unknown> {
  const raw = fs.readFileSync(file);
  const text = file.endsWith('.gz') ? zlib.gunzipSync(raw).toString('utf8') : raw.toString('utf8');
  return JSON.parse(text) as { traceEvents: TraceEvent[] };
}

/** `transformers/…/x.py(123): fn` → ['transformers/…/x.py', 123]. */
export function frameOf(name: string): [string, number] | null {
  const m = /^(transformers\/.+?\.py)\((\d+)\): /.exec(name);
  return m ? [m[1], Number(m[2])] : null;
}

/** Makes a workspace holding `trace` (written as `traceName`) and the source files its stacks name. */
export function makeWorkspace(
  events: { traceEvents: TraceEvent[] },
  traceName: string,
  settings: Record<string, unknown> = {},
): { folder: string; trace: string } {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-lens-panel-'));
  const deepest = new Map<string, number>();
  for (const e of events.traceEvents) {
    const f = e.cat === 'python_function' ? frameOf(e.name) : null;
    if (f) deepest.set(f[0], Math.max(deepest.get(f[0]) ?? 0, f[1]));
  }
  for (const [rel, lines] of deepest) {
    const file = path.join(folder, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const body = Array.from({ length: lines + 5 }, (_, i) => `# ${rel} line ${i + 1}\n`).join('');
    fs.writeFileSync(file, body);
  }
  fs.mkdirSync(path.join(folder, '.vscode'), { recursive: true });
  writeSettings(folder, settings);
  const trace = path.join(folder, traceName);
  const json = JSON.stringify(events);
  fs.writeFileSync(trace, traceName.endsWith('.gz') ? zlib.gzipSync(json) : json);
  return { folder, trace };
}

/** Writes the workspace's .vscode/settings.json (the workbench applies it live). */
export function writeSettings(folder: string, settings: Record<string, unknown>): void {
  fs.writeFileSync(
    path.join(folder, '.vscode', 'settings.json'),
    JSON.stringify(settings, null, 2),
  );
}
