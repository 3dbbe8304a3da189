/**
 * The Profile's GPU ops (kernels, copies, memsets) as columns: one typed array per field, row i of
 * every column is op i. Millions of kernels cost 46 bytes each here instead of an object apiece
 * (which made GC the largest cost of a 5 M-kernel trace).
 *
 * Invariants: every column holds at least `length` rows (rows past it are spare capacity); `name`
 * indexes `names`, and a name's short name (a kernel's, from the trace) is kept once per name, not
 * per op (the first one given); `launchIndex` indexes Profile.cpuCalls (-1: unknown); `stackId` /
 * `callerStackId` index Profile.stacks (-1: none). Bytes and memory kinds, and the collective (an
 * index into `collectives`), are kept only for the ops that have them (`copies` and
 * `opCollectives`, SparseRows in op order). Times are integer ns (exact in a Float64Array up to
 * 2^53, never boxed). Rows are in the reader's order; loadTrace then puts them in device order (by
 * rank, device and start: model-op-order.ts), which saves memory but must not change any result.
 */
import type { CollectiveTag, CopyKind, GpuOp, GpuOpKind, MemKind } from './model';
import { lowerBound } from './collections';
import { sortByStart } from './intervals';
import { ABSENT, ColumnTable, StringTable } from './model-columns';

export const GPU_OP_KINDS: readonly GpuOpKind[] = ['kernel', 'memcpy', 'memset'];
export const COPY_KINDS: readonly CopyKind[] = ['HtoD', 'DtoH', 'DtoD', 'PtoP', 'other'];
export const MEM_KINDS: readonly MemKind[] = ['pageable', 'pinned', 'device', 'managed', 'unknown'];
/** `kind` column codes. */
export const KERNEL = 0;
export const MEMCPY = 1;
export const MEMSET = 2;

const codeOf = <T>(values: readonly T[], v: T | undefined): number =>
  v === undefined ? ABSENT : values.indexOf(v);

/**
 * Fields that only a few of a trace's ops have, kept one row per such op in op order beside the op
 * columns rather than on every op. Invariant: `op` is strictly ascending.
 */
abstract class SparseRows extends ColumnTable {
  op = new Int32Array(0);

  /** A new last row for op `op` (above every op before it). */
  protected rowFor(op: number): number {
    if (this.length > 0 && op <= this.op[this.length - 1])
      throw new Error(`sparse op rows out of op order: op ${op} after ${this.op[this.length - 1]}`);
    const r = this.nextRow();
    this.op[r] = op;
    return r;
  }

  /** `column` (one of this table's) spread over `n` ops, `absent` for the ops without a row. */
  spread<T extends Float64Array | Int32Array | Uint8Array>(
    column: T,
    n: number,
    absent: number,
  ): T {
    const out = new (column.constructor as new (length: number) => T)(n);
    out.fill(absent);
    for (let r = 0; r < this.length; r++) out[this.op[r]] = column[r];
    return out;
  }

  /** Renumbers the ops (`newIndex[op]`, a permutation) and puts the rows back in op order. */
  renumber(newIndex: Int32Array): void {
    const n = this.length;
    const op = new Int32Array(n);
    const key = new Float64Array(n);
    const rows = new Int32Array(n);
    for (let r = 0; r < n; r++) {
      key[r] = op[r] = newIndex[this.op[r]];
      rows[r] = r;
    }
    this.op = op;
    // Rows whose ops kept their order stay in order: a few runs to merge.
    sortByStart(key, rows);
    this.permute(rows);
  }

  /** The row of op `op`, or -1 (a binary search). */
  rowOf(op: number): number {
    const r = lowerBound(this.op, op, this.length);
    return r < this.length && this.op[r] === op ? r : -1;
  }
}

/**
 * Bytes and memory kinds of the ops that have them (copies and memsets, a few percent of a trace's
 * ops; a kernel rarely records bytes): 11 bytes on every op would be 58 MB at 5 M kernels. `bytes`
 * is NaN when not recorded; `copyKind` / `srcKind` / `dstKind` are codes into COPY_KINDS /
 * MEM_KINDS, ABSENT when not recorded.
 */
export class CopyDetails extends SparseRows {
  protected readonly columns = ['op', 'bytes', 'copyKind', 'srcKind', 'dstKind'] as const;
  bytes = new Float64Array(0);
  copyKind = new Uint8Array(0);
  srcKind = new Uint8Array(0);
  dstKind = new Uint8Array(0);

  /** Appends the details of op `op` (above every op before it). */
  add(op: number, bytes: number, copyKind: number, srcKind: number, dstKind: number): void {
    const r = this.rowFor(op);
    this.bytes[r] = bytes;
    this.copyKind[r] = copyKind;
    this.srcKind[r] = srcKind;
    this.dstKind[r] = dstKind;
  }

  /** Appends `other`'s rows with their ops moved by `opBase` (a rank folder's merge). */
  append(other: CopyDetails, opBase: number): void {
    for (let r = 0; r < other.length; r++)
      this.add(
        other.op[r] + opBase,
        other.bytes[r],
        other.copyKind[r],
        other.srcKind[r],
        other.dstKind[r],
      );
  }
}

/**
 * The collective of the ops that have one (communication kernels whose trace names it, none in
 * most traces): 4 bytes on every op would be 20 MB at 5 M kernels. `tag` indexes
 * GpuOps.collectives.
 */
export class OpCollectives extends SparseRows {
  protected readonly columns = ['op', 'tag'] as const;
  tag = new Int32Array(0);

  /** Appends op `op`'s collective (above every op before it). */
  add(op: number, tag: number): void {
    const r = this.rowFor(op); // first: it may grow (replace) the columns
    this.tag[r] = tag;
  }

  /** Appends `other`'s rows with their ops moved by `opBase` and tags mapped by `tagOf`. */
  append(other: OpCollectives, opBase: number, tagOf: ArrayLike<number>): void {
    for (let r = 0; r < other.length; r++) this.add(other.op[r] + opBase, tagOf[other.tag[r]]);
  }
}

export class GpuOps extends ColumnTable {
  protected readonly columns = [
    'kind',
    'name',
    'startNs',
    'endNs',
    'deviceId',
    'streamId',
    'rank',
    'launchIndex',
    'stackId',
    'callerStackId',
    'isComm',
  ] as const;
  kind = new Uint8Array(0);
  name = new Int32Array(0);
  startNs = new Float64Array(0);
  endNs = new Float64Array(0);
  deviceId = new Int32Array(0);
  streamId = new Int32Array(0);
  rank = new Int32Array(0);
  launchIndex = new Int32Array(0);
  stackId = new Int32Array(0);
  callerStackId = new Int32Array(0);
  isComm = new Uint8Array(0);
  readonly copies = new CopyDetails();
  readonly opCollectives = new OpCollectives();
  readonly names = new StringTable();
  readonly collectives: CollectiveTag[] = [];
  /** Short name (a `names` index) of each name, by name index; -1 for none. */
  private shortOfName = new Int32Array(0);
  private readonly collectiveIds = new Map<string, number>();

  /** A table holding `ops` (tests and small readers build ops as objects). */
  static from(ops: readonly GpuOp[]): GpuOps {
    const t = new GpuOps();
    t.reserve(ops.length);
    for (const op of ops) t.push(op);
    return t;
  }

  /** Appends one op; returns its index. */
  push(op: GpuOp): number {
    const i = this.nextRow();
    this.kind[i] = GPU_OP_KINDS.indexOf(op.kind);
    this.name[i] = this.names.intern(op.name);
    if (op.shortName !== undefined) this.setShortName(i, this.names.intern(op.shortName));
    this.startNs[i] = op.startNs;
    this.endNs[i] = op.endNs;
    this.deviceId[i] = op.deviceId;
    this.streamId[i] = op.streamId;
    this.rank[i] = op.rank;
    this.launchIndex[i] = op.launchIndex;
    this.stackId[i] = op.stackId;
    this.callerStackId[i] = op.callerStackId ?? -1;
    this.isComm[i] = op.isComm ? 1 : 0;
    this.setCollective(i, op.collective ? this.internCollective(op.collective) : -1);
    this.setCopy(
      i,
      op.bytes ?? NaN,
      codeOf(COPY_KINDS, op.copyKind),
      codeOf(MEM_KINDS, op.srcKind),
      codeOf(MEM_KINDS, op.dstKind),
    );
    return i;
  }

  /** Drops spare capacity, the sparse rows' too. */
  override trim(): void {
    super.trim();
    this.copies.trim();
    this.opCollectives.trim();
  }

  /**
   * Reorders the ops: op k becomes what op `order[k]` was (`order` a permutation of the ops). Only
   * the sparse rows point at ops within the table; CPU calls point at no op.
   */
  override permute(order: Int32Array): void {
    super.permute(order);
    const newIndex = new Int32Array(order.length);
    for (let k = 0; k < order.length; k++) newIndex[order[k]] = k;
    this.copies.renumber(newIndex);
    this.opCollectives.renumber(newIndex);
  }

  /** Records op i's collective (a `collectives` index; -1: none, nothing kept). Ops ascend. */
  setCollective(i: number, tag: number): void {
    if (tag >= 0) this.opCollectives.add(i, tag);
  }

  /** Op i's collective as a `collectives` index, -1 when none. */
  collectiveIdOf(i: number): number {
    const r = this.opCollectives.rowOf(i);
    return r < 0 ? -1 : this.opCollectives.tag[r];
  }

  /**
   * Records op i's bytes (NaN: none) and copy / memory kind codes (ABSENT: none); nothing when it
   * has none. Ops are given in ascending order, each once.
   */
  setCopy(i: number, bytes: number, copyKind: number, srcKind: number, dstKind: number): void {
    if (Number.isNaN(bytes) && copyKind === ABSENT && srcKind === ABSENT && dstKind === ABSENT)
      return;
    this.copies.add(i, bytes, copyKind, srcKind, dstKind);
  }

  /** Op i's bytes, NaN when not recorded. */
  bytesOf(i: number): number {
    const r = this.copies.rowOf(i);
    return r < 0 ? NaN : this.copies.bytes[r];
  }

  /** Op i's `copyKind`, `srcKind` or `dstKind` code, ABSENT when not recorded. */
  copyCode(i: number, field: 'copyKind' | 'srcKind' | 'dstKind'): number {
    const r = this.copies.rowOf(i);
    return r < 0 ? ABSENT : this.copies[field][r];
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

  nameOf(i: number): string {
    return this.names.at(this.name[i]);
  }

  /**
   * Gives op i's name the short name `short` (a `names` index) unless the name has one already
   * (op i's `name` must be written first).
   */
  setShortName(i: number, short: number): void {
    this.setShortOfName(this.name[i], short);
  }

  /** Gives the name `nameId` the short name `short` unless it has one already. */
  setShortOfName(nameId: number, short: number): void {
    if (nameId >= this.shortOfName.length) {
      const grown = new Int32Array(Math.max(16, nameId + 1, 2 * this.shortOfName.length)).fill(-1);
      grown.set(this.shortOfName);
      this.shortOfName = grown;
    }
    if (this.shortOfName[nameId] < 0) this.shortOfName[nameId] = short;
  }

  /** The short name (a `names` index) of op i's name, or -1. */
  shortNameIdOf(i: number): number {
    const name = this.name[i];
    return name < this.shortOfName.length ? this.shortOfName[name] : -1;
  }

  /** The short name of op i's name, or undefined. */
  shortNameOf(i: number): string | undefined {
    const s = this.shortNameIdOf(i);
    return s < 0 ? undefined : this.names.at(s);
  }

  /** Each name that has a short name, with it (both `names` indexes). */
  *shortNames(): IterableIterator<[number, number]> {
    for (let n = 0; n < this.shortOfName.length; n++)
      if (this.shortOfName[n] >= 0) yield [n, this.shortOfName[n]];
  }

  kindOf(i: number): GpuOpKind {
    return GPU_OP_KINDS[this.kind[i]];
  }

  collectiveOf(i: number): CollectiveTag | undefined {
    const c = this.collectiveIdOf(i);
    return c < 0 ? undefined : this.collectives[c];
  }

  /** Op i as an object (a copy: writing to it changes nothing here). For cold paths only. */
  get(i: number): GpuOp {
    const op: GpuOp = {
      kind: this.kindOf(i),
      name: this.nameOf(i),
      startNs: this.startNs[i],
      endNs: this.endNs[i],
      deviceId: this.deviceId[i],
      streamId: this.streamId[i],
      rank: this.rank[i],
      launchIndex: this.launchIndex[i],
      stackId: this.stackId[i],
      isComm: this.isComm[i] === 1,
    };
    const short = this.shortNameOf(i);
    if (short !== undefined) op.shortName = short;
    if (this.callerStackId[i] >= 0) op.callerStackId = this.callerStackId[i];
    const tag = this.collectiveOf(i);
    if (tag) op.collective = tag;
    const r = this.copies.rowOf(i);
    if (r < 0) return op;
    const { bytes, copyKind, srcKind, dstKind } = this.copies;
    if (!Number.isNaN(bytes[r])) op.bytes = bytes[r];
    if (copyKind[r] !== ABSENT) op.copyKind = COPY_KINDS[copyKind[r]];
    if (srcKind[r] !== ABSENT) op.srcKind = MEM_KINDS[srcKind[r]];
    if (dstKind[r] !== ABSENT) op.dstKind = MEM_KINDS[dstKind[r]];
    return op;
  }
}
