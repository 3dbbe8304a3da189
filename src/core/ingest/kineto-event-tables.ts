/**
 * What the Kineto event sink (kineto-events.ts) keeps of python_function and operator events for
 * the stack pass, in typed-array columns: the frames with their Python ids, and the operators with
 * where they were filed, their sequence numbers, direction and legacy call stacks.
 */
import { INITIAL_CAPACITY, Interner, SpanTable, grown } from './kineto-columns';

/** python_function events: the span, its name (index into `names`), `Python id` and parent id. */
export class PyFrames extends SpanTable {
  readonly names = new Interner();
  name = new Int32Array(INITIAL_CAPACITY);
  /** `Python id` and parent id, -1 when absent or negative, `WIDE` when kept in `wide`. */
  private id = new Int32Array(INITIAL_CAPACITY);
  private parent = new Int32Array(INITIAL_CAPACITY);
  /** Ids that are not 31-bit integers (none in real traces), by row * 2 (+ 1 for the parent). */
  private readonly wide = new Map<number, number>();

  add(thread: number, start: number, end: number, name: string, id: number, parent: number): void {
    const i = this.addSpan(thread, start, end);
    this.name[i] = this.names.id(name);
    this.id[i] = this.narrow(i * 2, id);
    this.parent[i] = this.narrow(i * 2 + 1, parent);
  }

  /** `Python id` of row `i` (negative: none). */
  idOf(i: number): number {
    const v = this.id[i];
    return v === WIDE ? (this.wide.get(i * 2) as number) : v;
  }

  /** `Python parent id` of row `i` (negative: none). */
  parentOf(i: number): number {
    const v = this.parent[i];
    return v === WIDE ? (this.wide.get(i * 2 + 1) as number) : v;
  }

  private narrow(key: number, v: number): number {
    // Only the sign of a negative id matters (-0 counts as 0, as it did as a Map key).
    if (v < 0) return -1;
    if (Number.isInteger(v) && v <= 0x7fffffff) return v;
    this.wide.set(key, v);
    return WIDE;
  }

  protected override resize(capacity: number): void {
    super.resize(capacity);
    this.name = grown(this.name, capacity);
    this.id = grown(this.id, capacity);
    this.parent = grown(this.parent, capacity);
  }
}

/** Marks an id kept outside the Int32 columns. */
const WIDE = -0x80000000;

/**
 * Operator events (cpu_op): their span on their thread (index into the sink's `threads`), where
 * they were filed, sequence number, direction and legacy call stack.
 */
export class OpRows extends SpanTable {
  /** Distinct `Call stack` argument texts. */
  readonly callStacks = new Interner();
  /**
   * Index into the sink's `operators`; `~u` for user range u (an operator named ProfilerStep#N,
   * as older torch writes its steps, is a step range).
   */
  range = new Int32Array(INITIAL_CAPACITY);
  seq = new Float64Array(INITIAL_CAPACITY);
  /** 1 for a backward op (autograd thread): `Fwd thread id` > 0 or an autograd engine name. */
  backward = new Uint8Array(INITIAL_CAPACITY);
  /** Index into `callStacks`, -1 when the op has none. */
  callStack = new Int32Array(INITIAL_CAPACITY);

  add(
    span: { thread: number; start: number; end: number },
    op: { range: number; seq: number; backward: boolean; callStack: string },
  ): void {
    const i = this.addSpan(span.thread, span.start, span.end);
    this.range[i] = op.range;
    this.seq[i] = op.seq;
    this.backward[i] = op.backward ? 1 : 0;
    this.callStack[i] = op.callStack === '' ? -1 : this.callStacks.id(op.callStack);
  }

  protected override resize(capacity: number): void {
    super.resize(capacity);
    this.range = grown(this.range, capacity);
    this.seq = grown(this.seq, capacity);
    this.backward = grown(this.backward, capacity);
    this.callStack = grown(this.callStack, capacity);
  }
}
