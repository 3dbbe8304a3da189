/**
 * Assembles the panel from its sections: summary, timeline, step times, then tabs for findings,
 * hot lines, kernels, NVTX ranges and (with a baseline) the changes against it. Every piece builds DOM nodes with text nodes only.
 */
import type { KernelStat, LineStat, RangeStat, SourceRef } from '../src/core/report-types';
import type { TimelineAnswer } from '../src/core/timeline-columns-types';
import type { FromWebview, ToWebview } from '../src/shared/webview-protocol';
import { el, refLabel } from './dom';
import { renderComparison } from './comparison';
import { DrilldownPane } from './drilldown';
import { renderFindings } from './findings';
import { mountRankViews } from './rank-views';
import { KernelTimeline } from './kernel-timeline/view';
import type { StateStore } from './state';
import { renderSteps } from './steps';
import { renderSummary } from './summary';
import { kernelsTable, linesNote, linesTable, rangesTable } from './tables';
import { Timeline } from './timeline';
import type { VirtualTable } from './virtual-table';

type Post = (m: FromWebview) => void;

/** Tab order; also the index saved in the state. */
const TABS = ['Findings', 'Hot lines', 'Kernels', 'Ranges'] as const;
const LINES_TAB = TABS.indexOf('Hot lines');

/** What main.ts keeps of a rendered report: enough to focus a line later. */
export interface RenderedReport {
  focusLine(ref: SourceRef): void;
  /** A kernel-timeline answer from the extension. */
  timelineAnswer(requestId: number, answer: TimelineAnswer | null): void;
}

/** Shows the "no trace" state with a way to open one. */
export function renderEmpty(app: HTMLElement, message: string, post: Post): void {
  const open = document.createElement('vscode-button');
  open.textContent = 'Open Trace…';
  open.addEventListener('click', () => post({ type: 'openTrace' }));
  app.replaceChildren(el('h1', {}, 'GPU Lens'), el('p', { class: 'empty' }, message), open);
}

function tabs(
  store: StateStore,
  parts: [string, number, HTMLElement, string?][],
): HTMLElement & { selectedIndex: number } {
  const t = document.createElement('vscode-tabs');
  for (const [label, count, body, hint] of parts) {
    const header = document.createElement('vscode-tab-header');
    header.setAttribute('slot', 'header');
    header.dataset.tab = label;
    if (hint) header.title = hint;
    const badge = document.createElement('vscode-badge');
    badge.setAttribute('variant', 'counter');
    badge.textContent = count.toLocaleString('en-US');
    header.append(`${label} `, badge);
    const panel = document.createElement('vscode-tab-panel');
    panel.dataset.tab = label;
    panel.append(body);
    t.append(header, panel);
  }
  t.selectedIndex = Math.min(store.get().tab, parts.length - 1);
  t.addEventListener('vsc-tabs-select', (e) => store.set({ tab: e.detail.selectedIndex }));
  return t;
}

/** Renders a report into `app` and returns its focus handle. */
export function renderReport(
  app: HTMLElement,
  m: Extract<ToWebview, { type: 'report' }>,
  store: StateStore,
  post: Post,
): RenderedReport {
  const { report } = m;
  const reveal = (r: SourceRef) => post({ type: 'reveal', file: r.file, line: r.line });
  const drill = new DrilldownPane(report, reveal);
  // A hot line opens in the editor and shows its kernels and call tree here.
  const lines: VirtualTable<LineStat> = linesTable(report, store, (r) => {
    reveal(r);
    drill.showLine(r);
  });
  const kernels: VirtualTable<KernelStat> = kernelsTable(report, store, (k) =>
    drill.showKernel(k.name),
  );
  const ranges: VirtualTable<RangeStat> = rangesTable(report, store, reveal);
  const timeline = new Timeline(report, store, reveal);
  const kernelTimeline = new KernelTimeline(
    report,
    (requestId, query) => post({ type: 'timeline', requestId, query }),
    reveal,
    (name) => drill.showKernel(name),
  );
  const focusNote = el('p', { class: 'focus-note', role: 'status' });
  const note = linesNote(report);
  const parts: [string, number, HTMLElement, string?][] = [
    [TABS[0], report.findings.length, renderFindings(report.findings, post, reveal)],
    [
      TABS[1],
      lines.rowCount,
      el('div', {}, el('p', { class: 'table-note' }, note), lines.element),
      note,
    ],
    [TABS[2], report.kernels.length, kernels.element],
    [TABS[3], report.ranges.length, ranges.element],
  ];
  if (m.comparison) {
    const c = renderComparison(m.comparison, store, reveal);
    parts.push(['vs baseline', c.count, c.element]);
  }
  const t = tabs(store, parts);
  app.replaceChildren(renderSummary(m), timeline.element, kernelTimeline.element);
  mountRankViews(app, report, store, reveal, timeline);
  if (report.steps) app.append(renderSteps(report.steps));
  app.append(focusNote, t, drill.element);
  timeline.draw();
  kernelTimeline.start();
  requestAnimationFrame(() => window.scrollTo(0, store.get().scrollY));
  return {
    timelineAnswer: (id, answer) => kernelTimeline.onAnswer(id, answer),
    focusLine(ref) {
      const key = refLabel(ref);
      let related = 0;
      for (const a of app.querySelectorAll<HTMLElement>('article.finding')) {
        const hit = (a.dataset.locations ?? '').split('\n').includes(key);
        a.classList.toggle('highlight', hit);
        if (hit) related++;
      }
      t.selectedIndex = LINES_TAB;
      store.set({ tab: LINES_TAB });
      const found = lines.focusWhere((l) => l.file === ref.file && l.line === ref.line);
      if (found) drill.showLine(ref, false);
      focusNote.textContent =
        `${key}: ${found ? 'highlighted in Hot lines' : 'no GPU time recorded on this line'}` +
        (related > 0 ? `; ${related} finding(s) involve it (Findings tab).` : '.');
    },
  };
}
