// First step of `npm test` and `npm run demo`: the Debian packages they need (Chromium, libkrb5-dev,
// Nsight Systems, libnvToolsExt, python3-torch) are there, or get installed. scripts/install-system-deps.sh
// is the one list of them: `--check` names the missing ones; run as root it installs them (printing
// their names); anyone else gets the one command to run and exit status 1, before anything is built.
// Usage: node scripts/ensure-system-deps.mjs
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const installer = path.join(repoRoot, 'scripts', 'install-system-deps.sh');
// bash by absolute path: the checks inside run with the caller's PATH, whatever it holds.
const bash = '/bin/bash';

/** Names of the missing packages, from the installer's `--check`. */
function missingPackages() {
  const r = spawnSync(bash, [installer, '--check'], { cwd: repoRoot, encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(`${installer} --check failed: ${r.stderr || r.error?.message || r.status}`);
  }
  return r.stdout.trim().split(/\s+/).filter(Boolean);
}

function main() {
  const missing = missingPackages();
  if (missing.length === 0) return 0;
  if (process.getuid?.() !== 0) {
    console.error(
      `[system-deps] missing system packages: ${missing.join(', ')}.\n` +
        `[system-deps] install them once with:  sudo bash scripts/install-system-deps.sh`,
    );
    return 1;
  }
  console.log(`[system-deps] installing the missing system packages: ${missing.join(', ')}`);
  const r = spawnSync(bash, [installer], { cwd: repoRoot, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`[system-deps] scripts/install-system-deps.sh failed (exit ${r.status})`);
    return 1;
  }
  const still = missingPackages();
  if (still.length > 0) {
    console.error(`[system-deps] still missing after the install: ${still.join(', ')}`);
    return 1;
  }
  return 0;
}

try {
  process.exitCode = main();
} catch (err) {
  console.error(`[system-deps] ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
