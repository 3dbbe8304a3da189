/**
 * UI test: in a real workbench in Chromium, right-click in the Python editor, choose
 * "Profile with torch.profiler", and see the CodeLens appear on the script's lines once the
 * capture ends and its trace loads by itself (Debian torch at /usr/bin/python3, CPU only).
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { markersPerLine, waitForTorchCapture } from './capture-trace';
import { Session } from './session';

const SCRIPT = 'torch_mlp.py';
let s: Session;
before(async () => {
  s = await Session.open();
});
after(async () => {
  await s?.close();
});

void test('right-click → Profile with torch.profiler puts CodeLenses on the script', async () => {
  const folder = process.env.GPU_LENS_UI_FOLDER!;
  const since = Date.now() - 1_000;
  const editor = await s.openFile(SCRIPT);
  const item = s.page.locator('.monaco-menu .action-item', {
    hasText: 'Profile with torch.profiler',
  });
  await s.until('the editor context menu with "Profile with torch.profiler"', async () => {
    await editor.locator('.view-lines .view-line').nth(2).click({ button: 'right' });
    try {
      await item.first().waitFor({ state: 'visible', timeout: 3_000 });
      return true;
    } catch {
      await s.page.keyboard.press('Escape');
      return false;
    }
  });
  // A click can land while the menu is still settling and be lost (the menu stays open): take the
  // item from the keyboard, as explorerMenu does, until the menu has closed.
  await s.until('the menu to take "Profile with torch.profiler"', async () => {
    await item.first().hover();
    await s.page.keyboard.press('Enter');
    return item
      .first()
      .waitFor({ state: 'hidden', timeout: 2_000 })
      .then(() => true)
      .catch(() => false);
  });
  // The trace must come from this capture: wait for its history entry, then for the lenses.
  const trace = await waitForTorchCapture(s, folder, since);
  const expected = markersPerLine(trace, SCRIPT);
  assert.ok(expected.size > 0, 'the launcher should record exact lines of the script');
  await s.openFile(SCRIPT); // the report panel may have taken the focus
  const lens = await s.waitForCodeLens(/CPU ops .+ · \d+ ops?|GPU .+ self/, 60_000);
  assert.match(lens, /CPU ops|GPU/);
  const texts = await s.until(
    `${expected.size} CodeLenses`,
    async () => {
      const t = (await s.codeLensTexts()).filter((x) => /CPU ops|GPU /.test(x));
      return t.length === expected.size ? t : false;
    },
    30_000,
  );
  assert.equal(texts.length, expected.size);
  await s.screenshot(`profile-${path.basename(SCRIPT, '.py')}`);
});
