/**
 * The `gpuLens.*` settings and their defaults, shared by the client's and the server's readers.
 * package.json declares the same keys and defaults; a unit test keeps the two in step.
 */
import { DEFAULT_MAX_EVENTS } from '../core/ingest/event-budget';
import { DEFAULT_THRESHOLDS, type Thresholds } from '../core/rules/types';

export interface GpuLensSettings {
  pythonPath: string;
  nsysPath: string;
  captureDirectory: string;
  pathMap: string[];
  hotLineThresholdPct: number;
  /** Stacks with no workspace frame go to their innermost library frame (core/library-frames.ts). */
  libraryFallback: boolean;
  /** The event budget of one load (see core/ingest/event-budget.ts). */
  maxEvents: number;
  autoOpenReport: boolean;
  /** Line heat in the gutter / overview ruler (src/extension/line-heat.ts). */
  lineHeat: boolean;
  thresholds: Thresholds;
}

export const SETTING_DEFAULTS: GpuLensSettings = {
  pythonPath: '',
  nsysPath: '',
  captureDirectory: '.gpu-lens',
  pathMap: [],
  hotLineThresholdPct: 5,
  libraryFallback: true,
  maxEvents: DEFAULT_MAX_EVENTS,
  autoOpenReport: true,
  lineHeat: true,
  thresholds: DEFAULT_THRESHOLDS,
};
