/**
 * Restricted Mode pieces that need no editor: executable paths from settings, the nsys lookup,
 * which history entries may be restored, what the server does with `nsysPath` while untrusted,
 * and the manifest's restricted settings. The editor side runs in test/host-trust (real
 * code-server with Workspace Trust on).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Connection } from 'vscode-languageserver/node';
import { executablePathProblem } from '../../src/core/executable-path';
import { findNsys } from '../../src/core/ingest/nsys-export';
import { appendHistory, latestCapture } from '../../src/extension/tasks/history';
import { readServerSettings, workspaceTrust } from '../../src/server/settings';
import { repoRoot } from './fixtures';

let tmp = '';
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-lens-restricted-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** An executable shell script at `file` (it never runs in these tests). */
function script(file: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  return file;
}

/** Runs `fn` with `cwd` as the working folder and `PATH` as given, restoring both after. */
function within<T>(cwd: string, envPath: string, fn: () => T): T {
  const before = { cwd: process.cwd(), path: process.env.PATH };
  process.chdir(cwd);
  process.env.PATH = envPath;
  try {
    return fn();
  } finally {
    process.chdir(before.cwd);
    process.env.PATH = before.path;
  }
}

void describe('executable paths from settings', () => {
  void test('absolute paths and bare names pass, relative paths are refused with the setting named', () => {
    assert.equal(executablePathProblem('gpuLens.nsysPath', ''), undefined);
    assert.equal(executablePathProblem('gpuLens.nsysPath', '/usr/bin/nsys'), undefined);
    assert.equal(executablePathProblem('gpuLens.pythonPath', 'python3'), undefined);
    for (const rel of ['tools/nsys', './nsys', '../x/nsys', 'bin\\nsys.exe']) {
      const why = executablePathProblem('gpuLens.nsysPath', rel);
      assert.match(why ?? '', /gpuLens\.nsysPath must be an absolute path/, rel);
      assert.ok(why?.includes(rel), `the message names ${rel}`);
    }
  });

  void test('findNsys never resolves a relative nsysPath against the working folder', () => {
    const repo = path.join(tmp, 'repo');
    const fake = script(path.join(repo, 'tools', 'nsys'));
    within(repo, '/nonexistent', () => {
      assert.ok(fs.existsSync(path.resolve('tools/nsys')), 'the relative path exists from cwd');
      assert.equal(findNsys('tools/nsys'), null);
      assert.equal(findNsys('./tools/nsys'), null);
      assert.equal(findNsys(fake), fake, 'the same file by its absolute path is accepted');
    });
  });

  void test('relative PATH entries are skipped', () => {
    const repo = path.join(tmp, 'repo-path');
    script(path.join(repo, 'bin', 'nsys'));
    const abs = script(path.join(tmp, 'abs-bin', 'nsys'));
    within(repo, `bin${path.delimiter}.${path.delimiter}${path.dirname(abs)}`, () => {
      assert.equal(findNsys(), abs);
      assert.equal(findNsys('nsys'), abs);
    });
  });

  void test('without PATH, the standard install folders are searched', () => {
    const standard = ['/usr/local/cuda/bin/nsys', '/usr/lib/nsight-systems/bin/nsys'];
    const installed = standard.filter((f) => fs.existsSync(f));
    assert.ok(installed.length > 0, `nsys must be installed in one of ${standard.join(', ')}`);
    within(tmp, '', () => assert.equal(findNsys(), installed[0]));
  });
});

void describe('captures offered for restore', () => {
  const base = { tool: 'nsys' as const, command: 'nsys profile x', endedAt: '' };
  const record = (tracePath: string, startedAt: string) =>
    ({ ...base, tracePath, startedAt, status: 'succeeded' }) as const;

  void test('only a trace inside the capture folder, symlinks resolved', () => {
    const dir = path.join(tmp, 'caps', '.gpu-lens');
    fs.mkdirSync(path.join(dir, 'run1'), { recursive: true });
    const inside = path.join(dir, 'run1', 'a.nsys-rep');
    fs.writeFileSync(inside, '');
    const outside = path.join(tmp, 'caps', 'elsewhere.nsys-rep');
    fs.writeFileSync(outside, '');
    const link = path.join(dir, 'link.nsys-rep');
    fs.symlinkSync(outside, link);

    appendHistory(dir, record(inside, '2025-01-01T00:00:00Z'));
    assert.equal(latestCapture(dir)?.tracePath, inside);
    appendHistory(dir, record(outside, '2025-01-02T00:00:00Z'));
    appendHistory(dir, record(path.join(dir, '..', 'elsewhere.nsys-rep'), '2025-01-03T00:00:00Z'));
    appendHistory(dir, record(link, '2025-01-04T00:00:00Z'));
    appendHistory(dir, record(dir, '2025-01-05T00:00:00Z'));
    // Every newer entry leads out of the folder (or is the folder): the inside one is the latest.
    assert.equal(latestCapture(dir)?.startedAt, '2025-01-01T00:00:00Z');
  });
});

void describe('server settings in an untrusted workspace', () => {
  /** A connection whose `workspace/configuration` answers `values`: what the client would send. */
  const connectionAnswering = (values: Record<string, unknown>) =>
    ({ workspace: { getConfiguration: () => Promise.resolve(values) } }) as unknown as Connection;

  void test('nsysPath is ignored until the client says the workspace is trusted', async () => {
    const conn = connectionAnswering({ nsysPath: '/repo/evil-nsys', hotLineThresholdPct: 7 });
    assert.equal(workspaceTrust.trusted, false, 'untrusted until told');
    const untrusted = await readServerSettings(conn, tmp);
    assert.equal(untrusted.nsysPath, '');
    assert.equal(untrusted.hotLineThresholdPct, 7, 'other settings still apply');
    workspaceTrust.trusted = true;
    try {
      assert.equal((await readServerSettings(conn, tmp)).nsysPath, '/repo/evil-nsys');
    } finally {
      workspaceTrust.trusted = false;
    }
  });
});

void describe('manifest', () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
    capabilities: {
      untrustedWorkspaces: { supported: string; restrictedConfigurations?: string[] };
    };
    contributes: { configuration: { properties: Record<string, { scope?: string }> } };
  };
  const declared = manifest.contributes.configuration.properties;
  const restricted = manifest.capabilities.untrustedWorkspaces.restrictedConfigurations ?? [];

  void test('every setting naming a program or a place to write is restricted', () => {
    for (const key of ['gpuLens.nsysPath', 'gpuLens.pythonPath', 'gpuLens.captureDirectory'])
      assert.ok(restricted.includes(key), `${key} is in restrictedConfigurations`);
    // A later setting of that kind is named like one: it must be listed too.
    for (const key of Object.keys(declared).filter((k) =>
      /(Path|Directory|Dir|Folder|Command|Executable|Program)$/.test(k),
    ))
      assert.ok(restricted.includes(key), `${key} is in restrictedConfigurations`);
    for (const key of restricted) assert.ok(declared[key], `${key} is a declared setting`);
  });

  void test('nsysPath is machine scoped: a workspace cannot set it', () => {
    assert.equal(declared['gpuLens.nsysPath'].scope, 'machine');
  });
});
