/**
 * The bottleneck panel (browser side). Receives the Report by postMessage and renders it with DOM
 * APIs only (textContent), so nothing from a trace is ever parsed as HTML.
 */
import type { FromWebview, ToWebview } from '../src/shared/webview-protocol';
import { renderEmpty, renderReport } from './render';

interface VsCodeApi {
  postMessage(m: FromWebview): void;
  setState(s: unknown): void;
  getState(): unknown;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const app = document.getElementById('app')!;

window.addEventListener('message', (e: MessageEvent<ToWebview>) => {
  const m = e.data;
  switch (m.type) {
    case 'report':
      renderReport(app, m, (msg) => vscode.postMessage(msg));
      return;
    case 'empty':
      renderEmpty(app, m.message);
      return;
    case 'focusLine': {
      const row = app.querySelector<HTMLElement>(`[data-line-key="${CSS.escape(`${m.file}:${m.line}`)}"]`);
      row?.scrollIntoView({ block: 'center' });
      row?.focus();
      return;
    }
    default: {
      const never: never = m;
      throw new Error(`unknown message ${JSON.stringify(never)}`);
    }
  }
});

vscode.postMessage({ type: 'ready' });
