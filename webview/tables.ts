/** The panel's three tables (hot lines, kernels, NVTX ranges): columns over the Report's rows. */
import { formatNs, formatPct } from '../src/core/format';
import type { KernelStat, LineStat, RangeStat, Report, SourceRef } from '../src/core/report-types';
import { refLabel } from './dom';
import type { StateStore } from './state';
import { type Column, VirtualTable } from './virtual-table';

const count = (n: number) => n.toLocaleString('en-US');
const share = (ns: number, of: number) => (of > 0 ? formatPct((100 * ns) / of) : '—');

/** A text column sorted by its own text; `more` adds clipping or a tooltip. */
function textColumn<T>(
  key: string,
  label: string,
  width: string,
  get: (r: T) => string,
  more?: Pick<Column<T>, 'clipStart' | 'title'>,
): Column<T> {
  return { key, label, width, text: get, sortValue: get, ...more };
}

/** A duration column: formatted time, exact nanoseconds in the tooltip. */
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

/** A count column (thousands separated). */
function countColumn<T>(key: string, label: string, get: (r: T) => number): Column<T> {
  return { key, label, width: '70px', numeric: true, text: (r) => count(get(r)), sortValue: get };
}

/** The `share` column: a row's time as a percentage of `of`, sorted by that time. */
function shareColumn<T>(label: string, get: (r: T) => number, of: number): Column<T> {
  return {
    key: 'share',
    label,
    width: '70px',
    numeric: true,
    text: (r) => share(get(r), of),
    sortValue: get,
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
      textColumn('line', 'Line', 'minmax(280px, 3fr)', refLabel, { clipStart: true }),
      textColumn('function', 'Function', 'minmax(100px, 1fr)', (l) => l.function),
      nsColumn('self', 'Self', (l) => l.selfNs),
      nsColumn('total', 'Total', (l) => l.totalNs),
      shareColumn('% busy', (l) => l.selfNs, busy),
      countColumn('kernels', 'Kernels', (l) => l.kernelCount),
      textColumn('precision', 'Precision', '80px', (l) => l.precision),
      textColumn('top', 'Top kernel', 'minmax(160px, 2fr)', (l) => l.topKernels[0]?.name ?? '', {
        title: (l) => l.topKernels.map((k) => `${formatNs(k.ns)}  ${k.name}`).join('\n'),
      }),
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
      textColumn('name', 'Kernel', 'minmax(240px, 1fr)', (k) => k.name),
      countColumn('count', 'Count', (k) => k.count),
      nsColumn('total', 'Total', (k) => k.totalNs),
      shareColumn('% kernel', (k) => k.totalNs, kernelNs),
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
      textColumn('name', 'Range', 'minmax(200px, 1fr)', (r) => r.name),
      countColumn('count', 'Count', (r) => r.count),
      nsColumn('wall', 'Wall', (r) => r.wallNs),
      nsColumn('gpu', 'GPU', (r) => r.gpuNs),
      textColumn('location', 'Call site', 'minmax(160px, 1fr)', where, {
        title: (r) => (r.ambiguous ?? []).map(refLabel).join('\n') || where(r),
      }),
    ],
  });
}
