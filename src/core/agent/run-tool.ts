/**
 * Runs a read-only agent tool against whatever holds the Reports: the language server (VS Code
 * Language Model Tools) or the MCP server's own loader. Both hosts validate and answer alike.
 */
import type { Report } from '../report-types';
import {
  compareAnswer,
  explainLineAnswer,
  findingsAnswer,
  hotLinesAnswer,
  listTracesAnswer,
  summaryAnswer,
  type ToolAnswer,
  type TraceEntry,
} from './answers';
import {
  COMPARE,
  EXPLAIN_LINE,
  FINDINGS,
  HOT_LINES,
  LIST_TRACES,
  TRACE_SUMMARY,
  toolSpec,
} from './tool-specs';
import { ToolInputError, validateToolInput } from './validate';

/** A Report and the workspace root its file names are relative to. */
export interface ResolvedTrace {
  report: Report;
  workspaceRoot?: string;
}

/** Where the tools find traces. `trace` is what the agent passed (undefined: the default one). */
export interface TraceSource {
  list(): Promise<TraceEntry[]>;
  /** Throws ToolInputError when the trace is unknown or not allowed. */
  resolve(trace: string | undefined): Promise<ResolvedTrace>;
}

interface Args {
  trace?: string;
  baseline?: string;
  file?: string;
  line?: number;
  rule?: string;
  limit?: number;
  sortBy?: 'self' | 'total';
  thresholdPct?: number;
}

/** Validates `input` and answers tool `name` (throws ToolInputError on bad input). */
export async function runReadOnlyTool(
  name: string,
  input: unknown,
  source: TraceSource,
): Promise<ToolAnswer> {
  const spec = toolSpec(name);
  if (!spec || !spec.readOnly) throw new ToolInputError(`unknown tool "${name}"`);
  const args = validateToolInput<Args>(spec, input);
  if (name === LIST_TRACES) return listTracesAnswer(await source.list());
  const { report, workspaceRoot } = await source.resolve(args.trace);
  switch (name) {
    case TRACE_SUMMARY:
      return summaryAnswer(report);
    case HOT_LINES:
      return hotLinesAnswer(report, args, workspaceRoot);
    case EXPLAIN_LINE:
      return explainLineAnswer(report, { file: args.file!, line: args.line! }, workspaceRoot);
    case FINDINGS:
      return findingsAnswer(report, args, workspaceRoot);
    case COMPARE:
      return compareAnswer((await source.resolve(args.baseline)).report, report, args);
    default:
      throw new ToolInputError(`unknown tool "${name}"`);
  }
}
