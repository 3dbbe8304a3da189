/** The one typed reader of `gpuLens.*` settings on the client side (declared in package.json). */
import * as vscode from 'vscode';
import { SETTING_DEFAULTS, type GpuLensSettings } from '../shared/settings';

export type GpuLensConfig = Omit<GpuLensSettings, 'thresholds'>;

export function readConfig(scope?: vscode.ConfigurationScope): GpuLensConfig {
  const c = vscode.workspace.getConfiguration('gpuLens', scope);
  const d = SETTING_DEFAULTS;
  return {
    pythonPath: c.get<string>('pythonPath', d.pythonPath),
    nsysPath: c.get<string>('nsysPath', d.nsysPath),
    captureDirectory: c.get<string>('captureDirectory', d.captureDirectory),
    pathMap: c.get<string[]>('pathMap', d.pathMap),
    hotLineThresholdPct: c.get<number>('hotLineThresholdPct', d.hotLineThresholdPct),
    libraryFallback: c.get<boolean>('libraryFallback', d.libraryFallback),
    maxEvents: c.get<number>('maxEvents', d.maxEvents),
    autoOpenReport: c.get<boolean>('autoOpenReport', d.autoOpenReport),
    lineHeat: c.get<boolean>('lineHeat', d.lineHeat),
  };
}
