/** Window queries over one thread's spans sorted by start. */
import type { Interval } from './intervals';

/**
 * Spans sorted by start with the running maximum of their ends, for window queries on one thread's
 * history: every span that ends after `t` lies at or after `firstEndingAfter(t)` (binary search),
 * so per-gap and per-range lookups do not rescan the whole thread (which made reports quadratic in
 * trace length: a 1 M-kernel export took minutes).
 */
export class SortedSpans<T extends Interval> {
  private readonly maxEnd: Float64Array;

  /** `items` must be sorted by startNs (as callsByThread / userRangesByThread lists are). */
  constructor(readonly items: readonly T[]) {
    this.maxEnd = new Float64Array(items.length);
    let m = -Infinity;
    for (let i = 0; i < items.length; i++) this.maxEnd[i] = m = Math.max(m, items[i].endNs);
  }

  /** Index of the first item whose end, or an earlier item's end, is after `t`. */
  firstEndingAfter(t: number): number {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.maxEnd[mid] > t) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** Items with endNs > from and startNs < to, in start order (same as a filter of `items`). */
  overlapping(from: number, to: number): T[] {
    const out: T[] = [];
    for (let i = this.firstEndingAfter(from); i < this.items.length; i++) {
      const x = this.items[i];
      if (x.startNs >= to) break;
      if (x.endNs > from) out.push(x);
    }
    return out;
  }

  /** Whether some item starts in [from, to). */
  anyStartIn(from: number, to: number): boolean {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.items[mid].startNs >= from) hi = mid;
      else lo = mid + 1;
    }
    return lo < this.items.length && this.items[lo].startNs < to;
  }
}
