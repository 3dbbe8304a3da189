/**
 * The panel's drill-down pane (Report.drilldown): a kernel's launching lines, ranked by time, and
 * a line's kernels and the call tree of the GPU time beneath it. DOM built from text nodes only;
 * tree nodes are <details>/<summary> (keyboard: Tab to a node, Enter or Space opens it), every
 * reveal is a real button.
 */
import { formatNs, formatPct } from '../src/core/format';
import type {
  CallTreeNode,
  KernelLaunchLines,
  LineStat,
  Report,
  SourceRef,
} from '../src/core/report-types';
import { el, linkButton, refLabel } from './dom';
import { kernelLabel } from './tables';

const share = (ns: number, of: number) => (of > 0 ? formatPct((100 * ns) / of) : '—');

export class DrilldownPane {
  readonly element: HTMLElement;
  private readonly heading: HTMLElement;
  private readonly body: HTMLElement;
  /** Report lines by `file:line` (workspace lines only: what the panel may reveal). */
  private readonly workspaceLines = new Map<string, LineStat>();

  constructor(
    private readonly report: Report,
    private readonly reveal: (r: SourceRef) => void,
  ) {
    for (const l of report.lines) if (!l.library) this.workspaceLines.set(refLabel(l), l);
    this.heading = el('h2', { tabindex: '-1', class: 'drilldown-title' });
    const close = el('button', { type: 'button', class: 'drilldown-close', title: 'Close' }, '×');
    close.setAttribute('aria-label', 'Close the drill-down');
    close.addEventListener('click', () => (this.element.hidden = true));
    this.body = el('div', { class: 'drilldown-body' });
    this.element = el(
      'section',
      { class: 'drilldown', 'aria-label': 'Drill-down' },
      el('div', { class: 'drilldown-head' }, this.heading, close),
      this.body,
    );
    this.element.hidden = true;
  }

  /** Shows the lines that launched kernel `name`, most time first. */
  showKernel(name: string): void {
    // Older Reports (baselines saved before the drill-down) have none.
    const d = this.report.drilldown?.kernels.find((k) => k.kernel === name);
    const total = this.report.kernels.find((k) => k.name === name)?.totalNs ?? 0;
    this.open(`Lines that launched ${kernelLabel({ name })}`, name);
    if (!d) {
      this.body.append(el('p', {}, 'Only the kernels with the most GPU time keep their lines.'));
      return;
    }
    this.body.append(this.kernelLines(d, total));
  }

  /**
   * Shows a line's kernels and the call tree beneath it; `focus`: move the keyboard focus and the
   * view to the pane (not when the line was focused in Hot lines from the editor).
   */
  showLine(ref: SourceRef, focus = true): void {
    const stat = this.workspaceLines.get(refLabel(ref));
    this.open(`${refLabel(ref)}${stat ? ` · ${stat.function}` : ''}`, refLabel(ref), focus);
    if (!stat || stat.totalNs <= 0) {
      this.body.append(el('p', {}, 'No GPU time was recorded on this line.'));
      return;
    }
    const kernels = el('ol', { class: 'drilldown-kernels' });
    for (const k of stat.topKernels)
      kernels.append(
        el(
          'li',
          { title: k.name },
          `${kernelLabel(k)} · ${formatNs(k.ns)} (${share(k.ns, stat.totalNs)}) · ${k.count.toLocaleString('en-US')} launches`,
        ),
      );
    this.body.append(el('h3', {}, 'Kernels (most time first)'), kernels);
    const tree = this.report.drilldown?.callTrees.find(
      (t) => !t.library && t.file === ref.file && t.line === ref.line,
    );
    this.body.append(el('h3', {}, 'GPU time beneath this line'));
    if (!tree) {
      this.body.append(el('p', {}, 'Only the lines with the most GPU time keep a call tree.'));
      return;
    }
    const root = el('ul', { class: 'call-tree', role: 'list' });
    root.append(this.node(tree.root, tree.root.totalNs, 0));
    this.body.append(
      el(
        'p',
        { class: 'table-note' },
        'Self: launched with the frame innermost. Total: beneath it.',
      ),
      root,
    );
  }

  private open(title: string, tooltip: string, focus = true): void {
    this.heading.textContent = title;
    this.heading.title = tooltip;
    this.body.replaceChildren();
    this.element.hidden = false;
    if (!focus) return;
    this.element.scrollIntoView({ block: 'nearest' });
    this.heading.focus();
  }

  private kernelLines(d: KernelLaunchLines, total: number): HTMLElement {
    const list = el('ol', { class: 'drilldown-lines' });
    for (const l of d.lines) {
      const label = refLabel(l);
      const ref = l.library
        ? el('span', { title: 'Library code, outside the workspace' }, `${label} (library)`)
        : linkButton(label, `Open ${label}`, () => this.reveal(l));
      const tree = l.library
        ? null
        : linkButton('call tree', `Kernels and call tree of ${label}`, () => this.showLine(l));
      list.append(
        el(
          'li',
          { 'data-ref': label },
          ref,
          ` · ${l.function} · ${formatNs(l.ns)} (${share(l.ns, total)}) · ${l.count.toLocaleString('en-US')} launches `,
          tree,
        ),
      );
    }
    const rest: string[] = [];
    if (d.otherLines > 0) rest.push(`${d.otherLines} other line(s): ${formatNs(d.otherLinesNs)}`);
    if (d.unattributedNs > 0) rest.push(`reached no line: ${formatNs(d.unattributedNs)}`);
    return el(
      'div',
      {},
      list,
      rest.length > 0 ? el('p', { class: 'table-note' }, rest.join(' · ')) : null,
    );
  }

  /** A tree node; the first levels start open. */
  private node(n: CallTreeNode, rootNs: number, depth: number): HTMLElement {
    const label =
      n.other !== undefined ? `${n.other} other frame(s)` : `${n.function} · ${n.file}:${n.line}`;
    const figures = ` · total ${formatNs(n.totalNs)} (${share(n.totalNs, rootNs)}) · self ${formatNs(n.selfNs)}`;
    const key = `${n.file}:${n.line}`;
    const revealable = n.other === undefined && this.workspaceLines.has(key);
    const open = revealable
      ? linkButton('open', `Open ${key}`, () => this.reveal({ file: n.file, line: n.line }))
      : null;
    if (n.children.length === 0)
      return el('li', { class: 'call-leaf' }, el('span', {}, label, figures), ' ', open);
    // A click on the summary's button opens the line, without folding the node.
    open?.addEventListener('click', (e) => e.preventDefault());
    const details = el('details', {}, el('summary', {}, label, figures, ' ', open));
    if (depth < 3) details.open = true;
    const kids = el('ul', { role: 'list' });
    for (const c of n.children) kids.append(this.node(c, rootNs, depth + 1));
    details.append(kids);
    return el('li', {}, details);
  }
}
