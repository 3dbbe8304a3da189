/** Numbers for the Report: integer ns, medians and percentiles. */

/** Median of an ascending array (the mean of the middle two for an even count); 0 when empty. */
export function median(sortedAsc: readonly number[]): number {
  const n = sortedAsc.length;
  if (n === 0) return 0;
  const mid = n >> 1;
  return n % 2 ? sortedAsc[mid] : (sortedAsc[mid - 1] + sortedAsc[mid]) / 2;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sortedAsc: readonly number[], p: number): number {
  if (sortedAsc.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sortedAsc.length);
  return sortedAsc[Math.min(sortedAsc.length - 1, Math.max(0, rank - 1))];
}

/** Rounds to integer ns (the Report contract holds integers). */
export function ns(x: number): number {
  return Math.max(0, Math.round(x));
}
