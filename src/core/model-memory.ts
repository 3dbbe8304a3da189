/**
 * The Profile's memory records as columns: allocator samples (`Profile.memory`) and allocations and
 * frees (`Profile.memoryEvents`), row i of every column being record i. A 1.2 GB Kineto trace holds
 * ~1 M of them: as objects they took ~140 MB of heap, as columns ~45 MB.
 *
 * Invariants: every column holds at least `length` rows; `rank` and `stackId` are integer indexes
 * (Int32Array); the other numbers are kept as read (Float64Array: a device id or a byte count is
 * whatever number the trace spells). `MemoryEvents.device` is a code into MEMORY_DEVICES (ABSENT:
 * none) and its `totalAllocated` NaN when not recorded (JSON and the summary format hold no NaN,
 * so NaN is free to mean "absent"). The Profile's tables are in time order.
 */
import type { MemoryEvent, MemorySample } from './model';
import { ABSENT, ColumnTable } from './model-columns';

export const MEMORY_DEVICES: readonly MemoryEvent['device'][] = ['cpu', 'gpu'];

/** Allocator samples (Kineto `[memory]` events with running totals). */
export class MemorySamples extends ColumnTable {
  protected readonly columns = [
    'tsNs',
    'deviceId',
    'allocatedBytes',
    'reservedBytes',
    'rank',
  ] as const;
  tsNs = new Float64Array(0);
  deviceId = new Float64Array(0);
  allocatedBytes = new Float64Array(0);
  reservedBytes = new Float64Array(0);
  rank = new Int32Array(0);

  /** A table holding `samples` (summaries and tests build samples as objects). */
  static from(samples: readonly MemorySample[]): MemorySamples {
    const t = new MemorySamples();
    t.reserve(samples.length);
    for (const m of samples) t.push(m);
    return t;
  }

  /** Appends one sample; returns its index. */
  push(m: MemorySample): number {
    const i = this.nextRow();
    this.tsNs[i] = m.tsNs;
    this.deviceId[i] = m.deviceId;
    this.allocatedBytes[i] = m.allocatedBytes;
    this.reservedBytes[i] = m.reservedBytes;
    this.rank[i] = m.rank;
    return i;
  }

  /** Row `i` as an object (cold paths: a finding, a summary, tests). */
  get(i: number): MemorySample {
    return {
      tsNs: this.tsNs[i],
      deviceId: this.deviceId[i],
      allocatedBytes: this.allocatedBytes[i],
      reservedBytes: this.reservedBytes[i],
      rank: this.rank[i],
    };
  }

  /** The rows in the order of `order` (a permutation of row indexes), as a new table. */
  permuted(order: Int32Array): MemorySamples {
    return gathered(this, new MemorySamples(), order);
  }
}

/** Allocations (bytes > 0) and frees (bytes < 0). */
export class MemoryEvents extends ColumnTable {
  protected readonly columns = [
    'tsNs',
    'rank',
    'device',
    'deviceId',
    'addr',
    'bytes',
    'totalAllocated',
    'stackId',
  ] as const;
  tsNs = new Float64Array(0);
  rank = new Int32Array(0);
  device = new Uint8Array(0);
  deviceId = new Float64Array(0);
  addr = new Float64Array(0);
  bytes = new Float64Array(0);
  totalAllocated = new Float64Array(0);
  stackId = new Int32Array(0);

  /** A table holding `events` (summaries and tests build events as objects). */
  static from(events: readonly MemoryEvent[]): MemoryEvents {
    const t = new MemoryEvents();
    t.reserve(events.length);
    for (const e of events) t.push(e);
    return t;
  }

  /** Appends one event; returns its index. */
  push(e: MemoryEvent): number {
    const i = this.nextRow();
    this.tsNs[i] = e.tsNs;
    this.rank[i] = e.rank;
    const device = MEMORY_DEVICES.indexOf(e.device);
    this.device[i] = device < 0 ? ABSENT : device;
    this.deviceId[i] = e.deviceId;
    this.addr[i] = e.addr;
    this.bytes[i] = e.bytes;
    this.totalAllocated[i] = e.totalAllocated ?? NaN;
    this.stackId[i] = e.stackId;
    return i;
  }

  /** Whether row `i` is on a GPU (else host memory). */
  isGpu(i: number): boolean {
    return this.device[i] === GPU;
  }

  /** Row `i` as an object (cold paths: a summary, tests); `totalAllocated` only when recorded. */
  get(i: number): MemoryEvent {
    const e: MemoryEvent = {
      tsNs: this.tsNs[i],
      rank: this.rank[i],
      device: MEMORY_DEVICES[this.device[i]],
      deviceId: this.deviceId[i],
      addr: this.addr[i],
      bytes: this.bytes[i],
      stackId: this.stackId[i],
    };
    const total = this.totalAllocated[i];
    if (!Number.isNaN(total)) e.totalAllocated = total;
    return e;
  }

  /** The rows in the order of `order` (a permutation of row indexes), as a new table. */
  permuted(order: Int32Array): MemoryEvents {
    return gathered(this, new MemoryEvents(), order);
  }
}

const GPU = MEMORY_DEVICES.indexOf('gpu');

type Column = Float64Array | Int32Array | Uint8Array;

/** `to` (empty) filled with `from`'s rows `order[0]`, `order[1]` …, column by column. */
function gathered<T extends MemorySamples | MemoryEvents>(from: T, to: T, order: Int32Array): T {
  to.reserve(order.length);
  const src = from as unknown as Record<string, Column>;
  const dst = to as unknown as Record<string, Column>;
  for (const c of (from as unknown as { columns: readonly string[] }).columns) {
    const a = src[c];
    const b = dst[c];
    for (let j = 0; j < order.length; j++) b[j] = a[order[j]];
  }
  to.length = order.length;
  return to;
}

/** Row indexes `0 … n-1` ordered by `ts` (stable: equal times keep their row order). */
export function timeOrder(ts: Float64Array, n: number): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return order.sort((a, b) => ts[a] - ts[b] || a - b);
}
