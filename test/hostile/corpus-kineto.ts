/**
 * Broken and hostile Kineto traces, each derived from a real fixture: truncations (plain and gzip),
 * wrong JSON types, missing and duplicated fields, absurd timestamps, cyclic ids, huge and hostile
 * names, invalid UTF-8, empty files and gzip bombs. Written into a temp folder; never committed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { fixture } from '../unit/fixtures';
import { traceText, type TraceEvent } from '../unit/kineto-helpers';

type Top = Record<string, unknown> & { traceEvents: TraceEvent[] };

/** Writes one input; returns its path. */
export type Writer = (name: string, data: string | Buffer) => string;

export function writerFor(dir: string, made: string[]): Writer {
  return (name, data) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, data);
    made.push(file);
    return file;
  };
}

const MB = 1 << 20;
/** Text that would run a command if anything handed a trace string to a shell. */
export const shellBait = (dir: string): string[] => [
  `$(touch ${dir}/PWNED)`,
  `\`touch ${dir}/PWNED\``,
  `"; touch ${dir}/PWNED; echo "`,
];
const HTML_NAMES = [
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  '[click](javascript:alert(1)) **bold** `code` | cell |',
  '</table><iframe src="https://example.invalid"></iframe>',
];

function clone(top: Top): Top {
  return JSON.parse(JSON.stringify(top)) as Top;
}

/** A copy of `top` with `fn` applied to every event (events it returns null for are removed). */
function mapEvents(top: Top, fn: (e: TraceEvent, i: number) => TraceEvent | null): Top {
  const copy = clone(top);
  copy.traceEvents = copy.traceEvents.map(fn).filter((e): e is TraceEvent => e !== null);
  return copy;
}

const ofCat = (e: TraceEvent, ...cats: string[]): boolean => cats.includes(e.cat ?? '');

/** Generates the Kineto part of the corpus into `dir`; returns the paths. */
export function kinetoCorpus(dir: string): string[] {
  const made: string[] = [];
  const w = writerFor(dir, made);
  const bertText = traceText(fixture('torch', 'h100-bert-small-stack.json.gz'));
  const bert = JSON.parse(bertText) as Top;
  const small = fs.readFileSync(fixture('torch', 'backward-thread.json'), 'utf8');
  const triton = traceText(fixture('torch', 'torch-compile-triton.json.gz'));
  const json = (name: string, top: unknown): string => w(`${name}.json`, JSON.stringify(top));

  // Truncation at many points, plain and gzip.
  const cuts = [0.0005, 0.002, 0.01, 0.05, 0.1, 0.2, 0.33, 0.5, 0.66, 0.8, 0.9, 0.99, 0.9999];
  for (const [label, text] of [
    ['bert', bertText],
    ['small', small],
    ['triton', triton],
  ] as const) {
    const buf = Buffer.from(text);
    for (const f of cuts) w(`cut-${label}-${f}.json`, buf.subarray(0, Math.floor(buf.length * f)));
    w(`cut-${label}-last-byte.json`, buf.subarray(0, buf.length - 1));
  }
  const gz = zlib.gzipSync(Buffer.from(bertText));
  for (const f of [0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99]) {
    w(`cut-bert-${f}.json.gz`, gz.subarray(0, Math.floor(gz.length * f)));
  }
  w('cut-bert-header-only.json.gz', gz.subarray(0, 10));
  w('cut-bert-no-trailer.json.gz', gz.subarray(0, gz.length - 8));
  const corrupt = Buffer.from(gz);
  corrupt[Math.floor(corrupt.length / 2)] ^= 0xff;
  w('corrupt-bert-middle.json.gz', corrupt);

  // Wrong JSON types at the top.
  const tops: [string, string][] = [
    ['events-object', '{"traceEvents": {"a": 1}}'],
    ['events-string', '{"traceEvents": "[]"}'],
    ['events-number', '{"traceEvents": 12}'],
    ['events-null', '{"traceEvents": null}'],
    ['top-string', '"traceEvents"'],
    ['top-number', '42'],
    ['top-null', 'null'],
    ['top-true', 'true'],
    ['array-of-numbers', '[1, 2, 3]'],
    ['array-of-nulls', '[null, null]'],
    ['array-of-arrays', '[[], [1], [[2]]]'],
    ['array-of-strings', '["a", "b"]'],
    ['array-of-empty-objects', '[{}, {}]'],
    ['two-event-arrays', `{"traceEvents": [], "traceEvents": ${JSON.stringify(bert.traceEvents)}}`],
  ];
  for (const [name, text] of tops) w(`type-${name}.json`, text);

  // Wrong types in every event's fields.
  const fields = ['ts', 'dur', 'name', 'ph', 'cat', 'pid', 'tid', 'args', 'id'] as const;
  const badValues: [string, unknown][] = [
    ['string', '12'],
    ['object', { x: 1 }],
    ['array', [1, 2]],
    ['null', null],
  ];
  for (const f of fields) {
    for (const [label, v] of badValues)
      json(
        `field-${f}-${label}`,
        mapEvents(bert, (e) => ({ ...e, [f]: v })),
      );
    json(
      `field-${f}-missing`,
      mapEvents(bert, (e) => ({ ...e, [f]: undefined })),
    );
  }
  const argValues: [string, unknown][] = [
    ['Python parent id', 'zero'],
    ['Python id', { id: 1 }],
    ['correlation', [7]],
    ['External id', null],
    ['Sequence number', 'x'],
    ['device', 'cuda:0'],
    ['stream', -1],
  ];
  for (const [arg, v] of argValues) {
    json(
      `arg-${arg.replace(/ /g, '_')}-wrong-type`,
      mapEvents(bert, (e) => (e.args ? { ...e, args: { ...e.args, [arg]: v } } : e)),
    );
  }
  // Duplicated fields (the last one wins in JSON.parse) and duplicated events.
  w('dup-key-ts.json', bertText.replace(/"ts":/g, '"ts":"dup","ts":'));
  w('dup-key-name.json', bertText.replace(/"name":/g, '"name":{"a":1},"name":'));
  w('dup-key-last-wrong.json', bertText.replace(/"dur":([0-9.]+)/g, '"dur":$1,"dur":"x"'));
  json('dup-events', { ...bert, traceEvents: bert.traceEvents.flatMap((e) => [e, e]) });

  // Absurd timestamps and durations.
  const times: [string, (e: TraceEvent, i: number) => TraceEvent][] = [
    ['ts-negative', (e) => ({ ...e, ts: -1e18 })],
    ['ts-huge', (e) => ({ ...e, ts: 1e300 })],
    ['ts-max-safe', (e) => ({ ...e, ts: Number.MAX_SAFE_INTEGER })],
    ['ts-zero', (e) => ({ ...e, ts: 0 })],
    ['ts-reversed', (e, i) => ({ ...e, ts: 1e9 - i })],
    ['dur-negative', (e) => ({ ...e, dur: -5 })],
    ['dur-huge', (e) => ({ ...e, dur: 1e300 })],
    ['dur-kernel-year', (e) => (ofCat(e, 'kernel') ? { ...e, dur: 3.2e13 } : e)],
  ];
  for (const [name, fn] of times) json(`time-${name}`, mapEvents(bert, fn));
  w('time-infinity-literal.json', bertText.replace(/"ts":([0-9.]+)/g, '"ts":1e400'));
  w('time-nan-literal.json', bertText.replace(/"dur":([0-9.]+)/g, '"dur":NaN'));
  w('time-ts-digits.json', bertText.replace(/"ts":([0-9.]+)/g, '"ts":9007199254740993123456789'));

  // Duplicate and cyclic ids.
  const pyIds = (e: TraceEvent): number => Number(e.args?.['Python id'] ?? -1);
  const maxPy = Math.max(...bert.traceEvents.map(pyIds));
  const py = (fn: (e: TraceEvent) => Record<string, unknown>) => (e: TraceEvent) =>
    ofCat(e, 'python_function') ? { ...e, args: { ...e.args, ...fn(e) } } : e;
  json(
    'ids-parent-self',
    mapEvents(
      bert,
      py((e) => ({ 'Python parent id': pyIds(e) })),
    ),
  );
  json(
    'ids-parent-two-cycle',
    mapEvents(
      bert,
      py((e) => ({ 'Python parent id': pyIds(e) ^ 1 })),
    ),
  );
  json(
    'ids-parent-ring',
    mapEvents(
      bert,
      py((e) => ({ 'Python parent id': (pyIds(e) + 1) % (maxPy + 1) })),
    ),
  );
  json(
    'ids-python-all-same',
    mapEvents(
      bert,
      py(() => ({ 'Python id': 1, 'Python parent id': 1 })),
    ),
  );
  const same = (key: string) => (e: TraceEvent) =>
    e.args && key in e.args ? { ...e, args: { ...e.args, [key]: 1 } } : e;
  json('ids-correlation-all-same', mapEvents(bert, same('correlation')));
  json('ids-external-all-same', mapEvents(bert, same('External id')));
  json('ids-sequence-all-same', mapEvents(bert, same('Sequence number')));
  json(
    'ids-flow-all-same',
    mapEvents(bert, (e) => (e.ph === 's' || e.ph === 'f' ? { ...e, id: 1 } : e)),
  );

  // Huge and hostile names.
  const big = 'k'.repeat(MB);
  // A few huge frames are enough: every python_function at 1 MB would outgrow V8's largest string.
  let bigFrames = 0;
  json(
    'name-1mb-kernel',
    mapEvents(bert, (e) => (ofCat(e, 'kernel') ? { ...e, name: big } : e)),
  );
  json(
    'name-1mb-python-file',
    mapEvents(bert, (e) =>
      ofCat(e, 'python_function') && bigFrames++ < 8 ? { ...e, name: `/w/${big}.py(1): f` } : e,
    ),
  );
  json(
    'name-1mb-annotation',
    mapEvents(bert, (e) => (ofCat(e, 'user_annotation') ? { ...e, name: big } : e)),
  );
  const hostile = [...HTML_NAMES, ...shellBait(dir)];
  hostile.forEach((h, n) => {
    json(
      `name-hostile-${n}`,
      mapEvents(bert, (e) => {
        if (ofCat(e, 'kernel', 'user_annotation', 'gpu_user_annotation')) return { ...e, name: h };
        if (ofCat(e, 'python_function')) return { ...e, name: `${h}.py(3): ${h}` };
        return e;
      }),
    );
  });

  // Encodings.
  const latin = Buffer.from(
    bertText.replace(/"name":"([^"]{4})/g, '"name":"\u00ff\u00fe$1'),
    'latin1',
  );
  w('utf8-invalid-bytes.json', latin);
  w('utf8-lone-surrogate.json', bertText.replace(/"name":"/g, '"name":"\\ud800'));
  w('utf8-nul-and-controls.json', bertText.replace(/"name":"/g, '"name":"\\u0000\\u001b[31m'));
  w('utf8-bom.json', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(small)]));
  w('utf16le.json', Buffer.from(small, 'utf16le'));
  w('utf16le-bom.json', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(small, 'utf16le')]));

  // Empty and nearly empty.
  w('empty.json', '');
  w('empty.json.gz', '');
  w('empty-gzip-stream.json.gz', zlib.gzipSync(Buffer.alloc(0)));
  w('whitespace.json', ' \n\t\r\n ');
  w('empty-object.json', '{}');
  w('empty-array.json', '[]');
  w('empty-events.json', '{"traceEvents": []}');
  w('empty-events.json.gz', zlib.gzipSync('{"traceEvents": []}'));
  w('nul-bytes.json', Buffer.alloc(4096));

  // Nesting and single huge values.
  w('deep-array.json', `{"traceEvents": [${'['.repeat(200_000)}${']'.repeat(200_000)}]}`);
  w(
    'deep-args.json',
    `[{"ph":"X","cat":"kernel","name":"k","pid":0,"tid":0,"ts":1,"dur":1,"args":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}]`,
  );
  w('unterminated-string.json', `{"traceEvents": [{"name": "${'x'.repeat(4 * MB)}`);
  bombs(w);
  return made;
}

/**
 * Gzip bombs built from repeated gzip members (a gzip stream may hold many: they decompress as one):
 * whitespace, a flood of identical kernel events, and one string far larger than any real value.
 */
function bombs(w: Writer): void {
  const member = (text: string, bytes: number): Buffer =>
    zlib.gzipSync(Buffer.from(text.repeat(Math.ceil(bytes / text.length)).slice(0, bytes)));
  const repeat = (parts: Buffer[], times: number, head: string, tail: string): Buffer =>
    Buffer.concat([
      zlib.gzipSync(head),
      ...Array<Buffer[]>(times).fill(parts).flat(),
      zlib.gzipSync(tail),
    ]);
  const spaces = member(' ', 16 * MB);
  w('bomb-whitespace-1gb.json.gz', repeat([spaces], 64, '{"traceEvents": [', ']}'));
  const ev =
    '{"ph":"X","cat":"kernel","name":"bomb","pid":0,"tid":7,"ts":1,"dur":1,"args":{"correlation":1}},';
  w(
    'bomb-events-1gb.json.gz',
    repeat([member(ev, 16 * MB - ((16 * MB) % ev.length))], 64, '{"traceEvents": [', '{}]}'),
  );
  w(
    'bomb-one-string.json.gz',
    repeat([member('a', 16 * MB)], 64, '{"traceEvents": [{"name": "', '"}]}'),
  );
}
