// Writes a gzipped Kineto trace of `count` back-to-back tiny kernels (1 µs each, one stream), as a
// stream: the shape of the trace that used to exhaust the server's heap (30 M kernel events in a
// 168 MB .json.gz passes the byte and gzip-ratio limits). Nothing large is held in memory.
// `writeTinyRangeTrace` writes `count` tiny user annotations instead, each with its own name: user
// ranges are still one JS object each in the Profile (kernels are columns), so they fill a heap.
//   node scripts/bench/gen-kineto-kernels.mjs OUT.json.gz COUNT
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';

/** A kernel event: ts in µs with ns decimals, as Kineto writes them; correlation ids unique. */
const kernelEvent = (i, ts) =>
  `{"ph":"X","cat":"kernel","name":"tiny_kernel_${i % 8}","pid":0,` +
  `"tid":7,"ts":${ts},"dur":1,"args":{"device":0,"stream":7,"correlation":${i + 1}}}`;

/** A user annotation (record_function) on the CPU thread, named uniquely. */
const rangeEvent = (i, ts) =>
  `{"ph":"X","cat":"user_annotation","name":"range_${i}","pid":0,"tid":7,"ts":${ts},"dur":1}`;

/** Chunks of the trace text, ~1 MB each. */
function* traceText(count, event) {
  yield '{"schemaVersion":1,"deviceProperties":[{"id":0,"name":"Generated GPU"}],"traceEvents":[\n';
  let buf = [];
  for (let i = 0; i < count; i++) {
    buf.push(`${i === 0 ? '' : ',\n'}${event(i, (i * 1.5).toFixed(3))}`);
    if (buf.length === 8192) {
      yield buf.join('');
      buf = [];
    }
  }
  yield `${buf.join('')}\n]}\n`;
}

/** Streams `count` kernel events to `outPath` as gzip (level 1: generation stays fast). */
export async function writeTinyKernelTrace(outPath, count) {
  await writeTrace(outPath, count, kernelEvent);
}

/** Streams `count` uniquely named user annotations to `outPath` as gzip. */
export async function writeTinyRangeTrace(outPath, count) {
  await writeTrace(outPath, count, rangeEvent);
}

async function writeTrace(outPath, count, event) {
  await pipeline(
    Readable.from(traceText(count, event)),
    zlib.createGzip({ level: 1 }),
    fs.createWriteStream(outPath),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [out, count] = process.argv.slice(2);
  if (!out || !(Number(count) > 0)) {
    process.stderr.write('usage: gen-kineto-kernels.mjs OUT.json.gz COUNT\n');
    process.exit(2);
  }
  const t = performance.now();
  await writeTinyKernelTrace(out, Number(count));
  const mib = fs.statSync(out).size / 2 ** 20;
  process.stderr.write(
    `${out}: ${count} kernels, ${mib.toFixed(1)} MiB in ${((performance.now() - t) / 1000).toFixed(1)} s\n`,
  );
}
