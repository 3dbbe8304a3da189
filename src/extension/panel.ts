/**
 * Hosts the bottleneck panel webview: strict CSP with a nonce, resources only from dist/ and media/,
 * data sent by postMessage after the page says `ready` (never interpolated into the HTML).
 * The panel keeps its page while hidden (retainContextWhenHidden) and comes back after a window
 * reload through the serializer, reloading the trace it showed when the server no longer has it.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  ReportRequest,
  StatusRequest,
  TimelineRequest,
  type ReportResult,
  type StatusResult,
  type TimelineParams,
  type TimelineResult,
} from '../shared/protocol';
import type { FromWebview, ToWebview } from '../shared/webview-protocol';
import type { ServerHandle } from './client';
import { namedFiles, revealTarget } from './reveal-target';

const VIEW_TYPE = 'gpuLens.report';
const TITLE = 'GPU Lens';
const NO_TRACE =
  'No trace loaded. Profile a Python file (right-click → GPU Lens: Profile) or open a trace.';

/** The part of the page's saved state (webview/state.ts) the host reads on restore. */
interface SavedPageState {
  tracePath?: unknown;
}

export class ReportPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private ready = false;
  private pending: ToWebview[] = [];
  private lastReport: ReportResult | null = null;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly server: ServerHandle,
  ) {
    this.disposables.push(
      vscode.window.registerWebviewPanelSerializer(VIEW_TYPE, {
        deserializeWebviewPanel: async (panel, state: SavedPageState | undefined) => {
          this.attach(panel);
          await this.restore(typeof state?.tracePath === 'string' ? state.tracePath : undefined);
        },
      }),
    );
  }

  /** Opens (or reveals) the panel; `at` focuses a source line's entries. */
  async show(at?: { file: string; line: number }): Promise<void> {
    if (this.panel) this.panel.reveal(undefined, false);
    else {
      this.attach(
        vscode.window.createWebviewPanel(VIEW_TYPE, TITLE, vscode.ViewColumn.Beside, {
          enableScripts: true,
          retainContextWhenHidden: true,
          localResourceRoots: this.roots(),
        }),
      );
    }
    await this.refresh();
    if (at) this.post({ type: 'focusLine', file: at.file, line: at.line });
  }

  /** Sends the latest report (or the empty state) to the panel when it is open. */
  async refresh(): Promise<void> {
    if (!this.panel) return;
    const client = this.server.isRunning() ? await this.server.client() : null;
    this.lastReport = client
      ? await client.sendRequest<ReportResult | null>(ReportRequest, {})
      : null;
    const r = this.lastReport;
    this.panel.title = r ? `${TITLE}: ${path.basename(r.path)}` : TITLE;
    this.post(
      r
        ? {
            type: 'report',
            report: r.report,
            tracePath: r.path,
            capture: r.capture,
            comparison: r.comparison,
          }
        : { type: 'empty', message: NO_TRACE },
    );
  }

  /** After a window reload the server starts empty: reload the trace the page last showed. */
  private async restore(tracePath: string | undefined): Promise<void> {
    if (!tracePath || !fs.existsSync(tracePath) || (await this.isLoaded(tracePath))) {
      await this.refresh();
      return;
    }
    this.post({ type: 'empty', message: `Reloading ${path.basename(tracePath)}…` });
    // gpuLens.openTrace refreshes this panel once the trace is loaded.
    const loaded = await vscode.commands.executeCommand(
      'gpuLens.openTrace',
      vscode.Uri.file(tracePath),
    );
    if (!loaded) await this.refresh();
  }

  /** Whether the server already holds `tracePath` (it may have started before the panel came back). */
  private async isLoaded(tracePath: string): Promise<boolean> {
    if (!this.server.isRunning()) return false;
    const status = await (await this.server.client()).sendRequest<StatusResult>(StatusRequest);
    return status.loaded.some((t) => t.path === tracePath);
  }

  private roots(): vscode.Uri[] {
    return [
      vscode.Uri.joinPath(this.context.extensionUri, 'dist'),
      vscode.Uri.joinPath(this.context.extensionUri, 'media'),
    ];
  }

  private attach(panel: vscode.WebviewPanel): void {
    this.panel = panel;
    this.ready = false;
    panel.webview.options = { enableScripts: true, localResourceRoots: this.roots() };
    panel.webview.html = this.html(panel.webview);
    panel.onDidDispose(
      () => {
        this.panel = undefined;
        this.ready = false;
        this.pending = [];
      },
      null,
      this.disposables,
    );
    panel.webview.onDidReceiveMessage(
      (m: FromWebview) => this.onMessage(m),
      null,
      this.disposables,
    );
  }

  private onMessage(m: FromWebview): void {
    switch (m.type) {
      case 'ready':
        this.ready = true;
        for (const p of this.pending.splice(0)) void this.panel?.webview.postMessage(p);
        return;
      case 'reveal':
        void this.reveal(m.file, m.line);
        return;
      case 'copy':
        void vscode.env.clipboard.writeText(m.text);
        void vscode.window.setStatusBarMessage('GPU Lens: fix snippet copied', 3000);
        return;
      case 'openTrace':
        void vscode.commands.executeCommand('gpuLens.openTrace');
        return;
      case 'timeline':
        void this.timeline(m.requestId, m.query);
        return;
      default: {
        const never: never = m;
        throw new Error(`unknown webview message ${JSON.stringify(never)}`);
      }
    }
  }

  /**
   * Opens a file of the shown Report at a line. The message comes from the webview: a file the
   * Report does not name, or one outside the workspace folder, is refused (see reveal-target.ts).
   */
  private async reveal(file: unknown, line: unknown): Promise<void> {
    const r = this.lastReport;
    const folder = r ? vscode.workspace.getWorkspaceFolder(vscode.Uri.file(r.path)) : undefined;
    const base = folder ?? vscode.workspace.workspaceFolders?.[0];
    if (!r || !base || base.uri.scheme !== 'file') return;
    const target = revealTarget(namedFiles(r.report, r.comparison), base.uri.fsPath, file, line);
    if (!target) return;
    const uri = vscode.Uri.file(target);
    const pos = new vscode.Position(Math.max(0, (line as number) - 1), 0);
    try {
      await vscode.window.showTextDocument(uri, {
        selection: new vscode.Range(pos, pos),
        viewColumn: vscode.ViewColumn.One,
      });
    } catch {
      void vscode.window.showWarningMessage(`GPU Lens: cannot open ${target}.`);
    }
  }

  /** Forwards a kernel-timeline query for the shown trace to the server; posts its answer back. */
  private async timeline(requestId: unknown, query: unknown): Promise<void> {
    const r = this.lastReport;
    if (typeof requestId !== 'number' || !r || !this.server.isRunning()) return;
    let answer: TimelineResult = null;
    try {
      const params = { trace: r.id, query } as TimelineParams;
      answer = await (
        await this.server.client()
      ).sendRequest<TimelineResult>(TimelineRequest, params);
    } catch {
      // A dropped trace or a stopped server: the timeline says it has nothing to show.
    }
    this.post({ type: 'timeline', requestId, answer });
  }

  private post(m: ToWebview): void {
    if (this.ready) void this.panel?.webview.postMessage(m);
    // Before `ready`, keep only the latest message of each type, in order.
    else this.pending = [...this.pending.filter((p) => p.type !== m.type), m];
  }

  private html(webview: vscode.Webview): string {
    const nonce = crypto.randomBytes(18).toString('base64');
    const uri = (...p: string[]) =>
      webview.asWebviewUri(vscode.Uri.joinPath(this.context.extensionUri, ...p)).toString();
    // The components style themselves with constructable stylesheets (adoptedStyleSheets), which
    // style-src does not govern; no 'unsafe-inline' and no 'unsafe-eval' are needed.
    const csp = [
      "default-src 'none'",
      `style-src ${webview.cspSource} 'nonce-${nonce}'`,
      `font-src ${webview.cspSource}`,
      `img-src ${webview.cspSource} data:`,
      `script-src 'nonce-${nonce}'`,
    ].join('; ');
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${uri('media', 'panel.css')}" nonce="${nonce}">
<title>GPU Lens</title>
</head>
<body>
<main id="app" aria-live="polite"></main>
<script nonce="${nonce}" src="${uri('dist', 'webview.js')}"></script>
</body>
</html>`;
  }

  dispose(): void {
    this.panel?.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
