/**
 * Why GPU time went unattributed when a trace was recorded elsewhere (another machine, a
 * container): the recorded folders of the user-looking files on those stacks, and the
 * `gpuLens.pathMap` entries that would map them onto this workspace, found by matching the
 * recorded paths' trailing segments against the workspace's Python files.
 */
import type { Profile } from './model';
import type { PathHints, Report } from './report-types';
import type { StackResolver } from './stack-resolver';

/** Paths of installed packages and the interpreter: library code, never mapped onto the workspace. */
const LIBRARY = /(^|\/)(site-packages|dist-packages|lib\/python\d[\d.]*|\.venv|venv|conda)\//;
/** Lists in the hints are cut to this many entries. */
const MAX_HINTS = 5;

/**
 * The recorded files of a stack that reached no workspace frame which may be the user's own code
 * recorded elsewhere: not pseudo-files (`<string>`), installed packages or the interpreter's.
 */
function userLookingFiles(profile: Profile, stackId: number): string[] {
  return [
    ...new Set(
      profile.stacks[stackId]
        .map((f) => f.file.replace(/\\/g, '/'))
        .filter((f) => f !== '' && !f.startsWith('<') && !LIBRARY.test(f)),
    ),
  ];
}

const folderOf = (file: string) =>
  file.includes('/') ? file.slice(0, file.lastIndexOf('/')) : '.';

/**
 * The mapping that puts `recorded` on a workspace file: the longest run of trailing path segments
 * that exactly one workspace file ends with, split into FROM (the recorded prefix) and TO (the
 * workspace folder holding the rest). Null when no file, or several, match.
 */
function mappingFor(
  recorded: string,
  bySuffix: Map<string, string[]>,
  root: string,
): [string, string] | null {
  const parts = recorded.split('/');
  const base = parts[parts.length - 1];
  const candidates = bySuffix.get(base) ?? [];
  for (let k = parts.length - 1; k >= 1; k--) {
    const from = parts.slice(0, parts.length - k).join('/');
    if (from === '' || from === '.') continue;
    const tail = parts.slice(parts.length - k).join('/');
    const hits = candidates.filter((f) => f === tail || f.endsWith(`/${tail}`));
    if (hits.length === 1) {
      const rest = hits[0].slice(0, hits[0].length - tail.length).replace(/\/$/, '');
      return [from, rest ? `${root}/${rest}` : root];
    }
    if (hits.length > 1) return null;
  }
  return null;
}

/**
 * Hints for the GPU time no workspace frame claimed, or null when there is none. `pythonFiles`
 * are the workspace's files (relative, POSIX), `root` its absolute POSIX path.
 */
export function pathHints(
  profile: Profile,
  stacks: StackResolver,
  pythonFiles: readonly string[],
  root: string,
): PathHints | null {
  const bySuffix = new Map<string, string[]>();
  for (const f of pythonFiles) {
    const base = f.slice(f.lastIndexOf('/') + 1);
    bySuffix.set(base, [...(bySuffix.get(base) ?? []), f]);
  }
  const workspace = root.replace(/\/$/, '');
  // Per unattributed stack: its folders and the path-map entries that would resolve its files;
  // each op then counts once toward each (so no figure exceeds the unattributed time).
  const perStack = new Map<number, { folders: Set<string>; entries: Set<string> }>();
  const folders = new Map<string, { files: Set<string>; gpuNs: number }>();
  const entries = new Map<string, { files: Set<string>; gpuNs: number }>();
  const add = (m: typeof folders, key: string, files: string[], ns: number) => {
    const v = m.get(key) ?? { files: new Set<string>(), gpuNs: 0 };
    for (const f of files) v.files.add(f);
    v.gpuNs += ns;
    m.set(key, v);
  };
  const filesOf = new Map<number, string[]>();
  const ops = profile.gpuOps;
  for (let i = 0; i < ops.length; i++) {
    // Backward work placed through its caller's stack is attributed when that stack is.
    const id = ops.callerStackId[i] >= 0 ? ops.callerStackId[i] : ops.stackId[i];
    if (id < 0 || stacks.frames(id).length > 0) continue;
    let info = perStack.get(id);
    if (!info) {
      // A relative path no workspace file matches is an importable module: a library.
      const files: string[] = [];
      info = { folders: new Set(), entries: new Set() };
      for (const f of userLookingFiles(profile, id)) {
        const m = mappingFor(f, bySuffix, workspace);
        if (m) info.entries.add(`${m[0]}=${m[1]}`);
        if (m || f.startsWith('/') || /^[A-Za-z]:\//.test(f)) files.push(f);
      }
      for (const f of files) info.folders.add(folderOf(f));
      filesOf.set(id, files);
      perStack.set(id, info);
    }
    const ns = ops.endNs[i] - ops.startNs[i];
    const files = filesOf.get(id)!;
    for (const d of info.folders)
      add(
        folders,
        d,
        files.filter((f) => folderOf(f) === d),
        ns,
      );
    for (const e of info.entries) add(entries, e, [], ns);
  }
  // Only library code outside the workspace: nothing a path map could place.
  if (folders.size === 0) return null;
  const byTime = <T extends { gpuNs: number }>(a: T, b: T) => b.gpuNs - a.gpuNs;
  return {
    unresolved: [...folders]
      .map(([prefix, v]) => ({
        prefix,
        files: v.files.size,
        examples: [...v.files].slice(0, 3),
        gpuNs: v.gpuNs,
      }))
      .sort(byTime)
      .slice(0, MAX_HINTS),
    suggestedPathMap: [...entries]
      .map(([entry, v]) => ({ entry, gpuNs: v.gpuNs }))
      .sort(byTime)
      .slice(0, MAX_HINTS),
  };
}

/** GPU time outside the workspace from this share of busy time on gets a warning naming the folders. */
const WARN_SHARE = 0.2;

/** The Report warning for hints worth acting on (none when little time is unattributed). */
export function pathWarnings(
  hints: PathHints | null,
  noWorkspaceNs: number,
  gpuBusyNs: number,
): string[] {
  if (!hints || noWorkspaceNs < WARN_SHARE * gpuBusyNs) return [];
  const share = gpuBusyNs > 0 ? Math.round((100 * noWorkspaceNs) / gpuBusyNs) : 100;
  // A bare file name has no folder to name: show the names themselves.
  const where = hints.unresolved
    .slice(0, 3)
    .map((u) => (u.prefix === '.' ? u.examples.join(', ') : `${u.prefix}/`))
    .join(', ');
  const fix = hints.suggestedPathMap[0]
    ? `set gpuLens.pathMap (CLI: --path-map) to "${hints.suggestedPathMap[0].entry}"`
    : 'set gpuLens.pathMap (CLI: --path-map) to map that folder onto this workspace';
  return [
    `${share}% of GPU time reached no workspace file: its code was recorded in ${where}, which is not in this workspace; ${fix}.`,
  ];
}

/**
 * The path-map entry worth offering after a load: the best suggestion, when it would place
 * WARN_SHARE of GPU busy time or more on workspace lines.
 */
export function pathMapToOffer(report: Report): string | null {
  const best = report.pathHints?.suggestedPathMap[0];
  return best && best.gpuNs >= WARN_SHARE * report.summary.gpuBusyNs ? best.entry : null;
}
