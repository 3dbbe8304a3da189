/**
 * A stand-alone page for the panel's webview bundle, outside VS Code: serves dist/webview.js and
 * media/panel.css over loopback HTTP under the same strict CSP the panel host uses, with a stubbed
 * `acquireVsCodeApi` that records what the page posts and any CSP violation. Lets tests exercise the
 * page (100,000-row tables, CSP) quickly, without a workbench.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import type { ToWebview } from '../../src/shared/webview-protocol';
import { repoRoot } from './session';

/** A running page server. */
export interface PanelPage {
  url: string;
  close(): Promise<void>;
}

/** Dark-theme variables enough for the page to render legibly (VS Code injects the real set). */
const THEME = `
  --vscode-foreground: #cccccc; --vscode-editor-background: #1f1f1f; --vscode-font-family: sans-serif;
  --vscode-font-size: 13px; --vscode-descriptionForeground: #9d9d9d; --vscode-panel-border: #2b2b2b;
  --vscode-charts-blue: #3794ff; --vscode-charts-red: #f14c4c; --vscode-focusBorder: #0078d4;
  --vscode-editor-font-family: monospace; --vscode-editor-font-size: 13px;`;

function html(nonce: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<link rel="stylesheet" href="/media/panel.css" nonce="${nonce}">
<style nonce="${nonce}">body { ${THEME} }</style>
<script nonce="${nonce}">
  window.__posted = []; window.__csp = []; window.__state = undefined;
  document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
  window.acquireVsCodeApi = () => ({
    postMessage: (m) => window.__posted.push(m),
    setState: (s) => { window.__state = s; },
    getState: () => window.__state,
  });
</script></head>
<body class="vscode-dark"><main id="app"></main>
<script nonce="${nonce}" src="/dist/webview.js"></script></body></html>`;
}

/** Starts the page server on a free loopback port. */
export async function startPanelPage(): Promise<PanelPage> {
  const files: Record<string, [string, string]> = {
    '/dist/webview.js': [path.join(repoRoot, 'dist', 'webview.js'), 'text/javascript'],
    '/media/panel.css': [path.join(repoRoot, 'media', 'panel.css'), 'text/css'],
  };
  const server = http.createServer((req, res) => {
    const file = files[req.url ?? ''];
    if (file) {
      res.writeHead(200, { 'content-type': file[1] });
      res.end(fs.readFileSync(file[0]));
      return;
    }
    const nonce = crypto.randomBytes(18).toString('base64');
    // The panel host's policy, with 'self' standing in for webview.cspSource.
    const csp = [
      "default-src 'none'",
      `style-src 'self' 'nonce-${nonce}'`,
      "font-src 'self'",
      "img-src 'self' data:",
      `script-src 'nonce-${nonce}'`,
    ].join('; ');
    res.writeHead(200, { 'content-type': 'text/html', 'content-security-policy': csp });
    res.end(html(nonce));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * Delivers a message to the page as the extension would (after the page has said `ready`) and
 * returns how long the page took to handle it, in ms. The message travels as one JSON string (fast
 * for a 100,000-row Report) and is dispatched synchronously, so the time is the page's own work.
 */
export async function sendToPage(page: Page, m: ToWebview): Promise<number> {
  await page.waitForFunction(() =>
    (window as unknown as { __posted: { type: string }[] }).__posted.some(
      (p) => p.type === 'ready',
    ),
  );
  return page.evaluate((json) => {
    const started = performance.now();
    window.dispatchEvent(new MessageEvent('message', { data: JSON.parse(json) as unknown }));
    return performance.now() - started;
  }, JSON.stringify(m));
}
