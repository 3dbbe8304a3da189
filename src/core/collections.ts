/** Small helpers for the maps the stages group by. */

/** Appends to the list under `key`, creating it: linear, unlike re-spreading the list each time. */
export function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** Position of the first value ≥ `v` among the first `length` values of the ascending `sorted`. */
export function lowerBound(sorted: ArrayLike<number>, v: number, length = sorted.length): number {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
