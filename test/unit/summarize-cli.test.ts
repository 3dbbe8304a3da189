/**
 * `gpu-lens summarize` as users run it (`node dist/cli.js`, built by `node esbuild.mjs`): alone,
 * and one task per rank under a real one-node Slurm (`srun -n 4`, each task picking its rank's
 * trace from SLURM_PROCID); `analyze` on the summaries prints the Report of the traces.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { fixture, ownFixture, repoRoot } from './fixtures';
import { scenariosDir } from './rule-helpers';
import { startSlurm } from './slurm-cluster';

const cli = path.join(repoRoot, 'dist', 'cli.js');
const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'gl-summarize-'));

function run(...args: string[]) {
  assert.ok(fs.existsSync(cli), `${cli} is missing: run \`node esbuild.mjs\` first`);
  const r = spawnSync(process.execPath, [cli, ...args], {
    encoding: 'utf8',
    timeout: 120_000,
    maxBuffer: 256 << 20,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `analyze P --workspace scenarios` JSON, the paths naming the files opened set aside. */
function analyzed(p: string): string {
  const r = run('analyze', p, '--workspace', scenariosDir);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as {
    source: { path: string };
    summary: { rankAlignment: { file: string }[] };
  };
  report.source.path = '';
  for (const a of report.summary.rankAlignment) a.file = a.file.replace(/\.[^/\\]*$/, '');
  return JSON.stringify(report);
}

void test('summarize writes the summary, analyze on it prints the trace Report; bad input exits 1 or 2 with one line', () => {
  const trace = fixture('torch', 'h100-bert-small-stack.json.gz');
  const dir = tmp();
  const out = path.join(dir, 'bert.gpulens');
  const r = run('summarize', trace, '-o', out);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /^wrote .*bert\.gpulens: .* from .* \(\d+ GPU ops, \d+ calls, \d+ ranges\) in [\d.]+ s\n$/,
  );
  assert.equal(fs.readFileSync(out).subarray(0, 16).toString('latin1'), 'gpu-lens summary');
  assert.equal(analyzed(out), analyzed(trace));
  // -o FOLDER/ names the summary after the trace (made if missing).
  const nsys = fixture('nsys', 'h200-nvfuser-nvtx-2024.6.sqlite');
  assert.equal(run('summarize', nsys, '--output', path.join(dir, 'sub') + '/').code, 0);
  assert.ok(fs.existsSync(path.join(dir, 'sub', 'h200-nvfuser-nvtx-2024.6.gpulens')));
  assert.equal(analyzed(path.join(dir, 'sub', 'h200-nvfuser-nvtx-2024.6.gpulens')), analyzed(nsys));

  const cut = path.join(dir, 'cut.gpulens');
  const whole = fs.readFileSync(out);
  fs.writeFileSync(cut, whole.subarray(0, whole.length - 100));
  for (const [args, code, re] of [
    [['summarize', trace], 2, /summarize needs a trace and -o/],
    [['summarize', trace, '-o'], 2, /-o needs a value/],
    [
      ['summarize', trace, '-o', path.join(dir, 'x.sum')],
      2,
      /x\.sum: a summary's name ends in \.gpulens/,
    ],
    [['summarize', trace, '-o', out, '--max-events', '0'], 2, /--max-events must be/],
    [['summarize', trace, '-o', out, '--format', 'json'], 2, /unknown option --format/],
    [
      ['summarize', ownFixture('ranks', 'gloo-torch'), '-o', out],
      1,
      /is a folder: summarize reads one rank's trace/,
    ],
    [['summarize', out, '-o', path.join(dir, 'again.gpulens')], 1, /already a gpu-lens summary/],
    [
      ['summarize', trace, '-o', out, '--max-events', '10'],
      1,
      /event budget\): raise it with --max-events/,
    ],
    [
      ['analyze', cut],
      1,
      /cut\.gpulens: not a readable GPU Lens summary: the columns are corrupt or truncated/,
    ],
  ] as [string[], number, RegExp][]) {
    const res = run(...args);
    assert.equal(res.code, code, `${args.join(' ')}: ${res.stderr}`);
    assert.equal(res.stdout, '');
    assert.equal(res.stderr.trim().split('\n').length, 1, `one line: ${res.stderr}`);
    assert.match(res.stderr, /^gpu-lens: /);
    assert.match(res.stderr, re);
  }
  // A failed summarize leaves the summary written before untouched (written aside, renamed in).
  assert.equal(analyzed(out), analyzed(trace));
  assert.deepEqual(
    fs.readdirSync(dir).filter((n) => n.endsWith('.tmp')),
    [],
  );
});

void test('--help documents summarize and its options', () => {
  const r = run('summarize', '--help');
  assert.equal(r.code, 0, r.stderr);
  for (const word of [
    'gpu-lens summarize',
    '--output OUT, -o OUT',
    '.gpulens',
    'srun -n',
    'SLURM_PROCID',
  ])
    assert.ok(r.stdout.includes(word), `--help lacks ${word}`);
});

/** Runs `srun ARGS` on the test cluster; rejects with its stderr on failure. */
function srun(env: NodeJS.ProcessEnv, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('srun', args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`srun exited ${code}: ${err}`)),
    );
  });
}

void test(
  'under Slurm: srun -n 4 gpu-lens summarize (each task its SLURM_PROCID rank), then analyze the summaries',
  { timeout: 600_000 },
  async () => {
    const cluster = await startSlurm();
    const dir = tmp();
    try {
      for (const [kind, ext] of [
        ['gloo-torch', '.json.gz'],
        ['gloo-nsys', '.sqlite'],
      ]) {
        const traces = ownFixture('ranks', kind);
        const out = path.join(dir, kind) + '/';
        // The line a job script holds: the shell of each task expands its own SLURM_PROCID.
        const line = `"$0" "$1" summarize "$2/rank$SLURM_PROCID${ext}" -o "$3"`;
        await srun(cluster.env, [
          '-n',
          '4',
          '--overcommit',
          'sh',
          '-c',
          line,
          process.execPath,
          cli,
          traces,
          out,
        ]);
        assert.deepEqual(
          fs.readdirSync(out).sort(),
          [0, 1, 2, 3].map((r) => `rank${r}.gpulens`),
        );
        assert.equal(analyzed(out), analyzed(traces));
      }
    } finally {
      cluster.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);
