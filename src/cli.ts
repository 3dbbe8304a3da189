/**
 * `gpu-lens analyze <trace-file|folder> [--workspace DIR] [--path-map FROM=TO]… [--format json|markdown|sarif]
 *  [--baseline TRACE] [--threshold PCT] [--fail-on warning|error] [--max-events N]
 *  [--no-library-fallback]`
 * Prints the Report (with a comparison when a baseline is given). Exit 0 on success, 3 when
 * `--fail-on` finds a finding that severe, otherwise non-zero with a one-line reason on failure.
 * `gpu-lens summarize <trace-file> -o <summary|dir/> [--max-events N]` writes one rank's summary
 * (core/ingest/summary-file.ts), which `analyze` reads in place of the trace, alone or in a folder.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { compare, type Comparison } from './core/compare';
import { comparisonMarkdown, toMarkdown } from './core/export/markdown';
import { toSarif } from './core/export/sarif';
import { DEFAULT_MAX_EVENTS, EventBudgetError } from './core/ingest/event-budget';
import { detectTraceKind } from './core/load';
import { readRankFile, summaryName } from './core/ingest/rank-files';
import { EventBudget } from './core/ingest/event-budget';
import { writeSummaryFile } from './core/ingest/summary-file-write';
import { SUMMARY_EXT } from './core/ingest/summary-file';
import { formatBytes } from './core/format';
import { runAnalysis } from './core/analysis-runner';
import { parsePathMap } from './core/workspace-paths';
import { HELP } from './cli-help';
import { unsupportedNodeMessage } from './core/node-support';
import { runMcp } from './mcp/mcp-server';

const USAGE =
  'usage: gpu-lens analyze <trace-file|folder> [--workspace DIR] [--path-map FROM=TO]... ' +
  '[--format json|markdown|sarif] [--baseline TRACE] [--threshold PCT] [--fail-on warning|error] ' +
  '[--max-events N] [--no-library-fallback]';

const FORMATS = ['json', 'markdown', 'sarif'] as const;
const FAIL_ON = ['warning', 'error'] as const;

export interface CliArgs {
  trace: string;
  workspace: string;
  pathMap: string[];
  format: (typeof FORMATS)[number];
  baseline: string | null;
  thresholdPct: number;
  failOn: (typeof FAIL_ON)[number] | null;
  /** The event budget of each load (`--max-events`). */
  maxEvents: number;
  /** Library fallback (core/library-frames.ts); `--no-library-fallback` turns it off. */
  libraryFallback: boolean;
}

/** A wrong command line: exit status 2, and the message says which part and what it must be. */
export class UsageError extends Error {}

const HELP_FLAGS = ['--help', '-h'];
const SEE_HELP = 'run gpu-lens --help for the options';

function oneOf<T extends string>(option: string, v: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(v))
    throw new UsageError(`${option} must be ${allowed.join(' or ')}, not "${v}"`);
  return v as T;
}

/** `--max-events N`: a whole number ≥ 1. */
function maxEventsValue(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError('--max-events must be a whole number ≥ 1');
  return n;
}

export function parseArgs(argv: string[]): CliArgs {
  const [command, ...rest] = argv;
  if (command !== 'analyze') {
    throw new UsageError(
      command
        ? `unknown command "${command}": the commands are analyze, summarize and mcp; ${SEE_HELP}`
        : `${USAGE}; ${SEE_HELP}`,
    );
  }
  const args: CliArgs = {
    trace: '',
    workspace: process.cwd(),
    pathMap: [],
    format: 'json',
    baseline: null,
    thresholdPct: 10,
    failOn: null,
    maxEvents: DEFAULT_MAX_EVENTS,
    libraryFallback: true,
  };
  for (const { arg: a, value } of commandArgs(rest)) {
    if (a === '--workspace') args.workspace = path.resolve(value());
    else if (a === '--path-map') args.pathMap.push(value());
    else if (a === '--no-library-fallback') args.libraryFallback = false;
    else if (a === '--format') args.format = oneOf(a, value(), FORMATS);
    else if (a === '--fail-on') args.failOn = oneOf(a, value(), FAIL_ON);
    else if (a === '--baseline') args.baseline = path.resolve(value());
    else if (a === '--threshold') {
      args.thresholdPct = Number(value());
      if (!(args.thresholdPct >= 0)) throw new UsageError('--threshold must be a percentage ≥ 0');
    } else if (a === '--max-events') args.maxEvents = maxEventsValue(value());
    else if (a.startsWith('-')) throw new UsageError(`unknown option ${a}; ${SEE_HELP}`);
    else if (args.trace)
      throw new UsageError(`one trace at a time ("${args.trace}" and "${a}" given)`);
    else args.trace = path.resolve(a);
  }
  if (!args.trace) throw new UsageError(`analyze needs a trace; ${USAGE}`);
  return args;
}

/**
 * A command's arguments in order; `value()` takes the argument after the current option (the loop
 * then goes on after it), a UsageError when there is none.
 */
function* commandArgs(rest: string[]): Generator<{ arg: string; value: () => string }> {
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    yield {
      arg,
      value: () => {
        const v = rest[++i];
        if (v === undefined) throw new UsageError(`${arg} needs a value; ${SEE_HELP}`);
        return v;
      },
    };
  }
}

export interface SummarizeArgs {
  trace: string;
  /** The summary file to write (an `-o` folder is resolved to the trace's summary name in it). */
  out: string;
  maxEvents: number;
}

const SUMMARIZE_USAGE =
  'usage: gpu-lens summarize <trace-file> -o <summary-file|folder/> [--max-events N]';

/** `summarize TRACE -o OUT [--max-events N]`; an `OUT` ending in `/` or naming a folder gets `rank3.gpulens`. */
export function parseSummarizeArgs(rest: string[]): SummarizeArgs {
  let trace = '';
  let out = '';
  let maxEvents = DEFAULT_MAX_EVENTS;
  for (const { arg: a, value } of commandArgs(rest)) {
    if (a === '-o' || a === '--output') out = value();
    else if (a === '--max-events') maxEvents = maxEventsValue(value());
    else if (a.startsWith('-')) throw new UsageError(`unknown option ${a}; ${SEE_HELP}`);
    else if (trace) throw new UsageError(`one trace at a time ("${trace}" and "${a}" given)`);
    else trace = path.resolve(a);
  }
  if (!trace || !out) throw new UsageError(`summarize needs a trace and -o; ${SUMMARIZE_USAGE}`);
  const isDir = /[\\/]$/.test(out) || (fs.existsSync(out) && fs.statSync(out).isDirectory());
  const file = isDir ? path.join(out, summaryName(path.basename(trace))) : out;
  if (!file.toLowerCase().endsWith(SUMMARY_EXT))
    throw new UsageError(
      `-o ${out}: a summary's name ends in ${SUMMARY_EXT} (what rank folders read)`,
    );
  return { trace, out: path.resolve(file), maxEvents };
}

/** Reads one rank's trace and writes its summary; returns the line to print. */
async function summarize(args: SummarizeArgs): Promise<string> {
  const kind = detectTraceKind(args.trace);
  if (kind === 'rank-folder')
    throw new Error(
      `${args.trace} is a folder: summarize reads one rank's trace (run it per file)`,
    );
  if (kind === 'summary') throw new Error(`${args.trace} is already a gpu-lens summary`);
  if (args.out === args.trace) throw new Error(`-o ${args.out} would overwrite the trace`);
  const t0 = Date.now();
  const read = await readRankFile(args.trace, { budget: new EventBudget(args.maxEvents) });
  await fs.promises.mkdir(path.dirname(args.out), { recursive: true });
  const bytes = await writeSummaryFile(read, path.basename(args.trace), args.out);
  const p = read.profile;
  const traceBytes = fs.statSync(args.trace).size;
  return (
    `wrote ${args.out}: ${formatBytes(bytes)} from ${formatBytes(traceBytes)} ` +
    `(${p.gpuOps.length} GPU ops, ${p.cpuCalls.length} calls, ` +
    `${p.ranges.length + p.operators.length} ranges) ` +
    `in ${((Date.now() - t0) / 1000).toFixed(2)} s`
  );
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'help' || argv.some((a) => HELP_FLAGS.includes(a))) {
    await writeOut(HELP);
    return 0;
  }
  if (argv[0] === 'mcp') {
    await runMcp(argv.slice(1), packageVersion());
    return 0;
  }
  if (argv[0] === 'summarize') {
    await writeOut(await summarize(parseSummarizeArgs(argv.slice(1))).catch(raiseBudgetHint));
    return 0;
  }
  const args = parseArgs(argv);
  const { map, errors } = parsePathMap(args.pathMap);
  if (errors.length > 0) throw new Error(errors[0]);
  if (!fs.existsSync(args.workspace)) throw new Error(`workspace ${args.workspace} does not exist`);
  const analyze = (trace: string) =>
    runAnalysis(
      {
        tracePath: trace,
        workspaceFolder: args.workspace,
        maxEvents: args.maxEvents,
        pathMap: map,
        libraryFallback: args.libraryFallback,
        thresholds: {},
      },
      { budgetHint: BUDGET_HINT },
    );
  const report = await analyze(args.trace);
  let comparison: Comparison | null = null;
  if (args.baseline) comparison = compare(await analyze(args.baseline), report, args.thresholdPct);

  let out: string;
  if (args.format === 'sarif')
    out = JSON.stringify(toSarif(report, { workspaceRoot: args.workspace }), null, 1);
  else if (args.format === 'markdown')
    out = toMarkdown(report) + (comparison ? '\n' + comparisonMarkdown(comparison) : '');
  else out = JSON.stringify(comparison ? { ...report, comparison } : report, null, 1);
  await writeOut(out);

  const failing = args.failOn === 'error' ? ['error'] : ['error', 'warning'];
  return args.failOn && report.findings.some((f) => failing.includes(f.severity)) ? 3 : 0;
}

/** What an over-budget message adds: the option that raises the budget. */
const BUDGET_HINT = 'raise it with --max-events to analyze this trace';

/** Rethrows `e`, an event budget error saying which option raises the budget. */
function raiseBudgetHint(e: unknown): never {
  if (e instanceof EventBudgetError) throw new Error(`${e.message}: ${BUDGET_HINT}`);
  throw e;
}

/** Writes `text` and a newline to stdout and waits until the OS has it. */
function writeOut(text: string): Promise<void> {
  // process.exit drops what a full pipe has not taken yet.
  return new Promise<void>((resolve, reject) =>
    process.stdout.write(text + '\n', (e) => (e ? reject(e) : resolve())),
  );
}

/** The version in the package.json beside dist/ (the MCP server reports it). */
function packageVersion(): string {
  const file = path.join(__dirname, '..', 'package.json');
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
}

/**
 * better-sqlite3 needs Node ≥ 22. Under an older Node, re-run this file with the Node 24 that the
 * project ships (devDependency `node`), so `node dist/cli.js` works with the machine's Node too.
 */
function reexecOnNewerNode(): number | null {
  if (Number(process.versions.node.split('.')[0]) >= 22) return null;
  const node24 = path.join(__dirname, '..', 'node_modules', 'node', 'bin', 'node');
  if (!fs.existsSync(node24)) {
    const why = unsupportedNodeMessage(
      process.versions.node,
      'Run gpu-lens with Node 22 or newer.',
    );
    process.stderr.write(`gpu-lens: ${why}\n`);
    return 1;
  }
  const r = spawnSync(node24, [__filename, ...process.argv.slice(2)], { stdio: 'inherit' });
  return r.status ?? 1;
}

if (require.main === module) {
  const code = reexecOnNewerNode();
  if (code !== null) process.exit(code);
  main(process.argv.slice(2)).then(
    (c) => process.exit(c),
    (e: unknown) => {
      const msg = e instanceof Error ? e.message : String(e);
      // Messages can quote trace text: control characters (terminal escapes) are shown, not sent.
      const line = msg.split('\n')[0].replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => {
        return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
      });
      process.stderr.write(`gpu-lens: ${line}\n`);
      process.exit(e instanceof UsageError ? 2 : 1);
    },
  );
}
