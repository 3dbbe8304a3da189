/**
 * UI test: when the language server dies (killed here, as an out-of-memory killer would), the
 * workbench shows GPU Lens's own notification, not the client library's text, and its Retry starts
 * a fresh server that loads the trace again (the status bar names it again).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { fixture } from '../unit/fixtures';
import { type CodeServer, harness, Session } from './session';

const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-lens-crash-'));
const TRACE = 'bert.json.gz';
/** Marks the processes of this test's code-server (inherited down to the language server). */
const mark = `GPU_LENS_CRASH_TEST=${process.pid}-${Date.now()}`;
let server: CodeServer | undefined;
let s: Session | undefined;

/** Pids of language servers started under this test's code-server. */
function serverPids(): number[] {
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${e}/cmdline`, 'utf8');
      if (!cmd.includes('dist/server.js')) continue;
      if (fs.readFileSync(`/proc/${e}/environ`, 'utf8').split('\0').includes(mark))
        out.push(Number(e));
    } catch {
      // Ended while we looked.
    }
  }
  return out;
}

before(async () => {
  fs.copyFileSync(fixture('torch', 'h100-bert-small-stack.json.gz'), path.join(folder, TRACE));
  const [name, value] = mark.split('=');
  server = await (
    await harness()
  ).startCodeServer({
    folder,
    linkExtension: true,
    env: { [name]: value },
  });
  s = await Session.open(server.url, folder);
});
after(async () => {
  await s?.close();
  await server?.stop();
  fs.rmSync(folder, { recursive: true, force: true });
});

void test('a killed server is reported in words, and Retry loads the trace again', async () => {
  const session = s!;
  await session.explorerMenu(TRACE, 'Open in GPU Lens');
  await session.waitForStatusBar(new RegExp(TRACE.replace('.', '\\.')));
  const before = serverPids();
  assert.equal(before.length, 1, `one language server for this window (${before.join(', ')})`);
  process.kill(before[0], 'SIGKILL');

  const toast = session.page
    .locator('.notification-toast')
    .filter({ hasText: /GPU Lens: the language server stopped/ });
  await session.waitVisible('the server-stopped notification', toast, 30_000);
  const text = await toast.first().innerText();
  assert.doesNotMatch(text, /Pending response|connection got disposed/i);
  await session.screenshot('server-stopped');
  const items = session.page.locator('.part.statusbar .statusbar-item');
  await session.until('the status bar to drop the trace', async () =>
    (await items.allInnerTexts()).every((t) => !t.includes(TRACE)),
  );
  await toast.first().locator('.monaco-button', { hasText: 'Retry' }).click();

  // Retry: a fresh server, and the trace loaded on it (the status bar names it again).
  await session.until('a fresh language server', () =>
    Promise.resolve(serverPids().some((p) => p !== before[0])),
  );
  await session.waitForStatusBar(new RegExp(TRACE.replace('.', '\\.')));
  assert.ok(!serverPids().includes(before[0]));
});
