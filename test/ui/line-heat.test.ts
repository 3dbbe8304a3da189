/**
 * UI test of line heat in a real workbench (code-server + Chromium, Default Dark Modern) on the
 * H100 BERT trace: the line with the most GPU self time (a walk of the trace's own events:
 * correlation → launch → innermost `transformers/` python_function) is drawn with the background
 * of its heat level, the theme default of `gpuLens.heat*Background`; a screenshot goes to
 * test-results/; GPU Lens: Toggle Line Heat takes the mark away.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { heatLevel } from '../../src/server/line-heat';
import { durNs, gpuEvents, launchStackFrames, loadTrace } from '../unit/kineto-helpers';
import { BERT, makeWorkspace, readEvents } from './panel-workspace';
import { type CodeServer, harness, repoRoot, Session } from './session';

/** package.json's dark default of gpuLens.heat{Low,Medium,High}Background per level, as [r, g, b, a]. */
const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
  contributes: { colors: { id: string; defaults: { dark: string } }[] };
};
const DARK = Object.fromEntries(
  (['Low', 'Medium', 'High'] as const).map((name, i) => {
    const hex = pkg.contributes.colors.find((c) => c.id === `gpuLens.heat${name}Background`)!
      .defaults.dark;
    const n = [1, 3, 5, 7].map((k) => parseInt(hex.slice(k, k + 2), 16));
    return [i + 1, [n[0], n[1], n[2], n[3] / 255]];
  }),
) as Record<number, number[]>;

/** Whether a computed `rgba(…)` is `want` (the alpha as the browser rounds it). */
function isColour(css: string, want: number[]): boolean {
  const m = /^rgba\((\d+), (\d+), (\d+), ([\d.]+)\)$/.exec(css);
  return (
    !!m &&
    [1, 2, 3].every((k) => Number(m[k]) === want[k - 1]) &&
    Math.abs(Number(m[4]) - want[3]) < 0.006
  );
}

const { events } = loadTrace(BERT);
const chains = launchStackFrames(events);
const self = new Map<string, { file: string; line: number; ns: number }>();
for (const e of gpuEvents(events)) {
  const f = (chains.get(e.args?.correlation as number) ?? []).find((x) =>
    x.file.startsWith('transformers/'),
  );
  if (!f) continue;
  const s = self.get(`${f.file}:${f.line}`) ?? { file: f.file, line: f.line, ns: 0 };
  s.ns += durNs(e);
  self.set(`${f.file}:${f.line}`, s);
}
const hottest = [...self.values()].sort((a, b) => b.ns - a.ns)[0];
const fileNs = [...self.values()]
  .filter((s) => s.file === hottest.file)
  .reduce((n, s) => n + s.ns, 0);
const level = heatLevel((100 * hottest.ns) / fileNs);

let server: CodeServer;
let s: Session;
let folder: string;

before(async () => {
  ({ folder } = makeWorkspace(readEvents(BERT), 'bert.pt.trace.json.gz', {
    'workbench.colorTheme': 'Default Dark Modern',
  }));
  server = await (await harness()).startCodeServer({ folder, linkExtension: true });
  s = await Session.open(server.url, folder);
});
after(async () => {
  await s?.close();
  await server?.stop();
  if (folder) fs.rmSync(folder, { recursive: true, force: true });
});

/** Background colours of the decorations drawn across 1-based `line` of the visible editor. */
async function backgroundsAt(line: number): Promise<string[]> {
  const editor = s.page.locator('.editor-instance .monaco-editor').first();
  const num = editor.locator('.margin .line-numbers').filter({ hasText: new RegExp(`^${line}$`) });
  const box = await num.first().boundingBox();
  if (!box) return [];
  const y = box.y + box.height / 2;
  const out: string[] = [];
  for (const d of await editor.locator('.view-overlays .cdr').all()) {
    const b = await d.boundingBox();
    if (b && y >= b.y && y <= b.y + b.height)
      out.push(await d.evaluate((el) => getComputedStyle(el).backgroundColor));
  }
  return out;
}

void test('the hottest line is drawn in its heat level; Toggle Line Heat removes it', async () => {
  assert.ok(self.size > 1, 'the walk puts GPU self time on several transformers lines');
  await s.explorerMenu('bert.pt.trace.json.gz', 'Open in GPU Lens');
  await s.waitForStatusBar(/bert\.pt\.trace\.json\.gz/);
  await s.openFile(hottest.file);
  // Go to the line so it is rendered.
  await s.page.keyboard.press('Control+G');
  await s.page.keyboard.type(String(hottest.line));
  await s.page.keyboard.press('Enter');
  await s.until(
    `the level-${level} heat background on line ${hottest.line}`,
    async () => {
      const got = await backgroundsAt(hottest.line);
      return got.some((c) => isColour(c, DARK[level]));
    },
    60_000,
  );
  const out = path.join(repoRoot, 'test-results');
  fs.mkdirSync(out, { recursive: true });
  await s.page
    .locator('.editor-instance .monaco-editor')
    .first()
    .screenshot({ path: path.join(out, 'line-heat-dark.png') });
  await s.runCommand('GPU Lens: Toggle Line Heat');
  await s.until('no heat background on the line', async () =>
    (await backgroundsAt(hottest.line)).every((c) =>
      Object.values(DARK).every((want) => !isColour(c, want)),
    ),
  );
});
