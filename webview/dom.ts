/**
 * Tiny DOM builders. Text always goes through text nodes (textContent), never innerHTML: kernel, NVTX
 * and file names come from traces and are arbitrary strings.
 */

type Child = Node | string | null | undefined | false;

/** Creates an element with attributes and children; strings become text nodes. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  append(e, children);
  return e;
}

/** Appends children, skipping null/false ones (for optional parts). */
export function append(parent: Element, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
}

/** A button that reads as a link (for file:line references); runs `onClick` on click or Enter. */
export function linkButton(label: string, title: string, onClick: () => void): HTMLButtonElement {
  const b = el('button', { class: 'link', type: 'button', title }, label);
  b.addEventListener('click', onClick);
  return b;
}

/** "file:line" as shown for a source reference. */
export function refLabel(r: { file: string; line: number }): string {
  return `${r.file}:${r.line}`;
}

/** A labelled figure for the summary grid. */
export function stat(label: string, value: string, hint?: string): HTMLElement {
  return el(
    'div',
    { class: 'stat', ...(hint ? { title: hint } : {}) },
    el('div', { class: 'stat-value' }, value),
    el('div', { class: 'stat-label' }, label),
  );
}

/** Reads a CSS custom property of the body (theme colours for canvas drawing). */
export function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.body).getPropertyValue(name).trim();
  return v || fallback;
}
