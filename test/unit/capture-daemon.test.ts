/**
 * A capture always ends: a profiled script that starts a daemon (fork, setsid, fork: re-parented,
 * in a session of its own, holding the step's stdout and stderr) neither keeps the step running
 * after the script exits, nor survives a Cancel. Checked with the process runner alone and through
 * the real nsys capture steps; liveness is read from /proc.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  captureNsys,
  type CaptureInput,
  type StepRunner,
} from '../../src/extension/tasks/capture-steps';
import { isAlive, runStep } from '../../src/extension/tasks/process';
import { pythonForCaptures } from './nsys-capture-helper';

/**
 * `script.py stay|exit`: starts a daemon that ignores SIGTERM, prints `daemon PID` on the shared
 * stdout and stays for 600 s; then prints `parent PID done` and exits (`exit`) or sleeps 600 s too.
 */
const SCRIPT = `import os, signal, sys, time
ready_r, ready_w = os.pipe()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print(f"daemon {os.getpid()}", flush=True)
        print("the daemon holds stderr too", file=sys.stderr, flush=True)
        os.write(ready_w, b"x")
        time.sleep(600)
    os._exit(0)
os.wait()
os.read(ready_r, 1)
print(f"parent {os.getpid()} done", flush=True)
if sys.argv[1] == "stay":
    time.sleep(600)
`;

/** Parent pid of `pid`, from /proc/PID/stat. */
function ppid(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** Session id of `pid`, from /proc/PID/stat. */
function sid(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]);
}

const daemonPid = (out: string): number => Number(/daemon (\d+)/.exec(out)?.[1] ?? NaN);

async function until(what: string, ok: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

void describe('a capture step with a daemon holding its output', { timeout: 300_000 }, () => {
  let dir = '';
  let script = '';
  const daemons: number[] = [];

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-lens-daemon-'));
    script = path.join(dir, 'starts_daemon.py');
    fs.writeFileSync(script, SCRIPT);
  });

  after(() => {
    for (const p of daemons) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  void test('ends when the script exits, with its last output, and names the daemon it left', async () => {
    let out = '';
    let parentDoneAt = 0;
    const r = await runStep(
      { file: pythonForCaptures(), args: [script, 'exit'], cwd: dir },
      (t) => {
        out += t;
        if (!parentDoneAt && /parent \d+ done/.test(out)) parentDoneAt = Date.now();
      },
      new AbortController().signal,
    );
    const endedAt = Date.now();
    const daemon = daemonPid(out);
    daemons.push(daemon);
    assert.equal(r.code, 0);
    assert.ok(parentDoneAt > 0, `the script's last line should be shown: ${out}`);
    assert.ok(
      endedAt - parentDoneAt < 3_000,
      `ended ${endedAt - parentDoneAt} ms after the script`,
    );
    assert.ok(isAlive(daemon), 'the daemon still runs (it was not the step)');
    assert.match(out, new RegExp(`still run \\(pid [\\d, ]*\\b${daemon}\\b`));
  });

  void test('Cancel ends a daemon that left the tree and the session, and ignores SIGTERM', async () => {
    const abort = new AbortController();
    let out = '';
    const running = runStep(
      { file: pythonForCaptures(), args: [script, 'stay'], cwd: dir },
      (t) => (out += t),
      abort.signal,
      500,
    );
    await until('the parent line', () => /parent \d+ done/.test(out));
    const daemon = daemonPid(out);
    daemons.push(daemon);
    assert.ok(isAlive(daemon));
    const parent = Number(/parent (\d+) done/.exec(out)?.[1]);
    assert.ok(isAlive(parent));
    assert.notEqual(ppid(daemon), parent, 'the daemon was re-parented: not in the step tree');
    assert.notEqual(sid(daemon), sid(parent), 'the daemon is in a session of its own');
    const started = Date.now();
    abort.abort();
    const r = await running;
    assert.equal(r.code, null);
    assert.ok(Date.now() - started < 10_000, `Cancel took ${Date.now() - started} ms`);
    assert.equal(isAlive(daemon), false, `daemon ${daemon} should be gone from /proc`);
  });

  /** The capture steps of a `gpuLens` nsys task for `script ARG`, as the capture service runs them. */
  const nsysCapture = (arg: string, abort: AbortController, write: (t: string) => void) => {
    const outDir = fs.mkdtempSync(path.join(dir, `nsys-${arg}-`));
    const input: CaptureInput = {
      def: {
        type: 'gpuLens',
        tool: 'nsys',
        program: script,
        args: [arg],
        nsysArgs: ['--trace=osrt'],
      },
      python: pythonForCaptures(),
      program: script,
      cwd: dir,
      env: { ...process.env, PYTHONUNBUFFERED: '1' },
      outDir,
      outBase: path.join(outDir, 'trace'),
      nsysPath: '',
      workspaceFolder: dir,
      launcher: '',
    };
    const run: StepRunner = async (step, what) => {
      const r = await runStep(step, write, abort.signal, 1_000);
      if (!abort.signal.aborted && r.code !== 0) throw new Error(`${what} exited with ${r.code}`);
      return r;
    };
    return captureNsys(input, run, write);
  };

  void test('an nsys capture ends when the script exits and writes its export', async () => {
    let out = '';
    let parentDoneAt = 0;
    const sqlite = await nsysCapture('exit', new AbortController(), (t) => {
      out += t;
      if (!parentDoneAt && /parent \d+ done/.test(out)) parentDoneAt = Date.now();
    });
    const endedAt = Date.now();
    const daemon = daemonPid(out);
    daemons.push(daemon);
    assert.ok(fs.existsSync(sqlite), 'the export was written');
    assert.ok(parentDoneAt > 0, out);
    // Import and export of this small report take seconds; the daemon stays for 600 s.
    assert.ok(
      endedAt - parentDoneAt < 60_000,
      `ended ${endedAt - parentDoneAt} ms after the script`,
    );
    assert.ok(isAlive(daemon), 'the daemon outlived the capture, which did not wait for it');
  });

  void test('Cancel of an nsys capture ends nsys, the script and its daemon', async () => {
    const abort = new AbortController();
    let out = '';
    const running = nsysCapture('stay', abort, (t) => (out += t));
    await until('the parent line', () => /parent \d+ done/.test(out));
    const daemon = daemonPid(out);
    daemons.push(daemon);
    assert.ok(isAlive(daemon));
    abort.abort();
    await running.catch(() => undefined); // the later steps find no report: cancelled
    await until(`daemon ${daemon} to leave /proc`, () => !isAlive(daemon), 10_000);
  });
});
