/**
 * The multi-rank parts of the panel, placed around the GPU timeline: the rank selector above it,
 * the straggler grid (collectives × ranks) and the lines across ranks under it. The selector narrows the timeline's
 * lanes and gaps, the summary's devices and the grid's rank columns.
 */
import type { Report, SourceRef } from '../src/core/report-types';
import { rankSelector, showRankIn } from './rank-select';
import { rankSpreadView } from './rank-spread';
import type { StateStore } from './state';
import { stragglerView } from './straggler';
import type { Timeline } from './timeline';

/** Mounts them next to `timeline` (already in the page under `app`); nothing for one rank. */
export function mountRankViews(
  app: HTMLElement,
  report: Report,
  store: StateStore,
  reveal: (r: SourceRef) => void,
  timeline: Timeline,
): void {
  const straggler = stragglerView(report, reveal);
  const summary = app.querySelector<HTMLElement>('section.summary');
  const bar = rankSelector(report, store, [
    timeline,
    ...(straggler ? [straggler] : []),
    ...(summary ? [{ setRank: (rank: number | null) => showRankIn(summary, rank) }] : []),
  ]);
  if (bar) timeline.element.before(bar);
  if (straggler) timeline.element.after(straggler.element);
  const spread = rankSpreadView(report, reveal);
  if (spread) (straggler?.element ?? timeline.element).after(spread);
}
