/**
 * Where a profile's user ranges stood among its operators in the reader's order. A summary keeps
 * both in one range table (summary-file.ts), in the order the trace listed them (as GPU Lens wrote
 * it before operators had a table of their own): the readers that split that order (Kineto, the
 * summary reader) record it here, so that a summary written again holds the same rows in the same
 * order, byte for byte. Kept beside the Profile (by its operator table), not in it: nothing after
 * reading needs it.
 */
import type { Profile } from '../model';
import type { CpuRanges } from '../model-cpu-ranges';

const orders = new WeakMap<CpuRanges, Int32Array>();

/** Records that user range u of `p` was row `userRows[u]` of the combined sequence. */
export function setRangeOrder(p: Profile, userRows: Int32Array): void {
  orders.set(p.operators, userRows);
}

/**
 * The combined sequence of `p`'s user ranges and operators: per row, an operator index (>= 0) or
 * `~u` for user range u. Without a recorded order (or one that no longer fits), the user ranges
 * come first, then the operators.
 */
export function combinedRangeOrder(p: Profile): Int32Array {
  const n = p.ranges.length + p.operators.length;
  const order = new Int32Array(n);
  const recorded = orders.get(p.operators);
  const userRows = recorded && fits(recorded, p.ranges.length, n) ? recorded : firstRows(p);
  let u = 0;
  let op = 0;
  for (let k = 0; k < n; k++) order[k] = u < userRows.length && userRows[u] === k ? ~u++ : op++;
  return order;
}

/** Whether `userRows` are `count` ascending rows below `n`. */
function fits(userRows: Int32Array, count: number, n: number): boolean {
  if (userRows.length !== count) return false;
  for (let u = 0; u < count; u++)
    if (userRows[u] >= n || userRows[u] <= (u > 0 ? userRows[u - 1] : -1)) return false;
  return true;
}

/** The user ranges as the first rows. */
function firstRows(p: Profile): Int32Array {
  return Int32Array.from({ length: p.ranges.length }, (_, u) => u);
}
