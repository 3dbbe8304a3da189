// Runs the host tests (out/test/host/index.js) inside a real VS Code extension host: code-server
// with the smoke-test driver, opened by headless Chromium with an extensionDevelopmentPath +
// extensionTestsPath payload — what @vscode/test-electron's runTests does with desktop VS Code.
// Streams the extension host's console to stdout; exits with the tests' exit code, or 1 on timeout.
// Usage (after `npm run build:tests`): node scripts/host-tests.mjs
import * as fs from 'node:fs';
import * as path from 'node:path';
import { format } from 'node:util';
import {
  launchBrowser,
  remoteUri,
  repoRoot,
  startCodeServer,
  stopOnSignals,
  workbenchUrl,
} from './code-server.mjs';

const timeoutMs = Number(process.env.GPU_LENS_HOST_TIMEOUT_MS ?? 300_000);
const testsIndex = path.join(repoRoot, 'out', 'test', 'host', 'index.js');
const folder = path.join(repoRoot, 'test', 'workspace');
const fixtures =
  process.env.GPU_LENS_FIXTURES ?? path.resolve(repoRoot, '..', 'shared', 'fixtures');

// test/host/index.ts prints this line first: the workbench's own console chatter before it is kept
// back (and shown only if the tests never report), everything after it is streamed.
const startMarker = '[host-tests] running';

/**
 * Text of a browser console message. The workbench logs the extension host's console as
 * `('%c INFO', 'color: …', format, ...args)`: drop the level prefix and apply the format.
 */
async function consoleText(msg) {
  const args = await Promise.all(
    msg
      .args()
      .map((a) =>
        a.evaluate((v) => (v instanceof Error ? String(v.stack ?? v) : v)).catch(() => '?'),
      ),
  );
  if (typeof args[0] === 'string' && /^%c\s*(INFO|WARN|ERR|DEBUG|TRACE)$/.test(args[0]))
    args.splice(0, 2);
  return args.length ? format(...args) : msg.text();
}

async function main() {
  if (!fs.existsSync(testsIndex))
    throw new Error(`${testsIndex} is missing: run \`npm run build:tests\` first.`);
  const started = Date.now();
  const server = await startCodeServer({
    folder,
    smokeTestDriver: true,
    env: { GPU_LENS_FIXTURES: fixtures },
  });
  console.log(`[host-tests] code-server up at ${server.url} in ${Date.now() - started} ms`);
  let browser;
  stopOnSignals(server, { cleanup: () => void browser?.close() });
  let printing = Promise.resolve();
  try {
    browser = await launchBrowser();
    const page = browser.pages()[0] ?? (await browser.newPage());
    let report;
    const exitCode = new Promise((resolve) => (report = resolve));
    await page.exposeFunction('codeAutomationExit', (code) => report(Number(code)));
    let streaming = false;
    const held = [];
    page.on('console', (msg) => {
      // Formatting is async (values come from the page): chain so lines keep their order.
      printing = printing.then(async () => {
        const text = await consoleText(msg);
        if (!streaming && text.startsWith(startMarker)) streaming = true;
        if (streaming) console.log(text);
        else held.push(text);
      });
    });
    page.on('pageerror', (err) => console.error(`[host-tests] page error: ${err.message}`));
    const payload = [
      ['extensionDevelopmentPath', remoteUri(server.port, repoRoot)],
      ['extensionTestsPath', remoteUri(server.port, testsIndex)],
    ];
    await page.goto(workbenchUrl(server.url, folder, payload));
    let timer;
    const timedOut = new Promise((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const code = await Promise.race([exitCode, timedOut]);
    clearTimeout(timer);
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    await printing;
    if (code !== 0 && !streaming) {
      console.error(`[host-tests] the tests never started; workbench console:\n${held.join('\n')}`);
    }
    if (code === 'timeout') {
      console.error(
        `[host-tests] FAILED: the tests did not report an exit code within ${timeoutMs / 1000} s`,
      );
      return 1;
    }
    console.log(`[host-tests] ${code === 0 ? 'passed' : `FAILED (exit ${code})`} in ${secs} s`);
    return code;
  } finally {
    await browser?.close();
    await server.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`[host-tests] ${err instanceof Error ? err.stack : err}`);
    process.exit(1);
  },
);
