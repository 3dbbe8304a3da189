/**
 * The bottleneck panel (browser side). Receives the Report by postMessage once it has said `ready`
 * and renders it with DOM APIs only (text nodes), so nothing from a trace is ever parsed as HTML.
 */
import type { FromWebview, ToWebview } from '../src/shared/webview-protocol';
import './elements';
import { renderEmpty, renderReport, type RenderedReport } from './render';
import { StateStore } from './state';

interface VsCodeApi {
  postMessage(m: FromWebview): void;
  setState(s: unknown): void;
  getState(): unknown;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const store = new StateStore(vscode);
const app = document.getElementById('app')!;
const post = (m: FromWebview) => vscode.postMessage(m);
let shown: { path: string; view: RenderedReport } | null = null;
/** A focus request that arrived before its report. */
let pendingFocus: { file: string; line: number } | null = null;

window.addEventListener('scroll', () => store.set({ scrollY: window.scrollY }), { passive: true });

window.addEventListener('message', (e: MessageEvent<ToWebview>) => {
  const m = e.data;
  switch (m.type) {
    case 'report': {
      // A different trace starts at the top; the same one (a refresh, a reload) keeps its place.
      if (store.get().tracePath !== m.tracePath) store.resetScroll();
      store.set({ tracePath: m.tracePath });
      shown = { path: m.tracePath, view: renderReport(app, m, store, post) };
      if (pendingFocus) shown.view.focusLine(pendingFocus);
      pendingFocus = null;
      return;
    }
    case 'empty':
      shown = null;
      renderEmpty(app, m.message, post);
      return;
    case 'timeline':
      shown?.view.timelineAnswer(m.requestId, m.answer);
      return;
    case 'focusLine':
      if (shown) shown.view.focusLine(m);
      else pendingFocus = { file: m.file, line: m.line };
      return;
    default: {
      const never: never = m;
      throw new Error(`unknown message ${JSON.stringify(never)}`);
    }
  }
});

post({ type: 'ready' });
