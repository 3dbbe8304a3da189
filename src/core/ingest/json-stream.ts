/**
 * A small streaming reader for Chrome-trace JSON: it yields each element of `traceEvents` (or of a
 * top-level array) without ever holding the whole file as one string, so traces larger than V8's
 * largest string (~512 MB) load with memory bounded by what the caller keeps.
 *
 * Fast path: per chunk, it finds the last `}, {` between events, parses everything before it as one
 * `[…]` batch with `JSON.parse`, and scans only the tail byte by byte. A wrong guess (the pattern
 * inside a string or a nested object) cannot parse (the batch would end inside a string or with
 * open brackets), so a failed batch falls back to the exact scan, which tracks nesting and strings
 * on raw bytes (jumping over strings with the native `Buffer.indexOf`) and parses each element.
 */

import { isAscii } from 'node:buffer';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJ = 0x7b;
const CLOSE_OBJ = 0x7d;
const OPEN_ARR = 0x5b;
const CLOSE_ARR = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

/** What the scanner reports to its owner. */
export interface JsonTraceSink {
  /**
   * One element of the event array, parsed; `text` is its source when the scanner is in text mode
   * (see `needsText`), else undefined.
   */
  onEvent(value: unknown, text: string | undefined): void;
  /**
   * Asked once per fast-path batch for each element: true switches the scanner to text mode for
   * the rest of the file (the batch is re-read element by element), e.g. to re-read numbers whose
   * digits a double cannot hold. A malformed element is reported as `undefined` in text mode.
   */
  needsText(value: unknown): boolean;
  /** One other top-level key of the object form, already parsed. */
  onTopLevel(key: string, value: unknown): void;
}

type State =
  | 'start' // before the first value
  | 'obj-key' // in the top-level object, expecting a key, ',' or '}'
  | 'obj-colon' // after a top-level key
  | 'obj-value' // expecting a top-level value
  | 'events' // inside the event array, expecting an element, ',' or ']'
  | 'done';

/**
 * Largest single JSON value (one event, or one top-level value) carried across chunks: far above
 * any real event (a 1 MB name is fine), far below V8's largest string, so a hostile file with one
 * endless string or array gets a clear error instead of exhausting memory.
 */
export const MAX_VALUE_BYTES = 64 * 1024 * 1024;

/**
 * Deepest nesting accepted in a top-level value (`deviceProperties`, `distributedInfo` …: a real
 * one nests a few levels). The reader walks these values recursively (dropping environment dumps),
 * so a hostile file nested 100 000 levels deep gets this one-line error instead of a stack
 * overflow. Events are not bounded: JSON.parse is iterative, and the event reader only reads
 * scalar fields, never walking nested values.
 */
export const MAX_TOP_LEVEL_DEPTH = 1000;

/** What `valueEnd` returns for a value nested deeper than it was allowed. */
const TOO_DEEP = -2;

/** Thrown for input that is not a Chrome trace; the message says why. */
export class TraceFormatError extends Error {}

/**
 * Push-style scanner: feed it Buffer chunks with `push`, then call `end`. It keeps only the bytes of
 * the element (or top-level value) that straddles a chunk boundary.
 */
export class JsonTraceScanner {
  /** 'array' for a bare event array, 'object' for `{traceEvents: [...]}`; null until known. */
  form: 'array' | 'object' | null = null;
  /** Number of event elements seen. */
  eventCount = 0;
  private state: State = 'start';
  private carry: Buffer | null = null;
  /** Chunks received while a large carried value is still incomplete (see `push`). */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private key = '';
  private sawEvents = false;
  private textMode = false;

  constructor(private readonly sink: JsonTraceSink) {}

  push(chunk: Buffer): void {
    if (this.carry && this.pending.length === 0 && this.state === 'events') {
      // An event cut by the chunk boundary: join it with just the rest of itself, not with the
      // whole chunk (a 1 MB copy per chunk), then go on in the chunk itself.
      const carry = this.carry;
      const joined = joinedElement(carry, chunk);
      if (joined) {
        this.carry = null;
        this.scan(joined);
        if (joined.length - carry.length < chunk.length)
          this.scan(chunk.subarray(joined.length - carry.length));
        return;
      }
    }
    if (this.carry) {
      // Copied, as the carry is: the caller may reuse its chunk.
      this.pending.push(Buffer.from(chunk));
      this.pendingBytes += chunk.length;
      // A value spanning many chunks is rescanned from its start on every attempt: waiting for at
      // least as many new bytes as are carried keeps a huge value linear, not quadratic, in time.
      if (this.pendingBytes < this.carry.length) return;
      this.scan(this.takeCarry());
    } else {
      this.scan(chunk);
    }
  }

  private takeCarry(): Buffer {
    const buf = Buffer.concat([this.carry ?? Buffer.alloc(0), ...this.pending]);
    this.carry = null;
    this.pending = [];
    this.pendingBytes = 0;
    return buf;
  }

  private scan(buf: Buffer): void {
    let i = 0;
    const n = buf.length;
    let tryBatch = !this.textMode;
    while (i < n && this.state !== 'done') {
      const c = buf[i];
      if (isSpace(c)) {
        i++;
        continue;
      }
      switch (this.state) {
        case 'start':
          if (c === OPEN_ARR) {
            this.form = 'array';
            this.state = 'events';
            this.sawEvents = true;
          } else if (c === OPEN_OBJ) {
            this.form = 'object';
            this.state = 'obj-key';
          } else if (c === 0xef && buf[i + 1] === 0xbb && buf[i + 2] === 0xbf) {
            i += 2; // UTF-8 byte order mark
          } else {
            throw new TraceFormatError('not a JSON trace (it does not start with "{" or "[")');
          }
          i++;
          break;
        case 'obj-key': {
          if (c === COMMA) {
            i++;
            break;
          }
          if (c === CLOSE_OBJ) {
            this.state = 'done';
            i++;
            break;
          }
          if (c !== QUOTE)
            throw new TraceFormatError('malformed JSON: expected a key in the top object');
          const end = stringEnd(buf, i + 1);
          if (end < 0) return this.keep(buf, i);
          this.key = parseSlice(buf, i, end + 1) as string;
          this.state = 'obj-colon';
          i = end + 1;
          break;
        }
        case 'obj-colon':
          if (c !== COLON)
            throw new TraceFormatError('malformed JSON: expected ":" in the top object');
          this.state = 'obj-value';
          i++;
          break;
        case 'obj-value':
          if (this.key === 'traceEvents' && c === OPEN_ARR) {
            this.state = 'events';
            this.sawEvents = true;
            i++;
            break;
          }
          {
            const end = valueEnd(buf, i, MAX_TOP_LEVEL_DEPTH);
            if (end === TOO_DEEP)
              throw new TraceFormatError(
                `the top-level ${JSON.stringify(this.key.slice(0, 60))} value is nested deeper ` +
                  `than ${MAX_TOP_LEVEL_DEPTH} levels`,
              );
            if (end < 0) return this.keep(buf, i);
            const value = parseSlice(buf, i, end);
            if (this.key !== 'traceEvents') this.sink.onTopLevel(this.key, value);
            this.state = 'obj-key';
            i = end;
          }
          break;
        case 'events': {
          if (c === COMMA) {
            i++;
            break;
          }
          if (c === CLOSE_ARR) {
            this.state = this.form === 'object' ? 'obj-key' : 'done';
            i++;
            break;
          }
          if (tryBatch) {
            tryBatch = false; // at most one batch per chunk: the rest is the tail
            const cut = this.batch(buf, i);
            if (cut > i) {
              i = cut;
              break;
            }
          }
          const end = valueEnd(buf, i);
          if (end < 0) return this.keep(buf, i);
          // A stray '}' or ':' where an element should start: no value, and no way forward.
          if (end === i)
            throw new TraceFormatError(
              `malformed JSON: unexpected "${String.fromCharCode(c)}" in the event array`,
            );
          this.eventCount++;
          const text = textOf(buf, i, end);
          let value: unknown;
          try {
            value = JSON.parse(text);
          } catch {
            value = undefined;
          }
          this.sink.onEvent(value, text);
          i = end;
          break;
        }
      }
    }
  }

  /** Call after the last chunk: throws when the input ended inside the trace. */
  end(): void {
    if (this.pending.length > 0) this.scan(this.takeCarry());
    if (this.state === 'start') throw new TraceFormatError('the file is empty');
    if (this.state !== 'done') {
      const where = this.sawEvents ? ` after ${this.eventCount} events` : '';
      throw new TraceFormatError(`the trace is truncated (the JSON ends early${where})`);
    }
    if (!this.sawEvents) throw new TraceFormatError('no "traceEvents" array in the JSON object');
  }

  /**
   * Fast path: parses the complete events from `from` up to the last event boundary in `buf` in one
   * go. Returns the index just past them, or `from` when there is no boundary, the guess did not
   * parse, or the sink asked for text mode.
   */
  private batch(buf: Buffer, from: number): number {
    const cut = lastEventBoundary(buf, from);
    if (cut <= from) return from;
    let values: unknown[];
    try {
      values = JSON.parse(`[${textOf(buf, from, cut)}]`) as unknown[];
    } catch {
      return from;
    }
    if (values.some((v) => this.sink.needsText(v))) {
      this.textMode = true;
      return from;
    }
    this.eventCount += values.length;
    for (const v of values) this.sink.onEvent(v, undefined);
    return cut;
  }

  private keep(buf: Buffer, from: number): void {
    if (buf.length - from > MAX_VALUE_BYTES)
      throw new TraceFormatError(
        `one JSON value is larger than ${MAX_VALUE_BYTES / 1024 / 1024} MB (no real trace event is)`,
      );
    // Copy: the caller's chunk may be reused, and a slice would pin the whole chunk.
    this.carry = Buffer.from(buf.subarray(from));
  }
}

/**
 * The carried start of an event element joined with the start of `chunk` up to the element's end,
 * or null when the element does not end in `chunk`. Tries growing prefixes of the chunk: an event
 * is mostly far shorter than the first.
 */
function joinedElement(carry: Buffer, chunk: Buffer): Buffer | null {
  for (let k = Math.min(4096, chunk.length); ; k = Math.min(2 * k, chunk.length)) {
    const joined = Buffer.concat([carry, chunk.subarray(0, k)]);
    const end = valueEnd(joined, 0);
    if (end > 0) return joined.subarray(0, end);
    if (k === chunk.length) return null;
  }
}

/**
 * The text of `buf[from, to)`. ASCII (nearly every trace byte) is decoded as latin1, which gives
 * the same string about twice as fast as UTF-8 decoding (measured on 1 MB trace chunks).
 */
function textOf(buf: Buffer, from: number, to: number): string {
  const bytes = buf.subarray(from, to);
  return isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8');
}

/** Index of the last `,` in `}  ,  {` after `from`, or -1. */
function lastEventBoundary(buf: Buffer, from: number): number {
  let j = buf.lastIndexOf(OPEN_OBJ);
  while (j > from) {
    let k = j - 1;
    while (k > from && isSpace(buf[k])) k--;
    if (buf[k] === COMMA) {
      const comma = k;
      k--;
      while (k > from && isSpace(buf[k])) k--;
      if (buf[k] === CLOSE_OBJ) return comma;
    }
    j = buf.lastIndexOf(OPEN_OBJ, j - 1);
  }
  return -1;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Index of the closing quote of a string whose body starts at `from`, or -1 if not in `buf`. */
function stringEnd(buf: Buffer, from: number): number {
  let i = from;
  for (;;) {
    const q = buf.indexOf(QUOTE, i);
    if (q < 0) return -1;
    // A quote is escaped when an odd number of backslashes precede it.
    let b = q - 1;
    while (b >= from && buf[b] === BACKSLASH) b--;
    if ((q - 1 - b) % 2 === 0) return q;
    i = q + 1;
  }
}

/**
 * End (exclusive) of the JSON value starting at `from`, or -1 when it runs past `buf`, or
 * TOO_DEEP when it opens more than `maxDepth` nested arrays/objects. Scalars end at the next ',',
 * ']' or '}' at depth 0 (whitespace is left to JSON.parse).
 */
function valueEnd(buf: Buffer, from: number, maxDepth = Infinity): number {
  const n = buf.length;
  let depth = 0;
  let i = from;
  while (i < n) {
    const c = buf[i];
    if (c === QUOTE) {
      const e = stringEnd(buf, i + 1);
      if (e < 0) return -1;
      i = e + 1;
      if (depth === 0) return i;
      continue;
    }
    if (c === OPEN_OBJ || c === OPEN_ARR) {
      if (++depth > maxDepth) return TOO_DEEP;
    } else if (c === CLOSE_OBJ || c === CLOSE_ARR) {
      if (depth === 0) return i;
      depth--;
      if (depth === 0) return i + 1;
    } else if (c === COMMA && depth === 0) return i;
    i++;
  }
  return -1;
}

function parseSlice(buf: Buffer, from: number, to: number): unknown {
  const text = textOf(buf, from, to);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new TraceFormatError(`malformed JSON near byte ${from}: ${text.slice(0, 60)}`);
  }
}
