/**
 * The Profile's CPU calls (CUDA runtime / driver and OS runtime calls) as columns, row i of every
 * column being call i.
 *
 * Invariants: every column holds at least `length` rows; `name` indexes `names`; `kind` is a code
 * into CPU_CALL_KINDS; `thread` indexes `threads` (rank, pid and tid of the call); `stackId`
 * indexes Profile.stacks (-1: none); a call's correlation id is the trace's (0 or -1 when it has
 * none, as its reader wrote), read with `correlationOf` (uint32 ids, CUPTI's, in a Uint32Array:
 * 28 MB less at 7.4 M calls than doubles; any other value beside it). Times are integer ns in
 * Float64Arrays. Rows are in the reader's order: GpuOps.launchIndex points at them,
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

/** The `correlationId` cell of a call whose id is not a uint32 below it (see CpuCalls.oddIds). */
export const ODD_ID = 0xffffffff;

export class CpuCalls extends ThreadSpanTable {
  protected readonly columns = [...THREAD_SPAN_COLUMNS, 'correlationId'] as const;
  /** Call i's id when it is a uint32 other than ODD_ID; ODD_ID: see `oddIds`. */
  correlationId = new Uint32Array(0);
  /** The ids that are not such a uint32 (-1, text, 2^40), by call; ODD_ID rows not here are -1. */
  readonly oddIds = new Map<number, number>();

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
    this.setCorrelation(i, c.correlationId);
    this.stackId[i] = c.stackId;
    return i;
  }

  /**
   * Sets call i's correlation id (-1, none, costs nothing beside the column). A reader's odd cell
   * (text, a blob) is taken as a number, as a Float64Array cell would take it.
   */
  setCorrelation(i: number, value: number): void {
    const id = Number(value);
    if (id >>> 0 === id && id !== ODD_ID) {
      this.correlationId[i] = id;
      if (this.oddIds.size > 0) this.oddIds.delete(i);
      return;
    }
    this.correlationId[i] = ODD_ID;
    if (id === -1) this.oddIds.delete(i);
    else this.oddIds.set(i, id);
  }

  /** Call i's correlation id as its reader set it. */
  correlationOf(i: number): number {
    const id = this.correlationId[i];
    return id !== ODD_ID ? id : (this.oddIds.get(i) ?? -1);
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
      correlationId: this.correlationOf(i),
      stackId: this.stackId[i],
    };
  }
}
