/**
 * The two Quick Fixes that change control flow (python/gpu_lens_edits.py): a reporting `.item()`
 * sync made periodic, and torch.compile on the step's function. Each edit applied to the text is
 * re-parsed by Python's `ast`: undoing the one promised change (unwrapping the `if`, dropping the
 * decorator and the added import) must give back the original program's tree exactly.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { PYTHON, apply, ask } from './edit-script';

/** Runs a Python program on `input` and returns what it printed, as JSON. */
function py<T>(program: string, input: string): T {
  const r = spawnSync(PYTHON, ['-c', program], { input, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as T;
}

/** The `if` the edit added (its test as source) and the module's tree once it is unwrapped. */
function unwrapPeriodic(fixed: string): { test: string; tree: string } {
  return py(
    `
import ast, json, sys
tree = ast.parse(sys.stdin.read())
found = []
class Unwrap(ast.NodeTransformer):
    def visit_If(self, node):
        self.generic_visit(node)
        if "% 100" in ast.unparse(node.test):
            found.append(ast.unparse(node.test))
            return node.body
        return node
tree = Unwrap().visit(tree)
print(json.dumps({"test": found[0] if len(found) == 1 else found, "tree": ast.dump(tree)}))`,
    fixed,
  );
}

const dump = (src: string) =>
  py<string>(
    'import ast, json, sys\nprint(json.dumps(ast.dump(ast.parse(sys.stdin.read()))))',
    src,
  );

const TRAIN = [
  'import torch',
  '',
  'def train(model, loader, opt, log):',
  '    for step, (x, y) in enumerate(loader):',
  '        loss = model(x).sub(y).pow(2).mean()',
  '        loss.backward()',
  '        opt.step()',
  '        log.info("step %d loss %.4f", step,',
  '                 loss.item())  # the sync',
  '        print(f"{step}: {loss.item():.3f}")',
  '        value = loss.item()',
  '    return value',
  '',
].join('\n');

void test('periodic sync: a reporting .item() runs every 100 steps, the rest of the loop unchanged', () => {
  for (const [needle, method] of [
    ['loss.item())  # the sync', 'log.info'],
    ['print(f"{step}', 'print'],
  ]) {
    const line = TRAIN.split('\n').findIndex((l) => l.includes(needle)) + 1;
    const a = ask(TRAIN, line, 'periodic-sync');
    assert.ok(a.ok, JSON.stringify(a));
    assert.match(a.title, /every 100 steps.*\.item\(\)/);
    const fixed = apply(TRAIN, a.edits);
    const { test: cond, tree } = unwrapPeriodic(fixed);
    assert.equal(cond, 'step % 100 == 0', method);
    assert.equal(tree, dump(TRAIN), `${method}: unwrapping the if gives the original program`);
    assert.ok(fixed.includes('# the sync'), 'the trailing comment stays');
  }
});

void test('periodic sync: refused where the value is kept, outside a loop, or without a counter', () => {
  const reason = (src: string, line: number) => {
    const a = ask(src, line, 'periodic-sync');
    assert.equal(a.ok, false, src);
    return (a as { reason: string }).reason;
  };
  const kept = TRAIN.split('\n').findIndex((l) => l.includes('value = loss.item()')) + 1;
  assert.match(reason(TRAIN, kept), /the value is kept/);
  assert.match(reason('print(x.item())\n', 1), /not inside a for loop/);
  assert.match(reason('for x in xs:\n    print(x.item())\n', 2), /no step counter/);
  assert.match(reason('for i in range(9):\n    print(i)\n', 2), /no \.item\(\)/);
  assert.match(reason('for i in range(9):\n    f(x.item())\n', 2), /not in a print or log/);
  assert.match(
    reason('for i in range(9):\n    if i % 10 == 0:\n        print(x.item())\n', 3),
    /already runs periodically/,
  );
  assert.match(reason('for i in range(9):\n    print(x.item()); y = 1\n', 2), /more than one/);
  // range() loops count too; tabs stay tabs.
  const tabs = 'for i in range(9):\n\tprint(x.cpu())\n';
  const a = ask(tabs, 2, 'periodic-sync');
  assert.ok(a.ok, JSON.stringify(a));
  assert.equal(
    apply(tabs, a.edits),
    'for i in range(9):\n\tif i % 100 == 0:\n\t\tprint(x.cpu())\n',
  );
});

const STEP = [
  '"""Serving loop."""',
  'import torch',
  '',
  'class Decoder:',
  '    @torch.no_grad()',
  '    def step(self, tokens):',
  '        h = self.embed(tokens)',
  '        return self.head(h)',
  '',
  'def main(dec, prompts):',
  '    for p in prompts:',
  '        dec.step(p)',
  '',
].join('\n');

/** Decorators of every function (as source) and the tree once torch.compile ones are dropped. */
function withoutCompile(src: string): { decorators: Record<string, string[]>; tree: string } {
  return py(
    `
import ast, json, sys
tree = ast.parse(sys.stdin.read())
decorators = {}
for n in ast.walk(tree):
    if isinstance(n, ast.FunctionDef):
        decorators[n.name] = [ast.unparse(d) for d in n.decorator_list]
        n.decorator_list = [d for d in n.decorator_list if ".compile(" not in ast.unparse(d)]
print(json.dumps({"decorators": decorators, "tree": ast.dump(tree)}))`,
    src,
  );
}

void test('torch.compile: the function of the line is compiled, inside its other decorators', () => {
  const line = STEP.split('\n').findIndex((l) => l.includes('self.embed(tokens)')) + 1;
  // -S hides site-packages: this machine's Debian torch is 1.13 (refused below).
  const a = ask(STEP, line, 'torch-compile', ['-I', '-S']);
  assert.ok(a.ok, JSON.stringify(a));
  const fixed = apply(STEP, a.edits);
  const { decorators, tree } = withoutCompile(fixed);
  assert.deepEqual(decorators.step, ['torch.no_grad()', "torch.compile(mode='reduce-overhead')"]);
  assert.deepEqual(decorators.main, []);
  assert.equal(tree, dump(STEP));

  // A file without `import torch` gets one at the top (once, before the function).
  const bare = 'def f(x):\n    return x * 2\n';
  const b = ask(bare, 2, 'torch-compile', ['-I', '-S']);
  assert.ok(b.ok, JSON.stringify(b));
  assert.equal(
    apply(bare, b.edits),
    'import torch\n@torch.compile(mode="reduce-overhead")\ndef f(x):\n    return x * 2\n',
  );
});

void test('torch.compile: refused for loops, generators, coroutines, old PyTorch', () => {
  const reason = (src: string, line: number, flags = ['-I', '-S']) => {
    const a = ask(src, line, 'torch-compile', flags);
    assert.equal(a.ok, false, src);
    return (a as { reason: string }).reason;
  };
  const inLoop = STEP.split('\n').findIndex((l) => l.includes('dec.step(p)')) + 1;
  assert.match(reason(STEP, inLoop), /inside a loop of `main`/);
  assert.match(reason('x = 1\n', 1), /not inside a function/);
  assert.match(reason('def g(x):\n    yield x\n', 2), /generator/);
  assert.match(reason('async def g(x):\n    return x\n', 2), /coroutine/);
  assert.match(reason('@torch.compile\ndef g(x):\n    return x\n', 3), /already compiled/);
  // The real interpreter sees the installed torch (Debian's 1.13 here), which has no torch.compile.
  const version = spawnSync(
    PYTHON,
    ['-I', '-c', 'import importlib.metadata as m; print(m.version("torch"))'],
    {
      encoding: 'utf8',
    },
  ).stdout.trim();
  if (version && Number(version.split('.')[0]) < 2)
    assert.match(
      reason('def g(x):\n    return x\n', 2, ['-I']),
      new RegExp(`PyTorch 2.0 or later; this interpreter has ${version.replace(/[.+]/g, '\\$&')}`),
    );
});
