/**
 * Which CUDA API call launched each GPU operation of an nsys export: correlationId → call index,
 * per process. Built from the runtime table's chunks (`linkRuntimeChunk`), on the runtime-table
 * worker when there is one (nsys-runtime-scan.ts): both run there from their source text, so they
 * use no name from outside their bodies.
 */
import type { ColumnChunk } from './sqlite-pages';

/**
 * correlationId → index of the API call, per process. Correlation ids are unique within a process
 * but not across processes: an open-addressing hash on typed arrays (a JS Map of millions of
 * numeric keys costs several times more) serves the common single-process case, and an overflow
 * map keyed by "process:correlation" takes the ids that two processes share.
 */
export class LaunchLinker {
  private keys: Uint32Array;
  /** 32 - log2(slots / WINDOW): shifts a block's hash down to its window's number. */
  private windowShift: number;
  /** call index + 1, 0 for an empty slot, -1 for an id shared by several processes. */
  private values: Int32Array;
  private size = 0;
  private readonly overflow = new Map<string, number>();
  /**
   * Process key of each call, indexed like Profile.cpuCalls (runtime calls are read first); null
   * while every call added is `soleProc`'s (one process: the common case, no array of millions).
   */
  private procOfCall: number[] | null = null;
  private soleProc: number | undefined = undefined;
  /**
   * `expected`: about how many calls will be added (NsysDb.rowCount, which the event budget has
   * bounded). The table starts large enough to hold them without growing: each growth rehashes
   * every id.
   */
  constructor(expected = 0) {
    let capacity = 1 << 16;
    while (capacity < 2 * expected) capacity *= 2;
    this.keys = new Uint32Array(capacity);
    this.values = new Int32Array(capacity);
    this.windowShift = 32 - Math.log2(capacity / 1024);
  }

  add(correlationId: number, proc: number, callIndex: number): void {
    if (this.procOfCall !== null) this.procOfCall[callIndex] = proc;
    else if (this.soleProc === undefined) this.soleProc = proc;
    else if (proc !== this.soleProc) {
      // A second process: from now on one entry per call. The earlier calls were soleProc's
      // (indices never added are never looked up: only added calls are in the table).
      this.procOfCall = new Array<number>(callIndex).fill(this.soleProc);
      this.procOfCall[callIndex] = proc;
    }
    if (correlationId >>> 0 !== correlationId) {
      // CUPTI ids are uint32; anything else is kept out of the typed table.
      for (const key of [`${proc}:${correlationId}`, `*:${correlationId}`]) {
        if (!this.overflow.has(key)) this.overflow.set(key, callIndex);
      }
      return;
    }
    const slot = this.slot(correlationId);
    const existing = this.values[slot];
    if (existing === 0) {
      this.keys[slot] = correlationId;
      this.values[slot] = callIndex + 1;
      if (++this.size * 2 > this.keys.length) this.grow();
    } else if (existing > 0) {
      const existingProc = this.procOf(existing - 1);
      if (existingProc === proc) return; // same id twice in one process: keep the first call
      this.overflow.set(`${existingProc}:${correlationId}`, existing - 1);
      this.overflow.set(`${proc}:${correlationId}`, callIndex);
      this.values[slot] = -1;
    } else {
      const key = `${proc}:${correlationId}`;
      if (!this.overflow.has(key)) this.overflow.set(key, callIndex);
    }
  }

  /** Index of the launching call, or -1. `proc` null (old schemas without globalPid) skips the check. */
  find(correlationId: number, proc: number | null): number {
    if (correlationId >>> 0 !== correlationId) {
      return this.overflow.get(`${proc ?? '*'}:${correlationId}`) ?? -1;
    }
    const v = this.values[this.slot(correlationId)];
    if (v === 0) return -1;
    if (v > 0) return proc === null || this.procOf(v - 1) === proc ? v - 1 : -1;
    return proc === null ? -1 : (this.overflow.get(`${proc}:${correlationId}`) ?? -1);
  }

  private procOf(callIndex: number): number | undefined {
    return this.procOfCall === null ? this.soleProc : this.procOfCall[callIndex];
  }

  /** The slot holding `id`, or the empty slot where it would go (linear probing). */
  private slot(id: number): number {
    const mask = this.keys.length - 1;
    // Blocks of 1,024 consecutive ids go to windows of 1,024 slots, the window picked by a
    // multiplicative hash of the block: the ids of a block (CUPTI hands them out in increasing
    // order, and the tables are in time order) land side by side, in order, which keeps memory
    // access local, while blocks spread over the table. (Keeping the low 12 bits and scrambling
    // the rest in place, as before, made 37 probes an insert on the 7.4 M calls of the bench.)
    let i = ((Math.imul(id >>> 10, 0x9e3779b1) >>> this.windowShift) << 10) | (id & 1023);
    while (this.values[i] !== 0 && this.keys[i] !== id) i = (i + 1) & mask;
    return i;
  }

  private grow(): void {
    const { keys, values } = this;
    this.keys = new Uint32Array(keys.length * 2);
    this.values = new Int32Array(keys.length * 2);
    this.windowShift--;
    for (let i = 0; i < keys.length; i++) {
      if (values[i] !== 0) {
        const j = this.slot(keys[i]);
        this.keys[j] = keys[i];
        this.values[j] = values[i];
      }
    }
  }
}

/**
 * Adds the calls of a chunk of the runtime table (RUNTIME_COLUMNS: globalTid and correlationId
 * are its 3rd and 4th), the first of them call `first`, to `linker`: each id as a raw row has it
 * (0 for NULL), in the process of its thread (the bits of globalTid above the tid).
 */
export function linkRuntimeChunk(linker: LaunchLinker, chunk: ColumnChunk, first: number): void {
  const globalTid = chunk.columns[2];
  const correlationId = chunk.columns[3];
  const odd = chunk.odd;
  let nextOdd = 0;
  let lastGtid: unknown = NaN;
  let proc = 0;
  for (let r = 0; r < chunk.length; r++) {
    let gtid: unknown;
    let corr: unknown;
    if (nextOdd < odd.length && odd[nextOdd][0] === r) {
      const row = odd[nextOdd++][1];
      gtid = row[2] ?? 0;
      corr = row[3] ?? 0;
    } else {
      const g = globalTid[r];
      const c = correlationId[r];
      gtid = g === g ? g : 0;
      corr = c === c ? c : 0;
    }
    if (gtid !== lastGtid) {
      lastGtid = gtid;
      proc = Math.floor((gtid as number) / 16777216); // nsys-db.ts's processKey
    }
    linker.add(corr as number, proc, first + r);
  }
}
