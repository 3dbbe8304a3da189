// Runs every test layer in order — the static checks (`npm run check`: types, lint, format), unit
// (node:test), host (mocha in a real extension host), trust (the same with Workspace Trust on), UI
// (node:test driving Chromium) — streaming their output, then prints each layer's result and, as
// the last line, `test summary: P passed, F failed` summed over the tests of all layers.
// A layer that fails without reporting counts (a crash, a timeout) adds one failure, so the summary
// can never read "0 failed" when the exit code is not 0.
// Usage (after `npm run build:tests`, which `npm test` does): node scripts/test-all.mjs
import { spawn } from 'node:child_process';
import { node24, repoRoot } from './code-server.mjs';

const spec = '--test-reporter=spec';
const layers = [
  // No per-test counts: the checks count as one test, passed or failed.
  { name: 'check', command: 'npm', args: ['run', '--silent', 'check'], single: true },
  // A glob, not the folder: node 24's runner does not search a folder given as an argument.
  { name: 'unit', args: ['--test', spec, 'out/test/unit/**/*.test.js'] },
  { name: 'host', args: ['scripts/host-tests.mjs'] },
  // The host tests with Workspace Trust on: hostile workspaces opened in Restricted Mode.
  { name: 'trust', args: ['scripts/host-tests.mjs', '--trust'] },
  { name: 'ui', args: ['scripts/ui-tests.mjs', spec] },
];

/** Passed/failed counts from node's test runner (spec `ℹ pass N` or TAP `# pass N`) and mocha (`N passing`). */
function counts(out) {
  const sum = (re) => [...out.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0);
  const passed = sum(/^[ℹ#] pass (\d+)$/gm) + sum(/^\s*(\d+) passing\b/gm);
  const failed = sum(/^[ℹ#] fail (\d+)$/gm) + sum(/^\s*(\d+) failing\b/gm);
  const reported = /^[ℹ#] (pass|fail) \d+$|^\s*\d+ (passing|failing)\b/m.test(out);
  return { passed, failed, reported };
}

function runLayer(layer) {
  return new Promise((resolve) => {
    const started = Date.now();
    console.log(`\n=== ${layer.name} tests ===`);
    const child = spawn(layer.command ?? node24, layer.args, {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b) => {
      process.stdout.write(b);
      out += b.toString();
    });
    child.stderr.on('data', (b) => {
      process.stderr.write(b);
      out += b.toString();
    });
    child.on('close', (code, signal) => {
      const c = layer.single
        ? { passed: code === 0 ? 1 : 0, failed: code === 0 ? 0 : 1, reported: true }
        : counts(out);
      const ok = code === 0 && c.failed === 0;
      if (!ok && c.failed === 0) c.failed = 1;
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      resolve({ name: layer.name, ok, ...c, secs, exit: code ?? signal });
    });
  });
}

const results = [];
for (const layer of layers) results.push(await runLayer(layer));

console.log('\n=== results ===');
for (const r of results) {
  const status = r.ok ? 'PASS' : `FAIL (exit ${r.exit})`;
  console.log(
    `${r.name.padEnd(5)} ${status}: ${r.passed} passed, ${r.failed} failed in ${r.secs} s`,
  );
}
const passed = results.reduce((n, r) => n + r.passed, 0);
const failed = results.reduce((n, r) => n + r.failed, 0);
console.log(`test summary: ${passed} passed, ${failed} failed`);
process.exitCode = results.every((r) => r.ok) ? 0 : 1;
