/**
 * UI test in a real workbench (code-server + Chromium): the CPU-only sample capture
 * (test/workspace/traces/torch_mlp.pt.trace.json) opened from the explorer does not read as an
 * empty report. The panel says what a CPU-only capture shows and cannot show, its hot lines list
 * CPU operator time, and the editor's CodeLens carry the same figures, all against a walk of the
 * trace's own events.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { formatNs } from '../../src/core/format';
import { walkCpuOps } from './cpu-ops-walk';
import { type CodeServer, harness, repoRoot, Session } from './session';

const SAMPLE = path.join(repoRoot, 'test', 'workspace');
const TRACE = 'torch_mlp.pt.trace.json';
const walk = [...walkCpuOps(path.join(SAMPLE, 'traces', TRACE))].sort((a, b) => b[1].ns - a[1].ns);

let server: CodeServer;
let s: Session;
let folder: string;

before(async () => {
  // The script and its capture side by side (the capture's frames are relative to the script's folder).
  folder = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-lens-cpu-only-'));
  fs.copyFileSync(path.join(SAMPLE, 'torch_mlp.py'), path.join(folder, 'torch_mlp.py'));
  fs.copyFileSync(path.join(SAMPLE, 'traces', TRACE), path.join(folder, TRACE));
  server = await (await harness()).startCodeServer({ folder, linkExtension: true });
  s = await Session.open(server.url, folder);
});
after(async () => {
  await s?.close();
  await server?.stop();
  if (folder) fs.rmSync(folder, { recursive: true, force: true });
});

void test('the panel says what a CPU-only capture shows and lists CPU operator time', async () => {
  assert.ok(walk.length >= 3 && walk.every(([k]) => k.startsWith('torch_mlp.py:')));
  const totalNs = walk.reduce((n, [, v]) => n + v.ns, 0);
  const ops = walk.reduce((n, [, v]) => n + v.ops, 0);
  await s.explorerMenu(TRACE, 'Open in GPU Lens');
  await s.waitForStatusBar(/torch_mlp\.pt\.trace\.json/);
  await s.runCommand('GPU Lens: Show Bottleneck Report');
  await s.waitForTab('GPU Lens');
  const text = await s.webviewText(/CPU-only capture/, 60_000);
  assert.match(text, /no GPU work \(kernels, copies\) was recorded, so there is no GPU time/);
  assert.ok(
    text.includes(`Hot lines: ${formatNs(totalNs)} in ${ops} operators on ${walk.length} lines`),
    text,
  );
  const view = s.webview();
  await view.locator('vscode-tab-header[data-tab="Hot lines"]').click();
  const first = view.locator('[data-table="lines"] .vt-row').nth(0).locator('[role="gridcell"]');
  assert.equal((await first.nth(0).innerText()).trim(), walk[0][0]);
  assert.equal((await first.nth(2).innerText()).trim(), formatNs(walk[0][1].ns));
});

void test('CodeLens on the script carry each line’s CPU operator time', async () => {
  await s.openFile('torch_mlp.py');
  await s.waitForCodeLens(/^CPU ops /);
  const lenses = await s.codeLensTexts();
  for (const [, v] of walk)
    assert.ok(
      lenses.some((t) => t.startsWith(`CPU ops ${formatNs(v.ns)} · ${v.ops} op`)),
      `${formatNs(v.ns)} in ${lenses.join(' | ')}`,
    );
});
