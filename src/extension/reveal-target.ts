/**
 * Which file a `reveal` message from the bottleneck panel may open. The panel shows trace strings,
 * so its messages are treated as untrusted input: only a file that the shown Report names at a
 * line, and that resolves (symlinks followed) to a file inside the workspace folder, is opened.
 * No `vscode` import: the predicate is unit-tested under plain Node.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Comparison } from '../core/compare';
import type { Report, SourceRef } from '../core/report-types';

/** Every file the Report (and its comparison with a baseline) names at a line. */
export function namedFiles(report: Report, comparison: Comparison | null): Set<string> {
  const refs: (SourceRef | null)[] = [
    ...report.lines,
    ...report.ranges.flatMap((r) => [r.location, ...(r.ambiguous ?? [])]),
    ...report.findings.flatMap((f) => f.locations),
    ...report.gaps.map((g) => g.location),
    ...report.summary.idleBreakdown.map((c) => c.location),
    ...(comparison?.lines ?? []),
  ];
  const out = new Set<string>();
  for (const r of refs) if (r) out.add(r.file);
  return out;
}

/**
 * The absolute path to open for a `reveal` of `file` at `line`, or null when refused: `file` is not
 * one of `named`, `line` is not a line number, or the file does not resolve to a regular file
 * inside `root` (a `..` path, an absolute path elsewhere, or a symlink out of the folder).
 */
export function revealTarget(
  named: ReadonlySet<string>,
  root: string,
  file: unknown,
  line: unknown,
): string | null {
  if (typeof file !== 'string' || !named.has(file)) return null;
  if (typeof line !== 'number' || !Number.isInteger(line) || line < 0) return null;
  const abs = path.resolve(root, file);
  try {
    const rel = path.relative(fs.realpathSync(root), fs.realpathSync(abs));
    if (rel === '' || rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel))
      return null;
    return fs.statSync(abs).isFile() ? abs : null;
  } catch {
    return null; // missing, or unreadable
  }
}
