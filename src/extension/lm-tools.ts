/**
 * GPU Lens's agent tools as VS Code Language Model Tools (Copilot agent mode, any extension through
 * `vscode.lm.invokeTool`). The read-only tools answer from the Reports the language server holds;
 * `gpulens_profile_again` re-runs the capture task that made a trace, only in a trusted workspace
 * and behind the confirmation VS Code shows for tools that act.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { runReadOnlyTool, type TraceSource } from '../core/agent/run-tool';
import { PROFILE_AGAIN, TOOL_SPECS } from '../core/agent/tool-specs';
import { ToolInputError } from '../core/agent/validate';
import {
  ReportRequest,
  StatusRequest,
  type ReportResult,
  type StatusResult,
} from '../shared/protocol';
import type { ServerHandle } from './client';
import { UNTRUSTED_MESSAGE, type CaptureService } from './tasks/capture-service';
import { runCaptureTask } from './tasks/commands';

/** Structured data travels as a second text part (JSON), cut past this many characters. */
const DATA_CAP = 24_000;

/** Reports of the traces loaded in the language server, found by id or path. */
function serverTraces(
  server: ServerHandle,
): TraceSource & { find(trace?: string): Promise<StatusResult['loaded'][number]> } {
  const loaded = async () =>
    (await (await server.client()).sendRequest<StatusResult>(StatusRequest)).loaded;
  const find = async (trace?: string) => {
    const all = await loaded();
    // No trace named: the one the editor shows (the latest loaded of the shown ones), as the panel.
    const shownId =
      trace === undefined
        ? (await (await server.client()).sendRequest<ReportResult | null>(ReportRequest, {}))?.id
        : undefined;
    const hit =
      trace === undefined
        ? all.find((t) => t.id === shownId)
        : all.find(
            (t) =>
              t.id === trace ||
              t.path === trace ||
              path.resolve(t.workspaceFolder, trace) === t.path,
          );
    if (!hit)
      throw new ToolInputError(
        all.length === 0
          ? 'no trace is loaded: profile a Python file or open a trace first'
          : `no loaded trace "${trace}"; loaded: ${all.map((t) => t.id).join(', ')}`,
      );
    return hit;
  };
  return {
    find,
    list: async () => (await loaded()).map((t) => ({ id: t.id, path: t.path, active: t.active })),
    resolve: async (trace) => {
      const t = await find(trace);
      const shown = await (
        await server.client()
      ).sendRequest<ReportResult | null>(ReportRequest, { id: t.id });
      if (!shown) throw new ToolInputError(`trace "${t.id}" is no longer loaded`);
      return { report: shown.report, workspaceRoot: t.workspaceFolder };
    },
  };
}

function result(text: string, data?: unknown): vscode.LanguageModelToolResult {
  const parts = [new vscode.LanguageModelTextPart(text)];
  if (data !== undefined) {
    const json = JSON.stringify(data);
    if (json.length <= DATA_CAP) parts.push(new vscode.LanguageModelTextPart(json));
  }
  return new vscode.LanguageModelToolResult(parts);
}

/** Registers every agent tool; returns their disposables. */
export function registerAgentTools(
  server: ServerHandle,
  captures: CaptureService,
): vscode.Disposable[] {
  const traces = serverTraces(server);
  const disposables: vscode.Disposable[] = [];
  for (const spec of TOOL_SPECS.filter((t) => t.readOnly))
    disposables.push(
      vscode.lm.registerTool<unknown>(spec.name, {
        invoke: async (options) => {
          const answer = await runReadOnlyTool(spec.name, options.input, traces);
          return result(answer.text, answer.data);
        },
      }),
    );

  const captureOf = async (trace?: string) => {
    const t = await traces.find(trace);
    const made = captures.definitionOf(t.path);
    if (!made)
      throw new ToolInputError(
        `${path.basename(t.path)} was not captured by GPU Lens in this window, so there is no task to run again; use "GPU Lens: Profile with …" on the script`,
      );
    return { ...made, trace: t };
  };
  disposables.push(
    vscode.lm.registerTool<{ trace?: string }>(PROFILE_AGAIN, {
      prepareInvocation: async (options) => {
        const { command } = await captureOf(options.input.trace);
        return {
          invocationMessage: 'Profiling again with GPU Lens',
          confirmationMessages: {
            title: 'Run the capture again?',
            // appendText escapes: the command line is shown as text, never rendered as Markdown.
            message: new vscode.MarkdownString().appendText(
              `GPU Lens will run the workspace code: ${command}`,
            ),
          },
        };
      },
      invoke: async (options) => {
        if (!vscode.workspace.isTrusted || !captures.isTrusted())
          throw new Error(UNTRUSTED_MESSAGE);
        const { def, trace } = await captureOf(options.input.trace);
        const folder =
          vscode.workspace.getWorkspaceFolder(vscode.Uri.file(trace.workspaceFolder)) ??
          vscode.workspace.workspaceFolders?.[0];
        if (!folder)
          throw new ToolInputError('open the workspace folder the trace belongs to first');
        const outcome = await runCaptureTask(captures, def, folder);
        const loaded = outcome.loaded ? ' and loaded it' : '';
        return result(
          `${outcome.message}${outcome.tracePath ? ` New trace: ${outcome.tracePath}${loaded}.` : ''}`,
          {
            status: outcome.status,
            tracePath: outcome.tracePath,
            loaded: outcome.loaded,
          },
        );
      },
    }),
  );
  return disposables;
}
