/**
 * Keeps annotations on the code they describe while a file is edited: the text a trace's lines
 * refer to (the file as it was on disk when the trace loaded) is diffed line by line against the
 * editor's current text, so a mark moves with its line, disappears when its line is changed or
 * deleted, and comes back at its place when the text is restored (undo).
 */
import * as fs from 'node:fs';

/** Maps a 1-based line of the trace's text to the current text's line, or null when it changed. */
export type LineMapper = (line: number) => number | null;

export const IDENTITY: LineMapper = (line) => line;

/**
 * Beyond this many inserted + deleted lines the diff gives up (annotations then show as stale); it
 * bounds the saved frontiers to about MAX_EDIT_LINES² / 2 integers.
 */
const MAX_EDIT_LINES = 1_000;

/**
 * Line mapping from `before` to `after` through a shortest edit script (Myers' O((N+M)·D) diff):
 * lines the script keeps map to their new position, inserted or deleted ones to nothing. Returns
 * null when more than MAX_EDIT_LINES lines differ.
 */
export function lineMapper(before: string, after: string): LineMapper | null {
  if (before === after) return IDENTITY;
  const a = before.split(/\r?\n/);
  const b = after.split(/\r?\n/);
  // Common head and tail first: most edits touch a few lines in the middle.
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (
    tail < a.length - head &&
    tail < b.length - head &&
    a[a.length - 1 - tail] === b[b.length - 1 - tail]
  )
    tail++;
  const kept = keptPairs(a.slice(head, a.length - tail), b.slice(head, b.length - tail));
  if (kept === null) return null;
  const map = new Map<number, number>();
  for (const [i, j] of kept) map.set(head + i + 1, head + j + 1);
  const shift = b.length - a.length;
  return (line) => {
    if (line <= head) return line;
    if (line > a.length - tail) return line <= a.length ? line + shift : null;
    return map.get(line) ?? null;
  };
}

/** The (a index, b index) pairs of equal lines a shortest edit script keeps, or null past the bound. */
function keptPairs(a: string[], b: string[]): [number, number][] | null {
  const n = a.length;
  const m = b.length;
  const max = n + m;
  if (max === 0) return [];
  const limit = Math.min(max, MAX_EDIT_LINES);
  const offset = limit + 1;
  let v = new Int32Array(2 * limit + 3);
  const trace: Int32Array[] = [];
  for (let d = 0; d <= limit; d++) {
    // Frontier before step d, diagonals -d-1 … d+1 only (all that step d reads).
    trace.push(v.slice(offset - d - 1, offset + d + 2));
    const next = v.slice();
    for (let k = -d; k <= d; k += 2) {
      let x =
        k === -d || (k !== d && v[offset + k - 1] < v[offset + k + 1])
          ? v[offset + k + 1]
          : v[offset + k - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      next[offset + k] = x;
      if (x >= n && y >= m) return backtrack(trace, n, m, d);
    }
    v = next;
  }
  return null;
}

/** Walks the saved frontiers back from (n, m) and collects the diagonal (kept) moves. */
function backtrack(trace: Int32Array[], n: number, m: number, dEnd: number): [number, number][] {
  const pairs: [number, number][] = [];
  let x = n;
  let y = m;
  for (let d = dEnd; d > 0; d--) {
    // trace[d][i] is diagonal i - d - 1.
    const at = (k: number) => trace[d][k + d + 1];
    const k = x - y;
    const down = k === -d || (k !== d && at(k - 1) < at(k + 1));
    const prevK = down ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      pairs.push([x - 1, y - 1]);
      x--;
      y--;
    }
    x = prevX;
    y = prevY;
  }
  while (x > 0 && y > 0) {
    pairs.push([x - 1, y - 1]);
    x--;
    y--;
  }
  return pairs.reverse();
}

/**
 * The text each file had on disk when the trace loaded, read the first time an editor needs it
 * and only while the file's modification time is still the one seen at load (after a save the
 * disk no longer holds it, and the file counts as stale unless its text was kept before).
 */
export class LoadedTexts {
  private readonly texts = new Map<string, string>();

  /** `mtimes`: absolute path → mtime (ms) at load. */
  constructor(private readonly mtimes: ReadonlyMap<string, number>) {}

  /**
   * How `absPath` shows the trace's lines given the editor's text of it (undefined when it is not
   * open): mapped through the diff, or stale (identity) when the loaded text is unknown and the
   * file changed since the load (or vanished).
   */
  view(absPath: string, editorText: string | undefined): { stale: boolean; map: LineMapper } {
    const loaded = this.text(absPath);
    if (loaded !== undefined) {
      const map = editorText === undefined ? IDENTITY : lineMapper(loaded, editorText);
      return map ? { stale: false, map } : { stale: true, map: IDENTITY };
    }
    const before = this.mtimes.get(absPath);
    if (before === undefined) return { stale: false, map: IDENTITY };
    try {
      return { stale: fs.statSync(absPath).mtimeMs !== before, map: IDENTITY };
    } catch {
      return { stale: true, map: IDENTITY };
    }
  }

  /** The loaded text of `absPath` (read now if the file is unchanged since the load). */
  text(absPath: string): string | undefined {
    const known = this.texts.get(absPath);
    if (known !== undefined) return known;
    const mtime = this.mtimes.get(absPath);
    try {
      if (mtime === undefined || fs.statSync(absPath).mtimeMs !== mtime) return undefined;
      const text = fs.readFileSync(absPath, 'utf8');
      this.texts.set(absPath, text);
      return text;
    } catch {
      return undefined;
    }
  }
}
