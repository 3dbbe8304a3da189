/**
 * Host test: GPU Lens's Language Model Tools, invoked through `vscode.lm.invokeTool` in the real
 * extension host as an agent would (no model needed). Each answer is checked against the Report
 * the language server holds for the loaded H100 trace; profile-again re-runs a real torch capture.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { TOOL_SPECS } from '../../src/core/agent/tool-specs';
import type { Report } from '../../src/core/report-types';
import type { CaptureOutcome } from '../../src/extension/tasks/capture-service';
import { ReportRequest, type ReportResult } from '../../src/shared/protocol';
import { BERT_FILES, fixture } from '../unit/fixtures';
import { gpuLens, poll, scratchFolder, withSetting, workspaceFolder } from './helpers';
import { readEvents, writeRecordedFiles } from './trace-walk';

const TRACE = fixture('torch', 'h100-bert-small-stack.json.gz');

async function invoke(name: string, input: object): Promise<{ text: string; data: unknown }> {
  const r = await vscode.lm.invokeTool(name, { input, toolInvocationToken: undefined });
  const parts = r.content.map((p) => (p instanceof vscode.LanguageModelTextPart ? p.value : ''));
  return { text: parts[0] ?? '', data: parts[1] ? (JSON.parse(parts[1]) as unknown) : undefined };
}

describe('Language Model Tools', function () {
  this.timeout(180_000);
  let root: string;
  let shown: ReportResult;
  let report: Report;
  const restore: (() => Promise<void>)[] = [];

  before(async () => {
    root = scratchFolder('lm-tools-test');
    writeRecordedFiles(readEvents(TRACE), BERT_FILES, root);
    restore.push(
      await withSetting('pathMap', [`moca=${root}/moca`, `transformers=${root}/transformers`]),
    );
    const loaded = await vscode.commands.executeCommand(
      'gpuLens.openTrace',
      vscode.Uri.file(TRACE),
    );
    assert.ok(loaded, 'the trace should load');
    const client = await (await gpuLens()).client();
    // The path map can reach the server after the load began: then the shown trace is
    // re-attributed. Until then its time sits on library lines (transformers/…), not on the files.
    shown = await poll('the recreated files get GPU time', async () => {
      const r = await client.sendRequest<ReportResult | null>(ReportRequest, {});
      return r?.report.lines.some((l) => !l.library && l.selfNs > 0) ? r : false;
    });
    assert.equal(shown.path, TRACE);
    report = shown.report;
  });

  after(async () => {
    for (const r of restore.reverse()) await r();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('registers every declared tool with VS Code', () => {
    const ours = vscode.lm.tools.filter((t) => t.name.startsWith('gpulens_')).map((t) => t.name);
    assert.deepEqual(ours.sort(), TOOL_SPECS.map((t) => t.name).sort());
  });

  it('list_traces names the loaded trace as active', async () => {
    const r = await invoke('gpulens_list_traces', {});
    const traces = (r.data as { traces: { id: string; path: string; active: boolean }[] }).traces;
    assert.ok(traces.some((t) => t.id === shown.id && t.path === TRACE && t.active));
  });

  it('trace_summary answers with the Report summary', async () => {
    const r = await invoke('gpulens_trace_summary', { trace: shown.id });
    assert.deepEqual((r.data as { summary: unknown }).summary, report.summary);
    assert.match(r.text, new RegExp(`${report.summary.kernelCount} kernels`));
  });

  it('hot_lines and explain_line give the Report figures of the hottest line', async () => {
    const top = [...report.lines].sort((a, b) => b.selfNs - a.selfNs)[0];
    const hot = await invoke('gpulens_hot_lines', { limit: 1 });
    const first = (hot.data as { lines: { file: string; line: number; selfNs: number }[] })
      .lines[0];
    assert.deepEqual([first.file, first.line, first.selfNs], [top.file, top.line, top.selfNs]);
    const r = await invoke('gpulens_explain_line', {
      file: path.basename(top.file),
      line: top.line,
    });
    const stat = (r.data as { stat: { selfNs: number; totalNs: number } }).stat;
    assert.deepEqual([stat.selfNs, stat.totalNs], [top.selfNs, top.totalNs]);
    assert.ok(r.text.startsWith(`${top.file}:${top.line}`), r.text);
  });

  it('findings and compare answer from the Report', async () => {
    const f = await invoke('gpulens_findings', { limit: 50 });
    assert.deepEqual(
      (f.data as { findings: { rule: string }[] }).findings.map((x) => x.rule),
      report.findings.slice(0, 50).map((x) => x.rule),
    );
    const c = await invoke('gpulens_compare', { trace: shown.id, baseline: shown.id });
    const s = (
      c.data as { summary: { wallNs: { deltaNs: number }; kernelNs: { deltaNs: number } } }
    ).summary;
    assert.deepEqual([s.wallNs.deltaNs, s.kernelNs.deltaNs], [0, 0], 'a trace against itself');
  });

  it('bad input is refused with the argument named', async () => {
    await assert.rejects(
      invoke('gpulens_explain_line', { file: 'x.py' }),
      /missing argument "line"/,
    );
    await assert.rejects(
      invoke('gpulens_trace_summary', { trace: 'no-such-trace' }),
      /no loaded trace "no-such-trace"/,
    );
  });

  it('profile_again refuses a trace GPU Lens did not capture, and re-runs one it did', async () => {
    await assert.rejects(
      invoke('gpulens_profile_again', { trace: shown.id }),
      /not captured by GPU Lens/,
    );
    const script = path.join(workspaceFolder().uri.fsPath, 'torch_mlp.py');
    const first = await vscode.commands.executeCommand<CaptureOutcome>(
      'gpuLens.profileTorch',
      vscode.Uri.file(script),
    );
    assert.equal(first.status, 'succeeded', first.message);
    const again = await invoke('gpulens_profile_again', { trace: first.tracePath });
    const out = again.data as { status: string; tracePath: string; loaded: boolean };
    assert.equal(out.status, 'succeeded', again.text);
    assert.ok(out.loaded, 'the new trace loads by itself');
    assert.notEqual(out.tracePath, first.tracePath, 'a new capture, not the old trace');
    assert.ok(fs.existsSync(out.tracePath));
  });
});
