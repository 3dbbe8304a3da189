/** The one typed reader of `gpuLens.*` settings on the client side (declared in package.json). */
import * as vscode from 'vscode';

export interface GpuLensConfig {
  pythonPath: string;
  nsysPath: string;
  captureDirectory: string;
  pathMap: string[];
  hotLineThresholdPct: number;
  autoOpenReport: boolean;
}

export function readConfig(scope?: vscode.ConfigurationScope): GpuLensConfig {
  const c = vscode.workspace.getConfiguration('gpuLens', scope);
  return {
    pythonPath: c.get<string>('pythonPath', ''),
    nsysPath: c.get<string>('nsysPath', ''),
    captureDirectory: c.get<string>('captureDirectory', '.gpu-lens'),
    pathMap: c.get<string[]>('pathMap', []),
    hotLineThresholdPct: c.get<number>('hotLineThresholdPct', 5),
    autoOpenReport: c.get<boolean>('autoOpenReport', true),
  };
}
