/** Messages between the bottleneck panel (webview) and the extension. Discriminated unions. */
import type { Report } from '../core/report-types';

/** Extension → webview. */
export type ToWebview =
  | { type: 'report'; report: Report; tracePath: string; capture: { command: string; startedAt: string } | null }
  | { type: 'empty'; message: string }
  | { type: 'focusLine'; file: string; line: number };

/** Webview → extension. */
export type FromWebview =
  | { type: 'ready' }
  | { type: 'reveal'; file: string; line: number }
  | { type: 'copy'; text: string };
