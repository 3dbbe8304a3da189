/**
 * What the MCP server may read: the trace files or folders it was started with and the workspace
 * folder, nothing else. Paths are compared after resolving symlinks, so a link inside an allowed
 * folder cannot lead out of it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export class AllowedPaths {
  private readonly roots: string[];

  /** `roots`: absolute files or folders (they must exist). */
  constructor(roots: readonly string[]) {
    this.roots = roots.map((r) => fs.realpathSync(r));
  }

  /**
   * The real path of `p` (relative paths are taken from `base`) when it is an allowed root or lies
   * inside an allowed folder; throws a one-line reason otherwise.
   */
  check(p: string, base: string): string {
    let real: string;
    try {
      real = fs.realpathSync(path.resolve(base, p));
    } catch {
      throw new Error(`no such trace: ${p}`);
    }
    const inside = this.roots.some((root) => {
      if (real === root) return true;
      const rel = path.relative(root, real);
      return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
    });
    if (!inside)
      throw new Error(`${p} is outside the traces and the workspace this server was started with`);
    return real;
  }
}
