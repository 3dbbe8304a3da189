/**
 * The kernel timeline's colours, read from VS Code's theme variables at draw time: kernels by name,
 * copies, memsets, ranges and launch calls by kind, and idle gaps by cause.
 */
import type { GapStat } from '../../src/core/report-types';
import { cssVar } from '../dom';
import { causeColour, causesByIdle } from '../gap-colours';
import type { Palette } from './draw';

/** Cause id → theme colour, as the utilisation strip above colours the same cause. */
function causeColours(gaps: GapStat[]): Record<string, string> {
  return Object.fromEntries(
    causesByIdle(gaps, (g) => g.causeId).map((id, k) => [id, causeColour(k)]),
  );
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
