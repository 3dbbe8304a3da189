/**
 * Unit tests of the capture pieces that need no VS Code: task definition checks, nsys flag
 * defaults against the installed version's `--help`, the capture history, and the process runner's
 * cancel (which must end a whole process tree, including a child that left the group).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { nsysProfileArgs, nsysProfileFlags } from '../../src/extension/tasks/capture-steps';
import { captureFolderName, validateDefinition } from '../../src/extension/tasks/definition';
import { appendHistory, latestCapture, readHistory } from '../../src/extension/tasks/history';
import { isAlive, runStep } from '../../src/extension/tasks/process';
import { findNsys } from '../../src/core/ingest/nsys-export';

void describe('task definitions', () => {
  void test('accepts a script or a module, rejects both, neither and a bad schedule', () => {
    assert.deepEqual(validateDefinition({ type: 'gpuLens', tool: 'torch', program: 'a.py' }), []);
    assert.deepEqual(validateDefinition({ type: 'gpuLens', tool: 'nsys', module: 'pkg.main' }), []);
    assert.equal(validateDefinition({ type: 'gpuLens', tool: 'torch' }).length, 1);
    assert.equal(
      validateDefinition({ type: 'gpuLens', tool: 'torch', program: 'a.py', module: 'm' }).length,
      1,
    );
    assert.match(
      validateDefinition({ type: 'gpuLens', tool: 'perf' as never, program: 'a.py' })[0],
      /tool/,
    );
    assert.match(
      validateDefinition({
        type: 'gpuLens',
        tool: 'torch',
        program: 'a.py',
        torch: { active: 0 },
      }).join(),
      /active/,
    );
    assert.match(
      validateDefinition({ type: 'gpuLens', tool: 'nsys', program: 'a.py', args: [1 as never] })[0],
      /args/,
    );
  });

  void test('capture folders sort by time and name the script and tool', () => {
    const a = captureFolderName(
      { type: 'gpuLens', tool: 'nsys', program: 'src/train.py' },
      new Date(2025, 0, 2, 3, 4, 5),
    );
    assert.equal(a, '20250102-030405-train-nsys');
  });
});

void describe('nsys profile flags', () => {
  void test('defaults keep only what the installed nsys lists, and user flags replace defaults', async () => {
    const nsys = findNsys();
    assert.ok(nsys, 'these tests need Debian nsys (see docs REAL-HOST.md)');
    const supported = await nsysProfileFlags(nsys);
    // Independent: ask the same nsys for its help text here.
    const help = (await import('node:child_process')).execFileSync(nsys, ['profile', '--help'], {
      encoding: 'utf8',
    });
    const args = nsysProfileArgs(supported, ['--sample=cpu', '-t', 'nvtx'], '/tmp/out');
    for (const a of args.filter((x) => x.startsWith('--'))) {
      assert.ok(help.includes(a.split('=')[0]), `${a} is not in this nsys's --help`);
    }
    assert.equal(args.includes('--python-backtrace=cuda'), help.includes('--python-backtrace'));
    assert.ok(!args.includes('--sample=none'), 'the user --sample replaces the default');
    assert.ok(!args.some((a) => a.startsWith('--trace=')), '-t replaces the default --trace');
    assert.ok(args.includes('--output=/tmp/out') && args.includes('--force-overwrite=true'));
  });
});

void describe('nsys backtrace defaults', () => {
  const all = new Set(['trace', 'sample', 'cpuctxsw', 'cudabacktrace', 'python-backtrace']);
  void test('backtraces come with CPU sampling (opt-in), never without it', () => {
    const off = nsysProfileArgs(all, [], '/tmp/o');
    assert.ok(off.includes('--sample=none'), off.join(' '));
    assert.ok(!off.some((a) => /backtrace/.test(a)), off.join(' '));
    for (const user of [['--sample=process-tree'], ['-s', 'process-tree']]) {
      const on = nsysProfileArgs(all, user, '/tmp/o');
      assert.ok(on.includes('--cudabacktrace=all'), on.join(' '));
      assert.ok(on.includes('--python-backtrace=cuda'), on.join(' '));
      assert.ok(!on.includes('--sample=none'), on.join(' '));
    }
    assert.ok(!nsysProfileArgs(all, ['-s', 'none'], '/tmp/o').some((a) => /backtrace/.test(a)));
  });

  void test('the installed nsys takes the defaults without a backtrace warning', () => {
    const nsys = findNsys();
    assert.ok(nsys, 'these tests need Debian nsys (see docs REAL-HOST.md)');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-lens-nsys-bt-'));
    try {
      const help = spawnSync(nsys, ['profile', '--help'], { encoding: 'utf8' }).stdout;
      const supported = new Set([...help.matchAll(/--([a-z][a-z0-9-]+)/g)].map((m) => m[1]));
      const args = nsysProfileArgs(supported, [], path.join(dir, 'cap'));
      const python = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
      const r = spawnSync(nsys, ['profile', ...args, python, '-c', 'print(1)'], {
        encoding: 'utf8',
        timeout: 120_000,
      });
      const said = `${r.stdout}${r.stderr}`;
      assert.equal(r.status, 0, said);
      // What nsys answered the old defaults (--sample=none with --cudabacktrace=all) with.
      assert.doesNotMatch(said, /backtraces will not be collected/i);
      assert.ok(
        fs.readdirSync(dir).some((f) => /^cap\.(nsys-rep|qdstrm)$/.test(f)),
        said,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

void describe('capture history', () => {
  void test('appends records and finds the newest successful capture whose trace exists', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-lens-history-'));
    try {
      const trace = path.join(dir, 'a.sqlite');
      fs.writeFileSync(trace, '');
      const base = { tool: 'nsys' as const, command: 'nsys profile x', endedAt: '' };
      assert.equal(latestCapture(dir), undefined);
      appendHistory(dir, {
        ...base,
        startedAt: '2025-01-01T00:00:00Z',
        tracePath: trace,
        status: 'succeeded',
      });
      appendHistory(dir, {
        ...base,
        startedAt: '2025-01-02T00:00:00Z',
        tracePath: null,
        status: 'failed',
        message: 'x',
      });
      appendHistory(dir, {
        ...base,
        startedAt: '2025-01-03T00:00:00Z',
        tracePath: path.join(dir, 'gone.sqlite'),
        status: 'succeeded',
      });
      assert.equal(readHistory(dir).length, 3);
      assert.equal(latestCapture(dir)?.startedAt, '2025-01-01T00:00:00Z');
      fs.writeFileSync(path.join(dir, 'history.json'), '{ not json');
      assert.deepEqual(readHistory(dir), []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

void describe('process runner', () => {
  void test('streams output and reports the exit code', async () => {
    let out = '';
    const r = await runStep(
      { file: '/bin/sh', args: ['-c', 'echo hello; exit 3'], cwd: os.tmpdir() },
      (t) => (out += t),
      new AbortController().signal,
    );
    assert.equal(r.code, 3);
    assert.match(out, /hello/);
  });

  void test('cancel ends the whole tree, also a grandchild in its own session', async () => {
    const abort = new AbortController();
    let out = '';
    // The grandchild calls setsid (as profilers do with their target) and ignores SIGTERM.
    const script = `import os, subprocess, sys, time
p = subprocess.Popen([sys.executable, "-c", "import os, signal, time; os.setsid(); signal.signal(signal.SIGTERM, signal.SIG_IGN); print(os.getpid(), flush=True); time.sleep(600)"], stdout=sys.stdout)
time.sleep(600)`;
    const running = runStep(
      { file: 'python3', args: ['-c', script], cwd: os.tmpdir() },
      (t) => (out += t),
      abort.signal,
      500,
    );
    const deadline = Date.now() + 10_000;
    while (!/^\d+/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const grandchild = Number(/^(\d+)/.exec(out)?.[1]);
    assert.ok(grandchild > 0 && isAlive(grandchild), 'the grandchild should be running');
    abort.abort();
    const r = await running;
    assert.equal(r.code, null);
    assert.equal(isAlive(grandchild), false, 'the grandchild should be gone');
  });
});
