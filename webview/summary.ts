/** The summary section: headline figures, devices, the capture's command and date, warnings. */
import { deviceLabel, formatNs, formatPct } from '../src/core/format';
import type { Classification, Report } from '../src/core/report-types';
import type { ToWebview } from '../src/shared/webview-protocol';
import { el, refLabel, stat } from './dom';

type ReportMessage = Extract<ToWebview, { type: 'report' }>;

/** One sentence per classification, shown as the classification's tooltip. */
const CLASSIFICATION_HINT: Record<Classification, string> = {
  'overhead-bound': 'The GPU waits on the CPU: launches, syncs and Python overhead dominate.',
  'communication-bound': 'Collective communication (NCCL) takes most of the GPU time.',
  'compute-bound': 'The GPU is busy with compute-heavy kernels.',
  'memory-bound': 'The GPU is busy with memory-bound kernels and copies.',
  idle: 'The GPU is idle most of the time.',
  unknown: 'Not enough evidence to classify this trace.',
};

function baseName(p: string): string {
  return p.split(/[\\/]/).pop() ?? p;
}

function captureLine(m: ReportMessage): HTMLElement | null {
  if (!m.capture) return null;
  const when = new Date(m.capture.startedAt);
  const date = Number.isNaN(when.getTime()) ? m.capture.startedAt : when.toLocaleString();
  return el('p', { class: 'capture' }, `Captured ${date}: `, el('code', {}, m.capture.command));
}

/** Renders the summary header and figures. */
export function renderSummary(m: ReportMessage): HTMLElement {
  const { report } = m;
  const s = report.summary;
  const figures = el(
    'div',
    { class: 'stats' },
    stat(
      'GPU active (GPU span)',
      formatPct(s.gpuActivePct),
      'GPU busy time (kernels, copies, memsets) / GPU span (first to last GPU operation), per device',
    ),
    stat(
      'GPU active (trace window)',
      formatPct(s.traceActivePct),
      'GPU busy time / the whole trace window (first to last event, CPU included), per device',
    ),
    stat('Classification', s.classification, CLASSIFICATION_HINT[s.classification]),
    stat(
      'Workload',
      report.workload.label,
      `Detected from the trace: ${report.workload.signals.join('; ')}. Fixes are fitted to it.`,
    ),
    stat('GPU span', formatNs(s.wallNs), 'First GPU operation start to last GPU operation end'),
    stat('Trace window', formatNs(s.traceWallNs), 'First to last event of the trace, CPU included'),
    stat('GPU busy', formatNs(s.gpuBusyNs)),
    stat('GPU idle', formatNs(s.gpuIdleNs)),
    stat('Kernels', `${s.kernelCount.toLocaleString('en-US')} · ${formatNs(s.kernelNs)}`),
    s.memcpyNs > 0 || s.memsetNs > 0
      ? stat('Memcpy / memset', `${formatNs(s.memcpyNs)} / ${formatNs(s.memsetNs)}`)
      : null,
    s.commNs > 0 ? stat('Communication', formatNs(s.commNs)) : null,
    libraryStat(report),
    stat(
      'Unattributed',
      formatNs(report.unattributedNs),
      'GPU time whose launch stack reached no workspace source line (nor a library line, with gpuLens.libraryFallback on)',
    ),
  );
  return el(
    'section',
    { class: 'summary', 'aria-label': 'Summary' },
    el('h1', {}, `GPU Lens: ${baseName(m.tracePath)}`),
    el('p', { class: 'path', title: m.tracePath }, `${m.tracePath} · ${sourceLine(report)}`),
    captureLine(m),
    cpuOnlyNote(report),
    figures,
    idleBreakdown(report),
    devices(report),
    warnings(report.warnings),
  );
}

/** GPU time on library lines (stacks with no workspace frame), when there is some. */
function libraryStat(report: Report): HTMLElement | null {
  const ns = report.lines.reduce((s, l) => s + (l.library ? l.selfNs : 0), 0);
  if (ns <= 0) return null;
  return stat(
    'Library code',
    formatNs(ns),
    'GPU time of stacks that reached no workspace frame, on their innermost library frame (Hot lines rows marked library)',
  );
}

/**
 * A CPU-only capture (no GPU work recorded) says what it can show, so it does not read as an
 * empty report: CPU operator time per line and the NVTX / record_function ranges, not GPU time.
 */
function cpuOnlyNote(report: Report): HTMLElement | null {
  if (report.summary.gpuBusyNs > 0) return null;
  const lines = report.lines.filter((l) => l.cpuOpNs > 0);
  const cpuNs = lines.reduce((s, l) => s + l.cpuOpNs, 0);
  const ops = lines.reduce((s, l) => s + l.opCount, 0);
  const n = (v: number) => v.toLocaleString('en-US');
  return el(
    'p',
    { class: 'cpu-only-note', role: 'note' },
    'CPU-only capture: no GPU work (kernels, copies) was recorded, so there is no GPU time, ' +
      'kernel table or idle gap to show. It shows CPU operator time per source line ' +
      `(Hot lines: ${formatNs(cpuNs)} in ${n(ops)} operators on ${n(lines.length)} lines) and ` +
      `the NVTX / record_function ranges (Ranges: ${n(report.ranges.length)}). For GPU time, ` +
      'capture on a machine with a GPU with CUDA activity on (torch.profiler ' +
      'ProfilerActivity.CUDA, or nsys).',
  );
}

function sourceLine(report: Report): string {
  const src = report.source;
  const ranks = report.summary.rankCount > 1 ? ` · ${report.summary.rankCount} ranks` : '';
  return `${src.format}${src.producer ? ` (${src.producer})` : ''}${ranks}`;
}

function devices(report: Report): HTMLElement | null {
  const list = report.summary.devices;
  if (list.length === 0) return null;
  const wall = report.summary.wallNs;
  return el(
    'ul',
    { class: 'devices', 'aria-label': 'Devices' },
    // data-rank: the rank selector hides the other ranks' devices (rank-select.ts).
    ...list.map((d) =>
      el(
        'li',
        { 'data-rank': String(d.rank) },
        el('span', { class: 'device-name' }, deviceLabel(d, report.summary.rankCount)),
        ` busy ${formatNs(d.busyNs)}${wall > 0 ? ` (${formatPct((100 * d.busyNs) / wall)})` : ''}`,
      ),
    ),
  );
}

/** Where the GPU idle time went: each cause's share of summary.gpuIdleNs, with its line. */
function idleBreakdown(report: Report): HTMLElement | null {
  const { idleBreakdown: causes, gpuIdleNs } = report.summary;
  if (causes.length === 0 || gpuIdleNs <= 0) return null;
  return el(
    'div',
    { class: 'idle-breakdown', role: 'group', 'aria-label': 'Idle breakdown' },
    el('h2', {}, 'Where the GPU idle time went'),
    el(
      'ul',
      {},
      ...causes.map((b) => {
        const pct = (100 * b.ns) / gpuIdleNs;
        // Set through the CSSOM: the panel's CSP allows no inline style attributes.
        const bar = el('span', { class: 'idle-bar' });
        bar.style.width = `${Math.max(1, Math.round(pct))}%`;
        return el(
          'li',
          { title: `${b.gaps.toLocaleString('en-US')} gaps` },
          el('span', { class: 'idle-share' }, formatPct(pct)),
          ` ${b.label}: ${formatNs(b.ns)}`,
          b.location ? el('span', { class: 'idle-line' }, ` · ${refLabel(b.location)}`) : '',
          bar,
        );
      }),
    ),
  );
}

function warnings(list: string[]): HTMLElement | null {
  if (list.length === 0) return null;
  return el(
    'div',
    { class: 'warnings', role: 'note', 'aria-label': 'Warnings' },
    ...list.map((w) => el('p', { class: 'warning' }, `⚠ ${w}`)),
  );
}
