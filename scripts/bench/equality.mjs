// The Reports before and after a model change: the CLI of a baseline commit (the object-model
// Profile, before the columnar one) and the CLI of this tree analyze the same inputs, and their JSON
// Reports are compared byte for byte. Inputs: every shared fixture trace, this repo's own captures
// (scenarios, rank folders, the memory capture) and the bench inputs given.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import * as esbuild from 'esbuild';

/** The last commit whose Profile held one object per op, call and range. */
export const OBJECT_MODEL_COMMIT = 'b7615a7';

/**
 * Bundles `src/cli.ts` of `commit` into `dir` (from `git archive`, no checkout), with the worker
 * entries that commit's CLI finds beside it; returns the CLI.
 */
async function baselineCli(root, commit, dir) {
  const cli = path.join(dir, 'dist', 'cli.js');
  if (fs.existsSync(cli)) return cli;
  const src = path.join(dir, 'tree');
  fs.mkdirSync(src, { recursive: true });
  const tar = execFileSync('git', ['-C', root, 'archive', commit, 'src'], { maxBuffer: 1 << 28 });
  execFileSync('tar', ['-x', '-C', src], { input: tar });
  const entries = {
    cli: 'src/cli.ts',
    'analyze-worker': 'src/core/analyze-worker.ts',
    'rank-read-worker': 'src/core/ingest/rank-read-worker.ts',
  };
  const entryPoints = Object.fromEntries(
    Object.entries(entries)
      .map(([name, file]) => [name, path.join(src, file)])
      .filter(([, file]) => fs.existsSync(file)),
  );
  await esbuild.build({
    entryPoints,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // Resolved at run time from this repository's node_modules (the bundle lies under .cache/).
    external: ['vscode', 'better-sqlite3'],
    outdir: path.dirname(cli),
    logLevel: 'warning',
  });
  return cli;
}

/** Every input the comparison runs on: fixture traces and folders, then `extra`. */
function inputsOf(root, fixtures, extra) {
  const files = (dir, keep) =>
    fs.existsSync(dir)
      ? fs
          .readdirSync(dir)
          .filter(keep)
          .sort()
          .map((n) => path.join(dir, n))
      : [];
  const trace = (n) => /\.(sqlite|json|json\.gz)$/.test(n);
  const own = path.join(root, 'test', 'fixtures');
  return [
    ...files(path.join(fixtures, 'nsys'), trace),
    ...files(path.join(fixtures, 'torch'), trace),
    ...files(path.join(own, 'scenarios'), trace),
    ...files(path.join(own, 'memory'), trace),
    ...files(path.join(own, 'ranks'), () => true),
    ...extra,
  ];
}

function analyze(cli, input, workspace) {
  const r = spawnSync(
    process.execPath,
    [cli, 'analyze', input, '--workspace', workspace, '--max-events', '100000000'],
    { encoding: 'buffer', maxBuffer: 1 << 30 },
  );
  return { status: r.status, out: r.stdout, err: r.stderr.toString('utf8').trim() };
}

/**
 * Analyzes each input with the baseline commit's CLI and this tree's `dist/cli.js`; returns how
 * many Reports are byte-identical and which inputs differ (or fail on either side).
 */
export async function compareReports({ root, cache, fixtures, commit, extra = [] }) {
  const base = await baselineCli(root, commit, path.join(cache, `baseline-${commit}`));
  const head = path.join(root, 'dist', 'cli.js');
  const workspace = path.join(root, 'test', 'scenarios');
  const inputs = inputsOf(root, fixtures, extra);
  const differ = [];
  for (const input of inputs) {
    const a = analyze(base, input, workspace);
    const b = analyze(head, input, workspace);
    const same = a.status === 0 && b.status === 0 && Buffer.compare(a.out, b.out) === 0;
    if (!same)
      differ.push(
        `${path.relative(root, input)} (exit ${a.status} / ${b.status}) ${b.err || a.err}`,
      );
  }
  return { commit, inputs: inputs.length, identical: inputs.length - differ.length, differ };
}
