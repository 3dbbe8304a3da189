/**
 * `gpu-lens analyze <trace-file|folder> [--workspace DIR] [--path-map FROM=TO]… [--format json|markdown]`
 * Prints the Report. Exit 0 on success; non-zero with a one-line reason on failure.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { toMarkdown } from './core/export/markdown';
import { loadTrace } from './core/load';
import { buildReport } from './core/report';
import { parsePathMap } from './core/workspace-paths';

const USAGE = `usage: gpu-lens analyze <trace-file|folder> [--workspace DIR] [--path-map FROM=TO]... [--format json|markdown]`;

export interface CliArgs {
  trace: string;
  workspace: string;
  pathMap: string[];
  format: 'json' | 'markdown';
}

export function parseArgs(argv: string[]): CliArgs {
  const [command, ...rest] = argv;
  if (command !== 'analyze') throw new Error(command ? `unknown command "${command}"; ${USAGE}` : USAGE);
  const args: CliArgs = { trace: '', workspace: process.cwd(), pathMap: [], format: 'json' };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    const value = (): string => {
      const v = rest[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--workspace') args.workspace = path.resolve(value());
    else if (a === '--path-map') args.pathMap.push(value());
    else if (a === '--format') {
      const f = value();
      if (f !== 'json' && f !== 'markdown') throw new Error(`--format must be json or markdown, not "${f}"`);
      args.format = f;
    } else if (a.startsWith('--')) throw new Error(`unknown option ${a}; ${USAGE}`);
    else if (args.trace) throw new Error(`one trace at a time ("${args.trace}" and "${a}" given)`);
    else args.trace = path.resolve(a);
  }
  if (!args.trace) throw new Error(USAGE);
  return args;
}

async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const { map, errors } = parsePathMap(args.pathMap);
  if (errors.length > 0) throw new Error(errors[0]);
  if (!fs.existsSync(args.workspace)) throw new Error(`workspace ${args.workspace} does not exist`);
  const profile = await loadTrace(args.trace, { cacheDir: path.join(os.tmpdir(), 'gpu-lens-exports') });
  const report = buildReport(profile, { workspaceRoot: args.workspace, pathMap: map });
  process.stdout.write(args.format === 'json' ? JSON.stringify(report, null, 1) + '\n' : toMarkdown(report) + '\n');
  return 0;
}

/**
 * better-sqlite3 needs Node ≥ 22. Under an older Node, re-run this file with the Node 24 that the
 * project ships (devDependency `node`), so `node dist/cli.js` works with the machine's Node too.
 */
function reexecOnNewerNode(): number | null {
  if (Number(process.versions.node.split('.')[0]) >= 22) return null;
  const node24 = path.join(__dirname, '..', 'node_modules', 'node', 'bin', 'node');
  if (!fs.existsSync(node24)) return null;
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
      process.stderr.write(`gpu-lens: ${msg.split('\n')[0]}\n`);
      process.exit(msg.startsWith('usage:') ? 2 : 1);
    },
  );
}
