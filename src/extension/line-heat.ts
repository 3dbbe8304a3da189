/**
 * Line heat in the editor (`gpuLens.lineHeat`, default on): lines with GPU self time get a mark in
 * the overview ruler and a line background whose intensity follows their share of the file's GPU
 * self time (three levels, src/server/line-heat.ts). Colours are theme colours only
 * (`gpuLens.heat*` in package.json `contributes.colors`, overridable by themes). The server maps
 * the lines onto the editor's current text, so the marks follow edits as the CodeLenses do.
 */
import * as vscode from 'vscode';
import {
  LineHeatRequest,
  type HeatLevel,
  type LineHeatParams,
  type LineHeatResult,
} from '../shared/protocol';
import type { ServerHandle } from './client';
import { readConfig } from './config';

const LEVELS: readonly HeatLevel[] = [1, 2, 3];
const NAMES: Record<HeatLevel, string> = { 1: 'Low', 2: 'Medium', 3: 'High' };
/** Edits come in bursts: ask the server once they pause. */
const DEBOUNCE_MS = 200;

/** One applied mark: the 1-based line of the editor's text and its level. */
export interface HeatMark {
  line: number;
  level: HeatLevel;
}

export class LineHeat implements vscode.Disposable {
  private readonly types: Record<HeatLevel, vscode.TextEditorDecorationType>;
  /** The marks applied per document (uri string): what the decorations show now. */
  private readonly applied = new Map<string, HeatMark[]>();
  private readonly disposables: vscode.Disposable[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Bumped by each refresh: an update started before a later refresh never draws. */
  private generation = 0;

  constructor(private readonly server: ServerHandle) {
    const type = (level: HeatLevel) =>
      vscode.window.createTextEditorDecorationType({
        isWholeLine: true,
        backgroundColor: new vscode.ThemeColor(`gpuLens.heat${NAMES[level]}Background`),
        overviewRulerColor: new vscode.ThemeColor(`gpuLens.heat${NAMES[level]}Ruler`),
        overviewRulerLane: vscode.OverviewRulerLane.Right,
      });
    this.types = { 1: type(1), 2: type(2), 3: type(3) };
    this.disposables.push(
      ...LEVELS.map((l) => this.types[l]),
      server.onTraceLoaded(() => this.refresh()),
      server.onStopped(() => this.refresh()),
      vscode.window.onDidChangeVisibleTextEditors(() => this.refresh()),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document.languageId === 'python' && e.contentChanges.length > 0) this.refresh();
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('gpuLens.lineHeat')) this.refresh();
      }),
      vscode.commands.registerCommand('gpuLens.toggleLineHeat', async () => {
        const uri = vscode.window.activeTextEditor?.document.uri;
        const c = vscode.workspace.getConfiguration('gpuLens', uri);
        // Written where the value in effect is set: a folder or workspace value would override a
        // user-level toggle (the setting is resource-scoped).
        const set = c.inspect<boolean>('lineHeat');
        const target =
          set?.workspaceFolderValue !== undefined
            ? vscode.ConfigurationTarget.WorkspaceFolder
            : set?.workspaceValue !== undefined
              ? vscode.ConfigurationTarget.Workspace
              : vscode.ConfigurationTarget.Global;
        await c.update('lineHeat', !readConfig(uri).lineHeat, target);
      }),
    );
  }

  /** The marks applied to a document's editors now (the host tests read the decoration state). */
  marks(uri: vscode.Uri): readonly HeatMark[] {
    return this.applied.get(uri.toString()) ?? [];
  }

  /** Redraws the visible editors' heat once changes pause (trace shown, cleared, edits, setting). */
  refresh(): void {
    this.generation++;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.update(), DEBOUNCE_MS);
  }

  private async update(): Promise<void> {
    const generation = this.generation;
    const editors = vscode.window.visibleTextEditors.filter(
      (e) => e.document.uri.scheme === 'file' && e.document.languageId === 'python',
    );
    const shown = new Set(editors.map((e) => e.document.uri.toString()));
    for (const uri of this.applied.keys()) if (!shown.has(uri)) this.applied.delete(uri);
    for (const editor of editors) {
      const on = readConfig(editor.document.uri).lineHeat;
      const marks = on && this.server.isRunning() ? await this.heatOf(editor.document) : [];
      // A refresh came while the server answered (a new trace, cleared, edited): it draws.
      if (generation !== this.generation) return;
      // The text changed while the server answered: a later refresh draws that text.
      if (marks === null) continue;
      for (const level of LEVELS) {
        const ranges = marks
          .filter((m) => m.level === level)
          .map((m) => editor.document.lineAt(m.line - 1).range);
        editor.setDecorations(this.types[level], ranges);
      }
      this.applied.set(editor.document.uri.toString(), marks);
    }
  }

  /** The document's marks, or null when the answer is for another version of its text. */
  private async heatOf(doc: vscode.TextDocument): Promise<HeatMark[] | null> {
    try {
      const client = await this.server.client();
      const r = await client.sendRequest<LineHeatResult>(LineHeatRequest, {
        uri: client.code2ProtocolConverter.asUri(doc.uri),
      } satisfies LineHeatParams);
      if (r.version !== null && r.version !== doc.version) {
        this.refresh();
        return null;
      }
      return r.lines
        .filter((l) => l.line >= 1 && l.line <= doc.lineCount)
        .map((l) => ({ line: l.line, level: l.level }));
    } catch {
      // The server went away: its marks went with it.
      return [];
    }
  }

  dispose(): void {
    clearTimeout(this.timer);
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
