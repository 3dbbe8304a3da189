/**
 * The Profile's CPU calls (CUDA runtime / driver and OS runtime calls) as columns, row i of every
 * column being call i.
 *
 * Invariants: every column holds at least `length` rows; `name` indexes `names`; `kind` is a code
 * into CPU_CALL_KINDS; `thread` indexes `threads` (rank, pid and tid of the call); `stackId`
 * indexes Profile.stacks (-1: none); `correlationId` is the trace's (0 when it has none). Times are
 * integer ns in Float64Arrays. Rows are in the reader's order: GpuOps.launchIndex points at them,
 * so they are never reordered once ops refer to them.
 */
import type { CpuCall, CpuCallKind } from './model';
import { THREAD_SPAN_COLUMNS, ThreadSpanTable } from './model-columns';

export const CPU_CALL_KINDS: readonly CpuCallKind[] = [
  'launch',
  'memcpy',
  'memset',
  'sync',
  'alloc',
  'free',
  'os-wait',
  'os-other',
  'other',
];
/** `kind` column codes. */
export const CALL_LAUNCH = 0;
export const CALL_MEMCPY = 1;
export const CALL_MEMSET = 2;
export const CALL_SYNC = 3;
export const CALL_ALLOC = 4;
export const CALL_FREE = 5;
export const CALL_OS_WAIT = 6;

export class CpuCalls extends ThreadSpanTable {
  protected readonly columns = [...THREAD_SPAN_COLUMNS, 'correlationId'] as const;
  correlationId = new Float64Array(0);

  /** A table holding `calls` (tests and small readers build calls as objects). */
  static from(calls: readonly CpuCall[]): CpuCalls {
    const t = new CpuCalls();
    t.reserve(calls.length);
    for (const c of calls) t.push(c);
    return t;
  }

  /** Appends one call; returns its index. */
  push(c: CpuCall): number {
    const i = this.nextRow();
    this.name[i] = this.names.intern(c.name);
    this.kind[i] = CPU_CALL_KINDS.indexOf(c.kind);
    this.startNs[i] = c.startNs;
    this.endNs[i] = c.endNs;
    this.thread[i] = this.threads.intern(c.rank, c.pid, c.tid);
    this.correlationId[i] = c.correlationId;
    this.stackId[i] = c.stackId;
    return i;
  }

  kindOf(i: number): CpuCallKind {
    return CPU_CALL_KINDS[this.kind[i]];
  }

  /** Whether call i put work on the GPU (a kernel launch, copy or memset). */
  isLaunchLike(i: number): boolean {
    return this.kind[i] <= CALL_MEMSET;
  }

  /** Call i as an object (a copy). For cold paths only. */
  get(i: number): CpuCall {
    const t = this.thread[i];
    return {
      name: this.nameOf(i),
      kind: this.kindOf(i),
      startNs: this.startNs[i],
      endNs: this.endNs[i],
      pid: this.threads.pid[t],
      tid: this.threads.tid[t],
      rank: this.threads.rank[t],
      correlationId: this.correlationId[i],
      stackId: this.stackId[i],
    };
  }
}
