/**
 * What the Kineto event sink (kineto-events.ts) keeps of operator events for the stack pass, in
 * typed-array columns: where they were filed, their sequence numbers, direction and legacy call
 * stacks (python_function events go to kineto-python-tree.ts).
 */
import { INITIAL_CAPACITY, Interner, SpanTable, grown } from './kineto-columns';

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
