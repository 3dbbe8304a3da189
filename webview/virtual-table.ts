/**
 * A virtualized, sortable, filterable table: a fixed row height and a scroller whose spacer is as
 * tall as all rows, with only the rows in view (plus a small overscan) in the DOM, so 100,000 rows
 * scroll as smoothly as 100. Keyboard: the scroller is one tab stop; arrows, Page Up/Down, Home/End
 * move the active row (aria-activedescendant) and Enter activates it, as a click does.
 */
import { el } from './dom';
import type { SortState, StateStore } from './state';

/** Row height in px; CSS must not change it (rows are positioned by index × ROW_HEIGHT). */
export const ROW_HEIGHT = 24;
const OVERSCAN = 8;
const MAX_VISIBLE_ROWS = 18;

export interface Column<T> {
  key: string;
  label: string;
  /** CSS grid track, e.g. `minmax(240px, 1fr)` or `90px`. */
  width: string;
  numeric?: boolean;
  /**
   * Clip long text at its start (paths: the file name and line stay visible); a function decides
   * per row (a mixed column of paths and names).
   */
  clipStart?: boolean | ((row: T) => boolean);
  text(row: T): string;
  sortValue(row: T): number | string;
  /** Tooltip of the cell (defaults to its text). */
  title?(row: T): string;
  /** Tooltip of the column header: what the column's figure means. */
  headerTitle?: string;
}

export interface VirtualTableOptions<T> {
  /** Identifies the table in the saved state and in test selectors (`data-table`). */
  id: string;
  label: string;
  columns: Column<T>[];
  rows: T[];
  defaultSort: SortState;
  store: StateStore;
  /** Text the filter box matches (case-insensitive); no filter box when absent. */
  filterText?(row: T): string;
  /** Click or Enter on a row. */
  onActivate?(row: T): void;
}

export class VirtualTable<T> {
  readonly element: HTMLElement;
  private readonly viewport: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly count: HTMLElement;
  private readonly headers = new Map<string, HTMLElement>();
  private readonly haystack: string[] | null;
  private readonly template: string;
  private filterBox: (HTMLElement & { value: string }) | null = null;
  private view: number[] = [];
  private sort: SortState;
  private filter: string;
  private active = -1;
  private highlighted: ((row: T) => boolean) | null = null;
  private frame = 0;

  constructor(private readonly o: VirtualTableOptions<T>) {
    const saved = o.store.table(o.id);
    this.sort =
      saved.sort && o.columns.some((c) => c.key === saved.sort?.key) ? saved.sort : o.defaultSort;
    this.filter = saved.filter ?? '';
    this.template = o.columns.map((c) => c.width).join(' ');
    this.haystack = o.filterText ? o.rows.map((r) => o.filterText!(r).toLowerCase()) : null;

    this.count = el('span', { class: 'vt-count', 'aria-live': 'polite' });
    const head = el('div', { class: 'vt-head', role: 'row' });
    head.style.gridTemplateColumns = this.template;
    for (const c of o.columns) head.append(this.header(c));
    this.spacer = el('div', { class: 'vt-spacer' });
    this.viewport = el(
      'div',
      { class: 'vt-viewport', tabindex: '0', role: 'rowgroup', 'aria-label': `${o.label} rows` },
      this.spacer,
    );
    this.viewport.addEventListener('scroll', () => this.schedule(true));
    this.viewport.addEventListener('keydown', (e) => this.onKey(e));
    this.viewport.addEventListener('click', (e) => this.onClick(e));
    this.element = el(
      'div',
      { class: 'vtable', role: 'grid', 'aria-label': o.label, 'data-table': o.id },
      el('div', { class: 'vt-toolbar' }, this.filterField(), this.count),
      head,
      this.viewport,
    );
    this.recompute();
    if (saved.scrollTop)
      requestAnimationFrame(() => (this.viewport.scrollTop = saved.scrollTop ?? 0));
  }

  /** Marks rows matching `pred` (e.g. a CodeLens's line) and moves to the first; false if none. */
  focusWhere(pred: (row: T) => boolean): boolean {
    this.highlighted = pred;
    let pos = this.view.findIndex((i) => pred(this.o.rows[i]));
    if (pos < 0 && this.filter) {
      this.setFilter('');
      pos = this.view.findIndex((i) => pred(this.o.rows[i]));
    }
    if (pos < 0) {
      this.render();
      return false;
    }
    this.setActive(pos, 'center');
    this.viewport.focus({ preventScroll: true });
    return true;
  }

  /** Number of rows the table holds (before the filter). */
  get rowCount(): number {
    return this.o.rows.length;
  }

  private header(c: Column<T>): HTMLElement {
    const btn = el(
      'button',
      {
        type: 'button',
        class: 'vt-sort',
        'data-key': c.key,
        ...(c.headerTitle ? { title: c.headerTitle } : {}),
      },
      c.label,
    );
    btn.addEventListener('click', () => {
      const dir =
        this.sort.key === c.key
          ? this.sort.dir === 'desc'
            ? 'asc'
            : 'desc'
          : c.numeric
            ? 'desc'
            : 'asc';
      this.sort = { key: c.key, dir };
      this.o.store.setTable(this.o.id, { sort: this.sort, scrollTop: 0 });
      this.viewport.scrollTop = 0;
      this.recompute();
    });
    const cell = el('div', { role: 'columnheader', class: c.numeric ? 'num' : '' }, btn);
    this.headers.set(c.key, cell);
    return cell;
  }

  private filterField(): HTMLElement | null {
    if (!this.haystack) return null;
    const box = document.createElement('vscode-textfield');
    box.setAttribute('placeholder', `Filter ${this.o.label.toLowerCase()}`);
    box.setAttribute('aria-label', `Filter ${this.o.label.toLowerCase()}`);
    box.classList.add('vt-filter');
    box.value = this.filter;
    box.addEventListener('input', () => this.setFilter(box.value));
    this.filterBox = box;
    return box;
  }

  private setFilter(text: string): void {
    this.filter = text;
    if (this.filterBox && this.filterBox.value !== text) this.filterBox.value = text;
    this.o.store.setTable(this.o.id, { filter: text, scrollTop: 0 });
    this.viewport.scrollTop = 0;
    this.recompute();
  }

  /** Re-filters and re-sorts the row indices, then redraws. */
  private recompute(): void {
    const needle = this.filter.trim().toLowerCase();
    const all = this.o.rows.map((_, i) => i);
    this.view =
      needle && this.haystack ? all.filter((i) => this.haystack![i].includes(needle)) : all;
    const col = this.o.columns.find((c) => c.key === this.sort.key) ?? this.o.columns[0];
    const keys = this.o.rows.map((r) => col.sortValue(r));
    const sign = this.sort.dir === 'asc' ? 1 : -1;
    // Plain comparisons (not localeCompare): sorting 100,000 names must stay well under a frame budget.
    this.view.sort((a, b) => (keys[a] < keys[b] ? -sign : keys[a] > keys[b] ? sign : a - b));
    for (const [key, h] of this.headers) {
      h.setAttribute(
        'aria-sort',
        key === this.sort.key ? (this.sort.dir === 'asc' ? 'ascending' : 'descending') : 'none',
      );
    }
    this.active = Math.min(this.active, this.view.length - 1);
    this.spacer.style.height = `${this.view.length * ROW_HEIGHT}px`;
    this.viewport.style.height = `${Math.max(1, Math.min(this.view.length, MAX_VISIBLE_ROWS)) * ROW_HEIGHT + 2}px`;
    this.element.setAttribute('aria-rowcount', String(this.view.length + 1));
    const total = this.o.rows.length.toLocaleString('en-US');
    this.count.textContent = needle
      ? `${this.view.length.toLocaleString('en-US')} of ${total}`
      : `${total} rows`;
    this.render();
  }

  private schedule(saveScroll: boolean): void {
    if (saveScroll) this.o.store.setTable(this.o.id, { scrollTop: this.viewport.scrollTop });
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  /** Draws only the rows inside the viewport (plus overscan). */
  private render(): void {
    const top = this.viewport.scrollTop;
    const height = this.viewport.clientHeight || MAX_VISIBLE_ROWS * ROW_HEIGHT;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(this.view.length, Math.ceil((top + height) / ROW_HEIGHT) + OVERSCAN);
    const rows: HTMLElement[] = [];
    for (let pos = first; pos < last; pos++) rows.push(this.row(pos));
    this.spacer.replaceChildren(...rows);
    if (this.active >= 0)
      this.viewport.setAttribute('aria-activedescendant', this.rowId(this.active));
    else this.viewport.removeAttribute('aria-activedescendant');
  }

  private rowId(pos: number): string {
    return `${this.o.id}-row-${pos}`;
  }

  private row(pos: number): HTMLElement {
    const data = this.o.rows[this.view[pos]];
    const classes = ['vt-row'];
    if (pos === this.active) classes.push('active');
    if (this.highlighted?.(data)) classes.push('highlight');
    const r = el('div', {
      class: classes.join(' '),
      role: 'row',
      id: this.rowId(pos),
      'data-pos': String(pos),
      'aria-rowindex': String(pos + 2),
      'aria-selected': String(pos === this.active),
    });
    r.style.gridTemplateColumns = this.template;
    r.style.transform = `translateY(${pos * ROW_HEIGHT}px)`;
    for (const c of this.o.columns) {
      const text = c.text(data);
      const clip = typeof c.clipStart === 'function' ? c.clipStart(data) : c.clipStart === true;
      const cls = c.numeric ? 'num' : clip ? 'clip-start' : '';
      // <bdi> keeps the text left-to-right inside the right-to-left clipping cell.
      const body = clip ? el('bdi', {}, text) : text;
      r.append(el('div', { role: 'gridcell', class: cls, title: c.title?.(data) ?? text }, body));
    }
    return r;
  }

  private setActive(pos: number, align: 'nearest' | 'center'): void {
    this.active = Math.max(0, Math.min(pos, this.view.length - 1));
    const y = this.active * ROW_HEIGHT;
    const h = this.viewport.clientHeight;
    if (align === 'center') this.viewport.scrollTop = Math.max(0, y - h / 2 + ROW_HEIGHT / 2);
    else if (y < this.viewport.scrollTop) this.viewport.scrollTop = y;
    else if (y + ROW_HEIGHT > this.viewport.scrollTop + h)
      this.viewport.scrollTop = y + ROW_HEIGHT - h;
    this.render();
  }

  private onClick(e: MouseEvent): void {
    const row = (e.target as HTMLElement).closest<HTMLElement>('.vt-row');
    if (!row) return;
    this.setActive(Number(row.dataset.pos), 'nearest');
    this.activate();
  }

  private activate(): void {
    if (this.active >= 0 && this.active < this.view.length)
      this.o.onActivate?.(this.o.rows[this.view[this.active]]);
  }

  private onKey(e: KeyboardEvent): void {
    const page = Math.max(1, Math.floor(this.viewport.clientHeight / ROW_HEIGHT) - 1);
    const moves: Record<string, number> = {
      ArrowDown: this.active + 1,
      ArrowUp: this.active - 1,
      PageDown: this.active + page,
      PageUp: this.active - page,
      Home: 0,
      End: this.view.length - 1,
    };
    if (e.key in moves) {
      e.preventDefault();
      this.setActive(Math.max(0, moves[e.key]), 'nearest');
    } else if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      if (this.active < 0) this.setActive(0, 'nearest');
      this.activate();
    }
  }
}
