/** The comparison with a baseline: every line and kernel whose time changed, in one table. */
import type { Comparison } from '../src/core/compare';
import { formatDeltaNs, formatNs } from '../src/core/format';
import type { SourceRef } from '../src/core/report-types';
import { el, refLabel } from './dom';
import { shortKernelName } from '../src/core/kernel-names';
import type { StateStore } from './state';
import { VirtualTable } from './virtual-table';

interface ChangeRow {
  kind: 'line' | 'kernel';
  label: string;
  /** The full text (a kernel's whole name), shown as the cell's tooltip. */
  full: string;
  ref: SourceRef | null;
  baselineNs: number;
  currentNs: number;
  deltaNs: number;
  deltaPct: number | null;
  flagged: boolean;
  regression: boolean;
}

function rows(c: Comparison): ChangeRow[] {
  const lines = c.lines
    .filter((l) => l.deltaNs !== 0)
    .map((l) => ({
      kind: 'line' as const,
      label: `${refLabel(l)} ${l.function}`,
      full: `${refLabel(l)} ${l.function}`,
      ref: { file: l.file, line: l.line },
      ...l,
      regression: l.direction === 'regression',
    }));
  const kernels = c.kernels
    .filter((k) => k.deltaNs !== 0)
    .map((k) => ({
      kind: 'kernel' as const,
      // Kernel names clipped at their start look alike: the short name, the full one on hover.
      label: shortKernelName(k.name),
      full: k.name,
      ref: null,
      ...k,
      regression: k.direction === 'regression',
    }));
  return [...lines, ...kernels];
}

const pct = (r: ChangeRow) =>
  r.deltaPct === null ? 'new' : `${r.deltaPct >= 0 ? '+' : ''}${r.deltaPct.toFixed(1)}%`;

/** The comparison section: a headline of the run-level change, then the table of changes. */
export function renderComparison(
  c: Comparison,
  store: StateStore,
  reveal: (r: SourceRef) => void,
): { element: HTMLElement; count: number } {
  const all = rows(c);
  const s = c.summary;
  const headline = el(
    'p',
    { class: 'comparison-headline' },
    `Against ${c.baseline.path} (threshold ${c.thresholdPct}%): wall ${formatDeltaNs(s.wallNs.deltaNs)}, ` +
      `GPU busy ${formatDeltaNs(s.gpuBusyNs.deltaNs)}, kernel time ${formatDeltaNs(s.kernelNs.deltaNs)}, ` +
      `GPU active ${s.gpuActivePct.delta >= 0 ? '+' : ''}${s.gpuActivePct.delta.toFixed(1)} points.`,
  );
  const table = new VirtualTable<ChangeRow>({
    id: 'changes',
    label: 'Changes against the baseline',
    rows: all,
    store,
    defaultSort: { key: 'delta', dir: 'desc' },
    filterText: (r) => r.full,
    onActivate: (r) => r.ref && reveal(r.ref),
    columns: [
      { key: 'kind', label: 'Kind', width: '60px', text: (r) => r.kind, sortValue: (r) => r.kind },
      {
        key: 'what',
        label: 'Line / kernel',
        width: 'minmax(240px, 3fr)',
        // Paths keep their file name and line; kernel names keep their start (cut at the end).
        clipStart: (r) => r.kind === 'line',
        text: (r) => r.label,
        sortValue: (r) => r.label,
        title: (r) => r.full,
      },
      {
        key: 'base',
        label: 'Baseline',
        width: '90px',
        numeric: true,
        text: (r) => formatNs(r.baselineNs),
        sortValue: (r) => r.baselineNs,
      },
      {
        key: 'now',
        label: 'Current',
        width: '90px',
        numeric: true,
        text: (r) => formatNs(r.currentNs),
        sortValue: (r) => r.currentNs,
      },
      {
        key: 'delta',
        label: 'Change',
        width: '100px',
        numeric: true,
        text: (r) => formatDeltaNs(r.deltaNs),
        sortValue: (r) => Math.abs(r.deltaNs),
      },
      {
        key: 'pct',
        label: '%',
        width: '70px',
        numeric: true,
        text: pct,
        sortValue: (r) => r.deltaPct ?? Infinity,
      },
      {
        key: 'flag',
        label: 'Flag',
        width: '90px',
        text: (r) => (r.flagged ? (r.regression ? 'regression' : 'improvement') : ''),
        sortValue: (r) => (r.flagged ? (r.regression ? 2 : 1) : 0),
      },
    ],
  });
  return {
    element: el('div', { class: 'comparison' }, headline, table.element),
    count: all.length,
  };
}
