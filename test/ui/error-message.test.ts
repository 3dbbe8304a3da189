/**
 * UI test: a trace the server refuses is reported in the server's own words. The workbench's
 * notification reads "GPU Lens: could not load junk.sqlite: <reason>", with the same reason the
 * CLI gives for that file, and no JSON-RPC wording ("Request gpuLens/openTrace failed …").
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { type CodeServer, harness, repoRoot, Session } from './session';

const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-lens-error-'));
const JUNK = 'junk.sqlite';
let server: CodeServer | undefined;
let s: Session | undefined;

before(async () => {
  fs.writeFileSync(path.join(folder, JUNK), 'this is a text file, not a database\n'.repeat(200));
  server = await (await harness()).startCodeServer({ folder, linkExtension: true });
  s = await Session.open(server.url, folder);
});
after(async () => {
  await s?.close();
  await server?.stop();
  fs.rmSync(folder, { recursive: true, force: true });
});

void test("a refused trace is reported in the server's words, not the protocol's", async () => {
  // The reason, independently: what the CLI (the same loader) says about the file.
  const cli = spawnSync(
    process.execPath,
    [path.join(repoRoot, 'dist', 'cli.js'), 'analyze', path.join(folder, JUNK)],
    { encoding: 'utf8' },
  );
  assert.equal(cli.status, 1, cli.stderr);
  const reason = cli.stderr.trim().replace(/^gpu-lens: /, '');
  assert.ok(reason.length > 0);

  const session = s!;
  await session.explorerMenu(JUNK, 'Open in GPU Lens');
  const toasts = session.page.locator('.notification-toast');
  const toast = toasts.filter({ hasText: /GPU Lens: could not load junk\.sqlite/ });
  await session.waitVisible('the could-not-load notification', toast, 60_000);
  const text = (await toast.first().innerText()).replace(/\s+/g, ' ');
  assert.ok(text.includes(`could not load ${JUNK}: ${reason}`), text);
  const all = (await toasts.allInnerTexts()).join('\n');
  assert.doesNotMatch(all, /Request gpuLens|failed with message|failed unexpectedly/, all);
  await session.screenshot('error-message');
});
