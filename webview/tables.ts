/** The panel's three tables (hot lines, kernels, NVTX ranges): columns over the Report's rows. */
import { formatNs, formatPct } from '../src/core/format';
import { shortKernelName } from '../src/core/kernel-names';
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
function nsColumn<T>(
  key: string,
  label: string,
  get: (r: T) => number,
  headerTitle?: string,
): Column<T> {
  return {
    key,
    label,
    width: '90px',
    numeric: true,
    text: (r) => formatNs(get(r)),
    sortValue: get,
    title: (r) => `${count(get(r))} ns`,
    headerTitle,
  };
}

/** A kernel's name as tables show it: nsys' short name, else template arguments elided. */
export function kernelLabel(k: { name: string; shortName?: string }): string {
  return k.shortName ?? shortKernelName(k.name);
}

/** True when the trace recorded no GPU work (a CPU-only capture): tables show CPU time then. */
export function isCpuOnly(report: Report): boolean {
  return report.summary.gpuBusyNs === 0;
}

export const SELF_HINT =
  'Self: GPU time of work launched while this line was the innermost workspace frame.';
export const TOTAL_HINT =
  'Total: while it was anywhere on the stack (calls into functions below it included).';
const CPU_HINT =
  'CPU operator time (torch operators, outermost per thread) whose innermost workspace frame is this line.';
const LIBRARY_HINT =
  'Library code: time of stacks that reached no workspace frame, on their innermost library ' +
  'frame (an installed package, not torch or the standard library); self = total. ' +
  'gpuLens.libraryFallback turns this off.';

/** The one-line explanation above the hot lines table (and the tab's tooltip). */
export function linesNote(report: Report): string {
  return isCpuOnly(report)
    ? `${CPU_HINT} This capture recorded no GPU work, so there is no GPU time to show.`
    : `${SELF_HINT} ${TOTAL_HINT}`;
}

/** The hot lines' "Code" cell: library lines say so and where they were recorded. */
function codeColumn(): Column<LineStat> {
  return textColumn('code', 'Code', '70px', (l) => (l.library ? 'library' : ''), {
    title: (l) =>
      l.library ? `${LIBRARY_HINT} Recorded at ${refLabel(l)}, outside the workspace.` : '',
  });
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
  const cpuOnly = isCpuOnly(report);
  const rows = cpuOnly ? report.lines.filter((l) => l.cpuOpNs > 0) : report.lines;
  const cpuNs = rows.reduce((s, l) => s + l.cpuOpNs, 0);
  const line = textColumn('line', 'Line', 'minmax(280px, 3fr)', refLabel, { clipStart: true });
  const fn = textColumn('function', 'Function', 'minmax(100px, 1fr)', (l: LineStat) => l.function);
  const precision = textColumn('precision', 'Precision', '80px', (l: LineStat) => l.precision);
  return new VirtualTable<LineStat>({
    id: 'lines',
    label: 'Hot lines',
    rows,
    store,
    defaultSort: { key: cpuOnly ? 'cpu' : 'self', dir: 'desc' },
    filterText: (l) => `${refLabel(l)} ${l.function}${l.library ? ' library' : ''}`,
    // A library file lies outside the workspace: its row says where (Code tooltip), no reveal.
    onActivate: (l) => !l.library && reveal(l),
    columns: cpuOnly
      ? [
          line,
          fn,
          nsColumn('cpu', 'CPU ops', (l) => l.cpuOpNs, CPU_HINT),
          shareColumn('% CPU ops', (l) => l.cpuOpNs, cpuNs),
          countColumn('ops', 'Operators', (l) => l.opCount),
          precision,
          codeColumn(),
        ]
      : [
          line,
          fn,
          nsColumn('self', 'Self', (l) => l.selfNs, SELF_HINT),
          nsColumn('total', 'Total', (l) => l.totalNs, TOTAL_HINT),
          shareColumn('% busy', (l) => l.selfNs, busy),
          countColumn('kernels', 'Kernels', (l) => l.kernelCount),
          precision,
          codeColumn(),
          textColumn(
            'top',
            'Top kernel',
            'minmax(160px, 2fr)',
            (l) => (l.topKernels[0] ? kernelLabel(l.topKernels[0]) : ''),
            { title: (l) => l.topKernels.map((k) => `${formatNs(k.ns)}  ${k.name}`).join('\n') },
          ),
        ],
  });
}

/** Kernels by name: count and time statistics; activating a row runs `onActivate` (drill-down). */
export function kernelsTable(
  report: Report,
  store: StateStore,
  onActivate?: (k: KernelStat) => void,
): VirtualTable<KernelStat> {
  const kernelNs = report.summary.kernelNs;
  return new VirtualTable<KernelStat>({
    id: 'kernels',
    label: 'Kernels',
    rows: report.kernels,
    store,
    defaultSort: { key: 'total', dir: 'desc' },
    filterText: (k) => k.name,
    onActivate,
    columns: [
      textColumn('name', 'Kernel', 'minmax(240px, 1fr)', kernelLabel, { title: (k) => k.name }),
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
