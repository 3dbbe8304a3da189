/** CodeLens titles and hovers cap long trace names and show codicon syntax as text. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { escapeMarkdown } from '../../src/core/markdown-text';
import { loadTrace } from '../../src/core/load';
import { buildReport } from '../../src/core/report';
import {
  MAX_NAME_CHARS,
  annotationsFor,
  hoverMarkdown,
  lensText,
} from '../../src/server/annotations';
import {
  ICON_LINE,
  ICON_RANGE,
  LONG_FUNCTION,
  LONG_LINE,
  LONG_RANGE,
  writeLongNamesWorkspace,
} from './long-names-trace';

void test('lensText caps names, replaces control characters and escapes $(icon) syntax', () => {
  assert.equal(
    lensText('$(bug) a $(zap~spin) $(not an icon) \\$(x)'),
    '\\$(bug) a \\$(zap~spin) $(not an icon) \\\\$(x)',
  );
  assert.equal(lensText('a\nb\u001b[31m'), 'a\uFFFDb\uFFFD[31m');
  const long = lensText('y'.repeat(1000));
  assert.equal(long.length, MAX_NAME_CHARS);
  assert.ok(long.endsWith('…'));
  // A cut never leaves half of a surrogate pair.
  const emoji = lensText('😀'.repeat(100));
  assert.ok(emoji.length <= MAX_NAME_CHARS && emoji.endsWith('😀…'), emoji);
});

void test('a trace with a 200 000-character range and function name gives short lenses and hovers', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gl-names-'));
  const report = buildReport(await loadTrace(writeLongNamesWorkspace(root)), {
    workspaceRoot: root,
  });
  // The trace's own names reach the Report whole: the caps are the presentation's.
  assert.ok(report.ranges.some((r) => r.name === LONG_RANGE && r.location?.line === LONG_LINE));
  assert.ok(report.lines.some((l) => l.line === LONG_LINE && l.function === LONG_FUNCTION));
  const byLine = new Map(annotationsFor(report, 'serve.py', false).map((a) => [a.line, a]));
  const icon = byLine.get(ICON_LINE);
  assert.ok(icon, [...byLine.keys()].join());
  assert.ok(icon.title.startsWith(`NVTX "\\$(bug) decode \\$(zap~spin)" ×1 · wall `), icon.title);
  const long = byLine.get(LONG_LINE);
  assert.ok(long, [...byLine.keys()].join());
  assert.match(
    long.title,
    /^CPU ops 20(\.0)? µs · 1 op · whole function · NVTX "prefill_x+…" ×1 · wall /,
  );
  assert.ok(long.title.length < 200, `${long.title.length} characters`);
  const md = hoverMarkdown(report, 'serve.py', long, 'trace.json', false);
  assert.ok(md.length < 2000, `${md.length} characters`);
  assert.ok(
    md.includes(`**GPU Lens** · $(bug)serve\\_${'x'.repeat(MAX_NAME_CHARS - 13)}…`),
    md.slice(0, 300),
  );
  assert.ok(md.includes(`| prefill\\_${'x'.repeat(MAX_NAME_CHARS - 9)}… | 1 |`), md);
  const iconMd = hoverMarkdown(report, 'serve.py', icon, 'trace.json', false);
  // Hovers are Markdown without theme icons (the client's MarkdownString): `$(bug)` stays text.
  assert.ok(iconMd.includes(`| ${escapeMarkdown(ICON_RANGE)} | 1 |`), iconMd);
  assert.ok(iconMd.includes('| $(bug) decode'), iconMd);
});
