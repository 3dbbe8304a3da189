/**
 * Which library line files of a Report (`LineStat.library`, recorded outside the workspace) a
 * document on disk is, so CodeLens and hovers show on `transformers/…/modeling_qwen2.py` when the
 * user opens it from their environment. Only names are compared; no file is read.
 */
import { libraryModulePath } from '../core/library-frames';
import type { Report } from '../core/report-types';

/**
 * The recorded file of a library line of `report` that `docPath` (absolute) is, or null. A recorded
 * absolute path must equal it; a module path (`transformers/models/x.py`, as Kineto records it, or
 * the part of a recorded path after `site-packages/`) must be the document's path after one of its
 * `site-packages/` or `dist-packages/` folders.
 */
export function libraryFileOf(report: Report, docPath: string): string | null {
  const doc = docPath.replace(/\\/g, '/');
  for (const l of report.lines) {
    if (!l.library) continue;
    if (l.file === doc) return l.file;
    const mod = libraryModulePath(l.file);
    if (mod === null || mod.startsWith('/') || /^[A-Za-z]:\//.test(mod)) continue;
    if (doc.endsWith(`/site-packages/${mod}`) || doc.endsWith(`/dist-packages/${mod}`))
      return l.file;
  }
  return null;
}
