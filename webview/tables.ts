/** The panel's three tables (hot lines, kernels, NVTX ranges): columns over the Report's rows. */
import { formatNs, formatPct } from '../src/core/format';
import type { KernelStat, LineStat, RangeStat, Report, SourceRef } from '../src/core/report-types';
import { refLabel } from './dom';
import type { StateStore } from './state';
import { type Column, VirtualTable } from './virtual-table';

const count = (n: number) => n.toLocaleString('en-US');
const share = (ns: number, of: number) => (of > 0 ? formatPct((100 * ns) / of) : '—');

function nsColumn<T>(key: string, label: string, get: (r: T) => number): Column<T> {
  return {
    key,
    label,
    width: '90px',
    numeric: true,
    text: (r) => formatNs(get(r)),
    sortValue: get,
    title: (r) => `${count(get(r))} ns`,
  };
}

/** Hot lines: self and total GPU time per source line; activating a row reveals the line. */
export function linesTable(
  report: Report,
  store: StateStore,
  reveal: (r: SourceRef) => void,
): VirtualTable<LineStat> {
  const busy = report.summary.gpuBusyNs;
  return new VirtualTable<LineStat>({
    id: 'lines',
    label: 'Hot lines',
    rows: report.lines,
    store,
    defaultSort: { key: 'self', dir: 'desc' },
    filterText: (l) => `${refLabel(l)} ${l.function}`,
    onActivate: reveal,
    columns: [
      {
        key: 'line',
        label: 'Line',
        width: 'minmax(280px, 3fr)',
        clipStart: true,
        text: refLabel,
        sortValue: refLabel,
      },
      {
        key: 'function',
        label: 'Function',
        width: 'minmax(100px, 1fr)',
        text: (l) => l.function,
        sortValue: (l) => l.function,
      },
      nsColumn('self', 'Self', (l) => l.selfNs),
      nsColumn('total', 'Total', (l) => l.totalNs),
      {
        key: 'share',
        label: '% busy',
        width: '70px',
        numeric: true,
        text: (l) => share(l.selfNs, busy),
        sortValue: (l) => l.selfNs,
      },
      {
        key: 'kernels',
        label: 'Kernels',
        width: '70px',
        numeric: true,
        text: (l) => count(l.kernelCount),
        sortValue: (l) => l.kernelCount,
      },
      {
        key: 'precision',
        label: 'Precision',
        width: '80px',
        text: (l) => l.precision,
        sortValue: (l) => l.precision,
      },
      {
        key: 'top',
        label: 'Top kernel',
        width: 'minmax(160px, 2fr)',
        text: (l) => l.topKernels[0]?.name ?? '',
        sortValue: (l) => l.topKernels[0]?.name ?? '',
        title: (l) => l.topKernels.map((k) => `${formatNs(k.ns)}  ${k.name}`).join('\n'),
      },
    ],
  });
}

/** Kernels by name: count and time statistics. */
export function kernelsTable(report: Report, store: StateStore): VirtualTable<KernelStat> {
  const kernelNs = report.summary.kernelNs;
  return new VirtualTable<KernelStat>({
    id: 'kernels',
    label: 'Kernels',
    rows: report.kernels,
    store,
    defaultSort: { key: 'total', dir: 'desc' },
    filterText: (k) => k.name,
    columns: [
      {
        key: 'name',
        label: 'Kernel',
        width: 'minmax(240px, 1fr)',
        text: (k) => k.name,
        sortValue: (k) => k.name,
      },
      {
        key: 'count',
        label: 'Count',
        width: '70px',
        numeric: true,
        text: (k) => count(k.count),
        sortValue: (k) => k.count,
      },
      nsColumn('total', 'Total', (k) => k.totalNs),
      {
        key: 'share',
        label: '% kernel',
        width: '70px',
        numeric: true,
        text: (k) => share(k.totalNs, kernelNs),
        sortValue: (k) => k.totalNs,
      },
      nsColumn('avg', 'Avg', (k) => k.avgNs),
      nsColumn('min', 'Min', (k) => k.minNs),
      nsColumn('max', 'Max', (k) => k.maxNs),
    ],
  });
}

/** NVTX / annotation ranges; activating a row with a known call site reveals it. */
export function rangesTable(
  report: Report,
  store: StateStore,
  reveal: (r: SourceRef) => void,
): VirtualTable<RangeStat> {
  const where = (r: RangeStat) =>
    r.location
      ? refLabel(r.location)
      : r.ambiguous?.length
        ? `${r.ambiguous.length} call sites`
        : '';
  return new VirtualTable<RangeStat>({
    id: 'ranges',
    label: 'Ranges',
    rows: report.ranges,
    store,
    defaultSort: { key: 'gpu', dir: 'desc' },
    filterText: (r) => `${r.name} ${where(r)}`,
    onActivate: (r) => r.location && reveal(r.location),
    columns: [
      {
        key: 'name',
        label: 'Range',
        width: 'minmax(200px, 1fr)',
        text: (r) => r.name,
        sortValue: (r) => r.name,
      },
      {
        key: 'count',
        label: 'Count',
        width: '70px',
        numeric: true,
        text: (r) => count(r.count),
        sortValue: (r) => r.count,
      },
      nsColumn('wall', 'Wall', (r) => r.wallNs),
      nsColumn('gpu', 'GPU', (r) => r.gpuNs),
      {
        key: 'location',
        label: 'Call site',
        width: 'minmax(160px, 1fr)',
        text: where,
        sortValue: where,
        title: (r) => (r.ambiguous ?? []).map(refLabel).join('\n') || where(r),
      },
    ],
  });
}
