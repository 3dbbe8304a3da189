/** Step-time distribution (when the trace has steps): a small histogram and p50/p95/p99. */
import { formatNs } from '../src/core/format';
import type { StepStats } from '../src/core/report-types';
import { el, stat } from './dom';

const BINS = 24;

/** Equal-width bins between the shortest and the longest step. */
export function histogram(
  durations: number[],
  bins = BINS,
): { lo: number; width: number; counts: number[] } {
  const lo = Math.min(...durations);
  const hi = Math.max(...durations);
  const width = Math.max(1, (hi - lo) / bins);
  const counts = new Array<number>(bins).fill(0);
  for (const d of durations) counts[Math.min(bins - 1, Math.floor((d - lo) / width))]++;
  return { lo, width, counts };
}

/** Renders the distribution section. */
export function renderSteps(steps: StepStats): HTMLElement {
  const figures = el(
    'div',
    { class: 'stats' },
    stat('Steps', steps.count.toLocaleString('en-US')),
    stat('p50', formatNs(steps.p50Ns)),
    stat('p95', formatNs(steps.p95Ns)),
    stat('p99', formatNs(steps.p99Ns)),
    stat('Mean', formatNs(steps.meanNs)),
  );
  const section = el(
    'section',
    { class: 'steps', 'aria-label': 'Step time distribution' },
    el('h2', {}, 'Step time'),
    figures,
  );
  if (steps.durationsNs.length === 0) return section;
  const { lo, width, counts } = histogram(steps.durationsNs);
  const max = Math.max(...counts);
  const bars = el('div', {
    class: 'histogram',
    role: 'list',
    'aria-label': 'Step durations histogram',
  });
  counts.forEach((c, i) => {
    const range = `${formatNs(lo + i * width)} – ${formatNs(lo + (i + 1) * width)}`;
    const bar = el('div', {
      class: 'bar',
      role: 'listitem',
      title: `${range}: ${c} step(s)`,
      'aria-label': `${range}: ${c} steps`,
    });
    bar.style.height = `${c === 0 ? 0 : Math.max(4, (100 * c) / max)}%`;
    bars.append(bar);
  });
  const axis = el(
    'div',
    { class: 'histogram-axis' },
    el('span', {}, formatNs(lo)),
    el('span', {}, formatNs(lo + width * counts.length)),
  );
  section.append(bars, axis);
  return section;
}
