// Runs the host tests (out/test/host/index.js) inside a real VS Code extension host: code-server
// with the smoke-test driver, opened by headless Chromium with an extensionDevelopmentPath +
// extensionTestsPath payload — what @vscode/test-electron's runTests does with desktop VS Code.
// Streams the extension host's console to stdout; exits with the tests' exit code, or 1 on timeout.
// Usage (after `npm run build:tests`): node scripts/host-tests.mjs [--trust]
// --trust: the Workspace Trust tests (out/test/host-trust): Workspace Trust stays on, and each
// hostile workspace (built in a temp folder by out/test/host-trust/workspaces.js) gets its own
// code-server, opened in Restricted Mode; when a test prints "[host-trust] grant trust" this
// script clicks Trust in the Workspace Trust editor, as a user would.
import * as fs from 'node:fs';
import * as os from 'node:os';
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

/**
 * One code-server + Chromium session that runs the tests module `testsIndex` with `folder` open.
 * `onLine(text, page)` sees each streamed console line. Returns the tests' exit code (1 on timeout).
 */
async function session({ folder, testsIndex, env, workspaceTrust, machineSettings, onLine }) {
  if (!fs.existsSync(testsIndex))
    throw new Error(`${testsIndex} is missing: run \`npm run build:tests\` first.`);
  const started = Date.now();
  const server = await startCodeServer({
    folder,
    smokeTestDriver: true,
    workspaceTrust,
    machineSettings,
    env: { GPU_LENS_FIXTURES: fixtures, ...env },
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
        if (streaming) {
          console.log(text);
          onLine?.(text, page);
        } else held.push(text);
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

/** Clicks Trust in the Workspace Trust editor the test opened (workbench.trust.manage). */
async function clickTrust(page) {
  const trust = page
    .locator('.workspace-trust-editor .monaco-button')
    .filter({ hasText: /^\s*Trust\s*$/ })
    .first();
  await trust.waitFor({ state: 'visible', timeout: 30_000 });
  await trust.click();
  console.log('[host-tests] clicked Trust in the Workspace Trust editor');
}

/** The Workspace Trust scenarios, one code-server each; the first failure's exit code wins. */
async function trustTests() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-lens-trust-'));
  try {
    const builder = path.join(repoRoot, 'out', 'test', 'host-trust', 'workspaces.js');
    const { makeTrustWorkspaces } = (await import(builder)).default;
    const manifest = await makeTrustWorkspaces(root, repoRoot);
    const manifestPath = path.join(root, 'manifest.json');
    fs.writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
    let worst = 0;
    for (const s of manifest.scenarios) {
      console.log(`[host-tests] Workspace Trust scenario ${s.name}: ${s.folder}`);
      const code = await session({
        folder: s.folder,
        testsIndex: path.join(repoRoot, 'out', 'test', 'host-trust', 'index.js'),
        env: { GPU_LENS_TRUST_SCENARIO: s.name, GPU_LENS_TRUST_MANIFEST: manifestPath },
        workspaceTrust: true,
        machineSettings: s.machineSettings,
        onLine: (text, page) => {
          if (text.includes('[host-trust] grant trust'))
            clickTrust(page).catch((e) =>
              console.error(`[host-tests] could not click Trust: ${e}`),
            );
        },
      });
      if (code !== 0 && worst === 0) worst = code;
    }
    return worst;
  } finally {
    if (!process.env.GPU_LENS_KEEP_TMP) fs.rmSync(root, { recursive: true, force: true });
  }
}

function main() {
  if (process.argv.includes('--trust')) return trustTests();
  return session({ folder: path.join(repoRoot, 'test', 'workspace'), testsIndex });
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`[host-tests] ${err instanceof Error ? err.stack : err}`);
    process.exit(1);
  },
);
