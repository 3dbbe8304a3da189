/** The Reports the language server holds: one active trace per workspace folder. */
import * as path from 'node:path';
import { compare, type Comparison } from '../core/compare';
import type { Report } from '../core/report-types';
import type { TimelineColumns } from '../core/timeline-columns-types';
import type { LoadedTexts } from './line-tracking';

export interface LoadedTrace {
  id: string;
  path: string;
  workspaceFolder: string;
  report: Report;
  loadedAt: number;
  capture?: { command: string; startedAt: string };
  /** The source texts its lines refer to, to keep annotations on their code while it is edited. */
  texts: LoadedTexts;
  /** The folder's `gpuLens.pathMap` the Report was built with. */
  pathMap: string[];
  /** The folder's `gpuLens.libraryFallback` the Report was built with. */
  libraryFallback?: boolean;
  /**
   * The panel's kernel timeline (about 37 bytes per op, outside the JS heap): kept while a folder
   * shows the trace; a trace no folder shows keeps its Report only (open it again to draw it).
   */
  timeline?: TimelineColumns;
}

export interface Baseline {
  path: string;
  report: Report;
  /** Relative change flagged as a regression or improvement (`gpuLens.thresholds.regressionPct`). */
  thresholdPct: number;
}

/** Traces kept that no folder shows (older ones are dropped). */
export const MAX_INACTIVE = 4;

export class TraceStore {
  private readonly traces = new Map<string, LoadedTrace>();
  private readonly activeByFolder = new Map<string, string>();
  private readonly baselines = new Map<string, Baseline>();
  /** Comparison of a trace with its folder's baseline, computed once per (trace, baseline). */
  private readonly comparisons = new Map<string, { baseline: Report; comparison: Comparison }>();
  private nextId = 1;
  /** When true nothing is shown (Clear Annotations) until the next trace loads or is selected. */
  cleared = false;

  /**
   * Holds a newly loaded trace and shows it for its folder. A reload of the same path replaces the
   * earlier Report, and only the `MAX_INACTIVE` latest traces that no folder shows stay (for
   * Switch Trace…): memory follows what is shown, not how often a file was loaded.
   */
  add(trace: Omit<LoadedTrace, 'id'>): LoadedTrace {
    for (const t of this.traces.values())
      if (t.path === trace.path && t.workspaceFolder === trace.workspaceFolder) this.drop(t.id);
    const loaded = { ...trace, id: `t${this.nextId++}` };
    this.traces.set(loaded.id, loaded);
    this.activeByFolder.set(trace.workspaceFolder, loaded.id);
    this.cleared = false;
    const inactive = this.all()
      .filter((t) => !this.isActive(t))
      .sort((a, b) => b.loadedAt - a.loadedAt);
    for (const t of inactive.slice(MAX_INACTIVE)) this.drop(t.id);
    for (const t of inactive) delete t.timeline;
    return loaded;
  }

  private drop(id: string): void {
    this.traces.delete(id);
    this.comparisons.delete(id);
  }

  get(id: string): LoadedTrace | undefined {
    return this.traces.get(id);
  }

  select(id: string): LoadedTrace | undefined {
    const t = this.traces.get(id);
    if (t) {
      this.activeByFolder.set(t.workspaceFolder, id);
      this.cleared = false;
    }
    return t;
  }

  all(): LoadedTrace[] {
    return [...this.traces.values()];
  }

  isActive(t: LoadedTrace): boolean {
    return this.activeByFolder.get(t.workspaceFolder) === t.id;
  }

  /** The active traces (one per folder), unless annotations were cleared. */
  active(): LoadedTrace[] {
    if (this.cleared) return [];
    return [...this.activeByFolder.values()].map((id) => this.traces.get(id)!);
  }

  /** The active trace whose workspace folder holds `file` (deepest folder wins). */
  forFile(file: string): { trace: LoadedTrace; rel: string } | undefined {
    let best: { trace: LoadedTrace; rel: string } | undefined;
    for (const t of this.active()) {
      const rel = path.relative(t.workspaceFolder, file);
      if (rel.startsWith('..') || path.isAbsolute(rel)) continue;
      if (!best || t.workspaceFolder.length > best.trace.workspaceFolder.length) {
        best = { trace: t, rel: rel.split(path.sep).join('/') };
      }
    }
    return best;
  }

  setBaseline(workspaceFolder: string, baseline: Baseline | null): void {
    if (baseline) this.baselines.set(workspaceFolder, baseline);
    else this.baselines.delete(workspaceFolder);
  }

  /** Deltas of `t` against its folder's baseline, or null without one. */
  comparisonFor(t: LoadedTrace): Comparison | null {
    const baseline = this.baselines.get(t.workspaceFolder);
    if (!baseline) return null;
    const cached = this.comparisons.get(t.id);
    if (cached && cached.baseline === baseline.report) return cached.comparison;
    const comparison = compare(baseline.report, t.report, baseline.thresholdPct);
    this.comparisons.set(t.id, { baseline: baseline.report, comparison });
    return comparison;
  }

  /** The most recently loaded active trace. */
  latest(): LoadedTrace | undefined {
    return this.active().sort((a, b) => b.loadedAt - a.loadedAt)[0];
  }
}
