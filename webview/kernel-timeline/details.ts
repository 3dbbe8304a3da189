/**
 * The kernel timeline's selection details, built with text nodes only (names, files and functions
 * come from the trace): an op with its launching line and stack, or an idle gap with its cause.
 */
import { formatNs } from '../../src/core/format';
import type { GapStat, SourceRef } from '../../src/core/report-types';
import { OP_KIND, type TimelineOp } from '../../src/core/timeline-columns-types';
import { el, linkButton, refLabel } from '../dom';

/** An op as the details show it, with its lane. */
export interface OpDetails extends TimelineOp {
  lane: number;
}

const KIND_LABEL = ['Kernel', 'Memcpy', 'Memset', 'Range', 'CPU call'];

/**
 * The selected op: name, lane, times, launching line and stack; for a kernel, a link to every line
 * that launched a kernel of that name (`showKernel`: the panel's drill-down pane).
 */
export function renderOp(
  op: OpDetails,
  laneLabel: string,
  reveal: (r: SourceRef) => void,
  showKernel: (name: string) => void,
): HTMLElement {
  const line = op.site?.line ?? null;
  const launch = !line
    ? el('span', {}, 'no launching line recorded')
    : line.library
      ? el('span', {}, `${refLabel(line)} (library)`)
      : linkButton(refLabel(line), 'Open the launching line', () => reveal(line));
  if (line && !line.library) launch.classList.add('kt-launch');
  const stack = el('ol', { class: 'kt-stack' });
  for (const f of op.site?.stack ?? []) {
    const label = `${f.function} — ${refLabel(f)}`;
    stack.append(
      el('li', {}, f.workspace ? linkButton(label, 'Open this frame', () => reveal(f)) : label),
    );
  }
  return el(
    'div',
    { class: 'kt-op' },
    el('h3', {}, `${KIND_LABEL[op.kind] ?? 'Op'}: `, el('code', { class: 'kt-name' }, op.name)),
    el(
      'p',
      {},
      `${laneLabel} · starts at ${formatNs(op.start)} · runs ${formatNs(op.end - op.start)} · `,
      `op ${op.index + 1} of its lane`,
    ),
    el('p', {}, 'Launched from ', launch),
    op.kind === OP_KIND.kernel
      ? el(
          'p',
          {},
          linkButton(
            'All lines that launched this kernel',
            'Lines that launched it, most time first',
            () => showKernel(op.name),
          ),
        )
      : null,
    op.site && op.site.stack.length > 0
      ? el('details', { open: '' }, el('summary', {}, 'Stack'), stack)
      : null,
  );
}

export function renderGap(g: GapStat, baseNs: number, reveal: (r: SourceRef) => void): HTMLElement {
  const loc = g.location;
  return el(
    'div',
    { class: 'kt-gap' },
    el('h3', {}, 'GPU idle: ', el('span', { class: 'kt-cause' }, g.cause)),
    el(
      'p',
      {},
      `GPU ${g.deviceId} · from ${formatNs(g.startNs - baseNs)} · idle ${formatNs(g.endNs - g.startNs)}`,
    ),
    el(
      'p',
      {},
      'Line: ',
      loc
        ? linkButton(refLabel(loc), 'Open the line behind this gap', () => reveal(loc))
        : 'none recorded',
    ),
  );
}
