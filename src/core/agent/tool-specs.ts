/**
 * The tools GPU Lens offers to coding agents: one list for the VS Code Language Model Tools
 * (package.json `contributes.languageModelTools`, kept in step by a unit test) and the MCP server
 * (`gpu-lens mcp`). Each input schema is JSON Schema (draft 7), checked by validate.ts before a
 * tool runs, so both hosts refuse the same bad arguments with the same message.
 */

/** JSON Schema of a tool's input (the subset the tools use). */
export interface InputSchema {
  type: 'object';
  properties: Record<string, Record<string, unknown>>;
  required?: string[];
  additionalProperties: false;
}

export interface ToolSpec {
  /** Tool name (VS Code and MCP): lower snake case, prefixed `gpulens_`. */
  name: string;
  /** Short human title. */
  title: string;
  /** What the tool answers, written for a model choosing a tool. */
  description: string;
  inputSchema: InputSchema;
  /** False for the tool that acts (runs a capture): VS Code asks the user first; MCP never offers it. */
  readOnly: boolean;
}

const trace = {
  type: 'string',
  minLength: 1,
  maxLength: 4096,
  description:
    'Which trace: a loaded trace id or its path (VS Code), or a trace file/folder path (MCP). ' +
    'Omit for the active trace (VS Code) or the first trace given to the server (MCP).',
};
const file = {
  type: 'string',
  minLength: 1,
  maxLength: 4096,
  description:
    'Source file: workspace-relative or absolute path (a unique suffix such as "model.py" works too).',
};
const limit = {
  type: 'integer',
  minimum: 1,
  maximum: 50,
  description: 'At most this many items (default 10).',
};

export const LIST_TRACES = 'gpulens_list_traces';
export const TRACE_SUMMARY = 'gpulens_trace_summary';
export const HOT_LINES = 'gpulens_hot_lines';
export const EXPLAIN_LINE = 'gpulens_explain_line';
export const FINDINGS = 'gpulens_findings';
export const COMPARE = 'gpulens_compare';
export const PROFILE_AGAIN = 'gpulens_profile_again';

export const TOOL_SPECS: readonly ToolSpec[] = [
  {
    name: LIST_TRACES,
    title: 'List GPU traces',
    description:
      'Lists the GPU profiler traces (Nsight Systems, torch.profiler) GPU Lens has loaded or may read: id, path, and which one is active.',
    inputSchema: { type: 'object', properties: {}, additionalProperties: false },
    readOnly: true,
  },
  {
    name: TRACE_SUMMARY,
    title: 'Summarize a GPU trace',
    description:
      'Summary of a GPU trace: wall/busy/idle time, GPU active %, what the idle time was spent on, the bottleneck class, and the top findings with the time their fix would save.',
    inputSchema: { type: 'object', properties: { trace }, additionalProperties: false },
    readOnly: true,
  },
  {
    name: HOT_LINES,
    title: 'Hot Python lines by GPU time',
    description:
      'The Python source lines that launched the most GPU time (self and total, kernel count, top kernels), for the whole workspace or one file.',
    inputSchema: {
      type: 'object',
      properties: {
        trace,
        file,
        limit,
        sortBy: {
          type: 'string',
          enum: ['self', 'total'],
          description: 'Rank by self (default) or total GPU time.',
        },
      },
      additionalProperties: false,
    },
    readOnly: true,
  },
  {
    name: EXPLAIN_LINE,
    title: 'Explain the GPU time of a line',
    description:
      'Everything GPU Lens knows about one source line: self and total GPU time, share of the run, kernels it launched, NVTX/record_function ranges opened there, findings located there with their fixes, and the precision of the figures.',
    inputSchema: {
      type: 'object',
      properties: {
        trace,
        file,
        line: { type: 'integer', minimum: 1, description: '1-based line number.' },
      },
      required: ['file', 'line'],
      additionalProperties: false,
    },
    readOnly: true,
  },
  {
    name: FINDINGS,
    title: 'GPU bottleneck findings and fixes',
    description:
      'The bottleneck findings of a trace, largest saving first: rule, severity, message, estimated saving, source locations, and the fix with a code snippet. Filter by rule id or file.',
    inputSchema: {
      type: 'object',
      properties: {
        trace,
        rule: {
          type: 'string',
          minLength: 1,
          maxLength: 100,
          description: 'Only this rule id (e.g. "gpu-idle-gaps").',
        },
        file,
        limit,
      },
      additionalProperties: false,
    },
    readOnly: true,
  },
  {
    name: COMPARE,
    title: 'Compare a GPU trace with a baseline',
    description:
      'Compares a trace with a baseline trace of the same workload: change of wall, busy, idle and kernel time, and the lines, kernels and rules that moved most (flagged past the threshold).',
    inputSchema: {
      type: 'object',
      properties: {
        trace,
        baseline: { ...trace, description: 'The baseline trace (id or path, as for trace).' },
        thresholdPct: {
          type: 'number',
          minimum: 0,
          maximum: 1000,
          description: 'Flag changes past this % (default 10).',
        },
        limit,
      },
      required: ['baseline'],
      additionalProperties: false,
    },
    readOnly: true,
  },
  {
    name: PROFILE_AGAIN,
    title: 'Profile again',
    description:
      'Runs the same GPU Lens capture task that produced a trace again (executes the workspace code under the profiler) and loads the new trace. Only in a trusted workspace, and only for traces captured by GPU Lens in this window.',
    inputSchema: { type: 'object', properties: { trace }, additionalProperties: false },
    readOnly: false,
  },
];

/** The spec of a tool by name. */
export function toolSpec(name: string): ToolSpec | undefined {
  return TOOL_SPECS.find((t) => t.name === name);
}
