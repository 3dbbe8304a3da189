/**
 * UI test: profile a script from the command palette, then hover one of its lines in Chromium
 * and read its time: GPU time on a GPU machine, CPU operator time on this CPU-only one, with at
 * least as many operators as the launcher recorded exact-line markers for that line.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { lineOf, markersPerLine, waitForTorchCapture } from './capture-trace';
import { Session } from './session';

const SCRIPT = 'torch_mlp.py';
let s: Session;
before(async () => {
  s = await Session.open();
});
after(async () => {
  await s?.close();
});

void test('hovering a profiled line shows its GPU or CPU operator time', async () => {
  const folder = process.env.GPU_LENS_UI_FOLDER!;
  const since = Date.now() - 1_000;
  await s.openFile(SCRIPT);
  await s.runCommand('GPU Lens: Profile with torch.profiler');
  const trace = await waitForTorchCapture(s, folder, since);
  const line = lineOf(path.join(folder, SCRIPT), 'torch.matmul(');
  const markers = markersPerLine(trace, SCRIPT).get(line) ?? 0;
  assert.ok(markers > 0, `the launcher should mark line ${line}`);
  await s.openFile(SCRIPT);
  await s.waitForCodeLens(/CPU ops|GPU .+ self/, 60_000);
  const text = await s.until(
    `a GPU Lens hover on line ${line}`,
    async () => {
      const t = await s.hoverLine(line, 10_000);
      return /GPU Lens/.test(t) ? t : false;
    },
    60_000,
  );
  const gpu = /GPU self\s+([\d.]+ (?:ns|µs|ms|s))/.exec(text);
  const cpu = /CPU operators\s+(\d+) · ([\d.]+ (?:ns|µs|ms|s))/.exec(text);
  assert.ok(gpu ?? cpu, `hover should show a time: ${text}`);
  if (cpu) assert.ok(Number(cpu[1]) >= markers, `hover: ${cpu[1]} operators < ${markers} markers`);
  assert.match(text, /exact line/);
  await s.screenshot('hover-torch-mlp');
});
