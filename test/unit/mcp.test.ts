/**
 * `gpu-lens mcp` driven by the MCP SDK's own client over stdio, as a terminal agent would: the
 * handshake, the tool list, each tool on real fixtures (answers checked against the Report that the
 * CLI's own loader builds, and the nsys kernel count against SQL), clear errors for bad arguments,
 * and refusal of paths outside the traces and workspace it was started with.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { TOOL_SPECS } from '../../src/core/agent/tool-specs';
import { compare } from '../../src/core/compare';
import { loadTrace } from '../../src/core/load';
import { buildReport } from '../../src/core/report';
import type { Report } from '../../src/core/report-types';
import { parsePathMap } from '../../src/core/workspace-paths';
import { readEvents, writeRecordedFiles } from '../host/trace-walk';
import { BERT_FILES, fixture, repoRoot } from './fixtures';

const BERT = fixture('torch', 'h100-bert-small-stack.json.gz');
const CONTROL = fixture('torch', 'diff-control.json.gz');
const TEST = fixture('torch', 'diff-test.json.gz');
const NSYS = fixture('nsys', 'rtx5000-attention-nvtx-2026.2.sqlite');

let ws: string;
let client: Client;
let bert: Report;
let pathMap: string[];

async function call(name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}
const text = (r: CallToolResult) =>
  r.content.map((c) => (c.type === 'text' ? c.text : '')).join('');
const data = (r: CallToolResult) => r.structuredContent as Record<string, unknown>;

before(async () => {
  ws = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-lens-mcp-'));
  writeRecordedFiles(readEvents(BERT), BERT_FILES, ws);
  pathMap = [`moca=${ws}/moca`, `transformers=${ws}/transformers`];
  bert = buildReport(await loadTrace(BERT), {
    workspaceRoot: ws,
    pathMap: parsePathMap(pathMap).map,
  });
  assert.ok(
    bert.lines.some((l) => l.selfNs > 0),
    'the recreated files should get GPU time',
  );
  client = new Client({ name: 'gpu-lens-test', version: '1.0.0' });
  const transport = new StdioClientTransport({
    command: path.join(repoRoot, 'node_modules', 'node', 'bin', 'node'),
    args: [
      path.join(repoRoot, 'dist', 'cli.js'),
      'mcp',
      '--workspace',
      ws,
      ...pathMap.flatMap((m) => ['--path-map', m]),
      BERT,
      CONTROL,
      TEST,
      NSYS,
    ],
    stderr: 'pipe',
  });
  await client.connect(transport);
});

after(async () => {
  await client?.close();
  fs.rmSync(ws, { recursive: true, force: true });
});

void test('initialize names the server; tools/list offers every read-only tool and no capture', async () => {
  assert.equal(client.getServerVersion()?.name, 'gpu-lens');
  const { tools } = await client.listTools();
  const want = TOOL_SPECS.filter((t) => t.readOnly).map((t) => t.name);
  assert.deepEqual(tools.map((t) => t.name).sort(), [...want].sort());
  assert.ok(!tools.some((t) => t.name === 'gpulens_profile_again'));
  for (const t of tools) assert.equal(t.inputSchema.type, 'object');
});

void test('list_traces lists the traces given, the first active', async () => {
  const r = await call('gpulens_list_traces', {});
  const traces = data(r).traces as { path: string; active: boolean }[];
  assert.deepEqual(
    traces.map((t) => t.path),
    [BERT, CONTROL, TEST, NSYS],
  );
  assert.deepEqual(
    traces.map((t) => t.active),
    [true, false, false, false],
  );
});

void test('trace_summary of the default trace is the Report summary, with its top findings', async () => {
  const r = await call('gpulens_trace_summary', {});
  assert.ok(!r.isError, text(r));
  assert.deepEqual(data(r).summary, bert.summary);
  const findings = data(r).findings as { rule: string; savingsNs: number }[];
  assert.deepEqual(
    findings.map((f) => [f.rule, f.savingsNs]),
    bert.findings.slice(0, 5).map((f) => [f.rule, f.savingsNs]),
  );
  assert.match(text(r), new RegExp(`${bert.summary.kernelCount} kernels`));
  const causes = bert.summary.idleBreakdown.filter((b) => b.ns > 0);
  assert.ok(causes.length > 0, 'the trace has idle time');
  for (const b of causes.slice(0, 8)) assert.ok(text(r).includes(`- ${b.label}: `), b.label);
});

void test('trace_summary of an nsys export counts the kernels the SQL counts', async () => {
  const r = await call('gpulens_trace_summary', { trace: NSYS });
  const db = new Database(NSYS, { readonly: true, fileMustExist: true });
  const { n } = db.prepare('SELECT COUNT(*) AS n FROM CUPTI_ACTIVITY_KIND_KERNEL').get() as {
    n: number;
  };
  db.close();
  assert.equal((data(r).summary as Report['summary']).kernelCount, n);
});

void test('hot_lines ranks the Report lines by self or total time, per file or workspace-wide', async () => {
  const bySelf = [...bert.lines].filter((l) => l.selfNs > 0).sort((a, b) => b.selfNs - a.selfNs);
  const r = await call('gpulens_hot_lines', { limit: 3 });
  const got = data(r).lines as { file: string; line: number; selfNs: number }[];
  assert.deepEqual(
    got.map((l) => [l.file, l.line, l.selfNs]),
    bySelf.slice(0, 3).map((l) => [l.file, l.line, l.selfNs]),
  );
  const file = 'modeling_bert.py';
  const inFile = bert.lines
    .filter((l) => l.file.endsWith(file) && l.totalNs > 0)
    .sort((a, b) => b.totalNs - a.totalNs);
  const t = await call('gpulens_hot_lines', { file, sortBy: 'total', limit: 50 });
  assert.deepEqual(
    (data(t).lines as { line: number; totalNs: number }[]).map((l) => [l.line, l.totalNs]),
    inFile.slice(0, 50).map((l) => [l.line, l.totalNs]),
  );
});

void test('explain_line gives the line’s figures, kernels and findings from the Report', async () => {
  const top = [...bert.lines].sort((a, b) => b.selfNs - a.selfNs)[0];
  const r = await call('gpulens_explain_line', { file: path.join(ws, top.file), line: top.line });
  assert.ok(!r.isError, text(r));
  const stat = data(r).stat as { selfNs: number; totalNs: number; kernelCount: number };
  assert.deepEqual(
    [stat.selfNs, stat.totalNs, stat.kernelCount],
    [top.selfNs, top.totalNs, top.kernelCount],
  );
  const at = bert.findings.filter((f) =>
    f.locations.some((l) => l.file === top.file && l.line === top.line),
  );
  assert.equal((data(r).findings as unknown[]).length, at.length);
  assert.match(text(r), /Self: GPU work launched while this line was the innermost/);
  const none = await call('gpulens_explain_line', { file: top.file, line: 999_999 });
  assert.match(text(none), /:999999: no GPU time recorded at this line/);
});

void test('findings filters by rule and carries each fix', async () => {
  const r = await call('gpulens_findings', { limit: 50 });
  const got = data(r).findings as { rule: string; fix: { title: string } }[];
  assert.deepEqual(
    got.map((f) => [f.rule, f.fix.title]),
    bert.findings.slice(0, 50).map((f) => [f.rule, f.fix.title]),
  );
  if (bert.findings.length > 0) {
    const rule = bert.findings[0].rule;
    const one = await call('gpulens_findings', { rule });
    assert.ok((data(one).findings as { rule: string }[]).every((f) => f.rule === rule));
  }
});

void test('compare gives the deltas compare() computes for the two Reports', async () => {
  const r = await call('gpulens_compare', { trace: TEST, baseline: CONTROL, limit: 5 });
  assert.ok(!r.isError, text(r));
  const opts = { workspaceRoot: ws, pathMap: [] };
  const want = compare(
    buildReport(await loadTrace(CONTROL), opts),
    buildReport(await loadTrace(TEST), opts),
    10,
  );
  assert.deepEqual(data(r).summary, want.summary);
  assert.deepEqual(
    (data(r).kernels as { name: string; deltaNs: number }[]).map((k) => k.deltaNs),
    want.kernels.slice(0, 5).map((k) => k.deltaNs),
  );
});

void test('bad arguments get one clear line naming the argument', async () => {
  const missing = await call('gpulens_explain_line', { file: 'x.py' });
  assert.ok(missing.isError);
  assert.match(text(missing), /missing argument "line"/);
  const wrongType = await call('gpulens_explain_line', { file: 'x.py', line: 'ten' });
  assert.match(text(wrongType), /line must be integer/);
  const unknown = await call('gpulens_hot_lines', { limits: 3 });
  assert.match(text(unknown), /unknown argument "limits"/);
  const noFile = await call('gpulens_explain_line', { file: 'nowhere.py', line: 1 });
  assert.match(text(noFile), /no GPU time or finding in "nowhere.py"/);
  const tool = await call('gpulens_profile_again', {});
  assert.match(text(tool), /unknown tool/);
});

void test('paths outside the given traces and the workspace are refused, symlinks included', async () => {
  const outside = await call('gpulens_trace_summary', {
    trace: fixture('torch', 'a100-nccl.json.gz'),
  });
  assert.ok(outside.isError);
  assert.match(text(outside), /outside the traces and the workspace/);
  const link = path.join(ws, 'leak.json.gz');
  fs.symlinkSync(fixture('torch', 'a100-nccl.json.gz'), link);
  const viaLink = await call('gpulens_trace_summary', { trace: link });
  assert.match(text(viaLink), /outside the traces and the workspace/);
  const etc = await call('gpulens_trace_summary', { trace: '/etc/passwd' });
  assert.match(text(etc), /outside/);
});
