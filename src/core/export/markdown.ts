/** The Report as Markdown for humans (CLI `--format markdown`). Every trace string is escaped. */
import { deviceLabel, formatDeltaNs, formatNs, formatPct } from '../format';
import type { Comparison, Delta } from '../compare';
import type { Report } from '../report-types';
import { codeFence, codeSpan, escapeMarkdown } from '../markdown-text';

function table(head: string[], rows: string[][]): string[] {
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
}

/** Where the GPU idle time went: every cause of summary.idleBreakdown with its share. */
function idleBreakdownSection(report: Report): string[] {
  const s = report.summary;
  if (s.idleBreakdown.length === 0 || s.gpuIdleNs <= 0) return [];
  return [
    '## Where the GPU idle time went',
    '',
    ...table(
      ['Cause', 'Idle', 'Share of idle', 'Gaps', 'Line'],
      s.idleBreakdown.map((b) => [
        escapeMarkdown(b.label),
        formatNs(b.ns),
        formatPct((100 * b.ns) / s.gpuIdleNs),
        String(b.gaps),
        b.location ? codeSpan(`${b.location.file}:${b.location.line}`, true) : '',
      ]),
    ),
    '',
  ];
}

export function toMarkdown(report: Report, limit = 20): string {
  const s = report.summary;
  const out: string[] = [`# GPU Lens report: ${escapeMarkdown(report.source.path)}`, ''];
  out.push(
    `**${escapeMarkdown(report.source.producer)}** · ${report.source.format} · ` +
      `GPU active **${formatPct(s.gpuActivePct)}** of the GPU span (${formatNs(s.wallNs)}), ` +
      `**${formatPct(s.traceActivePct)}** of the trace window (${formatNs(s.traceWallNs)}) · ` +
      `busy ${formatNs(s.gpuBusyNs)} · ${s.kernelCount} kernels · classification: **${s.classification}**`,
    '',
    `Workload: **${escapeMarkdown(report.workload.label)}** (${escapeMarkdown(report.workload.signals.join('; '))})`,
    '',
  );
  if (s.devices.length > 0) {
    out.push(
      ...table(
        ['Device', 'Busy'],
        s.devices.map((d) => [
          // One rank: the device's name as before; several: which rank's GPU it is.
          escapeMarkdown(s.rankCount > 1 ? deviceLabel(d, s.rankCount) : d.name),
          formatNs(d.busyNs),
        ]),
      ),
      '',
    );
  }
  out.push(...idleBreakdownSection(report));
  out.push('## Findings', '');
  if (report.findings.length === 0) out.push('No bottleneck found by the rules.', '');
  for (const f of report.findings) {
    out.push(`### ${f.severity.toUpperCase()} · ${escapeMarkdown(f.title)} (\`${f.rule}\`)`, '');
    out.push(escapeMarkdown(f.message), '');
    if (f.savingsNs > 0)
      out.push(
        `Estimated savings: **${formatNs(f.savingsNs)}** ` +
          `(${f.savingsFrom === 'gpu-idle' ? 'GPU idle time removed' : 'GPU op time shortened'})`,
        '',
      );
    if (f.locations.length > 0) {
      out.push(
        'At: ' +
          f.locations
            .slice(0, 5)
            .map((l) => codeSpan(`${l.file}:${l.line}`))
            .join(', '),
        '',
      );
    }
    out.push(`**Fix: ${escapeMarkdown(f.fix.title)}.** ${escapeMarkdown(f.fix.detail)}`, '');
    if (f.fix.snippet) out.push(codeFence('python', f.fix.snippet), '');
  }
  out.push('## Hot lines', '');
  out.push(
    ...table(
      ['Line', 'Function', 'Self', 'Total', 'Kernels', 'CPU ops', 'Precision'],
      report.lines
        .slice(0, limit)
        .map((l) => [
          codeSpan(`${l.file}:${l.line}`, true) + (l.library ? ' (library)' : ''),
          escapeMarkdown(l.function),
          formatNs(l.selfNs),
          formatNs(l.totalNs),
          String(l.kernelCount),
          l.opCount > 0 ? `${formatNs(l.cpuOpNs)} (${l.opCount})` : '',
          l.precision,
        ]),
    ),
    '',
    `Unattributed GPU time (no workspace frame on the stack, nor a library one with the library fallback on): ${formatNs(report.unattributedNs)}`,
    '',
    '## Kernels',
    '',
  );
  out.push(
    ...table(
      ['Kernel', 'Count', 'Total', 'Mean'],
      report.kernels
        .slice(0, limit)
        .map((k) => [
          escapeMarkdown(k.name),
          String(k.count),
          formatNs(k.totalNs),
          formatNs(k.avgNs),
        ]),
    ),
    '',
  );
  if (report.ranges.length > 0) {
    out.push('## NVTX / annotated ranges', '');
    out.push(
      ...table(
        ['Range', 'Count', 'Wall', 'GPU', 'Opened at'],
        report.ranges
          .slice(0, limit)
          .map((r) => [
            escapeMarkdown(r.name),
            String(r.count),
            formatNs(r.wallNs),
            formatNs(r.gpuNs),
            r.location
              ? codeSpan(`${r.location.file}:${r.location.line}`, true)
              : r.ambiguous
                ? 'ambiguous'
                : '—',
          ]),
      ),
      '',
    );
  }
  if (report.warnings.length > 0)
    out.push('## Warnings', '', ...report.warnings.map((w) => `- ${escapeMarkdown(w)}`), '');
  return out.join('\n');
}

function deltaCell(d: Delta): string {
  const pct =
    d.deltaPct === null ? 'new' : `${d.deltaPct >= 0 ? '+' : ''}${d.deltaPct.toFixed(1)}%`;
  return `${formatDeltaNs(d.deltaNs)} (${pct})${d.flagged ? (d.direction === 'regression' ? ' ⚠' : ' ✓') : ''}`;
}

/** The comparison with a baseline: flagged changes past the threshold first. */
export function comparisonMarkdown(c: Comparison, limit = 15): string {
  const out = [
    `## Compared with baseline ${escapeMarkdown(c.baseline.path)} (threshold ${c.thresholdPct}%)`,
    '',
  ];
  const s = c.summary;
  out.push(
    ...table(
      ['', 'Baseline', 'Current', 'Change'],
      [
        ['Wall', formatNs(s.wallNs.baselineNs), formatNs(s.wallNs.currentNs), deltaCell(s.wallNs)],
        [
          'GPU busy',
          formatNs(s.gpuBusyNs.baselineNs),
          formatNs(s.gpuBusyNs.currentNs),
          deltaCell(s.gpuBusyNs),
        ],
        [
          'Kernel time',
          formatNs(s.kernelNs.baselineNs),
          formatNs(s.kernelNs.currentNs),
          deltaCell(s.kernelNs),
        ],
      ],
    ),
    '',
    '### Kernels',
    '',
    ...table(
      ['Kernel', 'Baseline', 'Current', 'Change'],
      c.kernels
        .slice(0, limit)
        .map((k) => [
          escapeMarkdown(k.name),
          formatNs(k.baselineNs),
          formatNs(k.currentNs),
          deltaCell(k),
        ]),
    ),
    '',
  );
  if (c.lines.length > 0) {
    out.push(
      '### Lines (self GPU time)',
      '',
      ...table(
        ['Line', 'Baseline', 'Current', 'Change'],
        c.lines
          .slice(0, limit)
          .map((l) => [
            codeSpan(`${l.file}:${l.line}`, true),
            formatNs(l.baselineNs),
            formatNs(l.currentNs),
            deltaCell(l),
          ]),
      ),
      '',
    );
  }
  return out.join('\n');
}
