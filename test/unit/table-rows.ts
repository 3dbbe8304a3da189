/**
 * The Profile's column tables (GpuOps, CpuCalls) as arrays of row objects, for tests that filter,
 * map or compare whole tables. Tests are a cold path: one object per row is fine here.
 */

/** Every row of `table`, in order, as `table.get(i)` gives it. */
export function rowsOf<T>(table: { readonly length: number; get(i: number): T }): T[] {
  return Array.from({ length: table.length }, (_, i) => table.get(i));
}

/** Row `i` of `table`, or undefined when `i` is not a row (as an array index past the end reads). */
export function rowAt<T>(
  table: { readonly length: number; get(i: number): T },
  i: number,
): T | undefined {
  return Number.isInteger(i) && i >= 0 && i < table.length ? table.get(i) : undefined;
}
