/**
 * What the editor shows for one document: CodeLens titles, hover Markdown and diagnostics, built
 * from the active Report. Pure functions of (report, file) so they are easy to reason about.
 */
import { escapeMarkdown } from '../core/markdown-text';
import type { Comparison, LineDelta } from '../core/compare';
import { formatBytes, formatDeltaNs, formatNs, formatPct } from '../core/format';
import { shortKernelName } from '../core/kernel-names';
import type { LineStat, MemoryPeak, RangeStat, Report } from '../core/report-types';

export interface LineAnnotation {
  line: number;
  title: string;
  stat?: LineStat;
  ranges: RangeStat[];
  /** Change of this line's self GPU time against the baseline, when one is set. */
  delta?: LineDelta;
}

/** " · +2.10 ms vs baseline" (with the relative change, and ⚠ past the threshold). */
function deltaText(d: LineDelta): string {
  const pct =
    d.deltaPct === null ? 'new' : `${d.deltaPct >= 0 ? '+' : ''}${d.deltaPct.toFixed(0)}%`;
  const mark = d.flagged && d.direction === 'regression' ? '⚠ ' : '';
  return `${mark}${formatDeltaNs(d.deltaNs)} vs baseline (${pct})`;
}

/** Share of the memory peak a line must hold for its CodeLens to name it (%). */
export const MEMORY_LENS_PCT = 5;

/** A line holding a significant share of the memory peak. */
function memoryNotable(stat: LineStat): boolean {
  return (stat.peakSharePct ?? 0) >= MEMORY_LENS_PCT;
}

/** "GPU 0" / "host memory" — whose peak the memory figures are about. */
function peakDevice(p: MemoryPeak): string {
  const rank = p.rank > 0 ? ` of rank ${p.rank}` : '';
  return p.device === 'gpu' ? `GPU ${p.deviceId}${rank}` : `host memory${rank}`;
}

/** The CodeLens title of a line: GPU figures, else CPU operator figures; memory at the peak. */
export function lineTitle(stat: LineStat, stale: boolean): string {
  const parts: string[] = [];
  // A line that only allocated (under an operator whose time is on an outer line) shows memory.
  const memoryOnly = stat.totalNs <= 0 && stat.opCount === 0 && memoryNotable(stat);
  if (stat.totalNs > 0) {
    parts.push(`GPU ${formatNs(stat.selfNs)} self`, `${formatNs(stat.totalNs)} total`);
    parts.push(`${stat.kernelCount} kernel${stat.kernelCount === 1 ? '' : 's'}`);
  } else if (!memoryOnly) {
    parts.push(
      `CPU ops ${formatNs(stat.cpuOpNs)}`,
      `${stat.opCount} op${stat.opCount === 1 ? '' : 's'}`,
    );
  }
  if (memoryNotable(stat))
    parts.push(
      `mem ${formatBytes(stat.liveAtPeakBytes ?? 0)} at peak (${formatPct(stat.peakSharePct ?? 0)})`,
    );
  if (stat.precision === 'function') parts.push('whole function');
  if (stat.library) parts.push('library code');
  let title = parts.join(' · ');
  if (stale) title = `⚠ stale (file changed since capture) · ${title}`;
  return title;
}

/** Longest trace name shown in a CodeLens title or a hover (a name can be megabytes long). */
export const MAX_NAME_CHARS = 80;

function rangeTitle(r: RangeStat): string {
  return `NVTX "${lensText(r.name)}" ×${r.count} · wall ${formatNs(r.wallNs)} · GPU ${formatNs(r.gpuNs)}`;
}

/**
 * A trace name as plain CodeLens title text: capped, control characters replaced, and `$(name)`
 * escaped as `\$(name)`. VS Code renders lens titles with renderLabelWithIcons, which turns
 * `$(bug)` into a codicon and shows `\$(bug)` as the literal text `$(bug)`.
 */
export function lensText(name: string): string {
  return truncate(name, MAX_NAME_CHARS)
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, '\uFFFD')
    .replace(/\$\([A-Za-z0-9-]+(?:~[A-Za-z]+)?\)/g, '\\$&');
}

/** Lines of `file` worth a CodeLens: any GPU time, or CPU operator time when the trace has no GPU. */
export function annotationsFor(
  report: Report,
  file: string,
  stale: boolean,
  comparison: Comparison | null = null,
): LineAnnotation[] {
  const byLine = new Map<number, LineAnnotation>();
  const hasGpu = report.summary.gpuBusyNs > 0;
  for (const s of report.lines) {
    if (s.file !== file) continue;
    if ((hasGpu ? s.totalNs <= 0 : s.cpuOpNs <= 0) && !memoryNotable(s)) continue;
    byLine.set(s.line, { line: s.line, title: lineTitle(s, stale), stat: s, ranges: [] });
  }
  for (const r of report.ranges) {
    if (!r.location || r.location.file !== file) continue;
    const a = byLine.get(r.location.line);
    if (a) {
      a.ranges.push(r);
      a.title += ` · ${rangeTitle(r)}`;
    } else {
      const title = (stale ? '⚠ stale (file changed since capture) · ' : '') + rangeTitle(r);
      byLine.set(r.location.line, { line: r.location.line, title, ranges: [r] });
    }
  }
  if (comparison) {
    for (const d of comparison.lines) {
      // A line with no self time on either side has nothing to compare.
      if (d.file !== file || (d.baselineNs === 0 && d.currentNs === 0)) continue;
      const a = byLine.get(d.line);
      if (a) {
        a.delta = d;
        a.title += ` · ${deltaText(d)}`;
      } else if (d.currentNs === 0 && d.baselineNs > 0) {
        // The line spent GPU time in the baseline and none now: say so where it was.
        byLine.set(d.line, {
          line: d.line,
          title: `GPU 0 ns · ${deltaText(d)}`,
          ranges: [],
          delta: d,
        });
      }
    }
  }
  return [...byLine.values()].sort((a, b) => a.line - b.line);
}

/**
 * A command link that opens the bottleneck report focused on a line. The client trusts hover
 * Markdown for this one command only (src/extension/client.ts).
 */
function reportLink(file: string, line: number, text = 'Show in the bottleneck report'): string {
  // Parentheses would end the Markdown link target: encode them too.
  const args = encodeURIComponent(JSON.stringify([{ file, line }])).replace(
    /[()]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `[${text}](command:gpuLens.showReport?${args})`;
}

/**
 * The hover's drill-down line: the frames right beneath the line in its call tree (their share of
 * its GPU time) and a link to its kernels and call tree in the panel.
 */
function drilldownLine(report: Report, s: LineStat, file: string, line: number): string {
  // Older Reports (baselines saved before the drill-down) have none.
  const tree = report.drilldown?.callTrees.find(
    (t) => t.library === s.library && t.file === file && t.line === line,
  );
  const beneath = (tree?.root.children ?? [])
    .filter((c) => c.other === undefined)
    .slice(0, 3)
    .map(
      (c) =>
        `${escapeMarkdown(truncate(c.function, MAX_NAME_CHARS))} (${escapeMarkdown(truncate(`${c.file.split('/').pop() ?? ''}:${c.line}`, MAX_NAME_CHARS))}) ${formatPct((100 * c.totalNs) / (tree?.root.totalNs || 1))}`,
    );
  const head = beneath.length > 0 ? `Beneath this line: ${beneath.join(' · ')} · ` : '';
  return head + reportLink(file, line, 'Kernels and call tree');
}

/** Hover Markdown for one line of `file`. */
export function hoverMarkdown(
  report: Report,
  file: string,
  a: LineAnnotation,
  captureLabel: string,
  stale: boolean,
): string {
  const out: string[] = [];
  if (stale)
    out.push('**⚠ This file changed since the capture: figures may point at moved lines.**\n');
  const s = a.stat;
  if (s) {
    const busy = report.summary.gpuBusyNs;
    out.push(`**GPU Lens** · ${escapeMarkdown(truncate(s.function, MAX_NAME_CHARS))}`, '');
    out.push('| | |', '|---|---|');
    out.push(`| GPU self | ${formatNs(s.selfNs)} |`);
    out.push(`| GPU total | ${formatNs(s.totalNs)} |`);
    if (busy > 0) out.push(`| Share of GPU busy time | ${formatPct((100 * s.totalNs) / busy)} |`);
    out.push(`| Kernel launches | ${s.kernelCount} |`);
    if (a.delta) out.push(`| Self vs baseline | ${deltaText(a.delta)} |`);
    if (s.opCount > 0) out.push(`| CPU operators | ${s.opCount} · ${formatNs(s.cpuOpNs)} |`);
    // Older Reports (baselines saved before rank folders) have no rankSpread.
    const spread = report.rankSpread?.find((x) => x.file === file && x.line === a.line);
    if (spread)
      out.push(
        `| Across ${report.summary.rankCount} ranks | min ${formatNs(spread.minNs)} (rank ${spread.minRank}) · ` +
          `median ${formatNs(spread.medianNs)} · max ${formatNs(spread.maxNs)} (rank ${spread.maxRank}) |`,
      );
    const peak = report.memoryPeak;
    if (peak && (s.allocBytes ?? 0) > 0) {
      out.push(`| Memory allocated | ${formatBytes(s.allocBytes ?? 0)} |`);
      out.push(
        `| Live at the memory peak | ${formatBytes(s.liveAtPeakBytes ?? 0)} · ${formatPct(s.peakSharePct ?? 0)} of ${peakDevice(peak)}'s ${formatBytes(peak.peakBytes)} peak |`,
      );
    }
    out.push(
      `| Precision | ${s.precision === 'line' ? 'exact line' : 'function (definition line; capture with exact lines for per-line figures)'} |`,
    );
    if (s.topKernels.length > 0) {
      out.push('', '| Top kernels | count | total | mean |', '|---|---:|---:|---:|');
      for (const k of s.topKernels) {
        out.push(
          `| ${escapeMarkdown(truncate(shortKernelName(k.name), MAX_NAME_CHARS))} | ${k.count} | ${formatNs(k.ns)} | ${formatNs(k.ns / k.count)} |`,
        );
      }
    }
    if (s.totalNs > 0) out.push('', drilldownLine(report, s, file, a.line));
  }
  if (s?.library)
    out.push(
      '',
      '_Library code: time of stacks that reached no workspace frame, on their innermost library frame (self = total; `gpuLens.libraryFallback` turns this off)._',
    );
  else if (s && s.totalNs > 0)
    out.push(
      '',
      '_Self: GPU work launched while this line was the innermost workspace frame. Total: while it was anywhere on the stack (calls into functions below it included)._',
    );
  const findings = report.findings.filter((f) =>
    f.locations.some((l) => l.file === file && l.line === a.line),
  );
  for (const f of findings) {
    const saves = f.savingsNs > 0 ? ` · could save ~${formatNs(f.savingsNs)}` : '';
    out.push(
      '',
      // Titles and messages quote trace names: capped as a whole, like the names above.
      `**${f.severity === 'error' ? '⛔' : f.severity === 'warning' ? '⚠' : 'ℹ'} ${escapeMarkdown(truncate(f.title, 2 * MAX_NAME_CHARS))}**${saves}`,
      '',
      escapeMarkdown(truncate(f.message, 8 * MAX_NAME_CHARS)),
      '',
      `Fix: ${escapeMarkdown(truncate(f.fix.title, 2 * MAX_NAME_CHARS))}`,
    );
  }
  if (a.ranges.length > 0) {
    out.push('', '| NVTX range | count | wall | GPU |', '|---|---:|---:|---:|');
    for (const r of a.ranges) {
      out.push(
        `| ${escapeMarkdown(truncate(r.name, MAX_NAME_CHARS))} | ${r.count} | ${formatNs(r.wallNs)} | ${formatNs(r.gpuNs)} |`,
      );
    }
  }
  out.push(
    '',
    `_Capture: ${escapeMarkdown(truncate(captureLabel, 2 * MAX_NAME_CHARS))}_ · ${reportLink(file, a.line)}`,
  );
  return out.join('\n');
}

/** `s` cut to at most `n` UTF-16 units with an ellipsis, never splitting a surrogate pair. */
function truncate(s: string, n: number): string {
  if (s.length <= n) return s;
  const cut = /[\ud800-\udbff]/.test(s[n - 2]) ? n - 2 : n - 1;
  return s.slice(0, cut) + '…';
}

export interface DiagnosticSpec {
  line: number;
  severity: 'error' | 'warning' | 'info';
  code: string;
  message: string;
  /** The finding's other locations (shown as related information), in this file or others. */
  related: { file: string; line: number }[];
}

/**
 * Hot lines over the threshold (share of GPU busy time) and the findings located in `file`: one
 * diagnostic per finding and file, at its first location there, so a run-level finding that
 * names five lines is one entry in Problems (its other lines are related information). The text
 * is short (title, saving, fix) so it does not crowd the hover, which gives the details.
 */
export function diagnosticsFor(report: Report, file: string, hotLinePct: number): DiagnosticSpec[] {
  const out: DiagnosticSpec[] = [];
  const busy = report.summary.gpuBusyNs;
  if (busy > 0) {
    for (const s of report.lines) {
      if (s.file !== file) continue;
      const pct = (100 * s.selfNs) / busy;
      if (pct >= hotLinePct) {
        out.push({
          line: s.line,
          severity: 'info',
          code: 'hot-line',
          message: `GPU hot spot: ${formatPct(pct)} of GPU busy time (${formatNs(s.selfNs)} self, ${s.kernelCount} kernels)`,
          related: [],
        });
      }
    }
  }
  const peak = report.memoryPeak;
  if (peak?.nearCapacity) {
    for (const h of peak.holders) {
      if (h.file !== file) continue;
      const s = report.lines.find((l) => l.file === file && l.line === h.line && !l.library);
      out.push({
        line: h.line,
        severity: 'warning',
        code: 'memory-peak',
        message:
          `Holds ${formatBytes(s?.liveAtPeakBytes ?? 0)} (${formatPct(s?.peakSharePct ?? 0)}) of ${peakDevice(peak)}'s ` +
          `${formatBytes(peak.peakBytes)} memory peak, ${formatPct(peak.capacityPct ?? 0)} of its capacity — fix: free or ` +
          'reuse these buffers (del, in-place ops), pre-allocate a pool (KV cache), ' +
          'PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True, activation checkpointing',
        related: peak.holders.filter((o) => o !== h),
      });
    }
  }
  for (const f of report.findings) {
    const here = f.locations.find((l) => l.file === file);
    if (!here) continue;
    out.push({
      line: here.line,
      severity: f.severity,
      code: f.rule,
      message: `${truncate(f.title, 2 * MAX_NAME_CHARS)}${f.savingsNs > 0 ? ` (could save ~${formatNs(f.savingsNs)})` : ''} — fix: ${truncate(f.fix.title, 2 * MAX_NAME_CHARS)}`,
      related: f.locations.filter((l) => l !== here),
    });
  }
  return out;
}
