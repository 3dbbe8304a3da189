/**
 * Maps file paths recorded in a trace to files of the workspace.
 *
 * Traces record paths three ways: absolute (the script itself), relative to a `sys.path` root
 * (Kineto strips the longest sys.path / site-packages prefix), or absolute on another machine or in
 * a container. A path resolves when, after the user's path map, it names a file inside the workspace.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Folders never searched for sources: VCS data, virtual environments, installed packages. */
const SKIPPED_DIRS = new Set(['node_modules', '__pycache__', 'site-packages', 'dist-packages']);
/** Upper bound on files indexed, so a huge workspace costs bounded time and memory. */
const MAX_INDEXED_FILES = 50_000;

/** Parses `gpuLens.pathMap` entries (`FROM=TO`) into pairs; malformed entries are reported. */
export function parsePathMap(entries: readonly string[]): {
  map: [string, string][];
  errors: string[];
} {
  const map: [string, string][] = [];
  const errors: string[] = [];
  for (const e of entries) {
    const eq = e.indexOf('=');
    if (eq <= 0 || eq === e.length - 1) errors.push(`path map entry "${e}" is not FROM=TO`);
    else map.push([e.slice(0, eq), e.slice(eq + 1)]);
  }
  return { map, errors };
}

/** A path with forward slashes (recorded paths and the workspace root are compared that way). */
export function toPosixPath(p: string): string {
  return p.replace(/\\/g, '/');
}

/** Lists the workspace's Python files once, lazily. */
export class WorkspaceIndex {
  private files: string[] | null = null;

  constructor(readonly root: string) {}

  /** Workspace-relative POSIX paths of `.py` files (bounded by MAX_INDEXED_FILES). */
  pythonFiles(): string[] {
    if (this.files) return this.files;
    const out: string[] = [];
    const walk = (dir: string, rel: string): void => {
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        if (out.length >= MAX_INDEXED_FILES) return;
        if (e.name.startsWith('.') || SKIPPED_DIRS.has(e.name)) continue;
        const relPath = rel ? `${rel}/${e.name}` : e.name;
        // Symlinks are not followed: they can leave the workspace or loop.
        if (e.isDirectory()) walk(path.join(dir, e.name), relPath);
        else if (e.isFile() && e.name.endsWith('.py')) out.push(relPath);
      }
    };
    walk(this.root, '');
    this.files = out;
    return out;
  }

  /** Reads a workspace file's text (null when unreadable). */
  read(rel: string): string | null {
    try {
      return fs.readFileSync(path.join(this.root, rel), 'utf8');
    } catch {
      return null;
    }
  }
}

/** Resolves trace paths to workspace-relative POSIX paths, with a cache per distinct input. */
export class PathResolver {
  private readonly cache = new Map<string, string | null>();
  private bySuffix: Map<string, string[]> | null = null;
  private readonly rootPosix: string;
  /** The workspace root with symlinks resolved (read on first use). */
  private realRoot: string | undefined;

  constructor(
    readonly index: WorkspaceIndex,
    private readonly pathMap: readonly [string, string][] = [],
  ) {
    this.rootPosix = toPosixPath(path.resolve(index.root)).replace(/\/$/, '');
  }

  /** The workspace-relative path of a recorded file, or null when it is not workspace code. */
  resolve(recorded: string): string | null {
    let hit = this.cache.get(recorded);
    if (hit === undefined) {
      hit = this.compute(recorded);
      this.cache.set(recorded, hit);
    }
    return hit;
  }

  private compute(recorded: string): string | null {
    if (!recorded || recorded.startsWith('<')) return null; // <string>, <frozen …>, <built-in …>
    let p = toPosixPath(recorded);
    for (const [from, to] of this.pathMap) {
      const f = toPosixPath(from).replace(/\/$/, '');
      if (p === f || p.startsWith(f + '/')) {
        p = toPosixPath(to).replace(/\/$/, '') + p.slice(f.length);
        break;
      }
    }
    if (path.posix.isAbsolute(p) || /^[A-Za-z]:\//.test(p)) {
      const norm = path.posix.normalize(p);
      if (norm.startsWith(this.rootPosix + '/')) {
        const rel = norm.slice(this.rootPosix.length + 1);
        return this.exists(rel) ? rel : null;
      }
      return null;
    }
    const rel = path.posix.normalize(p);
    if (rel.startsWith('..')) return null;
    if (this.exists(rel)) return rel;
    return this.uniqueSuffixMatch(rel);
  }

  private exists(rel: string): boolean {
    try {
      const file = path.join(this.index.root, rel);
      if (!fs.statSync(file).isFile()) return false;
      // A symlink in the workspace must not lead a trace's path to a file outside it.
      this.realRoot ??= fs.realpathSync(this.index.root);
      return fs.realpathSync(file).startsWith(this.realRoot + path.sep);
    } catch {
      return false;
    }
  }

  /**
   * A path relative to a sys.path root that is not the workspace root (e.g. `pkg/mod.py` living at
   * `src/pkg/mod.py`): accept the workspace file ending in `/rel` when exactly one does.
   */
  private uniqueSuffixMatch(rel: string): string | null {
    if (!this.bySuffix) {
      this.bySuffix = new Map();
      for (const f of this.index.pythonFiles()) {
        const base = f.slice(f.lastIndexOf('/') + 1);
        const list = this.bySuffix.get(base);
        if (list) list.push(f);
        else this.bySuffix.set(base, [f]);
      }
    }
    const base = rel.slice(rel.lastIndexOf('/') + 1);
    const matches = (this.bySuffix.get(base) ?? []).filter((f) => f.endsWith('/' + rel));
    return matches.length === 1 ? matches[0] : null;
  }
}
