/**
 * Line heat (`gpuLens.lineHeat`): each line of a file with GPU self time, and how hot it is — its
 * share of the file's GPU self time, in three levels the client draws in theme colours
 * (src/extension/line-heat.ts). Self time, so the hot lines are the ones that launched the work,
 * not every line that called into them. A pure function of (report, file), like annotations.ts.
 */
import type { Report } from '../core/report-types';
import type { HeatLevel } from '../shared/protocol';

/** Least share of the file's GPU self time (%) for level 3 and level 2; any self time is level 1. */
export const HEAT_LEVEL_PCT = { 3: 25, 2: 5 } as const;

/** The level of a line holding `sharePct` of its file's GPU self time. */
export function heatLevel(sharePct: number): HeatLevel {
  return sharePct >= HEAT_LEVEL_PCT[3] ? 3 : sharePct >= HEAT_LEVEL_PCT[2] ? 2 : 1;
}

export interface LineHeatEntry {
  /** 1-based line of the text the trace refers to. */
  line: number;
  selfNs: number;
  sharePct: number;
  level: HeatLevel;
}

/** The hot lines of `file` (the Report's name for it), by line. */
export function lineHeatFor(report: Report, file: string): LineHeatEntry[] {
  const lines = report.lines.filter((l) => l.file === file && l.selfNs > 0);
  const fileNs = lines.reduce((s, l) => s + l.selfNs, 0);
  return lines
    .map((l) => {
      const sharePct = (100 * l.selfNs) / fileNs;
      return { line: l.line, selfNs: l.selfNs, sharePct, level: heatLevel(sharePct) };
    })
    .sort((a, b) => a.line - b.line);
}
