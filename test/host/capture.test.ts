/**
 * Host test: captures end to end in the real extension host. The nsys task (Debian nsys, CPU,
 * NVTX through ctypes) and the torch.profiler task (Debian torch at /usr/bin/python3, set in
 * test/workspace/.vscode/settings.json) each finish, load their trace by themselves and annotate
 * the script's lines, checked against the trace itself. Cancel, a failing script, a missing nsys
 * and an untrusted workspace each end with a clear message and no process left running.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import * as vscode from 'vscode';
import type { CaptureOutcome } from '../../src/extension/tasks/capture-service';
import type { GpuLensTaskDefinition } from '../../src/extension/tasks/definition';
import {
  gpuLens,
  lensTitles,
  poll,
  processesMatching,
  scratchFolder,
  withSetting,
  workspaceFolder,
} from './helpers';
import { readEvents, showsDuration } from './trace-walk';

const ws = () => workspaceFolder().uri.fsPath;
const profile = (tool: 'nsys' | 'torch', file: string) =>
  vscode.commands.executeCommand<CaptureOutcome | undefined>(
    tool === 'nsys' ? 'gpuLens.profileNsys' : 'gpuLens.profileTorch',
    vscode.Uri.file(file),
  );

/** 1-based lines of `file` where `with annotate("NAME")` opens a range, by NAME. */
function annotateSites(file: string): Map<string, number> {
  const sites = new Map<string, number>();
  fs.readFileSync(file, 'utf8')
    .split('\n')
    .forEach((text, i) => {
      const m = /annotate\("([^"]+)"\)/.exec(text);
      if (m) sites.set(m[1], i + 1);
    });
  return sites;
}

describe('captures', function () {
  this.timeout(180_000);
  let scratch: string;
  before(async () => {
    await gpuLens();
    scratch = scratchFolder('capture-test');
  });
  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('offers nsys and torch.profiler tasks for the active Python file in Run Task', async () => {
    const script = path.join(ws(), 'torch_mlp.py');
    await vscode.window.showTextDocument(vscode.Uri.file(script));
    const tasks = await vscode.tasks.fetchTasks({ type: 'gpuLens' });
    const defs = tasks.map((t) => t.definition as GpuLensTaskDefinition);
    const tools = defs.map((d) => d.tool).sort();
    assert.deepEqual(tools, ['nsys', 'torch']);
    for (const d of defs) assert.equal(d.program, 'torch_mlp.py');
  });

  it('nsys task: finishes, loads the export by itself and puts NVTX ranges on the script lines', async () => {
    const script = path.join(ws(), 'nvtx_pipeline.py');
    const outcome = await profile('nsys', script);
    assert.ok(outcome, 'the command should report an outcome');
    assert.equal(outcome.status, 'succeeded', outcome.message);
    assert.ok(outcome.loaded, 'the trace should load by itself');
    const trace = outcome.tracePath ?? '';
    assert.ok(trace.endsWith('.sqlite') && fs.existsSync(trace));
    assert.ok(trace.startsWith(path.join(ws(), '.gpu-lens')), 'kept under the capture folder');
    // Expected: NVTX push/pop ranges per name, straight from the export.
    const db = new Database(trace, { readonly: true });
    const rows = db
      .prepare(
        'SELECT text AS name, COUNT(*) AS n, SUM("end" - start) AS wall FROM NVTX_EVENTS WHERE eventType = 59 GROUP BY text',
      )
      .all() as { name: string; n: number; wall: number }[];
    db.close();
    const sites = annotateSites(script);
    await vscode.workspace.openTextDocument(script);
    assert.deepEqual(rows.map((r) => r.name).sort(), [...sites.keys()].sort());
    const lenses = await poll('NVTX CodeLenses on nvtx_pipeline.py', async () => {
      const m = await lensTitles(vscode.Uri.file(script));
      return m.size >= sites.size ? m : false;
    });
    for (const r of rows) {
      const title = lenses.get(sites.get(r.name)!) ?? '';
      const m = new RegExp(`NVTX "${r.name}" ×(\\d+) · wall (.+?) · GPU`).exec(title);
      assert.ok(m, `line ${sites.get(r.name)}: expected the "${r.name}" range, got "${title}"`);
      assert.equal(Number(m[1]), r.n);
      assert.ok(showsDuration(m[2], r.wall), `"${r.name}" wall ${m[2]} vs ${r.wall} ns`);
    }
    const history = JSON.parse(
      fs.readFileSync(path.join(ws(), '.gpu-lens', 'history.json'), 'utf8'),
    ) as {
      captures: { tracePath: string; status: string; command: string }[];
    };
    const last = history.captures[history.captures.length - 1];
    assert.equal(last.tracePath, trace);
    assert.equal(last.status, 'succeeded');
    assert.match(last.command, /nsys profile .*nvtx_pipeline\.py/);
  });

  it('capture folders it creates get a .gitignore that keeps them out of git; nothing lands beside the script', async () => {
    const name = `captures-gitignore-${process.pid}-${Date.now()}`;
    const root = path.join(ws(), name);
    const script = path.join(scratch, 'quick_nvtx.py');
    fs.writeFileSync(script, 'print("profiled")\n');
    const beside = fs.readdirSync(scratch).sort();
    const restore = await withSetting('captureDirectory', name);
    const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-lens-gitignore-'));
    try {
      const outcome = await profile('nsys', script);
      assert.equal(outcome?.status, 'succeeded', outcome?.message);
      const capture = path.dirname(outcome.tracePath ?? '');
      assert.equal(path.dirname(capture), root, 'one folder per capture in the capture directory');
      for (const dir of [root, capture]) {
        const lines = fs.readFileSync(path.join(dir, '.gitignore'), 'utf8').split('\n');
        assert.ok(lines.includes('*'), `${dir}/.gitignore ignores everything`);
      }
      assert.deepEqual(fs.readdirSync(scratch).sort(), beside);
      // Git agrees: in a fresh repository holding a copy, every file of the captures is ignored.
      fs.cpSync(root, path.join(repo, name), { recursive: true });
      execFileSync('git', ['init', '-q', repo]);
      const files = fs.readdirSync(path.join(repo, name), { recursive: true }).map(String);
      assert.ok(files.some((f) => f.endsWith('.nsys-rep')) && files.includes('history.json'));
      const status = execFileSync(
        'git',
        ['-C', repo, 'status', '--porcelain', '--untracked-files=all'],
        {
          encoding: 'utf8',
        },
      );
      assert.equal(status, '');
    } finally {
      await restore();
      fs.rmSync(root, { recursive: true, force: true });
      fs.rmSync(repo, { recursive: true, force: true });
    }
  });

  it('torch.profiler task: runs the script unchanged, loads the trace and annotates its exact lines', async () => {
    const script = path.join(ws(), 'torch_mlp.py');
    const outcome = await profile('torch', script);
    assert.ok(outcome);
    assert.equal(outcome.status, 'succeeded', outcome.message);
    assert.ok(outcome.loaded && outcome.tracePath && fs.existsSync(outcome.tracePath));
    assert.match(
      outcome.command,
      /^\/usr\/bin\/python3 /,
      'gpuLens.pythonPath from the workspace settings',
    );
    // Expected: the innermost workspace line of each exact-line marker the launcher recorded.
    const markers = readEvents(outcome.tracePath).filter((e) => e.name.startsWith('gpulens/1|'));
    const perLine = new Map<number, number>();
    for (const e of markers) {
      const inner = e.name.split('|')[2];
      assert.ok(inner.startsWith('torch_mlp.py:'), `marker frame ${inner}`);
      const line = Number(inner.split(':')[1]);
      perLine.set(line, (perLine.get(line) ?? 0) + 1);
    }
    assert.ok(perLine.size > 0, 'the launcher should record exact-line markers');
    const lenses = await poll('CodeLenses on torch_mlp.py', async () => {
      const m = await lensTitles(vscode.Uri.file(script));
      return m.size === perLine.size ? m : false;
    });
    assert.deepEqual(
      [...lenses.keys()].sort((a, b) => a - b),
      [...perLine.keys()].sort((a, b) => a - b),
    );
    for (const [line, n] of perLine) {
      const m = /(?:CPU ops (.+?) · (\d+) ops?|GPU )/.exec(lenses.get(line)!);
      assert.ok(m, `line ${line}: ${lenses.get(line)}`);
      // CPU-only torch: every marker wraps at least one operator.
      if (m[2] !== undefined)
        assert.ok(Number(m[2]) >= n, `line ${line}: ${m[2]} ops < ${n} markers`);
    }
  });

  it('cancel stops the whole process tree and says so', async () => {
    const script = path.join(scratch, 'sleeps_forever.py');
    fs.writeFileSync(script, 'import time\nwhile True:\n    time.sleep(0.2)\n');
    const running = profile('nsys', script);
    await poll(
      'the profiled script to run',
      () => processesMatching(script).some((p) => readCmd(p).includes('python')),
      60_000,
    );
    const exec = vscode.tasks.taskExecutions.find((e) => e.task.definition.type === 'gpuLens');
    assert.ok(exec, 'the capture should run as a gpuLens task');
    exec.terminate();
    const outcome = await running;
    assert.equal(outcome?.status, 'cancelled');
    assert.match(outcome.message, /cancelled.*processes were stopped/);
    await poll(
      'no process of the cancelled capture',
      () => processesMatching(script).length === 0,
      15_000,
    );
  });

  it('a failing script fails the capture with its exit code and last output line', async () => {
    const script = path.join(scratch, 'fails.py');
    fs.writeFileSync(
      script,
      'print("starting")\nraise RuntimeError("boom from the profiled script")\n',
    );
    const outcome = await profile('torch', script);
    assert.equal(outcome?.status, 'failed');
    assert.match(
      outcome.message,
      /torch\.profiler capture failed: .*exited with code 1: RuntimeError: boom from the profiled script/,
    );
    assert.equal(outcome.loaded, false);
    assert.deepEqual(processesMatching(script), []);
  });

  it('a missing nsys (gpuLens.nsysPath) gives a message that says what to install', async () => {
    const script = path.join(scratch, 'never_runs.py');
    fs.writeFileSync(script, 'print("must not run")\n');
    const restore = await withSetting('nsysPath', path.join(scratch, 'no-such-dir', 'nsys'));
    try {
      const outcome = await profile('nsys', script);
      assert.equal(outcome?.status, 'failed');
      assert.match(outcome.message, /not found at gpuLens\.nsysPath/);
      assert.match(outcome.message, /install Nsight Systems/i);
      assert.deepEqual(processesMatching(script), []);
    } finally {
      await restore();
    }
  });

  it('refuses captures in an untrusted workspace, before running anything', async () => {
    const api = await gpuLens();
    const script = path.join(scratch, 'untrusted.py');
    fs.writeFileSync(script, 'import time\ntime.sleep(30)\n');
    const trusted = api.captures.isTrusted;
    api.captures.isTrusted = () => false;
    try {
      const outcome = await profile('torch', script);
      assert.equal(outcome?.status, 'failed');
      assert.match(outcome.message, /untrusted workspace/);
      assert.equal(
        vscode.tasks.taskExecutions.filter((e) => e.task.definition.type === 'gpuLens').length,
        0,
      );
      assert.deepEqual(processesMatching(script), []);
    } finally {
      api.captures.isTrusted = trusted;
    }
  });
});

function readCmd(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}
