import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parsePathMap, PathResolver, WorkspaceIndex } from '../../src/core/workspace-paths';

function workspace(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gl-ws-'));
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  }
  return root;
}

void test('absolute paths inside the workspace resolve, outside do not', () => {
  const root = workspace({ 'app/main.py': 'x = 1\n' });
  const r = new PathResolver(new WorkspaceIndex(root));
  assert.equal(r.resolve(path.join(root, 'app/main.py')), 'app/main.py');
  assert.equal(r.resolve(path.join(root, 'app/missing.py')), null);
  assert.equal(r.resolve('/usr/lib/python3/dist-packages/torch/nn/modules/linear.py'), null);
  assert.equal(r.resolve(path.join(root, '..', 'elsewhere.py')), null);
});

void test('paths relative to a sys.path root resolve directly or by a unique suffix', () => {
  const root = workspace({
    'src/pkg/model.py': '',
    'src/pkg/util.py': '',
    'tools/util.py': '',
    'pkg2/util.py': '',
  });
  const r = new PathResolver(new WorkspaceIndex(root));
  assert.equal(r.resolve('src/pkg/model.py'), 'src/pkg/model.py');
  assert.equal(r.resolve('pkg/model.py'), 'src/pkg/model.py');
  // util.py exists three times: a bare basename is ambiguous and must not be guessed.
  assert.equal(r.resolve('util.py'), null);
  assert.equal(r.resolve('torch/nn/modules/module.py'), null);
  assert.equal(r.resolve('<frozen runpy>'), null);
  assert.equal(r.resolve('../outside.py'), null);
});

void test('the path map turns remote prefixes into local ones, at path boundaries only', () => {
  const root = workspace({ 'proj/train.py': '' });
  const { map, errors } = parsePathMap([`/workspace=${root}/proj`, 'broken', '=x']);
  assert.equal(errors.length, 2);
  const r = new PathResolver(new WorkspaceIndex(root), map);
  assert.equal(r.resolve('/workspace/train.py'), 'proj/train.py');
  assert.equal(r.resolve('/workspace2/train.py'), null);
});

void test('the index skips hidden folders, virtualenv site-packages and node_modules', () => {
  const root = workspace({
    'a.py': '',
    '.venv/lib/x.py': '',
    'env/lib/python3.11/site-packages/torch/nn.py': '',
    'node_modules/n.py': '',
    'b/c.py': '',
  });
  assert.deepEqual(new WorkspaceIndex(root).pythonFiles().sort(), ['a.py', 'b/c.py']);
});
