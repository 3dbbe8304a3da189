/**
 * The `gpuLens.*` settings and their defaults, shared by the client's and the server's readers.
 * package.json declares the same keys and defaults; a unit test keeps the two in step.
 */
import { DEFAULT_THRESHOLDS, type Thresholds } from '../core/rules/types';

export interface GpuLensSettings {
  pythonPath: string;
  nsysPath: string;
  captureDirectory: string;
  pathMap: string[];
  hotLineThresholdPct: number;
  autoOpenReport: boolean;
  thresholds: Thresholds;
}

export const SETTING_DEFAULTS: GpuLensSettings = {
  pythonPath: '',
  nsysPath: '',
  captureDirectory: '.gpu-lens',
  pathMap: [],
  hotLineThresholdPct: 5,
  autoOpenReport: true,
  thresholds: DEFAULT_THRESHOLDS,
};
