/**
 * UI test: the bottleneck report opens from the command palette of a real workbench in Chromium,
 * as a tab titled "GPU Lens" whose webview renders (with no trace loaded, it says so).
 */
import * as assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Session } from './session';

let s: Session;
before(async () => {
  s = await Session.open();
});
after(async () => {
  await s?.close();
});

void test('"GPU Lens: Show Bottleneck Report" opens the report panel', async () => {
  await s.runCommand('GPU Lens: Show Bottleneck Report');
  await s.waitForTab('GPU Lens');
  const text = await s.webviewText(/No trace loaded/i);
  assert.match(text, /No trace loaded/i);
  await s.screenshot('palette-report');
});
