/**
 * Python stacks from nsys callchain tables (`CUDA_CALLCHAINS`, `OSRT_CALLCHAINS`).
 *
 * nsys ≥ 2023 with `--python-backtrace=cuda` splices Python frames into the native backtraces of
 * API calls. No public export with them was available, so the frame text is parsed defensively.
 * Supported shapes of the `symbol` string (the `[Python] ` prefix is optional when the module or the
 * symbol names a `.py` file):
 *   - `[Python] fn (path/file.py:12)`      - `[Python] path/file.py:12 fn`
 *   - `[Python] fn path/file.py:12`        - `path/file.py:12` (function unknown → '')
 *   - `path/file.py(12): fn`               - `File "path/file.py", line 12, in fn`
 *   - symbol `fn` or `fn:12` with module `path/file.py` or `path/file.py:12`
 * A Python frame without a line number is dropped (it cannot be put on a line). Native frames are
 * never kept: a stack holds Python source frames only, innermost (stackDepth 0) first.
 */
import { StackTable, type Frame } from '../model';
import type { NsysDb } from './nsys-db';

const PY_PREFIX = /^\[Python\]\s*/;
/** A `.py` path followed by its line in one of the supported notations. */
const FILE_LINE = /(?:File ")?([^\s()"',]+\.pyw?)"?(?::|, line |\(|\s+line\s+)(\d+)\)?/;
/**
 * Longer symbol or module strings are not frames. FILE_LINE is unanchored, so on a long run of
 * path characters it backtracks quadratically: a hostile 200 KB symbol took minutes.
 */
const MAX_FRAME_TEXT = 2048;

/**
 * Parses one callchain frame; null for native frames and Python frames without a line.
 * Python frames from nsys are the line executing at call time, hence precision 'line'.
 */
export function parsePythonFrame(symbol: string, module: string): Frame | null {
  if (symbol.length > MAX_FRAME_TEXT || module.length > MAX_FRAME_TEXT) return null;
  // Every supported shape names a .py file; most native frames are rejected here, cheaply.
  if (!symbol.includes('.py') && !module.includes('.py')) return null;
  const marked = PY_PREFIX.test(symbol);
  const moduleIsPy = /\.pyw?(?::\d+)?$/.test(module);
  if (!marked && !moduleIsPy && !FILE_LINE.test(symbol)) return null;
  const text = symbol.replace(PY_PREFIX, '').trim();
  const m = FILE_LINE.exec(text);
  if (m) {
    const rest = (text.slice(0, m.index) + ' ' + text.slice(m.index + m[0].length))
      .replace(/(^|\s)(in|at)(\s|$)/g, ' ')
      .replace(/[():,]/g, ' ')
      .trim();
    return {
      file: m[1],
      line: Number(m[2]),
      function: rest.split(/\s+/)[0] ?? '',
      precision: 'line',
    };
  }
  if (moduleIsPy) {
    const mod = /^(.*\.pyw?)(?::(\d+))?$/.exec(module);
    const sym = /^(.*?)(?::(\d+))?$/.exec(text);
    const line = Number(mod?.[2] ?? sym?.[2] ?? 0);
    if (mod && line > 0) return { file: mod[1], line, function: sym?.[1] ?? '', precision: 'line' };
  }
  return null;
}

/** Quick pre-check over StringIds: could any string be a Python frame at all? */
export function stringsMayHavePython(strings: readonly string[]): boolean {
  for (const s of strings) {
    if (s !== undefined && (s.startsWith('[Python]') || s.includes('.py'))) return true;
  }
  return false;
}

/**
 * Reads one callchain table and returns callchainId → stack index (only for callchains that hold
 * at least one Python frame; every other id means stackId -1). One pass over the table; a
 * symbol/module pair is parsed once.
 */
export function readPythonCallchains(
  ndb: NsysDb,
  table: 'CUDA_CALLCHAINS' | 'OSRT_CALLCHAINS',
  strings: readonly string[],
  stacks: StackTable,
): Map<number, number> {
  const result = new Map<number, number>();
  if (!ndb.has(table)) return result;
  const parsed = new Map<string, Frame | null>();
  const byChain = new Map<number, { depth: number; frame: Frame }[]>();
  for (const [id, depth, symbol, module] of ndb.rows(table, [
    'id',
    'stackDepth',
    'symbol',
    'module',
  ])) {
    const sym = stringOf(strings, symbol);
    const mod = stringOf(strings, module);
    const key = `${sym}\0${mod}`;
    let frame = parsed.get(key);
    if (frame === undefined) {
      frame = parsePythonFrame(sym, mod);
      parsed.set(key, frame);
    }
    if (!frame) continue;
    const chainId = Number(id);
    let frames = byChain.get(chainId);
    if (!frames) byChain.set(chainId, (frames = []));
    frames.push({ depth: Number(depth ?? frames.length), frame });
  }
  for (const [chainId, frames] of byChain) {
    frames.sort((a, b) => a.depth - b.depth);
    result.set(chainId, stacks.intern(frames.map((f) => f.frame)));
  }
  return result;
}

/** Callchain symbol/module columns are StringIds ids in every known schema; tolerate inline text. */
function stringOf(strings: readonly string[], v: unknown): string {
  if (typeof v === 'number') return strings[v] ?? '';
  return typeof v === 'string' ? v : '';
}
