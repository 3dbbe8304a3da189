/**
 * A Profile sent between threads (rank-read-worker.ts → ranks.ts): `postMessage` clones it with
 * the structured-clone algorithm, which copies every own field (typed arrays, Maps, arrays, plain
 * objects) but not classes: the columnar tables arrive as plain objects. Their column buffers are
 * transferred, not copied (`profileBuffers`), and `reviveProfile` gives the tables their classes
 * back. The tables hold no closures or hidden state, so a revived table is the table that was sent
 * (test/unit/profile-transfer.test.ts walks both and compares every object's class).
 */
import type { Profile } from '../model';
import { StringTable, ThreadTable } from '../model-columns';
import { CpuCalls } from '../model-cpu-calls';
import { CpuRanges } from '../model-cpu-ranges';
import { CopyDetails, GpuOps, OpCollectives } from '../model-gpu-ops';
import { MemoryEvents, MemorySamples } from '../model-memory';

/** The distinct buffers under the Profile's typed-array columns (each may be transferred once). */
export function profileBuffers(p: Profile): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const table of [
    p.gpuOps,
    p.gpuOps.copies,
    p.gpuOps.opCollectives,
    p.cpuCalls,
    p.operators,
    p.memory,
    p.memoryEvents,
  ])
    for (const value of Object.values(table))
      if (ArrayBuffer.isView(value) && value.buffer instanceof ArrayBuffer)
        buffers.add(value.buffer);
  return [...buffers];
}

/** `p` as cloned by `postMessage`, with its tables' classes given back (in place); returns it. */
export function reviveProfile(p: Profile): Profile {
  as(p.gpuOps, GpuOps);
  as(p.gpuOps.copies, CopyDetails);
  as(p.gpuOps.opCollectives, OpCollectives);
  as(p.gpuOps.names, StringTable);
  for (const [table, cls] of [
    [p.cpuCalls, CpuCalls],
    [p.operators, CpuRanges],
  ] as const) {
    as(table, cls);
    as(table.names, StringTable);
    as(table.threads, ThreadTable);
  }
  as(p.memory, MemorySamples);
  as(p.memoryEvents, MemoryEvents);
  return p;
}

function as(value: object, cls: { prototype: object }): void {
  Object.setPrototypeOf(value, cls.prototype);
}
