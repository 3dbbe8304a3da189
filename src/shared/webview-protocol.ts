/**
 * Messages between the bottleneck panel (webview) and the extension. Discriminated unions, handled
 * on both sides by an exhaustive `switch`: adding a member breaks the build until both handle it.
 */
import type { Comparison } from '../core/compare';
import type { Report } from '../core/report-types';
import type { TimelineAnswer, TimelineQuery } from '../core/timeline-columns-types';

/** Capture metadata when GPU Lens itself made the trace. */
export interface CaptureInfo {
  command: string;
  /** ISO 8601 date-time. */
  startedAt: string;
}

/** Extension → webview. */
export type ToWebview =
  /** The active trace's Report (and its comparison with the baseline, when one is set). */
  | {
      type: 'report';
      report: Report;
      tracePath: string;
      capture: CaptureInfo | null;
      comparison: Comparison | null;
    }
  /** No trace loaded (or the server is not running). */
  | { type: 'empty'; message: string }
  /** A CodeLens was clicked: show that line's entries. */
  | { type: 'focusLine'; file: string; line: number }
  /** The server's answer to a `timeline` request (null: no timeline for the shown trace). */
  | { type: 'timeline'; requestId: number; answer: TimelineAnswer | null };

/** Webview → extension. */
export type FromWebview =
  /** The page is listening: the extension sends pending messages only after this. */
  | { type: 'ready' }
  /** Reveal a workspace-relative source line in the editor. */
  | { type: 'reveal'; file: string; line: number }
  /** Put text (a fix snippet) on the clipboard. */
  | { type: 'copy'; text: string }
  /** Run "GPU Lens: Open Trace…" (from the empty state). */
  | { type: 'openTrace' }
  /** A window or an op of the shown trace's kernel timeline (answered by a `timeline` message). */
  | { type: 'timeline'; requestId: number; query: TimelineQuery };
