/**
 * The event budget: the most events (Kineto trace events, or activity rows of an nsys export) one
 * load reads. Memory grows with every event kept, and the byte and gzip-ratio limits do not bound
 * it: 30 M tiny kernels fit in a 168 MB `.json.gz`. Readers count as they read and stop with an
 * {@link EventBudgetError} long before the heap runs out.
 */

/**
 * Default budget. Measured (docs/benchmarks.md): a 2 GB torch.profiler trace holds 8.7 M events
 * (~85 bytes of heap each); the costliest events, tiny kernels, take ~290 bytes each, so 10 M of
 * them peak near 3 GB, inside the ~4 GB heap of a Node or Electron process.
 */
export const DEFAULT_MAX_EVENTS = 10_000_000;

/** Thrown when a trace holds more events than the budget allows. */
export class EventBudgetError extends Error {
  constructor(
    path: string,
    readonly limit: number,
    what = 'events',
  ) {
    super(
      `${path}: too large to read: it holds more than ${limit.toLocaleString('en-US')} ${what} ` +
        `(the event budget)`,
    );
  }
}

/** Events counted against one limit, across every file of a load (rank folders share one). */
export class EventBudget {
  private used = 0;

  constructor(readonly limit: number = DEFAULT_MAX_EVENTS) {}

  /** Events counted so far. */
  get taken(): number {
    return this.used;
  }

  /** Counts `n` more events of `path`; throws {@link EventBudgetError} once past the limit. */
  take(n: number, path: string, what?: string): void {
    this.used += n;
    if (this.used > this.limit) throw new EventBudgetError(path, this.limit, what);
  }
}
