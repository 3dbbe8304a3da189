/**
 * Messages between the bottleneck panel (webview) and the extension. Discriminated unions, handled
 * on both sides by an exhaustive `switch`: adding a member breaks the build until both handle it.
 */
import type { Report } from '../core/report-types';

/** Capture metadata when GPU Lens itself made the trace. */
export interface CaptureInfo {
  command: string;
  /** ISO 8601 date-time. */
  startedAt: string;
}

/**
 * Extension → webview. The run-to-run comparison view will add
 * `{ type: 'comparison'; comparison: … }` here, typed by the comparison module (src/core/compare.ts).
 */
export type ToWebview =
  /** The active trace's Report: the page renders it whole. */
  | { type: 'report'; report: Report; tracePath: string; capture: CaptureInfo | null }
  /** No trace loaded (or the server is not running). */
  | { type: 'empty'; message: string }
  /** A CodeLens was clicked: show that line's entries. */
  | { type: 'focusLine'; file: string; line: number };

/** Webview → extension. */
export type FromWebview =
  /** The page is listening: the extension sends pending messages only after this. */
  | { type: 'ready' }
  /** Reveal a workspace-relative source line in the editor. */
  | { type: 'reveal'; file: string; line: number }
  /** Put text (a fix snippet) on the clipboard. */
  | { type: 'copy'; text: string }
  /** Run "GPU Lens: Open Trace…" (from the empty state). */
  | { type: 'openTrace' };
