/**
 * Library fallback: a stack with no workspace frame puts its time on its innermost library frame.
 * Checked on the H100 Qwen trace (a transformers model driven by the `moca` harness) against a
 * walk of the raw events written here: the library packages of that trace are named by hand
 * (transformers, moca; torch, the standard library and `<…>` frames are not library code).
 */
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadTrace as loadAnyTrace } from '../../src/core/load';
import { libraryModulePath } from '../../src/core/library-frames';
import { buildReport } from '../../src/core/report';
import type { Report } from '../../src/core/report-types';
import { fixture, repoRoot } from './fixtures';
import {
  KERNEL_CATS,
  launchStackLines,
  loadTrace,
  MEMCPY_CATS,
  MEMSET_CATS,
  durNs,
  workspaceOfRecordedFiles,
} from './kineto-helpers';

const QWEN = fixture('torch', 'h100-qwen0.5b-stack.json.gz');
const LIBRARY_OF_THIS_TRACE = /^(transformers|moca)\//;
const emptyWorkspace = fs.mkdtempSync(path.join(os.tmpdir(), 'gl-lib-ws-'));

/** Per library `file:line`: the GPU ns of ops whose innermost library frame it is; the rest. */
function walk(): { lines: Map<string, { ns: number; kernels: number }>; restNs: number } {
  const { events } = loadTrace(QWEN);
  const stacks = launchStackLines(events, '');
  const lines = new Map<string, { ns: number; kernels: number }>();
  let restNs = 0;
  for (const e of events) {
    const cat = e.cat ?? '';
    if (e.ph !== 'X' || !(KERNEL_CATS.has(cat) || MEMCPY_CATS.has(cat) || MEMSET_CATS.has(cat)))
      continue;
    const key = (stacks.get(e.args?.correlation as number) ?? []).find((k) =>
      LIBRARY_OF_THIS_TRACE.test(k),
    );
    if (!key) {
      restNs += durNs(e);
      continue;
    }
    const l = lines.get(key) ?? { ns: 0, kernels: 0 };
    l.ns += durNs(e);
    if (KERNEL_CATS.has(cat)) l.kernels++;
    lines.set(key, l);
  }
  return { lines, restNs };
}

void test('library frames: installed packages yes; torch, the standard library and <…> no', () => {
  const cases: [string, string | null][] = [
    ['transformers/models/qwen2/modeling_qwen2.py', 'transformers/models/qwen2/modeling_qwen2.py'],
    ['/opt/venv/lib/python3.11/site-packages/vllm/attention/layer.py', 'vllm/attention/layer.py'],
    ['C:\\Py\\Lib\\site-packages\\flashinfer\\core.py', 'flashinfer/core.py'],
    [
      '/sgl-workspace/sglang/python/sglang/srt/layers/layernorm.py',
      '/sgl-workspace/sglang/python/sglang/srt/layers/layernorm.py',
    ],
    ['/usr/lib/python3.10/site-packages/torch/nn/modules/module.py', null],
    ['torch/nn/functional.py', null],
    ['triton/runtime/jit.py', null],
    ['/usr/lib/python3.10/inspect.py', null],
    ['/usr/lib/python3.10/logging/__init__.py', null],
    ['contextlib.py', null],
    ['logging/__init__.py', null],
    ['_collections_abc.py', null],
    ['<built-in method cat of type object>', null],
    ['<frozen os>', null],
    ['', null],
  ];
  for (const [file, mod] of cases) assert.equal(libraryModulePath(file), mod, file);
});

void test('Qwen, no workspace code: each op on its innermost library frame, as walked', async () => {
  const expected = walk();
  assert.ok(expected.lines.size >= 5, 'the walk finds library lines');
  const report = buildReport(await loadAnyTrace(QWEN), { workspaceRoot: emptyWorkspace });
  const got = report.lines.filter((l) => l.library);
  assert.equal(got.length, report.lines.length, 'every line is library code');
  assert.deepEqual(
    new Map(got.map((l) => [`${l.file}:${l.line}`, { ns: l.selfNs, kernels: l.kernelCount }])),
    new Map([...expected.lines].map(([k, v]) => [k, v])),
  );
  for (const l of got) assert.equal(l.totalNs, l.selfNs, `${l.file}:${l.line} total = self`);
  // Integer-ns rounding of each start and end: at most 1 ns per op.
  const ops = report.summary.kernelCount + 300;
  assert.ok(Math.abs(report.unattributedNs - expected.restNs) <= ops, 'unattributed rest');
});

void test('Qwen, setting off: nothing on library lines, all unattributed', async () => {
  const on = buildReport(await loadAnyTrace(QWEN), { workspaceRoot: emptyWorkspace });
  const off = buildReport(await loadAnyTrace(QWEN), {
    workspaceRoot: emptyWorkspace,
    libraryFallback: false,
  });
  assert.equal(off.lines.length, 0);
  const onLibrary = on.lines.reduce((s, l) => s + l.selfNs, 0);
  assert.equal(off.unattributedNs, on.unattributedNs + onLibrary);
});

void test('Qwen with the moca sources in the workspace: no library lines (moca is on every stack)', async () => {
  const { events } = loadTrace(QWEN);
  const ws = workspaceOfRecordedFiles(events, 'moca/');
  const on = buildReport(await loadAnyTrace(QWEN), { workspaceRoot: ws });
  const off = buildReport(await loadAnyTrace(QWEN), { workspaceRoot: ws, libraryFallback: false });
  const gpuLines = on.lines.filter((l) => l.totalNs > 0);
  assert.ok(gpuLines.length > 0);
  assert.ok(
    gpuLines.every((l) => !l.library && l.file.startsWith('moca/')),
    'GPU time stays on workspace lines',
  );
  assert.equal(on.unattributedNs, off.unattributedNs);
  assert.deepEqual(
    gpuLines.map((l) => [l.file, l.line, l.selfNs, l.totalNs]),
    off.lines.filter((l) => l.totalNs > 0).map((l) => [l.file, l.line, l.selfNs, l.totalNs]),
  );
});

void test('CLI: library lines by default, none with --no-library-fallback', () => {
  const cli = path.join(repoRoot, 'dist', 'cli.js');
  assert.ok(fs.existsSync(cli), `${cli} is missing: run \`node esbuild.mjs\` first`);
  const analyze = (...extra: string[]) => {
    const r = spawnSync(
      process.execPath,
      [cli, 'analyze', QWEN, '--workspace', emptyWorkspace, ...extra],
      { encoding: 'utf8', timeout: 60_000, maxBuffer: 256 << 20 },
    );
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as Report;
  };
  const expected = walk();
  const on = analyze();
  assert.equal(on.lines.filter((l) => l.library).length, expected.lines.size);
  const off = analyze('--no-library-fallback');
  assert.equal(off.lines.length, 0);
  assert.equal(off.unattributedNs, on.unattributedNs + on.lines.reduce((n, l) => n + l.selfNs, 0));
});
