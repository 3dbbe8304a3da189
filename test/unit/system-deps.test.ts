/**
 * scripts/ensure-system-deps.mjs, the first step of `npm test` and `npm run demo`, run as users run it.
 * A package is made "missing" by a PATH that lacks its command (a folder of links to everything on the
 * real PATH but `chromium`); apt-get on that PATH is a stand-in that records its arguments and creates
 * the command it was asked to install (and sed one that records only), so the root path runs the
 * real installer script end to end without touching the machine's packages or apt sources.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from './fixtures';

const script = path.join(repoRoot, 'scripts', 'ensure-system-deps.mjs');
const isRoot = process.getuid?.() === 0;

/** A folder holding links to every command on PATH except `chromium`, and a stand-in apt-get. */
function pathWithoutChromium(): { bin: string; aptLog: string } {
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-lens-deps-'));
  const aptLog = path.join(bin, 'apt-get.log');
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir || !fs.existsSync(dir)) continue;
    for (const name of fs.readdirSync(dir)) {
      const link = path.join(bin, name);
      if (['chromium', 'apt-get', 'sed'].includes(name) || fs.existsSync(link)) continue;
      fs.symlinkSync(path.join(dir, name), link);
    }
  }
  // The installer edits the apt sources with sed: never here, whatever they hold.
  fs.writeFileSync(path.join(bin, 'sed'), `#!/bin/sh\necho "sed $*" >> '${aptLog}'\n`, {
    mode: 0o755,
  });
  // `apt-get install … chromium` "installs" chromium by writing a command of that name here.
  fs.writeFileSync(
    path.join(bin, 'apt-get'),
    `#!/bin/sh\necho "$*" >> '${aptLog}'\n` +
      `if [ "$1" = install ]; then for p in "$@"; do [ "$p" = chromium ] && ` +
      `printf '#!/bin/sh\\n' > '${bin}/chromium' && chmod +x '${bin}/chromium'; done; fi\nexit 0\n`,
    { mode: 0o755 },
  );
  return { bin, aptLog };
}

/** Runs the script with `bin` as PATH, as `nobody` when `asNobody` (and this process is root). */
function ensure(bin: string, asNobody: boolean) {
  const cmd = asNobody && isRoot ? 'setpriv' : process.execPath;
  const args = [script];
  if (asNobody && isRoot)
    args.unshift('--reuid=65534', '--regid=65534', '--clear-groups', process.execPath);
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, PATH: bin },
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

void test('without root, a missing package stops the run with the one command to run', () => {
  const { bin, aptLog } = pathWithoutChromium();
  fs.chmodSync(bin, 0o755);
  try {
    const r = ensure(bin, true);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /missing system packages: .*\bchromium\b/);
    assert.match(r.out, /sudo bash scripts\/install-system-deps\.sh/);
    assert.ok(!fs.existsSync(aptLog), 'nothing may be installed without root');
  } finally {
    fs.rmSync(bin, { recursive: true, force: true });
  }
});

void test(
  'as root, a missing package is installed and named',
  { skip: !isRoot && 'needs root' },
  () => {
    const { bin, aptLog } = pathWithoutChromium();
    try {
      const r = ensure(bin, false);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /installing the missing system packages: chromium\n/);
      const apt = fs.readFileSync(aptLog, 'utf8');
      assert.match(apt, /^install .*\bchromium$/m);
      assert.ok(fs.existsSync(path.join(bin, 'chromium')));
    } finally {
      fs.rmSync(bin, { recursive: true, force: true });
    }
  },
);

void test('with every package present it says nothing and succeeds', () => {
  const r = ensure(process.env.PATH ?? '', false);
  assert.equal(r.code, 0, r.out);
  assert.equal(r.out, '');
});
