/**
 * The straggler view: the matched collectives the ranks waited longest at (Report.collectives) ×
 * ranks. Each cell is how long after the first rank that rank reached the collective, shaded by
 * it (theme colours, five steps up to the grid's worst), the last rank's cell marked; the others
 * waited for it. A row's call site reveals the line. Rank cells carry data-rank, so the rank
 * selector narrows the grid to one rank's column.
 */
import { formatNs } from '../src/core/format';
import type { CollectiveArrivals, RankArrival, Report, SourceRef } from '../src/core/report-types';
import { el, linkButton, refLabel } from './dom';
import { type RankFiltered, reportRanks, showRankIn } from './rank-select';

/** Shading steps above 0 (media/panel.css: .heat-0 … .heat-4). */
const HEAT_STEPS = 4;

export class StragglerView implements RankFiltered {
  readonly element: HTMLElement;

  constructor(
    report: Report,
    private readonly reveal: (r: SourceRef) => void,
  ) {
    const rows = report.collectives;
    const ranks = reportRanks(report).filter((r) => rows.some((c) => arrivalOf(c, r)));
    // A loop, not Math.max(...): 50 rows × thousands of ranks is past the arguments a call takes.
    let worst = 1;
    for (const c of rows) for (const a of c.arrivals) worst = Math.max(worst, a.lateNs);
    const head = el(
      'tr',
      {},
      el('th', { scope: 'col' }, 'Collective'),
      el('th', { scope: 'col' }, 'Call site'),
      el(
        'th',
        { scope: 'col', title: 'Time the other ranks spent waiting for the last one' },
        'Waited',
      ),
      el('th', { scope: 'col' }, 'Last'),
      ...ranks.map((r) => el('th', { scope: 'col', 'data-rank': String(r) }, `rank ${r}`)),
    );
    const body = rows.map((c) =>
      el(
        'tr',
        {},
        el(
          'th',
          { scope: 'row', title: `${c.name}${c.group ? ` (process group ${c.group})` : ''}` },
          `${c.kind} #${c.index + 1}`,
        ),
        el('td', {}, this.site(c.location)),
        el('td', { class: 'num' }, formatNs(c.waitNs)),
        el('td', {}, `rank ${c.lastRank}`),
        ...ranks.map((r) => this.cell(c, r, worst)),
      ),
    );
    const n = rows.length;
    this.element = el(
      'section',
      { class: 'straggler', 'aria-label': 'Collectives by rank' },
      el('h2', {}, 'Collectives × ranks: arrival lateness'),
      el(
        'p',
        { class: 'table-note' },
        `The ${n} matched collective${n === 1 ? '' : 's'} the ranks waited longest at, most first. ` +
          'A cell is how long after the first rank that rank arrived (on the aligned clock); ' +
          'the last one (◆) kept the others waiting.',
      ),
      el(
        'div',
        { class: 'straggler-scroll', tabindex: '0', role: 'region', 'aria-label': 'Arrival grid' },
        el('table', { class: 'straggler-grid' }, el('thead', {}, head), el('tbody', {}, ...body)),
      ),
    );
  }

  setRank(rank: number | null): void {
    showRankIn(this.element, rank);
  }

  private site(ref: SourceRef | null): Node {
    if (!ref) return document.createTextNode('—');
    const label = refLabel(ref);
    return linkButton(label, `Open ${label}`, () => this.reveal(ref));
  }

  private cell(c: CollectiveArrivals, rank: number, worst: number): HTMLElement {
    const a = arrivalOf(c, rank);
    if (!a) return el('td', { 'data-rank': String(rank) }, '');
    const last = rank === c.lastRank;
    const step = a.lateNs <= 0 ? 0 : Math.max(1, Math.ceil((HEAT_STEPS * a.lateNs) / worst));
    return el(
      'td',
      {
        class: `num heat-${step}${last ? ' last' : ''}`,
        'data-rank': String(rank),
        title: last
          ? `rank ${rank} arrived last, ${formatNs(a.lateNs)} after the first`
          : `rank ${rank} arrived ${formatNs(a.lateNs)} after the first`,
      },
      last ? `◆ ${formatNs(a.lateNs)}` : formatNs(a.lateNs),
    );
  }
}

function arrivalOf(c: CollectiveArrivals, rank: number): RankArrival | undefined {
  return c.arrivals.find((a) => a.rank === rank);
}

/** The view, or null when the report matched no collectives across ranks. */
export function stragglerView(
  report: Report,
  reveal: (r: SourceRef) => void,
): StragglerView | null {
  return report.collectives.length > 0 ? new StragglerView(report, reveal) : null;
}
