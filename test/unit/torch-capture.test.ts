import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { readKineto } from '../../src/core/ingest/kineto';
import { repoRoot } from './fixtures';
import { rowsOf } from './table-rows';

// Debian's python3-torch lives under the system interpreter only (the pyenv python3 lacks it).
const PYTHON = '/usr/bin/python3';
const launcher = path.join(repoRoot, 'python', 'gpu_lens_torch_launcher.py');
const workspace = path.join(repoRoot, 'test', 'workspace');
const script = path.join(workspace, 'torch_module_mlp.py');

function requireTorch(): void {
  try {
    execFileSync(PYTHON, ['-c', 'import torch'], { stdio: 'pipe' });
  } catch (err) {
    assert.fail(`torch is not importable by ${PYTHON} (install python3-torch): ${String(err)}`);
  }
}

function capture(extra: string[]): string {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gpulens-capture-')), 'trace.json');
  execFileSync(PYTHON, [launcher, '--out', out, ...extra, script], {
    stdio: 'pipe',
    timeout: 120_000,
  });
  return out;
}

/** 1-based line of the first source line containing `marker`. */
function lineOf(marker: string): number {
  const lines = fs.readFileSync(script, 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes(marker));
  assert.ok(i >= 0, `marker ${marker} not in ${script}`);
  return i + 1;
}

void test('torch capture --exact-lines: ops land on the lines that call them', async () => {
  requireTorch();
  const profile = await readKineto(capture(['--exact-lines', '--workspace', workspace]));
  assert.equal(profile.source.producer, 'Kineto (legacy)');
  const operators = rowsOf(profile.operators);
  assert.ok(
    ![...profile.ranges, ...operators].some((r) => r.name.startsWith('gpulens/')),
    'markers stay out of ranges',
  );
  const linesOf = (opName: string) => {
    const ops = operators.filter((r) => r.kind === 'op' && r.name === opName && r.stackId >= 0);
    return ops.map((r) => profile.stacks[r.stackId][0]);
  };
  const expectations: [string, string][] = [
    ['aten::relu', 'return torch.relu(h)'],
    ['aten::linear', 'h = torch.nn.functional.linear(x, weight)'],
  ];
  for (const [op, source] of expectations) {
    const frames = linesOf(op);
    assert.ok(frames.length >= 3, `${op}: ${frames.length} ranges with a stack`);
    for (const f of frames) {
      // Frames are relative to the capture's workspace folder.
      assert.equal(path.resolve(workspace, f.file), script);
      assert.equal(f.precision, 'line');
    }
    // Three iterations call the line; the module's own ReLU (inside torch) is not a workspace
    // frame, so its relu lands on `y = model(x)` instead.
    assert.ok(frames.some((f) => f.line === lineOf(source) && f.function === 'hidden_layer'));
    assert.ok(!frames.some((f) => f.line === lineOf('def hidden_layer')), `${op} on a def line`);
  }
  const modelLine = lineOf('y = model(x)');
  const addmm = linesOf('aten::addmm');
  assert.ok(addmm.some((f) => f.line === modelLine && f.function === 'forward'));
  const inHelper = operators
    .filter((r) => r.name === 'aten::relu' && r.stackId >= 0)
    .map((r) => profile.stacks[r.stackId])
    .find((st) => st[0].function === 'hidden_layer');
  assert.deepEqual(
    inHelper?.map((f) => f.function),
    ['hidden_layer', 'forward', 'main', '<module>'],
  );
});

void test('torch capture without --exact-lines still loads', async () => {
  requireTorch();
  const profile = await readKineto(capture([]));
  const operators = rowsOf(profile.operators);
  assert.ok(operators.some((r) => r.kind === 'op' && r.name === 'aten::addmm'));
  assert.ok([...profile.ranges, ...operators].every((r) => r.stackId === -1));
});
