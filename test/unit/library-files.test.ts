/**
 * Which opened file outside the workspace is a library line's file (server/library-files.ts), on
 * the Reports of two real traces with no workspace code: SGLang's recorded absolute paths and
 * Kineto's site-packages-relative module paths (Qwen / transformers).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadTrace } from '../../src/core/load';
import { buildReport } from '../../src/core/report';
import { libraryFileOf } from '../../src/server/library-files';
import { fixture } from './fixtures';

const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'gl-libfiles-'));
const report = async (name: string) =>
  buildReport(await loadTrace(fixture('torch', name)), { workspaceRoot: ws });

void test('a recorded absolute library path matches only that path', async () => {
  const r = await report('sglang-decode-graph-capture.json.gz');
  const file = '/sgl-workspace/sglang/python/sglang/srt/layers/layernorm.py';
  assert.ok(
    r.lines.some((l) => l.library && l.file === file),
    'the trace has the line',
  );
  assert.equal(libraryFileOf(r, file), file);
  assert.equal(libraryFileOf(r, '/home/me/sglang/python/sglang/srt/layers/layernorm.py'), null);
});

void test('a module path matches the same file under any site-packages, nothing else', async () => {
  const r = await report('h100-qwen0.5b-stack.json.gz');
  const mod = 'transformers/models/qwen2/modeling_qwen2.py';
  for (const dir of [
    '/home/me/.venv/lib/python3.11/site-packages',
    '/usr/lib/python3/dist-packages',
    'C:\\Python311\\Lib\\site-packages',
  ])
    assert.equal(
      libraryFileOf(r, `${dir}/${mod}`.replace(/\//g, dir.includes('\\') ? '\\' : '/')),
      mod,
      dir,
    );
  assert.equal(libraryFileOf(r, `/home/me/checkout/${mod}`), null, 'not an installed copy');
  assert.equal(
    libraryFileOf(r, `/x/site-packages/torch/nn/modules/module.py`),
    null,
    'no torch line',
  );
  const off = buildReport(await loadTrace(fixture('torch', 'h100-qwen0.5b-stack.json.gz')), {
    workspaceRoot: ws,
    libraryFallback: false,
  });
  assert.equal(libraryFileOf(off, `/v/lib/python3.11/site-packages/${mod}`), null);
});
