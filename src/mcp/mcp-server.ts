/**
 * `gpu-lens mcp [--workspace DIR] [--path-map FROM=TO]… [TRACE…]`: the agent tools over the Model
 * Context Protocol on stdio (official TypeScript SDK), for terminal agents. Read-only: captures are
 * not offered here, and only the traces given and files inside the workspace can be read.
 * stdout is the protocol channel: diagnostics go to stderr.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import {
  CallToolRequestSchema,
  ListToolsRequestSchema,
  type CallToolResult,
} from '@modelcontextprotocol/sdk/types.js';
import { runReadOnlyTool, type ResolvedTrace, type TraceSource } from '../core/agent/run-tool';
import { TOOL_SPECS } from '../core/agent/tool-specs';
import { ToolInputError } from '../core/agent/validate';
import { runAnalysis } from '../core/analysis-runner';
import { DEFAULT_MAX_EVENTS } from '../core/ingest/event-budget';
import { parsePathMap } from '../core/workspace-paths';
import { AllowedPaths } from './allowed-paths';

const USAGE = 'usage: gpu-lens mcp [--workspace DIR] [--path-map FROM=TO]... [TRACE...]';
/** Reports kept in memory; the least recently used is dropped past this. */
const MAX_LOADED = 4;

export interface McpArgs {
  workspace: string;
  pathMap: string[];
  traces: string[];
}

export function parseMcpArgs(argv: readonly string[]): McpArgs {
  const args: McpArgs = { workspace: process.cwd(), pathMap: [], traces: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--workspace') args.workspace = path.resolve(value());
    else if (a === '--path-map') args.pathMap.push(value());
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}; ${USAGE}`);
    else args.traces.push(path.resolve(a));
  }
  for (const p of [args.workspace, ...args.traces])
    if (!fs.existsSync(p)) throw new Error(`${p} does not exist`);
  return args;
}

/** Loads traces on demand (within the allowed paths) and keeps the last few Reports. */
class TraceLoader implements TraceSource {
  private readonly allowed: AllowedPaths;
  private readonly loaded = new Map<string, Promise<ResolvedTrace>>();

  constructor(
    private readonly args: McpArgs,
    private readonly pathMap: ReturnType<typeof parsePathMap>['map'],
  ) {
    this.allowed = new AllowedPaths([args.workspace, ...args.traces]);
  }

  list() {
    const given = this.args.traces.map((p, i) => ({ id: p, path: p, active: i === 0 }));
    const others = [...this.loaded.keys()]
      .filter((p) => !this.args.traces.includes(p))
      .map((p) => ({ id: p, path: p, active: false }));
    return Promise.resolve([...given, ...others]);
  }

  resolve(trace: string | undefined): Promise<ResolvedTrace> {
    const wanted = trace ?? this.args.traces[0];
    if (wanted === undefined)
      throw new ToolInputError('no trace given: pass "trace" (a trace file or folder path)');
    let real: string;
    try {
      real = this.allowed.check(wanted, this.args.workspace);
    } catch (e) {
      throw new ToolInputError(e instanceof Error ? e.message : String(e));
    }
    let report = this.loaded.get(real);
    if (report) this.loaded.delete(real);
    else
      report = runAnalysis({
        tracePath: real,
        workspaceFolder: this.args.workspace,
        maxEvents: DEFAULT_MAX_EVENTS,
        pathMap: this.pathMap,
        thresholds: {},
      }).then((r) => ({ report: r, workspaceRoot: this.args.workspace }));
    // Re-inserted last: Map order is the recency order.
    this.loaded.set(real, report);
    if (this.loaded.size > MAX_LOADED) this.loaded.delete(this.loaded.keys().next().value!);
    report.catch(() => this.loaded.delete(real));
    return report;
  }
}

/** The MCP server over `source` (not yet connected to a transport). */
export function createMcpServer(source: TraceSource, version: string): Server {
  const server = new Server({ name: 'gpu-lens', version }, { capabilities: { tools: {} } });
  const tools = TOOL_SPECS.filter((t) => t.readOnly);
  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: tools.map((t) => ({
      name: t.name,
      title: t.title,
      description: t.description,
      inputSchema: t.inputSchema,
      annotations: { readOnlyHint: true, openWorldHint: false },
    })),
  }));
  server.setRequestHandler(CallToolRequestSchema, async (req): Promise<CallToolResult> => {
    try {
      const answer = await runReadOnlyTool(req.params.name, req.params.arguments, source);
      return { content: [{ type: 'text', text: answer.text }], structuredContent: answer.data };
    } catch (e) {
      // Bad arguments and unreadable traces are answers the agent can act on, not protocol errors.
      const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
      return { content: [{ type: 'text', text: `gpu-lens: ${msg}` }], isError: true };
    }
  });
  return server;
}

/** Runs `gpu-lens mcp …` until stdin closes. */
export async function runMcp(argv: readonly string[], version: string): Promise<void> {
  const args = parseMcpArgs(argv);
  const { map, errors } = parsePathMap(args.pathMap);
  if (errors.length > 0) throw new Error(errors[0]);
  const server = createMcpServer(new TraceLoader(args, map), version);
  const closed = new Promise<void>((resolve) => (server.onclose = resolve));
  await server.connect(new StdioServerTransport());
  await closed;
}
