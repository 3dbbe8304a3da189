/** Resolves a Profile's interned stacks to workspace (or library) frames, once per stack. */
import { libraryModulePath } from './library-frames';
import type { Profile } from './model';
import type { SourceRef } from './report-types';
import type { PathResolver } from './workspace-paths';

/** A workspace frame of a stack, resolved. */
export interface ResolvedFrame extends SourceRef {
  function: string;
  precision: 'line' | 'function';
  /** A library frame (outside the workspace; `file` as recorded), not a workspace one. */
  library?: true;
}

/** Resolves each interned stack once to its workspace frames (innermost first). */
export class StackResolver {
  private readonly resolved: (ResolvedFrame[] | undefined)[];
  private readonly library = new Map<number, ResolvedFrame | null>();

  constructor(
    private readonly profile: Profile,
    readonly paths: PathResolver,
  ) {
    this.resolved = new Array<ResolvedFrame[] | undefined>(profile.stacks.length);
  }

  /** Workspace frames of a stack, innermost first ([] when none or stackId is -1). */
  frames(stackId: number): ResolvedFrame[] {
    if (stackId < 0 || stackId >= this.profile.stacks.length) return [];
    let r = this.resolved[stackId];
    if (!r) {
      r = [];
      for (const f of this.profile.stacks[stackId]) {
        const file = this.paths.resolve(f.file);
        if (file !== null)
          r.push({ file, line: f.line, function: f.function, precision: f.precision });
      }
      this.resolved[stackId] = r;
    }
    return r;
  }

  /**
   * The innermost library frame of a stack (core/library-frames.ts), its file as recorded with
   * forward slashes; null when every frame is framework internals or stackId is -1.
   */
  libraryFrame(stackId: number): ResolvedFrame | null {
    if (stackId < 0 || stackId >= this.profile.stacks.length) return null;
    let r = this.library.get(stackId);
    if (r === undefined) {
      const f = this.profile.stacks[stackId].find(
        (x) => this.paths.resolve(x.file) === null && libraryModulePath(x.file) !== null,
      );
      r = f
        ? {
            file: f.file.replace(/\\/g, '/'),
            line: f.line,
            function: f.function,
            precision: f.precision,
            library: true,
          }
        : null;
      this.library.set(stackId, r);
    }
    return r;
  }

  innermost(stackId: number): SourceRef | null {
    const f = this.frames(stackId)[0];
    return f ? { file: f.file, line: f.line } : null;
  }
}
