/**
 * Custom LSP methods between the extension (client) and the GPU Lens language server.
 * One file for both sides, so a rename breaks the build rather than the wire.
 */
import type { Comparison } from '../core/compare';
import type { Report } from '../core/report-types';
import type { TimelineAnswer, TimelineQuery } from '../core/timeline-columns-types';

/** Client → server: load a trace file or folder and build its Report. */
export const OpenTraceRequest = 'gpuLens/openTrace';
export interface OpenTraceParams {
  /** Absolute path of the trace file (.sqlite, .nsys-rep, .json, .json.gz) or per-rank folder. */
  path: string;
  /** Workspace folder the trace belongs to (absolute path). */
  workspaceFolder: string;
  /** Capture metadata when GPU Lens made the trace. */
  capture?: { command: string; startedAt: string };
}
export interface OpenTraceResult {
  id: string;
  summary: Report['summary'];
  findingCount: number;
  warnings: string[];
  /** A `gpuLens.pathMap` entry (`FROM=TO`) to offer when most GPU time reached no workspace file. */
  pathMapSuggestion: string | null;
}

/** Client → server: server status (version, loaded traces). Used by the host tests as a health check. */
export const StatusRequest = 'gpuLens/status';
export interface StatusResult {
  version: string;
  /** SQLite library version, read through better-sqlite3 in the server process. */
  sqlite: string;
  loaded: { id: string; path: string; workspaceFolder: string; active: boolean }[];
  /** The workspace trust the server was last told (see WorkspaceTrustNotification). */
  workspaceTrusted: boolean;
}

/** Client → server: the full Report of the active trace (or of `id`). */
export const ReportRequest = 'gpuLens/report';
export interface ReportParams {
  id?: string;
}

/** What ReportRequest answers (null when no trace is loaded). */
export interface ReportResult {
  id: string;
  path: string;
  capture: { command: string; startedAt: string } | null;
  report: Report;
  /** Deltas against the folder's baseline, when one is set. */
  comparison: Comparison | null;
}

/** Client → server: set (path) or clear (null) the baseline trace of a workspace folder. */
export const SetBaselineRequest = 'gpuLens/setBaseline';
export interface SetBaselineParams {
  path: string | null;
  workspaceFolder: string;
}
export interface SetBaselineResult {
  flaggedLines: number;
  flaggedKernels: number;
}

/**
 * Client → server: a window of a loaded trace's kernel timeline (ops, or per-pixel aggregates) or
 * one op of a lane, for the panel. Null when the trace is gone or has no timeline.
 */
export const TimelineRequest = 'gpuLens/timeline';
export interface TimelineParams {
  trace: string;
  query: TimelineQuery;
}
export type TimelineResult = TimelineAnswer | null;

/** Client → server: make a loaded trace the active one for its workspace folder. */
export const SelectTraceRequest = 'gpuLens/selectTrace';
export interface SelectTraceParams {
  id: string;
}

/** Client → server: remove all annotations (traces stay loaded but nothing is shown). */
export const ClearRequest = 'gpuLens/clear';

/** How hot a line is: 1 (some GPU self time) to 3 (a large share of its file's); server/line-heat.ts. */
export type HeatLevel = 1 | 2 | 3;

/** Client → server: the GPU heat of an open document's lines (gutter / overview ruler marks). */
export const LineHeatRequest = 'gpuLens/lineHeat';
export interface LineHeatParams {
  uri: string;
}
export interface LineHeatResult {
  /** The document version the lines are mapped onto (marks follow edits, as CodeLenses do). */
  version: number | null;
  /** 1-based lines of that text, with their share of the file's GPU self time (%). */
  lines: { line: number; level: HeatLevel; sharePct: number }[];
}

/**
 * Client → server: the workspace's trust state, sent when the server starts and again when the
 * user grants trust. Until told, the server treats the workspace as untrusted.
 */
export const WorkspaceTrustNotification = 'gpuLens/workspaceTrust';
export interface WorkspaceTrustParams {
  trusted: boolean;
}

/** Server → client: a trace finished loading (progress is reported through window/workDoneProgress). */
export const TraceLoadedNotification = 'gpuLens/traceLoaded';
