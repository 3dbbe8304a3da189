/**
 * The exact-line annotation names written by `python/gpu_lens_torch_launcher.py --exact-lines`.
 *
 * Format: `gpulens/1|ROOT|REL:LINE:FUNC|REL:LINE:FUNC…`, workspace frames innermost first, where
 * ROOT is the workspace folder and REL a path relative to it; frames are read as REL, relative paths. Fields are percent-encoded for `%`,
 * `|`, `"`, `\` and control characters, so `|` separates fields unambiguously on every OS (it cannot
 * appear in a Windows path and is encoded where a POSIX path has one). A frame is split at its last
 * two `:` (Python function names never hold one, LINE is digits), so drive letters stay intact.
 * See docs/exact-lines.md.
 */
import type { Frame } from '../model';

export const EXACT_LINE_PREFIX = 'gpulens/1|';

/** True when a record_function name is a GPU Lens exact-line marker. */
export function isExactLineMarker(name: string): boolean {
  return name.startsWith(EXACT_LINE_PREFIX);
}

/** Frames of a marker name (innermost first, precision 'line'), or null when it is malformed. */
export function parseExactLineMarker(name: string): Frame[] | null {
  if (!isExactLineMarker(name)) return null;
  const fields = name.slice(EXACT_LINE_PREFIX.length).split('|');
  if (fields.length < 2) return null;
  // ROOT (fields[0]) is where the capture ran. Frames stay relative to it, so a capture resolves in
  // any checkout of the project (another clone, a container, a colleague's machine) without a path map.
  const frames: Frame[] = [];
  for (const field of fields.slice(1)) {
    const fnAt = field.lastIndexOf(':');
    const lineAt = fnAt > 0 ? field.lastIndexOf(':', fnAt - 1) : -1;
    if (lineAt <= 0) return null;
    const line = Number(field.slice(lineAt + 1, fnAt));
    if (!Number.isInteger(line) || line <= 0) return null;
    try {
      const rel = decodeURIComponent(field.slice(0, lineAt)).replace(/\\/g, '/');
      frames.push({
        file: rel,
        line,
        function: decodeURIComponent(field.slice(fnAt + 1)),
        precision: 'line',
      });
    } catch {
      return null;
    }
  }
  return frames.length > 0 ? frames : null;
}
