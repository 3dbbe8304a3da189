/**
 * Puts a Profile's GPU ops in device order: by rank, then device id, then start (ties in the order
 * read). Readers append kernels, then copies, then memsets, and rank folders append rank after
 * rank; in this order each device's ops are one run of rows already in start order, so a device's
 * timeline is a range of rows, and the busy union of a device whose ops never overlap is the start
 * and end columns themselves rather than a copy of them (80 MB at 5 M kernels: device-timelines.ts,
 * IntervalList.ofSorted). Nothing depends on the order for its results; loadTrace applies it.
 */
import { sortByStart } from './intervals';
import type { GpuOps } from './model-gpu-ops';

export function putOpsInDeviceOrder(ops: GpuOps): void {
  if (inDeviceOrder(ops)) return;
  const devices = opsPerDevice(ops).sort(
    (a, b) => ops.rank[a[0]] - ops.rank[b[0]] || ops.deviceId[a[0]] - ops.deviceId[b[0]],
  );
  const order = new Int32Array(ops.length);
  let at = 0;
  for (const list of devices) {
    sortByStart(ops.startNs, list); // stable: ties keep the order read
    order.set(list, at);
    at += list.length;
  }
  ops.permute(order);
}

/** Whether the ops are already by rank, device id and start. */
function inDeviceOrder(ops: GpuOps): boolean {
  const { rank, deviceId, startNs } = ops;
  for (let i = 1; i < ops.length; i++) {
    const byRank = rank[i] - rank[i - 1];
    if (byRank < 0) return false;
    if (byRank > 0) continue;
    const byDevice = deviceId[i] - deviceId[i - 1];
    if (byDevice < 0 || (byDevice === 0 && startNs[i] < startNs[i - 1])) return false;
  }
  return true;
}

/** Op indexes per (rank, device), each list in trace order, the devices in order of first op. */
export function opsPerDevice(ops: GpuOps): Int32Array[] {
  if (ops.length === 0) return [];
  // One device (the usual trace): its ops are every op, in the order read.
  if (oneDevice(ops)) {
    const all = new Int32Array(ops.length);
    for (let i = 0; i < all.length; i++) all[i] = i;
    return [all];
  }
  const slot = new Map<string, number>();
  const deviceOf = new Int32Array(ops.length);
  const counts: number[] = [];
  // Consecutive ops are mostly on the same device: reuse its slot instead of a key string per op.
  let lastRank = NaN;
  let lastDevice = NaN;
  let current = -1;
  for (let i = 0; i < ops.length; i++) {
    if (ops.deviceId[i] !== lastDevice || ops.rank[i] !== lastRank) {
      lastRank = ops.rank[i];
      lastDevice = ops.deviceId[i];
      const key = `${lastRank}:${lastDevice}`;
      const found = slot.get(key);
      if (found === undefined) slot.set(key, (current = counts.push(0) - 1));
      else current = found;
    }
    deviceOf[i] = current;
    counts[current]++;
  }
  const lists = counts.map((n) => new Int32Array(n));
  const filled = new Array<number>(counts.length).fill(0);
  for (let i = 0; i < ops.length; i++) lists[deviceOf[i]][filled[deviceOf[i]]++] = i;
  return lists;
}

function oneDevice(ops: GpuOps): boolean {
  const { rank, deviceId } = ops;
  for (let i = 1; i < ops.length; i++)
    if (rank[i] !== rank[0] || deviceId[i] !== deviceId[0]) return false;
  return true;
}
