/** The panel opens only files the shown Report names, inside the workspace folder. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildReport } from '../../src/core/report';
import { namedFiles, revealTarget } from '../../src/extension/reveal-target';
import { readScenario, scenariosDir } from './rule-helpers';

void test('reveal: every file a real Report names opens; names it does not are refused', () => {
  const report = buildReport(readScenario('sync_tool_call.sqlite'), {
    workspaceRoot: scenariosDir,
  });
  const named = namedFiles(report, null);
  const expected = new Set([
    ...report.lines.map((l) => l.file),
    ...report.findings.flatMap((f) => f.locations.map((l) => l.file)),
    ...report.ranges.flatMap((r) => (r.location ? [r.location.file] : [])),
  ]);
  assert.ok(expected.size > 0);
  assert.deepEqual([...named].sort(), [...expected].sort());
  for (const file of named)
    assert.equal(revealTarget(named, scenariosDir, file, 3), path.join(scenariosDir, file), file);
  // A workspace file the Report does not name, and crafted messages, are refused.
  const other = fs.readdirSync(scenariosDir).find((f) => f.endsWith('.py') && !named.has(f));
  assert.ok(other, 'a scenario file the report does not name');
  const [some] = named;
  for (const [file, line] of [
    [other, 1],
    ['../../package.json', 1],
    ['/etc/passwd', 1],
    [some, '3'],
    [some, 1.5],
    [some, -1],
    [{ toString: () => some }, 1],
  ] as [unknown, unknown][])
    assert.equal(revealTarget(named, scenariosDir, file, line), null, JSON.stringify([file, line]));
});

void test('reveal: a named path that leaves the folder, by .., absolute path or symlink, is refused', () => {
  const top = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'gl-reveal-')));
  const root = path.join(top, 'ws');
  fs.mkdirSync(path.join(root, 'pkg'), { recursive: true });
  fs.writeFileSync(path.join(root, 'pkg', 'a.py'), 'x = 1\n');
  fs.writeFileSync(path.join(top, 'secret.py'), 'token = 1\n');
  fs.symlinkSync(path.join(top, 'secret.py'), path.join(root, 'link.py'));
  fs.symlinkSync(path.join(root, 'pkg', 'a.py'), path.join(root, 'inside.py'));
  const named = new Set([
    'pkg/a.py',
    'inside.py',
    '../secret.py',
    path.join(top, 'secret.py'),
    'link.py',
    'pkg',
    'missing.py',
    path.join(root, 'pkg', 'a.py'),
  ]);
  const accepted = [...named].filter((f) => revealTarget(named, root, f, 1) !== null);
  assert.deepEqual(accepted, ['pkg/a.py', 'inside.py', path.join(root, 'pkg', 'a.py')]);
});
