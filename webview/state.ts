/**
 * UI state that survives the panel being hidden, moved or restored after a window reload
 * (`vscode.setState`): the selected tab, each table's sort, filter and scroll, and the timeline zoom.
 */

/** Sort of one table: a column key and a direction. */
export interface SortState {
  key: string;
  dir: 'asc' | 'desc';
}

/** Per-table view state. */
export interface TableState {
  sort?: SortState;
  filter?: string;
  scrollTop?: number;
}

export interface PanelState {
  tab: number;
  tables: Record<string, TableState>;
  /** Visible timeline window as fractions of the whole span (0..1). */
  zoom: { from: number; to: number };
  /** Window scroll position of the page. */
  scrollY: number;
  /** Trace shown last: the extension reloads it when the panel is restored after a window reload. */
  tracePath?: string;
  /** Multi-rank reports: the one rank shown (null or absent: all of them). */
  rank?: number | null;
}

interface StateApi {
  setState(s: unknown): void;
  getState(): unknown;
}

const DEFAULT: PanelState = { tab: 0, tables: {}, zoom: { from: 0, to: 1 }, scrollY: 0 };

/** Holds the state and writes it back (debounced) whenever a part changes. */
export class StateStore {
  private state: PanelState;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly api: StateApi) {
    const saved = api.getState() as Partial<PanelState> | undefined;
    this.state = { ...DEFAULT, ...(saved && typeof saved === 'object' ? saved : {}) };
  }

  get(): PanelState {
    return this.state;
  }

  table(id: string): TableState {
    return this.state.tables[id] ?? {};
  }

  /** Merges `patch` into table `id`'s state. */
  setTable(id: string, patch: TableState): void {
    this.state = {
      ...this.state,
      tables: { ...this.state.tables, [id]: { ...this.table(id), ...patch } },
    };
    this.save();
  }

  set(patch: Partial<PanelState>): void {
    this.state = { ...this.state, ...patch };
    this.save();
  }

  /** Forgets table scroll positions (a different trace was loaded). */
  resetScroll(): void {
    const tables: Record<string, TableState> = {};
    for (const [id, t] of Object.entries(this.state.tables)) tables[id] = { ...t, scrollTop: 0 };
    this.state = { ...this.state, tables, zoom: { from: 0, to: 1 }, scrollY: 0 };
    this.save();
  }

  private save(): void {
    // Scroll events fire per frame; writing the state once they settle is enough.
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.api.setState(this.state), 150);
  }
}
