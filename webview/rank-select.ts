/**
 * The rank selector of a multi-rank report: all ranks, or one. The choice goes to every view that
 * shows per-rank data (timeline lanes and gaps, devices, the straggler grid) and is kept in the
 * panel state, so a reload shows the same rank.
 */
import type { Report } from '../src/core/report-types';
import { el } from './dom';
import type { StateStore } from './state';

/** A view that can narrow itself to one rank (null: every rank). */
export interface RankFiltered {
  setRank(rank: number | null): void;
}

/** Every rank the report names (its rank alignment, devices and collectives), ascending. */
export function reportRanks(report: Report): number[] {
  const ranks = new Set<number>();
  for (const a of report.summary.rankAlignment) ranks.add(a.rank);
  for (const d of report.summary.devices) ranks.add(d.rank);
  for (const c of report.collectives) for (const a of c.arrivals) ranks.add(a.rank);
  return [...ranks].sort((a, b) => a - b);
}

/** Hides the `[data-rank]` elements under `root` that belong to another rank than `rank`. */
export function showRankIn(root: ParentNode, rank: number | null): void {
  for (const e of root.querySelectorAll<HTMLElement>('[data-rank]'))
    e.hidden = rank !== null && e.dataset.rank !== String(rank);
}

/**
 * The selector, or null when the report has one rank. Applies the saved choice (when the report
 * has that rank) to `views` at once, and every later choice.
 */
export function rankSelector(
  report: Report,
  store: StateStore,
  views: RankFiltered[],
): HTMLElement | null {
  const ranks = reportRanks(report);
  if (report.summary.rankCount < 2 || ranks.length < 2) return null;
  const select = el(
    'select',
    { class: 'rank-select', 'aria-label': 'Rank' },
    el('option', { value: '' }, `All ${ranks.length} ranks`),
    ...ranks.map((r) => el('option', { value: String(r) }, `rank ${r}`)),
  );
  const apply = (rank: number | null): void => {
    select.value = rank === null ? '' : String(rank);
    for (const v of views) v.setRank(rank);
  };
  select.addEventListener('change', () => {
    const rank = select.value === '' ? null : Number(select.value);
    store.set({ rank });
    apply(rank);
  });
  const saved = store.get().rank;
  apply(saved !== undefined && saved !== null && ranks.includes(saved) ? saved : null);
  return el(
    'div',
    { class: 'rank-bar', role: 'group', 'aria-label': 'Rank filter' },
    el('label', {}, 'Show ', select),
    el(
      'span',
      { class: 'rank-note' },
      'Narrows the timeline lanes, idle gaps, devices and the collectives grid to one rank.',
    ),
  );
}
