/**
 * Quick Fixes on GPU Lens diagnostics whose fix is a local edit (`Fix.edit`): the edit is computed
 * from the file's syntax tree by python/gpu_lens_edits.py (Python's own `ast`; the file is parsed,
 * never run), shown as a preview before it applies, and refused — as a disabled action with the
 * reason — when the call to change cannot be found unambiguously. Only in a trusted workspace:
 * it runs the Python interpreter.
 */
import { execFile } from 'node:child_process';
import * as vscode from 'vscode';
import type { QuickFixKind, Report } from '../core/report-types';
import { ReportRequest, type ReportResult } from '../shared/protocol';
import type { ServerHandle } from './client';
import { findInterpreter } from './tasks/interpreter';

/** What gpu_lens_edits.py answers. */
type EditAnswer =
  | {
      ok: true;
      title: string;
      edits: { line: number; col: number; endLine: number; endCol: number; text: string }[];
    }
  | { ok: false; reason: string };

/** Runs the edit script on the document's current text. */
export function computeEdit(
  python: string,
  script: string,
  source: string,
  line: number,
  kind: QuickFixKind,
): Promise<EditAnswer> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      python,
      ['-I', script],
      { timeout: 10_000, maxBuffer: 1 << 20 },
      (err, stdout) => {
        if (err) return reject(new Error(`the edit script failed: ${err.message.split('\n')[0]}`));
        try {
          resolve(JSON.parse(stdout) as EditAnswer);
        } catch {
          reject(new Error('the edit script answered no JSON'));
        }
      },
    );
    child.stdin?.end(JSON.stringify({ source, line, kind }));
  });
}

/** The findings behind a GPU Lens diagnostic (same rule, message opening with the title). */
function findingsFor(report: Report, d: vscode.Diagnostic) {
  const code = String(typeof d.code === 'object' ? d.code.value : d.code);
  return report.findings.filter(
    (f) => f.rule === code && f.fix.edit !== undefined && d.message.startsWith(f.title),
  );
}

/** Offers "Re-profile and compare" after a Quick Fix (the command the action runs). */
export const AFTER_FIX_COMMAND = 'gpuLens.afterQuickFix';

export class QuickFixProvider implements vscode.CodeActionProvider {
  constructor(
    private readonly server: ServerHandle,
    private readonly script: string,
  ) {}

  async provideCodeActions(
    document: vscode.TextDocument,
    _range: vscode.Range,
    context: vscode.CodeActionContext,
  ): Promise<vscode.CodeAction[]> {
    const ours = context.diagnostics.filter((d) => d.source === 'GPU Lens');
    if (ours.length === 0 || !vscode.workspace.isTrusted || !this.server.isRunning()) return [];
    const shown = await (
      await this.server.client()
    ).sendRequest<ReportResult | null>(ReportRequest, {});
    if (!shown) return [];
    const python = (await findInterpreter(document.uri)).path;
    const actions: vscode.CodeAction[] = [];
    for (const d of ours) {
      for (const f of findingsFor(shown.report, d)) {
        const line = d.range.start.line + 1;
        const answer = await computeEdit(
          python,
          this.script,
          document.getText(),
          line,
          f.fix.edit!,
        );
        if (!answer.ok) {
          const refused = new vscode.CodeAction(
            `GPU Lens: ${f.fix.title}`,
            vscode.CodeActionKind.QuickFix,
          );
          refused.disabled = { reason: `GPU Lens cannot make this edit: ${answer.reason}` };
          refused.diagnostics = [d];
          actions.push(refused);
          continue;
        }
        const action = new vscode.CodeAction(
          `GPU Lens: ${answer.title}`,
          vscode.CodeActionKind.QuickFix,
        );
        action.diagnostics = [d];
        action.isPreferred = true;
        action.edit = new vscode.WorkspaceEdit();
        // needsConfirmation: the edit opens in the refactor preview, never applied silently.
        const meta = { needsConfirmation: true, label: `GPU Lens: ${answer.title}` };
        for (const e of answer.edits)
          action.edit.replace(
            document.uri,
            new vscode.Range(e.line - 1, e.col, e.endLine - 1, e.endCol),
            e.text,
            meta,
          );
        action.command = { command: AFTER_FIX_COMMAND, title: 'Re-profile and compare' };
        actions.push(action);
      }
    }
    return actions;
  }
}
