/** The CLI as users run it: `node dist/cli.js analyze …` (built by `node esbuild.mjs`). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { fixture, repoRoot } from './fixtures';

const cli = path.join(repoRoot, 'dist', 'cli.js');

function run(...args: string[]) {
  assert.ok(fs.existsSync(cli), `${cli} is missing: run \`node esbuild.mjs\` first`);
  const r = spawnSync(process.execPath, [cli, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 256 << 20,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

void test('analyze prints the Report contract as JSON', () => {
  const file = fixture('nsys', 'rtx5000-attention-nvtx-2026.2.sqlite');
  const r = run('analyze', file, '--workspace', os.tmpdir());
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as Record<string, unknown> & {
    summary: { kernelCount: number; kernelNs: number };
    kernels: { name: string; count: number; totalNs: number }[];
  };
  assert.equal(report.schema, 'gpu-lens/report@1');
  for (const key of [
    'source',
    'summary',
    'kernels',
    'lines',
    'ranges',
    'findings',
    'unattributedNs',
  ]) {
    assert.ok(key in report, `report has ${key}`);
  }
  const db = new Database(file, { readonly: true });
  const top = db
    .prepare(
      `SELECT s.value name, COUNT(*) n, SUM(k.end - k.start) ns FROM CUPTI_ACTIVITY_KIND_KERNEL k
       JOIN StringIds s ON s.id = k.demangledName GROUP BY k.demangledName ORDER BY ns DESC LIMIT 1`,
    )
    .get() as { name: string; n: number; ns: number };
  db.close();
  assert.deepEqual(
    {
      name: report.kernels[0].name,
      count: report.kernels[0].count,
      totalNs: report.kernels[0].totalNs,
    },
    { name: top.name, count: top.n, totalNs: top.ns },
  );
});

void test('analyze --format markdown prints a readable report', () => {
  const r = run(
    'analyze',
    fixture('torch', 'h100-bert-small-stack.json.gz'),
    '--format',
    'markdown',
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^# GPU Lens report/);
  assert.match(r.stdout, /## Hot lines/);
  assert.match(r.stdout, /## Kernels/);
});

void test('failures exit non-zero with a one-line reason', () => {
  const junk = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gl-cli-')), 'junk.sqlite');
  fs.writeFileSync(junk, 'this is not a database at all');
  for (const args of [
    ['analyze', junk],
    ['analyze', '/no/such/trace.json'],
    ['frobnicate'],
    ['analyze', junk, '--format', 'xml'],
  ]) {
    const r = run(...args);
    assert.notEqual(r.code, 0, `${args.join(' ')} should fail`);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
    assert.match(r.stderr, /^gpu-lens: /);
  }
});

void test('the CLI runs under the machine Node too (re-runs itself on the bundled Node 24)', () => {
  const systemNode = ['/usr/bin/node', '/usr/local/bin/node'].find((p) => fs.existsSync(p));
  assert.ok(systemNode, 'a system node exists');
  const r = spawnSync(
    systemNode,
    [cli, 'analyze', fixture('nsys', 'h200-nvfuser-nvtx-2024.6.sqlite')],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { schema: string }).schema, 'gpu-lens/report@1');
});

void test('a trace nested 200 000 levels deep fails with one line naming the depth, no stack trace', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gl-cli-'));
  const n = 200_000;
  const kernel = '{"ph":"X","cat":"kernel","name":"k","pid":1,"tid":7,"ts":1,"dur":2}';
  const deep = path.join(dir, 'deep.json');
  fs.writeFileSync(deep, `{"traceEvents":[${kernel}],"meta":${'['.repeat(n)}${']'.repeat(n)}}`);
  const r = run('analyze', deep, '--workspace', dir);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  assert.match(
    r.stderr,
    /^gpu-lens: .*deep\.json: not a readable trace: the top-level "meta" value is nested deeper than 1000 levels\n$/,
  );
  // An event with a deeply nested pid is skipped as malformed; the rest of the trace is read.
  const event = path.join(dir, 'event.json');
  const badPid = `{"ph":"X","cat":"kernel","name":"k","pid":${'['.repeat(n)}${']'.repeat(n)},"tid":7,"ts":5,"dur":2}`;
  fs.writeFileSync(event, `{"traceEvents":[${kernel},${badPid}]}`);
  const ok = run('analyze', event, '--workspace', dir);
  assert.equal(ok.code, 0, ok.stderr);
  const report = JSON.parse(ok.stdout) as { summary: { kernelCount: number }; warnings: string[] };
  assert.equal(report.summary.kernelCount, 1);
  assert.ok(
    report.warnings.some((w) => /1 malformed trace events/.test(w)),
    report.warnings.join(),
  );
});

void test('--help, -h and help print the commands and every option of analyze, exit 0', () => {
  for (const args of [['--help'], ['-h'], ['help'], ['analyze', '--help'], ['mcp', '-h']]) {
    const r = run(...args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr, '');
    for (const word of ['gpu-lens analyze', 'gpu-lens mcp', 'Exit status'])
      assert.ok(r.stdout.includes(word), `${args.join(' ')} lacks ${word}`);
    // Every option parseArgs accepts is documented (read from the parser's own source).
    const parser = fs.readFileSync(path.join(repoRoot, 'src', 'cli.ts'), 'utf8');
    const options = [...parser.matchAll(/a === '(--[a-z-]+)'/g)].map((m) => m[1]);
    assert.ok(options.length >= 7, options.join(' '));
    for (const o of options) assert.match(r.stdout, new RegExp(`^  ${o}\\b`, 'm'), o);
  }
});

void test('a wrong command line is one line naming the part at fault, exit 2', () => {
  const trace = fixture('nsys', 'rtx5000-attention-nvtx-2026.2.sqlite');
  const cases: [string[], RegExp][] = [
    [[], /^usage: gpu-lens analyze .*; run gpu-lens --help/],
    [
      ['profile', trace],
      /^unknown command "profile": the commands are analyze, summarize and mcp; run gpu-lens --help/,
    ],
    [['analyze'], /^analyze needs a trace; usage:/],
    [['analyze', trace, '--bogus'], /^unknown option --bogus; run gpu-lens --help/],
    [['analyze', trace, '--format'], /^--format needs a value; run gpu-lens --help/],
    [
      ['analyze', trace, '--format', 'xml'],
      /^--format must be json or markdown or sarif, not "xml"$/,
    ],
    [['analyze', trace, '--fail-on', 'info'], /^--fail-on must be warning or error, not "info"$/],
    [['analyze', trace, '--threshold', 'x'], /^--threshold must be a percentage ≥ 0$/],
    [['analyze', trace, '--max-events', '0'], /^--max-events must be a whole number ≥ 1$/],
    [['analyze', trace, trace], /^one trace at a time/],
  ];
  for (const [args, message] of cases) {
    const r = run(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0].replace(/^gpu-lens: /, ''), message, args.join(' '));
  }
});
