/** The status bar item: the active trace and its GPU active %, a click opens the report. */
import * as path from 'node:path';
import { formatNs, formatPct } from '../core/format';
import * as vscode from 'vscode';
import type { OpenTraceResult } from '../shared/protocol';

export class TraceStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem(
    'gpuLens.trace',
    vscode.StatusBarAlignment.Left,
    10,
  );

  constructor() {
    this.item.name = 'GPU Lens';
    this.item.command = 'gpuLens.showReport';
  }

  show(tracePath: string, result: Pick<OpenTraceResult, 'summary'>): void {
    const s = result.summary;
    const figure =
      s.kernelCount > 0 ? `GPU active ${formatPct(s.gpuActivePct)}` : 'no GPU activity';
    this.item.text = `$(pulse) ${path.basename(tracePath)} · ${figure}`;
    this.item.tooltip =
      `GPU Lens: ${tracePath}\n` +
      (s.kernelCount > 0
        ? `GPU active ${formatPct(s.gpuActivePct)} of the GPU span (${formatNs(s.wallNs)}), ` +
          `${formatPct(s.traceActivePct)} of the trace window (${formatNs(s.traceWallNs)})\n`
        : '') +
      'Click for the bottleneck report';
    this.item.show();
  }

  hide(): void {
    this.item.hide();
  }

  dispose(): void {
    this.item.dispose();
  }
}
