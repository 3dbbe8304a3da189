/**
 * UI test: the bottleneck report opens from the command palette of a real workbench in Chromium,
 * as a tab titled "GPU Lens" whose webview renders. The window opens a fresh, empty folder on the
 * run's code-server, so no trace that other tests captured or loaded is in it: the panel must say
 * that no trace is loaded.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { Session } from './session';

const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-lens-empty-'));
let s: Session;
before(async () => {
  s = await Session.open(process.env.GPU_LENS_UI_URL, folder);
});
after(async () => {
  await s?.close();
  fs.rmSync(folder, { recursive: true, force: true });
});

void test('"GPU Lens: Show Bottleneck Report" opens the report panel', async () => {
  await s.runCommand('GPU Lens: Show Bottleneck Report');
  await s.waitForTab('GPU Lens');
  const text = await s.webviewText(/No trace loaded/i);
  assert.match(text, /No trace loaded/i);
  await s.screenshot('palette-report');
});
