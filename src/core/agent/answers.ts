/**
 * What each agent tool answers, computed from Reports alone (the same data the editor shows), as
 * compact text for a model plus structured data for programs. Every answer is bounded: lists are
 * cut to `limit` items, trace strings to NAME_CAP characters, the text to TEXT_CAP characters.
 */
import { compare } from '../compare';
import { formatDeltaNs, formatNs, formatPct } from '../format';
import type { Finding, LineStat, Report } from '../report-types';
import { ToolInputError } from './validate';

export interface ToolAnswer {
  text: string;
  data: Record<string, unknown>;
}

const NAME_CAP = 160;
const SNIPPET_CAP = 1_500;
const TEXT_CAP = 12_000;
const DEFAULT_LIMIT = 10;

/** A trace string made safe to quote: one line, no control characters, bounded. */
function clip(s: string, cap = NAME_CAP): string {
  const one = s.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ');
  return one.length > cap ? `${one.slice(0, cap - 1)}…` : one;
}

/** A multi-line snippet, bounded, with its line breaks kept and other control characters removed. */
function clipSnippet(s: string): string {
  const text = s.replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]+/g, ' ');
  return text.length > SNIPPET_CAP ? `${text.slice(0, SNIPPET_CAP - 1)}…` : text;
}

function bounded(lines: string[], data: Record<string, unknown>): ToolAnswer {
  let text = lines.join('\n');
  if (text.length > TEXT_CAP)
    text = `${text.slice(0, TEXT_CAP - 40)}\n… (cut at ${TEXT_CAP} characters)`;
  return { text, data };
}

const where = (l: { file: string; line: number }) => `${l.file}:${l.line}`;
const pctOf = (part: number, whole: number) => (whole > 0 ? formatPct((part / whole) * 100) : '0%');

/** A loaded or readable trace, as list_traces shows it. */
export interface TraceEntry {
  id: string;
  path: string;
  active: boolean;
}

export function listTracesAnswer(entries: readonly TraceEntry[]): ToolAnswer {
  if (entries.length === 0)
    return bounded(['No trace is loaded. Profile a Python file or open a trace first.'], {
      traces: [],
    });
  return bounded(
    entries.map((t) => `- ${t.id}${t.active ? ' (active)' : ''}: ${clip(t.path, 1_000)}`),
    { traces: entries },
  );
}

function findingLine(f: Finding): string {
  const at = f.locations.length > 0 ? ` at ${f.locations.slice(0, 3).map(where).join(', ')}` : '';
  const from = f.savingsFrom === 'gpu-idle' ? ' of GPU idle' : ' of GPU op time';
  const saves = f.savingsNs > 0 ? `, saves ~${formatNs(f.savingsNs)}${from}` : '';
  return `- [${f.severity}] ${f.rule}: ${clip(f.title)}${saves}${at}`;
}

function findingData(f: Finding, withFix: boolean) {
  return {
    rule: f.rule,
    severity: f.severity,
    title: clip(f.title),
    message: clip(f.message, 1_000),
    savingsNs: f.savingsNs,
    savingsFrom: f.savingsFrom,
    locations: f.locations.slice(0, 10),
    ...(withFix
      ? {
          fix: {
            title: clip(f.fix.title),
            detail: clip(f.fix.detail, 1_000),
            snippet: clipSnippet(f.fix.snippet),
          },
        }
      : {}),
  };
}

export function summaryAnswer(report: Report): ToolAnswer {
  const s = report.summary;
  const top = report.findings.slice(0, 5);
  const breakdown = s.idleBreakdown.filter((b) => b.ns > 0).slice(0, 8);
  const lines = [
    `Trace ${clip(report.source.path, 1_000)} (${report.source.format}, ${clip(report.source.producer)})`,
    `GPU active ${formatPct(s.gpuActivePct)} of the GPU span (${formatNs(s.wallNs)}) and ${formatPct(s.traceActivePct)} of the trace window (${formatNs(s.traceWallNs)}); busy ${formatNs(s.gpuBusyNs)}, idle ${formatNs(s.gpuIdleNs)}, on ${s.devices.length} device(s), ${s.rankCount} rank(s); ${s.kernelCount} kernels; classification: ${s.classification}.`,
    `GPU time that reached no workspace (nor library) frame: ${formatNs(report.unattributedNs)}.`,
  ];
  if (breakdown.length > 0) {
    lines.push('Idle time by cause:');
    for (const b of breakdown)
      lines.push(
        `- ${clip(b.label)}: ${formatNs(b.ns)} (${pctOf(b.ns, s.gpuIdleNs)} of idle, ${b.gaps} gaps)${b.location ? ` at ${where(b.location)}` : ''}`,
      );
  }
  lines.push(top.length > 0 ? 'Top findings:' : 'No bottleneck found by the rules.');
  lines.push(...top.map(findingLine));
  if (report.warnings.length > 0)
    lines.push(
      `Warnings: ${report.warnings
        .slice(0, 3)
        .map((w) => clip(w, 300))
        .join(' | ')}`,
    );
  return bounded(lines, {
    source: report.source,
    summary: s,
    unattributedNs: report.unattributedNs,
    findings: top.map((f) => findingData(f, false)),
  });
}

/**
 * The Report's file name for `file`: the same name, the workspace-relative form of an absolute
 * path, or the one recorded file ending in `/file`. Throws when nothing or several match.
 */
export function matchReportFile(report: Report, file: string, workspaceRoot?: string): string {
  const names = new Set(report.lines.map((l) => l.file));
  for (const r of report.ranges) if (r.location) names.add(r.location.file);
  for (const f of report.findings) for (const l of f.locations) names.add(l.file);
  let wanted = file.replace(/\\/g, '/');
  const root = workspaceRoot?.replace(/\\/g, '/').replace(/\/$/, '');
  if (root && wanted.startsWith(`${root}/`)) wanted = wanted.slice(root.length + 1);
  wanted = wanted.replace(/^\.\//, '');
  if (names.has(wanted)) return wanted;
  const suffix = [...names].filter((n) => n.endsWith(`/${wanted}`));
  if (suffix.length === 1) return suffix[0];
  if (suffix.length > 1)
    throw new ToolInputError(
      `"${clip(file)}" matches several files: ${suffix
        .slice(0, 5)
        .map((n) => clip(n))
        .join(', ')}`,
    );
  throw new ToolInputError(`the trace has no GPU time or finding in "${clip(file)}"`);
}

function lineText(l: LineStat, busyNs: number): string {
  const def = l.precision === 'function' ? ' (def line: figures cover the whole function)' : '';
  const lib = l.library ? ' (library code: its stacks reached no workspace frame)' : '';
  return `- ${where(l)} ${clip(l.function)}: self ${formatNs(l.selfNs)} (${pctOf(l.selfNs, busyNs)} of busy), total ${formatNs(l.totalNs)}, ${l.kernelCount} kernels${def}${lib}`;
}

export function hotLinesAnswer(
  report: Report,
  args: { file?: string; limit?: number; sortBy?: 'self' | 'total' },
  workspaceRoot?: string,
): ToolAnswer {
  const file =
    args.file !== undefined ? matchReportFile(report, args.file, workspaceRoot) : undefined;
  const key = args.sortBy === 'total' ? 'totalNs' : 'selfNs';
  const rows = report.lines
    .filter((l) => (file === undefined || l.file === file) && l[key] > 0)
    .sort((a, b) => b[key] - a[key])
    .slice(0, args.limit ?? DEFAULT_LIMIT);
  const head = `Hot lines by ${args.sortBy ?? 'self'} GPU time${file ? ` in ${file}` : ''} (GPU busy ${formatNs(report.summary.gpuBusyNs)}):`;
  const lines =
    rows.length > 0
      ? [head, ...rows.map((l) => lineText(l, report.summary.gpuBusyNs))]
      : ['No line with GPU time.'];
  return bounded(lines, {
    lines: rows.map((l) => ({
      ...l,
      function: clip(l.function),
      topKernels: l.topKernels.slice(0, 5).map((k) => ({ ...k, name: clip(k.name) })),
    })),
  });
}

export function explainLineAnswer(
  report: Report,
  args: { file: string; line: number },
  workspaceRoot?: string,
): ToolAnswer {
  const file = matchReportFile(report, args.file, workspaceRoot);
  const at = (l: { file: string; line: number } | null) =>
    l !== null && l.file === file && l.line === args.line;
  const stat = report.lines.find(at);
  const ranges = report.ranges.filter((r) => at(r.location) || (r.ambiguous ?? []).some(at));
  const findings = report.findings.filter((f) => f.locations.some(at));
  const gaps = report.gaps.filter((g) => at(g.location));
  const lines: string[] = [];
  if (stat) {
    lines.push(lineText(stat, report.summary.gpuBusyNs).slice(2));
    lines.push(
      'Self: GPU work launched while this line was the innermost workspace frame. Total: while it was anywhere on the stack.',
    );
    if (stat.cpuOpNs > 0)
      lines.push(`CPU operator time: ${formatNs(stat.cpuOpNs)} over ${stat.opCount} operators.`);
    if (stat.topKernels.length > 0) {
      lines.push('Kernels:');
      for (const k of stat.topKernels.slice(0, 8))
        lines.push(
          `- ${clip(k.name)}: ${formatNs(k.ns)} over ${k.count} launches (mean ${formatNs(k.ns / Math.max(1, k.count))})`,
        );
    }
  } else {
    const near = report.lines
      .filter((l) => l.file === file)
      .sort((a, b) => Math.abs(a.line - args.line) - Math.abs(b.line - args.line))
      .slice(0, 3);
    lines.push(
      `${file}:${args.line}: no GPU time recorded at this line.${near.length > 0 ? ` Nearest lines with GPU time: ${near.map(where).join(', ')}.` : ''}`,
    );
  }
  for (const r of ranges)
    lines.push(
      `Range "${clip(r.name)}" opened here${r.location === null ? ' (one of several call sites)' : ''}: ${r.count}×, wall ${formatNs(r.wallNs)}, GPU ${formatNs(r.gpuNs)}.`,
    );
  if (gaps.length > 0)
    lines.push(
      `${gaps.length} GPU idle gap(s) traced to this line: ${formatNs(gaps.reduce((n, g) => n + g.endNs - g.startNs, 0))} (${clip(gaps[0].cause)}).`,
    );
  for (const f of findings)
    lines.push(findingLine(f), `  Fix: ${clip(f.fix.title)} — ${clip(f.fix.detail, 600)}`);
  return bounded(lines, {
    file,
    line: args.line,
    stat: stat
      ? {
          ...stat,
          function: clip(stat.function),
          topKernels: stat.topKernels.slice(0, 8).map((k) => ({ ...k, name: clip(k.name) })),
        }
      : null,
    ranges: ranges.map((r) => ({
      name: clip(r.name),
      count: r.count,
      wallNs: r.wallNs,
      gpuNs: r.gpuNs,
    })),
    findings: findings.map((f) => findingData(f, true)),
    gapCount: gaps.length,
  });
}

export function findingsAnswer(
  report: Report,
  args: { rule?: string; file?: string; limit?: number },
  workspaceRoot?: string,
): ToolAnswer {
  const file =
    args.file !== undefined ? matchReportFile(report, args.file, workspaceRoot) : undefined;
  const picked = report.findings
    .filter(
      (f) =>
        (args.rule === undefined || f.rule === args.rule) &&
        (file === undefined || f.locations.some((l) => l.file === file)),
    )
    .slice(0, args.limit ?? DEFAULT_LIMIT);
  const lines: string[] = picked.length > 0 ? [] : ['No finding matches.'];
  for (const f of picked) {
    lines.push(
      findingLine(f),
      `  ${clip(f.message, 600)}`,
      `  Fix: ${clip(f.fix.title)} — ${clip(f.fix.detail, 600)}`,
    );
    if (f.fix.snippet)
      lines.push(
        '  ```',
        ...clipSnippet(f.fix.snippet)
          .split('\n')
          .map((s) => `  ${s}`),
        '  ```',
      );
  }
  return bounded(lines, { findings: picked.map((f) => findingData(f, true)) });
}

export function compareAnswer(
  baseline: Report,
  current: Report,
  args: { thresholdPct?: number; limit?: number },
): ToolAnswer {
  const c = compare(baseline, current, args.thresholdPct ?? 10);
  const n = args.limit ?? DEFAULT_LIMIT;
  const d = (
    label: string,
    x: {
      baselineNs: number;
      currentNs: number;
      deltaNs: number;
      deltaPct: number | null;
      flagged: boolean;
    },
  ) =>
    `${label} ${formatNs(x.baselineNs)} → ${formatNs(x.currentNs)} (${formatDeltaNs(x.deltaNs)}${x.deltaPct === null ? '' : `, ${x.deltaPct >= 0 ? '+' : ''}${Math.round(x.deltaPct * 10) / 10}%`})${x.flagged ? ' !' : ''}`;
  const lines = [
    `Baseline ${clip(c.baseline.path, 1_000)} → current ${clip(c.current.path, 1_000)} (flagged past ${c.thresholdPct}%: !)`,
    d('wall', c.summary.wallNs),
    d('GPU busy', c.summary.gpuBusyNs),
    d('GPU idle', c.summary.gpuIdleNs),
    d('kernel time', c.summary.kernelNs),
    `GPU active ${formatPct(c.summary.gpuActivePct.baseline)} → ${formatPct(c.summary.gpuActivePct.current)}`,
  ];
  const lineRows = c.lines.slice(0, n);
  const kernelRows = c.kernels.slice(0, n);
  if (lineRows.length > 0)
    lines.push(
      'Lines (self GPU time):',
      ...lineRows.map((l) => `- ${d(`${where(l)} ${clip(l.function)}`, l)}`),
    );
  if (kernelRows.length > 0)
    lines.push('Kernels:', ...kernelRows.map((k) => `- ${d(clip(k.name), k)}`));
  const rules = c.rules.filter((r) => r.status !== 'both' || r.flagged).slice(0, n);
  if (rules.length > 0) lines.push('Rules:', ...rules.map((r) => `- ${r.rule}: ${r.status}`));
  return bounded(lines, {
    thresholdPct: c.thresholdPct,
    summary: c.summary,
    lines: lineRows.map((l) => ({ ...l, function: clip(l.function) })),
    kernels: kernelRows.map((k) => ({ ...k, name: clip(k.name) })),
    rules,
  });
}
