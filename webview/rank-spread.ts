/**
 * Lines across ranks (Report.rankSpread, widest spread first): each line's time on its fastest,
 * median and slowest rank, with which rank. The line where one rank takes much longer than the
 * others is where that rank falls behind; its call site reveals the line. Shown for multi-rank
 * profiles only; the rank selector does not narrow it (each row is about every rank).
 */
import { formatNs } from '../src/core/format';
import type { Report, SourceRef } from '../src/core/report-types';
import { el, linkButton, refLabel } from './dom';

/** Rows shown: the Report keeps up to 200, the widest first. */
const MAX_ROWS = 50;

/** The section, or null when the report has no per-line spread (one rank). */
export function rankSpreadView(report: Report, reveal: (r: SourceRef) => void): HTMLElement | null {
  const rows = report.rankSpread.slice(0, MAX_ROWS);
  if (rows.length === 0) return null;
  const head = el(
    'tr',
    {},
    el('th', { scope: 'col' }, 'Line'),
    el('th', { scope: 'col' }, 'Fastest'),
    el('th', { scope: 'col' }, 'Median'),
    el('th', { scope: 'col' }, 'Slowest'),
    el('th', { scope: 'col', title: 'Slowest minus fastest' }, 'Spread'),
  );
  const body = rows.map((s) =>
    el(
      'tr',
      {},
      el(
        'td',
        {},
        linkButton(refLabel(s), `Open ${refLabel(s)}`, () =>
          reveal({ file: s.file, line: s.line }),
        ),
      ),
      el('td', { class: 'num' }, `${formatNs(s.minNs)} (rank ${s.minRank})`),
      el('td', { class: 'num' }, formatNs(s.medianNs)),
      el('td', { class: 'num' }, `${formatNs(s.maxNs)} (rank ${s.maxRank})`),
      el('td', { class: 'num' }, formatNs(s.maxNs - s.minNs)),
    ),
  );
  return el(
    'section',
    { class: 'rank-spread', 'aria-label': 'Lines across ranks' },
    el('h2', {}, 'Lines across ranks'),
    el(
      'p',
      { class: 'table-note' },
      `Each line's time on its fastest, median and slowest rank, widest spread first` +
        (report.rankSpread.length > rows.length
          ? ` (${rows.length} of ${report.rankSpread.length}).`
          : '.'),
    ),
    el('table', { class: 'spread-grid' }, el('thead', {}, head), el('tbody', {}, ...body)),
  );
}
