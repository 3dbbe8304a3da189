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
