/**
 * Markdown text that renders trace strings as text: shared by the exporters and the language
 * server's hovers, so neither depends on the other.
 */

/**
 * Escapes Markdown and HTML metacharacters so trace strings render as text (never as links, HTML,
 * emphasis or table cells). Line-start markers are escaped too, since the text may open a line.
 */
export function escapeMarkdown(s: string): string {
  return (
    s
      .replace(/\r?\n/g, ' ')
      // Control characters (terminal escape sequences among them) never reach a terminal or hover.
      .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '\uFFFD')
      .replace(/[\\`*_{}[\]<>|&~]/g, (c) => `\\${c}`)
      .replace(/^([#+\-!])/, '\\$1')
  );
}

/**
 * A code span holding `s` literally. Inside a code span backslash escapes are not processed (so
 * escapeMarkdown would show its backslashes): the delimiter is one backtick longer than the longest
 * run in `s`, padded when `s` starts or ends with one. In a table cell `|` is escaped, since GFM splits
 * cells before it reads spans (and shows `\|` as `|` there).
 */
export function codeSpan(s: string, inTable = false): string {
  let text = s
    .replace(/\r?\n/g, ' ')
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '\uFFFD');
  if (inTable) text = text.replace(/\|/g, '\\|');
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = /^[ `]|[ `]$/.test(text) && text.trim() !== '' ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

/** A fenced code block whose text cannot close the fence early (``` becomes '''). */
export function codeFence(lang: string, code: string): string {
  return ['```' + lang, code.replace(/```/g, "'''"), '```'].join('\n');
}
