/**
 * UI test of the shipped artefact: `npm run package` builds gpu-lens.vsix; it must hold the bundles
 * and better-sqlite3's native binary and nothing of the sources; installed into a separate
 * code-server with `--install-extension`, it must activate, open its report panel and, with its
 * bundled better-sqlite3, load a real nsys export.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { fixture } from '../unit/fixtures';
import { type CodeServer, harness, repoRoot, Session } from './session';

const vsix = path.join(repoRoot, 'gpu-lens.vsix');
const required = [
  'package.json',
  'dist/extension.js',
  'dist/server.js',
  'dist/analyze-worker.js',
  'dist/webview.js',
  'media/panel.css',
  'python/gpu_lens_torch_launcher.py',
  'python/gpu_lens_edits.py',
  'node_modules/better-sqlite3/lib/index.js',
  'node_modules/better-sqlite3/prebuilds/linux-x64.node',
];
/** Nothing of the sources, tests, tool links or caches may ship. */
const forbidden =
  /^(src|test|out|webview|scripts|\.cache|\.ci|\.vscode)\/|^node_modules\/\.bin\/|\.ts$|\.map$/;

/** Runs a command in the repo with Node 24 first on PATH; throws with its output when it fails. */
function run(cmd: string, args: string[]): string {
  const h = path.join(repoRoot, 'node_modules', 'node', 'bin');
  const r = spawnSync(cmd, args, {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, PATH: `${h}${path.delimiter}${process.env.PATH ?? ''}` },
    timeout: 300_000,
  });
  if (r.status !== 0) {
    throw new Error(
      `${cmd} ${args.join(' ')} failed (${r.status ?? r.error?.message}):\n${r.stdout}${r.stderr}`,
    );
  }
  return r.stdout;
}

/** Every file under `dir`, as '/'-separated paths relative to it. */
function listFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'));
}

// An empty folder: no capture other tests left in test/workspace can be loaded instead.
const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-lens-vsix-ws-'));
let server: CodeServer | undefined;
let s: Session | undefined;

before(() => {
  fs.rmSync(vsix, { force: true });
  run('npm', ['run', '-s', 'package']);
  assert.ok(fs.existsSync(vsix), `npm run package did not write ${vsix}`);
});
after(async () => {
  await s?.close();
  await server?.stop();
  fs.rmSync(workspace, { recursive: true, force: true });
});

void test('vsce ls lists the bundles and the native binary, and no sources', () => {
  const listed = run(path.join(repoRoot, 'node_modules', '.bin', 'vsce'), ['ls'])
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  for (const f of required) assert.ok(listed.includes(f), `vsce ls should list ${f}`);
  const bad = listed.filter((f) => forbidden.test(f));
  assert.deepEqual(bad, [], 'vsce ls lists files that must not ship');
});

void test('the VSIX installs into a separate code-server, holds what it needs, and activates', async () => {
  const h = await harness();
  server = await h.startCodeServer({ folder: workspace, installVsix: vsix });
  // What --install-extension unpacked is exactly what the VSIX holds.
  const { id, version } = h.extensionManifest();
  const installed = path.join(server.extensionsDir, `${id}-${version}`);
  assert.ok(fs.existsSync(installed), `VSIX not installed at ${installed}`);
  assert.ok(!fs.lstatSync(installed).isSymbolicLink(), 'the installed extension must be a copy');
  const files = listFiles(installed);
  for (const f of required) assert.ok(files.includes(f), `the VSIX should contain ${f}`);
  assert.deepEqual(
    files.filter((f) => forbidden.test(f)),
    [],
    'the VSIX contains files that must not ship',
  );

  s = await Session.open(server.url, workspace);
  await s.runCommand('GPU Lens: Show Bottleneck Report', 60_000);
  await s.waitForTab('GPU Lens');
  assert.match(await s.webviewText(/No trace loaded/i), /No trace loaded/i);
  // The installed copy's language server loads better-sqlite3 and reads a real nsys export.
  const trace = path.join(workspace, 'h200-nvfuser-nvtx-2024.6.sqlite');
  fs.copyFileSync(fixture('nsys', 'h200-nvfuser-nvtx-2024.6.sqlite'), trace);
  await s.explorerMenu(path.basename(trace), 'Open in GPU Lens');
  const item = await s.waitForStatusBar(new RegExp(path.basename(trace).replace(/\./g, '\\.')));
  assert.match(item, /GPU active \d+(\.\d+)?%/);
  await s.screenshot('vsix-trace');
});
