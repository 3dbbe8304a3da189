/**
 * The Quick Fix edit script (python/gpu_lens_edits.py) on real code: each edit applied to the
 * text must re-parse (Python's `ast`, run here) with the keyword or setting it promises, other
 * code unchanged; an ambiguous or unseen target is refused with a reason.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { PYTHON, apply, ask, calls } from './edit-script';
import { repoRoot } from './fixtures';

const LOOP = fs.readFileSync(
  path.join(repoRoot, 'test', 'scenarios', 'dataloader_loop.py'),
  'utf8',
);

void test('DataLoader: the loader the loop iterates gets workers, pinning and prefetch', () => {
  const plain = LOOP.replace('num_workers=workers, **extra)', 'num_workers=0)');
  const line = plain.split('\n').findIndex((l) => l.includes('x = next(batches)')) + 1;
  const answer = ask(plain, line, 'dataloader-workers');
  assert.ok(answer.ok, JSON.stringify(answer));
  const fixed = apply(plain, answer.edits);
  const [loader] = calls(fixed, 'DataLoader');
  assert.deepEqual(loader.keywords, {
    batch_size: 'BATCH',
    num_workers: '4',
    pin_memory: 'True',
    persistent_workers: 'True',
    prefetch_factor: '2',
  });
  // Nothing else changed: the same text once the call's line is put back.
  const restore = (s: string) => s.split('\n').filter((l) => !l.includes('DataLoader(SlowDisk()'));
  assert.deepEqual(restore(fixed), restore(plain));
});

void test('DataLoader: **kwargs, several candidates or none are refused with the reason', () => {
  const line = LOOP.split('\n').findIndex((l) => l.includes('x = next(batches)')) + 1;
  const kw = ask(LOOP, line, 'dataloader-workers');
  assert.deepEqual(kw, {
    ok: false,
    reason: 'the DataLoader call passes **kwargs: its options cannot be seen',
  });
  const two = 'a = DataLoader(ds)\nb = DataLoader(ds)\nfor x in c:\n    pass\n';
  assert.match((ask(two, 3, 'dataloader-workers') as { reason: string }).reason, /2 DataLoader/);
  assert.match(
    (ask('x = 1\n', 1, 'dataloader-workers') as { reason: string }).reason,
    /no DataLoader/,
  );
  const loop = 'a = DataLoader(ds)\nb = DataLoader(ds, num_workers=2)\nfor x in b:\n    pass\n';
  const chosen = ask(loop, 3, 'dataloader-workers');
  assert.ok(chosen.ok);
  const after = calls(apply(loop, chosen.edits), 'DataLoader');
  assert.deepEqual(after[0].keywords, {}, 'the loop iterates b: a is left alone');
  assert.equal(after[1].keywords.pin_memory, 'True');
  assert.equal(after[1].keywords.num_workers, '2', "the user's worker count stays");
});

void test('non_blocking=True on the one copy of the line, also after non-ASCII text', () => {
  const src = 'import torch\nx = batch["é"].to(device)\ny = z.cuda()\n';
  for (const [line, callee] of [
    [2, 'to'],
    [3, 'cuda'],
  ] as const) {
    const a = ask(src, line, 'non-blocking-copy');
    assert.ok(a.ok, JSON.stringify(a));
    const fixed = apply(src, a.edits);
    assert.equal(calls(fixed, callee)[0].keywords.non_blocking, 'True');
    assert.equal(fixed.split('\n').length, src.split('\n').length);
  }
  const both = ask('x = a.to(d); y = b.cuda()\n', 1, 'non-blocking-copy');
  assert.match((both as { reason: string }).reason, /2 \.to/);
});

void test('expandable segments: set at the top, after the docstring and __future__ imports', () => {
  const src = '"""Doc."""\nfrom __future__ import annotations\nimport torch\nx = torch.empty(3)\n';
  const a = ask(src, 4, 'expandable-segments');
  assert.ok(a.ok, JSON.stringify(a));
  const fixed = apply(src, a.edits);
  const program =
    'import ast, json, sys\nb = ast.parse(sys.stdin.read()).body\n' +
    'print(json.dumps([type(s).__name__ + ":" + ast.unparse(s) for s in b]))';
  const r = spawnSync(PYTHON, ['-c', program], { input: fixed, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const order = JSON.parse(r.stdout) as string[];
  assert.deepEqual(order.slice(0, 5), [
    "Expr:'Doc.'",
    'ImportFrom:from __future__ import annotations',
    'Import:import os',
    "Expr:os.environ.setdefault('PYTORCH_CUDA_ALLOC_CONF', 'expandable_segments:True')",
    'Import:import torch',
  ]);
  assert.match((ask(fixed, 1, 'expandable-segments') as { reason: string }).reason, /already/);
  assert.match(
    (ask('x = (\n', 1, 'expandable-segments') as { reason: string }).reason,
    /does not parse/,
  );
});
