/**
 * The kernel timeline's colours, read from VS Code's theme variables at draw time: kernels by name,
 * copies, memsets, ranges and launch calls by kind, and idle gaps by cause.
 */
import type { GapStat } from '../../src/core/report-types';
import { cssVar } from '../dom';
import type { Palette } from './draw';

/**
 * Gap colours as the utilisation strip above gives them (webview/timeline.ts): the causes in order
 * of their total gap time take these theme colours in turn, so a cause looks the same in both.
 */
const CAUSE_COLOURS: [string, string][] = [
  ['--vscode-charts-red', '#e51400'],
  ['--vscode-charts-yellow', '#bf8803'],
  ['--vscode-charts-purple', '#652d90'],
  ['--vscode-charts-green', '#388a34'],
  ['--vscode-charts-orange', '#d18616'],
  ['--vscode-descriptionForeground', '#717171'],
];

/** Cause id → theme colour, most total idle time first. */
function causeColours(gaps: GapStat[]): Record<string, string> {
  const total = new Map<string, number>();
  for (const g of gaps) total.set(g.causeId, (total.get(g.causeId) ?? 0) + g.endNs - g.startNs);
  const out: Record<string, string> = {};
  [...total.keys()]
    .sort((x, y) => total.get(y)! - total.get(x)!)
    .forEach((id, k) => {
      const [v, fb] = CAUSE_COLOURS[Math.min(k, CAUSE_COLOURS.length - 1)];
      out[id] = cssVar(v, fb);
    });
  return out;
}

/** The drawing's colours from the current theme (read at each draw: themes change live). */
export function themePalette(gaps: GapStat[]): Palette {
  return {
    foreground: cssVar('--vscode-foreground', '#cccccc'),
    muted: cssVar('--vscode-descriptionForeground', '#9d9d9d'),
    border: cssVar('--vscode-panel-border', '#80808040'),
    background: cssVar('--vscode-editor-background', '#1e1e1e'),
    selection: cssVar('--vscode-focusBorder', '#0078d4'),
    kernels: [
      cssVar('--vscode-charts-blue', '#1a85ff'),
      cssVar('--vscode-charts-green', '#388a34'),
      cssVar('--vscode-charts-purple', '#652d90'),
      cssVar('--vscode-terminal-ansiCyan', '#11a8cd'),
      cssVar('--vscode-terminal-ansiBlue', '#2472c8'),
    ],
    memcpy: cssVar('--vscode-charts-orange', '#d18616'),
    memset: cssVar('--vscode-charts-yellow', '#bf8803'),
    range: cssVar('--vscode-terminal-ansiMagenta', '#bc3fbc'),
    launch: cssVar('--vscode-terminal-ansiGreen', '#0dbc79'),
    causes: causeColours(gaps),
    other: cssVar('--vscode-descriptionForeground', '#717171'),
  };
}
