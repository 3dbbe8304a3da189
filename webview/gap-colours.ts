/**
 * Gap colours shared by the utilisation strip (timeline.ts) and the kernel timeline, so a cause
 * looks the same in both: causes in order of their total idle time take theme colours in turn.
 */
import type { GapStat } from '../src/core/report-types';
import { cssVar } from './dom';

const CAUSE_COLOURS: [string, string][] = [
  ['--vscode-charts-red', '#e51400'],
  ['--vscode-charts-yellow', '#bf8803'],
  ['--vscode-charts-purple', '#652d90'],
  ['--vscode-charts-green', '#388a34'],
  ['--vscode-charts-orange', '#d18616'],
  ['--vscode-descriptionForeground', '#717171'],
];

/** Distinct causes of the gaps (as `key` names them), most total idle time first. */
export function causesByIdle(gaps: readonly GapStat[], key: (g: GapStat) => string): string[] {
  const total = new Map<string, number>();
  for (const g of gaps) total.set(key(g), (total.get(key(g)) ?? 0) + g.endNs - g.startNs);
  return [...total.keys()].sort((a, b) => total.get(b)! - total.get(a)!);
}

/** The theme colour of the k-th cause of causesByIdle; the last colour serves the rest. */
export function causeColour(k: number): string {
  const [v, fallback] = CAUSE_COLOURS[Math.min(Math.max(k, 0), CAUSE_COLOURS.length - 1)];
  return cssVar(v, fallback);
}
