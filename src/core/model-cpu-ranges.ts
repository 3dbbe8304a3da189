/**
 * CPU ranges as columns: the Profile's framework operators (torch `cpu_op` events such as
 * aten::linear, `Profile.operators`), which outnumber every other record of a Kineto trace, row i
 * of every column being operator i.
 *
 * Invariants: every column holds at least `length` rows; `name` and `domain` index `names`;
 * `kind` is a code into CPU_RANGE_KINDS; `thread` indexes `threads`; `stackId` indexes
 * Profile.stacks (-1: none); `collective` indexes `collectives` (-1: none). Times are integer ns in
 * Float64Arrays. Rows are in the reader's order.
 */
import type { CollectiveTag, CpuRange } from './model';
import { THREAD_SPAN_COLUMNS, ThreadSpanTable } from './model-columns';

export const CPU_RANGE_KINDS: readonly CpuRange['kind'][] = ['nvtx', 'annotation', 'step', 'op'];

export class CpuRanges extends ThreadSpanTable {
  protected readonly columns = [...THREAD_SPAN_COLUMNS, 'domain', 'collective'] as const;
  domain = new Int32Array(0);
  collective = new Int32Array(0);
  readonly collectives: CollectiveTag[] = [];
  private readonly collectiveIds = new Map<string, number>();

  /** A table holding `ranges` (tests and small readers build ranges as objects). */
  static from(ranges: readonly CpuRange[]): CpuRanges {
    const t = new CpuRanges();
    t.reserve(ranges.length);
    for (const r of ranges) t.push(r);
    return t;
  }

  /** Appends one range; returns its index. */
  push(r: CpuRange): number {
    const i = this.nextRow();
    this.name[i] = this.names.intern(r.name);
    this.kind[i] = CPU_RANGE_KINDS.indexOf(r.kind);
    this.startNs[i] = r.startNs;
    this.endNs[i] = r.endNs;
    this.thread[i] = this.threads.intern(r.rank, r.pid, r.tid);
    this.domain[i] = this.names.intern(r.domain);
    this.stackId[i] = r.stackId;
    this.collective[i] = r.collective ? this.internCollective(r.collective) : -1;
    return i;
  }

  /** Index of `tag` in `collectives` (identical tags share one). */
  internCollective(tag: CollectiveTag): number {
    const key = `${tag.group}\0${tag.name}\0${tag.seq}`;
    let id = this.collectiveIds.get(key);
    if (id === undefined) {
      id = this.collectives.push(tag) - 1;
      this.collectiveIds.set(key, id);
    }
    return id;
  }

  collectiveOf(i: number): CollectiveTag | undefined {
    const c = this.collective[i];
    return c < 0 ? undefined : this.collectives[c];
  }

  /** Range i as an object (a copy). For cold paths only. */
  get(i: number): CpuRange {
    const t = this.thread[i];
    const r: CpuRange = {
      name: this.nameOf(i),
      startNs: this.startNs[i],
      endNs: this.endNs[i],
      pid: this.threads.pid[t],
      tid: this.threads.tid[t],
      rank: this.threads.rank[t],
      domain: this.names.at(this.domain[i]),
      kind: CPU_RANGE_KINDS[this.kind[i]],
      stackId: this.stackId[i],
    };
    const tag = this.collectiveOf(i);
    if (tag) r.collective = tag;
    return r;
  }
}
