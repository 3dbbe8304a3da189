/**
 * Findings ranked by the time a fix would save: title, severity, message, evidence figures, the
 * lines involved (each reveals its line) and the fix with its snippet and a Copy button.
 */
import { formatBytes, formatNs, formatPct } from '../src/core/format';
import type { Finding, SourceRef } from '../src/core/report-types';
import type { FromWebview } from '../src/shared/webview-protocol';
import { el, linkButton, refLabel } from './dom';

type Post = (m: FromWebview) => void;

/** Formats an evidence value by its key's unit suffix (…Ns, …Pct, …Bytes). */
export function evidenceValue(key: string, v: number | string | boolean | null): string {
  if (typeof v !== 'number') return String(v);
  if (/Ns$/.test(key)) return formatNs(v);
  if (/Pct$/.test(key)) return formatPct(v);
  if (/Bytes$/.test(key)) return formatBytes(v);
  return Number.isInteger(v) ? v.toLocaleString('en-US') : String(Math.round(v * 1000) / 1000);
}

/** "launchCount" → "launch count". */
function evidenceLabel(key: string): string {
  return key
    .replace(/(Ns|Pct|Bytes)$/, (u) => ({ Ns: ' time', Pct: ' %', Bytes: ' size' })[u] ?? u)
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase();
}

function finding(
  f: Finding,
  rank: number,
  post: Post,
  reveal: (r: SourceRef) => void,
): HTMLElement {
  const evidence = Object.entries(f.evidence);
  const id = `finding-${rank}`;
  return el(
    'article',
    {
      class: `finding sev-${f.severity}`,
      'aria-labelledby': `${id}-title`,
      'data-rule': f.rule,
      // Read back by focusLine to highlight the findings that involve a line.
      'data-locations': f.locations.map(refLabel).join('\n'),
    },
    el(
      'header',
      {},
      el('span', { class: `severity sev-${f.severity}` }, f.severity),
      el('h3', { id: `${id}-title` }, f.title),
      el(
        'span',
        {
          class: 'savings',
          title:
            f.savingsFrom === 'gpu-idle'
              ? 'GPU idle time the fix removes (replayed from the trace; no two findings count the same idle time)'
              : 'GPU op time the fix shortens',
        },
        `saves ≈ ${formatNs(f.savingsNs)}`,
      ),
    ),
    el('p', { class: 'message' }, f.message),
    evidence.length > 0 &&
      el(
        'dl',
        { class: 'evidence' },
        ...evidence.flatMap(([k, v]) => [
          el('dt', {}, evidenceLabel(k)),
          el('dd', {}, evidenceValue(k, v)),
        ]),
      ),
    f.locations.length > 0 &&
      el(
        'p',
        { class: 'locations' },
        'Lines: ',
        ...f.locations.flatMap((r, i) => [
          i > 0 ? ', ' : '',
          linkButton(refLabel(r), `Reveal ${refLabel(r)} in the editor`, () => reveal(r)),
        ]),
      ),
    fix(f, post),
  );
}

function fix(f: Finding, post: Post): HTMLElement {
  const copy = document.createElement('vscode-button');
  copy.setAttribute('secondary', '');
  copy.setAttribute('aria-label', `Copy the fix snippet for: ${f.title}`);
  copy.textContent = 'Copy';
  copy.addEventListener('click', () => post({ type: 'copy', text: f.fix.snippet }));
  return el(
    'div',
    { class: 'fix' },
    el('h4', {}, `Fix: ${f.fix.title}`),
    f.fix.detail ? el('p', {}, f.fix.detail) : null,
    f.fix.snippet
      ? el('div', { class: 'snippet' }, el('pre', {}, el('code', {}, f.fix.snippet)), copy)
      : null,
  );
}

/** Renders the findings, largest saving first. */
export function renderFindings(
  findings: Finding[],
  post: Post,
  reveal: (r: SourceRef) => void,
): HTMLElement {
  if (findings.length === 0) {
    return el('p', { class: 'empty' }, 'No bottleneck findings for this trace.');
  }
  const ranked = [...findings].sort((a, b) => b.savingsNs - a.savingsNs);
  return el('div', { class: 'findings' }, ...ranked.map((f, i) => finding(f, i, post, reveal)));
}
