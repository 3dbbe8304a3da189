/**
 * The Markdown export as a CommonMark + GFM renderer (markdown-it) shows it: source locations are
 * code spans whose rendered text is the path and line exactly, with no stray backslashes (escapes
 * are literal inside code spans), also for names holding backticks, pipes or Markdown.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import MarkdownIt from 'markdown-it';
import { toMarkdown } from '../../src/core/export/markdown';
import { codeSpan } from '../../src/core/markdown-text';
import { buildReport } from '../../src/core/report';
import { readScenario, scenariosDir } from './rule-helpers';

const md = new MarkdownIt({ html: false });

/** Text of every <code> element of the rendered HTML, entities decoded. */
function codeTexts(markdown: string): string[] {
  const decode = (s: string) =>
    s
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&amp;/g, '&');
  return [...md.render(markdown).matchAll(/<code>([^<]*)<\/code>/g)].map((m) => decode(m[1]));
}

void test('markdown: source locations render as the exact file:line, in lists and tables', () => {
  const report = buildReport(readScenario('sync_tool_call.sqlite'), {
    workspaceRoot: scenariosDir,
  });
  const refs = [
    ...report.lines,
    ...report.ranges.flatMap((r) => (r.location ? [r.location] : [])),
    ...report.findings.flatMap((f) => f.locations.slice(0, 5)),
  ].filter((l) => l.file.includes('_'));
  assert.ok(refs.length > 0, 'the scenario has a location in a file whose name holds "_"');
  const codes = codeTexts(toMarkdown(report));
  for (const l of refs) assert.ok(codes.includes(`${l.file}:${l.line}`), `${l.file}:${l.line}`);
  assert.ok(!codes.some((c) => c.includes('\\')), JSON.stringify(codes));
});

void test('markdown: codeSpan keeps any text literal, in a paragraph and in a table cell', () => {
  const names = [
    'resnet50_profiler_api.py:44',
    'a`b``c.py:3',
    '`lead.py:1',
    'trail.py`',
    ' spaced.py:2 ',
    '[x](https://evil.example) <img src=x> *em* _u_.py:9',
    'pipe|name.py:5',
  ];
  for (const name of names) {
    assert.deepEqual(codeTexts(`At: ${codeSpan(name)}`), [name], `paragraph: ${name}`);
    const table = `| Line | n |\n|---|---|\n| ${codeSpan(name, true)} | 1 |\n`;
    const html = md.render(table);
    assert.match(html, /<td>/, table);
    assert.deepEqual(codeTexts(table), [name], `table: ${name} → ${html}`);
    assert.ok(!/<(a|img|em)\b/.test(html), html);
  }
  // Newlines and control characters never reach the output.
  assert.deepEqual(codeTexts(codeSpan('a\nb\u001b[31m.py')), ['a b\uFFFD[31m.py']);
});
