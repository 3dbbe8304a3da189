/**
 * The GPU Lens language server: loads traces off the extension host, holds their Reports, and
 * serves CodeLens, hovers and diagnostics for the Python files they point at.
 * stdout is the protocol channel here: log only through `connection.console`.
 */
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  createConnection,
  DiagnosticSeverity,
  ProposedFeatures,
  TextDocuments,
  TextDocumentSyncKind,
  CancellationToken,
  type CodeLens,
  type Diagnostic,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { pathMapToOffer } from '../core/path-hints';
import type { TimelineColumns } from '../core/timeline-columns-types';
import { queryTimeline } from '../core/timeline-columns-window';
import * as proto from '../shared/protocol';
import { annotationsFor, diagnosticsFor, hoverMarkdown } from './annotations';
import { libraryFileOf } from './library-files';
import { lineHeatFor } from './line-heat';
import { DEFAULT_THRESHOLDS } from '../core/rules/types';
import { analyzeTrace } from './analyze-trace';
import { readServerSettings, workspaceTrust } from './settings';
import { LoadedTexts, type LineMapper } from './line-tracking';
import { TraceStore, type LoadedTrace } from './trace-store';

const connection = createConnection(ProposedFeatures.all);
const documents = new TextDocuments(TextDocument);
const store = new TraceStore();
const version = (
  JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as {
    version: string;
  }
).version;

connection.onInitialize(() => ({
  capabilities: {
    textDocumentSync: TextDocumentSyncKind.Incremental,
    codeLensProvider: { resolveProvider: false },
    hoverProvider: true,
  },
}));

/**
 * How a document shows a trace's lines now: through a line map from the text the trace refers to
 * onto the editor's text (marks follow edits, vanish on changed lines, return on undo), or marked
 * stale when that text is no longer known (the file changed on disk before it was opened).
 */
function viewOf(trace: LoadedTrace, uri: string): { stale: boolean; map: LineMapper } {
  return trace.texts.view(fileURLToPath(uri), documents.get(uri)?.getText());
}

// Keep the loaded text of a file before its first edit can be saved over it, and move the
// diagnostics of edited documents with their lines.
documents.onDidChangeContent((e) => {
  const hit = traceFor(e.document.uri);
  if (hit) hit.trace.texts.text(fileURLToPath(e.document.uri));
  if (hit && e.document.version > 1) scheduleDiagnostics();
});
let diagnosticsTimer: NodeJS.Timeout | undefined;
function scheduleDiagnostics(): void {
  clearTimeout(diagnosticsTimer);
  diagnosticsTimer = setTimeout(() => {
    publishDiagnostics().catch((e: unknown) =>
      connection.console.error(`diagnostics: ${String(e)}`),
    );
  }, 250);
}

/**
 * The active trace of a document and the Report's name for it: its workspace-relative path, else
 * (outside every workspace folder) the recorded file of a library line it is (library-files.ts).
 */
function traceFor(uri: string): { trace: LoadedTrace; rel: string } | undefined {
  if (!uri.startsWith('file:')) return undefined;
  const file = fileURLToPath(uri);
  const hit = store.forFile(file);
  if (hit) return hit;
  for (const trace of store.active()) {
    const rel = libraryFileOf(trace.report, file);
    if (rel !== null) return { trace, rel };
  }
  return undefined;
}

connection.onRequest(proto.StatusRequest, (): proto.StatusResult => {
  // Opening an in-memory database proves the native SQLite module loads in this process.
  const db = new Database(':memory:');
  const sqlite = (db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
  db.close();
  return {
    version,
    sqlite,
    loaded: store.all().map((t) => ({
      id: t.id,
      path: t.path,
      workspaceFolder: t.workspaceFolder,
      active: store.isActive(t),
    })),
    workspaceTrusted: workspaceTrust.trusted,
  };
});

connection.onNotification(proto.WorkspaceTrustNotification, (p: proto.WorkspaceTrustParams) => {
  workspaceTrust.trusted = p.trusted === true;
});

/** A re-attribution whose trace stopped being shown while it ran (another trace was opened). */
class Superseded extends Error {}

/**
 * Loads a trace into the store as its folder's active trace and refreshes the editor; `pathMap`
 * is the folder's setting the Report was built with (a change re-attributes, see below).
 * `wanted` is asked once the Report is built: false drops it (throws Superseded).
 */
async function loadTrace(
  params: proto.OpenTraceParams,
  token: CancellationToken,
  wanted: () => boolean = () => true,
): Promise<LoadedTrace> {
  const { pathMap, libraryFallback } = await readServerSettings(connection, params.workspaceFolder);
  let timeline: TimelineColumns | undefined;
  const report = await analyzeTrace(
    connection,
    params.path,
    params.workspaceFolder,
    token,
    (c) => (timeline = c),
  );
  if (!wanted()) throw new Superseded(params.path);
  const fileMtimes = new Map<string, number>();
  for (const l of report.lines) {
    const abs = path.join(params.workspaceFolder, l.file);
    if (fileMtimes.has(abs)) continue;
    try {
      fileMtimes.set(abs, fs.statSync(abs).mtimeMs);
    } catch {
      // A file that vanished since capture shows up stale.
    }
  }
  const loaded = store.add({
    path: params.path,
    workspaceFolder: params.workspaceFolder,
    report,
    loadedAt: Date.now(),
    capture: params.capture,
    texts: new LoadedTexts(fileMtimes),
    pathMap,
    libraryFallback,
    timeline,
  });
  // Open documents keep the text the trace refers to before anything is saved over it.
  for (const doc of documents.all()) {
    const hit = traceFor(doc.uri);
    if (hit?.trace === loaded) loaded.texts.text(fileURLToPath(doc.uri));
  }
  refreshEditor();
  void connection.sendNotification(proto.TraceLoadedNotification, { id: loaded.id });
  return loaded;
}

connection.onRequest(
  proto.OpenTraceRequest,
  async (params: proto.OpenTraceParams, token: CancellationToken) => {
    const loaded = await loadTrace(params, token);
    const report = loaded.report;
    return {
      id: loaded.id,
      summary: report.summary,
      findingCount: report.findings.length,
      warnings: report.warnings,
      pathMapSuggestion: pathMapToOffer(report),
    } satisfies proto.OpenTraceResult;
  },
);

// A changed gpuLens.pathMap or libraryFallback re-attributes the folder's shown trace (the
// Report is rebuilt).
async function reattributeOnPathMapChange(): Promise<void> {
  for (const t of store.active()) {
    const { pathMap, libraryFallback } = await readServerSettings(connection, t.workspaceFolder);
    if (pathMap.join('\n') === t.pathMap.join('\n') && libraryFallback === t.libraryFallback)
      continue;
    try {
      // A trace opened meanwhile stays shown: the rebuilt Report of the old one is dropped.
      await loadTrace(
        { path: t.path, workspaceFolder: t.workspaceFolder, capture: t.capture },
        CancellationToken.None,
        () => store.isActive(t),
      );
    } catch (e) {
      if (e instanceof Superseded) continue;
      connection.console.error(
        `re-attributing ${t.path}: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }
}
// One re-attribution at a time: a burst of configuration events compares each with the Report
// the previous one left, instead of rebuilding the same trace in parallel with stale settings.
let reattributing = Promise.resolve();
connection.onDidChangeConfiguration(() => {
  reattributing = reattributing.then(reattributeOnPathMapChange, reattributeOnPathMapChange);
});

connection.onRequest(
  proto.SetBaselineRequest,
  async (params: proto.SetBaselineParams, token: CancellationToken) => {
    if (params.path === null) {
      store.setBaseline(params.workspaceFolder, null);
    } else {
      const report = await analyzeTrace(connection, params.path, params.workspaceFolder, token);
      const settings = await readServerSettings(connection, params.workspaceFolder);
      const thresholdPct = settings.thresholds.regressionPct ?? DEFAULT_THRESHOLDS.regressionPct;
      store.setBaseline(params.workspaceFolder, { path: params.path, report, thresholdPct });
    }
    refreshEditor();
    const active = store.active().find((t) => t.workspaceFolder === params.workspaceFolder);
    const comparison = active ? store.comparisonFor(active) : null;
    return {
      flaggedLines: comparison ? comparison.lines.filter((l) => l.flagged).length : 0,
      flaggedKernels: comparison ? comparison.kernels.filter((k) => k.flagged).length : 0,
    } satisfies proto.SetBaselineResult;
  },
);

connection.onRequest(proto.ReportRequest, (params: proto.ReportParams) => {
  const t = params.id ? store.get(params.id) : store.latest();
  if (!t) return null;
  const comparison = store.comparisonFor(t);
  return {
    id: t.id,
    path: t.path,
    capture: t.capture ?? null,
    report: t.report,
    comparison,
  } satisfies proto.ReportResult;
});

connection.onRequest(
  proto.TimelineRequest,
  (params: proto.TimelineParams): proto.TimelineResult => {
    const columns = store.get(params.trace)?.timeline;
    return columns && params.query ? queryTimeline(columns, params.query) : null;
  },
);

connection.onRequest(proto.SelectTraceRequest, (params: proto.SelectTraceParams) => {
  const t = store.select(params.id);
  refreshEditor();
  return t !== undefined;
});

connection.onRequest(proto.ClearRequest, () => {
  store.cleared = true;
  refreshEditor();
});

connection.onRequest(
  proto.LineHeatRequest,
  (params: proto.LineHeatParams): proto.LineHeatResult => {
    const version = documents.get(params.uri)?.version ?? null;
    const hit = traceFor(params.uri);
    if (!hit) return { version, lines: [] };
    const { map } = viewOf(hit.trace, params.uri);
    const lines: proto.LineHeatResult['lines'] = [];
    for (const h of lineHeatFor(hit.trace.report, hit.rel)) {
      const now = map(h.line);
      if (now !== null) lines.push({ line: now, level: h.level, sharePct: h.sharePct });
    }
    return { version, lines };
  },
);

connection.onCodeLens((params) => {
  const hit = traceFor(params.textDocument.uri);
  if (!hit) return [];
  const { stale, map } = viewOf(hit.trace, params.textDocument.uri);
  const comparison = store.comparisonFor(hit.trace);
  const lenses: CodeLens[] = [];
  for (const a of annotationsFor(hit.trace.report, hit.rel, stale, comparison)) {
    const now = map(a.line);
    if (now === null) continue;
    const at = { line: now - 1, character: 0 };
    lenses.push({
      range: { start: at, end: at },
      command: {
        title: a.title,
        command: 'gpuLens.showReport',
        arguments: [{ file: hit.rel, line: a.line }],
      },
    });
  }
  return lenses;
});

connection.onHover((params) => {
  const hit = traceFor(params.textDocument.uri);
  if (!hit) return null;
  const { stale, map } = viewOf(hit.trace, params.textDocument.uri);
  const comparison = store.comparisonFor(hit.trace);
  const a = annotationsFor(hit.trace.report, hit.rel, stale, comparison).find(
    (x) => map(x.line) === params.position.line + 1,
  );
  if (!a) return null;
  const label = hit.trace.capture
    ? `${hit.trace.capture.command} (${hit.trace.capture.startedAt})`
    : path.basename(hit.trace.path);
  return {
    contents: {
      kind: 'markdown',
      value: hoverMarkdown(hit.trace.report, hit.rel, a, label, stale),
    },
  };
});

const SEVERITY = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  info: DiagnosticSeverity.Information,
};

/** Diagnostics go to every file an active report names, open or not, so the Problems panel lists them. */
const publishedUris = new Set<string>();
async function publishDiagnostics(): Promise<void> {
  const next = new Map<string, Diagnostic[]>();
  for (const t of store.active()) {
    const settings = await readServerSettings(connection, t.workspaceFolder);
    const files = new Set([
      ...t.report.lines.map((l) => l.file),
      ...t.report.findings.flatMap((f) => f.locations.map((l) => l.file)),
    ]);
    for (const file of files) {
      const abs = path.join(t.workspaceFolder, file);
      if (!fs.existsSync(abs)) continue;
      const uri = pathToFileURL(abs).toString();
      const { map } = viewOf(t, uri);
      const diags: Diagnostic[] = [];
      for (const d of diagnosticsFor(t.report, file, settings.hotLineThresholdPct)) {
        const line = map(d.line);
        if (line === null) continue;
        diags.push({
          range: {
            start: { line: line - 1, character: 0 },
            end: { line: line - 1, character: Number.MAX_SAFE_INTEGER },
          },
          severity: SEVERITY[d.severity],
          source: 'GPU Lens',
          code: d.code,
          message: d.message,
          relatedInformation: d.related.map((l) => ({
            location: {
              uri: pathToFileURL(path.join(t.workspaceFolder, l.file)).toString(),
              range: {
                start: { line: l.line - 1, character: 0 },
                end: { line: l.line - 1, character: 0 },
              },
            },
            message: 'also at this line',
          })),
        });
      }
      if (diags.length > 0) next.set(uri, diags);
    }
  }
  for (const uri of publishedUris)
    if (!next.has(uri)) await connection.sendDiagnostics({ uri, diagnostics: [] });
  publishedUris.clear();
  for (const [uri, diagnostics] of next) {
    publishedUris.add(uri);
    await connection.sendDiagnostics({ uri, diagnostics });
  }
}

function refreshEditor(): void {
  void connection.sendRequest('workspace/codeLens/refresh').catch(() => undefined);
  publishDiagnostics().catch((e: unknown) => connection.console.error(`diagnostics: ${String(e)}`));
}

documents.listen(connection);
connection.listen();
