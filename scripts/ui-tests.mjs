// Runs the browser-driven UI tests: starts ONE code-server (the repo's extension linked into its
// extensions dir, test/workspace open), points the tests at it through the environment, runs
// `node --test out/test/ui/**/*.test.js` (node's runner prints the summary) and stops the server.
// Usage (after `npm run build:tests`): node scripts/ui-tests.mjs [node --test flags] [test files]
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromiumPath, node24, repoRoot, startCodeServer, stopOnSignals } from './code-server.mjs';

const testsDir = path.join(repoRoot, 'out', 'test', 'ui');
const folder = path.join(repoRoot, 'test', 'workspace');
// A stuck test (a browser never closed, a hook that never returns) must not hang CI.
const timeoutMs = Number(process.env.GPU_LENS_UI_TIMEOUT_MS ?? 20 * 60_000);
const fixtures =
  process.env.GPU_LENS_FIXTURES ?? path.resolve(repoRoot, '..', 'shared', 'fixtures');

// Extra arguments: node --test flags, and test files to run instead of all of them.
const flags = process.argv.slice(2).filter((a) => a.startsWith('-'));
const files = process.argv.slice(2).filter((a) => !a.startsWith('-'));

async function main() {
  if (!fs.existsSync(testsDir))
    throw new Error(`${testsDir} is missing: run \`npm run build:tests\` first.`);
  if (!fs.existsSync(path.join(repoRoot, 'dist', 'extension.js'))) {
    throw new Error(
      'dist/extension.js is missing: run `npm run build:tests` (it builds the extension too).',
    );
  }
  chromiumPath(); // fail before starting anything when Chromium is absent
  const started = Date.now();
  const server = await startCodeServer({
    folder,
    linkExtension: true,
    env: { GPU_LENS_FIXTURES: fixtures },
  });
  console.log(`[ui-tests] code-server up at ${server.url} in ${Date.now() - started} ms`);
  try {
    // One file at a time: each drives a browser (and vsix.test rebuilds dist/). A glob, not the
    // folder: node 24's runner does not search a folder given as an argument.
    const child = spawn(
      node24,
      [
        '--test',
        '--test-concurrency=1',
        '--test-timeout=300000',
        '--test-force-exit',
        ...flags,
        ...(files.length ? files : [`${testsDir}/**/*.test.js`]),
      ],
      {
        stdio: 'inherit',
        env: {
          ...process.env,
          GPU_LENS_UI_URL: server.url,
          GPU_LENS_UI_FOLDER: folder,
          GPU_LENS_FIXTURES: fixtures,
        },
      },
    );
    stopOnSignals(server, { cleanup: () => child.kill('SIGTERM') });
    const timer = setTimeout(() => {
      console.error(`[ui-tests] FAILED: still running after ${timeoutMs / 1000} s, stopping it`);
      child.kill('SIGTERM');
    }, timeoutMs);
    const code = await new Promise((resolve) =>
      child.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0))),
    );
    clearTimeout(timer);
    console.log(
      `[ui-tests] ${code === 0 ? 'passed' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    return code;
  } finally {
    await server.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`[ui-tests] ${err instanceof Error ? err.stack : err}`);
    process.exit(1);
  },
);
