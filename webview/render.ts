/** Renders the Report into the panel. */
import { formatNs } from '../src/core/format';
import type { FromWebview, ToWebview } from '../src/shared/webview-protocol';
import { el } from './dom';

type Post = (m: FromWebview) => void;

export function renderEmpty(app: HTMLElement, message: string): void {
  app.replaceChildren(el('h1', {}, 'GPU Lens'), el('p', { class: 'empty' }, message));
}

export function renderReport(app: HTMLElement, m: Extract<ToWebview, { type: 'report' }>, post: Post): void {
  const { report } = m;
  const s = report.summary;
  const summary = el(
    'section',
    { class: 'summary' },
    el('h1', {}, 'GPU Lens'),
    el('p', {}, `${m.tracePath}`),
    el('p', {}, `GPU active ${s.gpuActivePct}% · wall ${formatNs(s.wallNs)} · busy ${formatNs(s.gpuBusyNs)} · ${s.kernelCount} kernels · ${s.classification}`),
  );
  const lines = el('section', { class: 'lines' }, el('h2', {}, 'Hot lines'));
  const table = el('table', {}, el('tr', {}, el('th', {}, 'Line'), el('th', {}, 'Self'), el('th', {}, 'Total')));
  for (const l of report.lines.slice(0, 200)) {
    const row = el(
      'tr',
      { tabindex: '0', 'data-line-key': `${l.file}:${l.line}` },
      el('td', {}, `${l.file}:${l.line} ${l.function}`),
      el('td', {}, formatNs(l.selfNs)),
      el('td', {}, formatNs(l.totalNs)),
    );
    row.addEventListener('click', () => post({ type: 'reveal', file: l.file, line: l.line }));
    table.append(row);
  }
  lines.append(table);
  app.replaceChildren(summary, lines);
}
