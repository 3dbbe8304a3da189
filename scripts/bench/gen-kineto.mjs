// Builds a large Kineto trace by tiling a real one in time: every copy of the source's events is
// shifted past the previous copy, and every id that links events (correlation, flow id, External
// id, Python id/parent, Sequence number …) is offset per copy so links stay unique and correct.
// Output is streamed: the only large thing in memory is the parsed source trace (tens of MB).
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';

/** Event args that are ids: offset by a per-key stride in each copy. */
const ID_ARGS = ['correlation', 'External id', 'Record function id', 'Ev Idx', 'Sequence number'];
const PY_ARGS = ['Python id', 'Python parent id'];
const STEP = /^ProfilerStep#(\d+)$/;

/** Reads a .json or .json.gz trace into memory (the source is a small fixture). */
export function readSourceTrace(path) {
  let buf = fs.readFileSync(path);
  if (buf[0] === 0x1f && buf[1] === 0x8b) buf = zlib.gunzipSync(buf);
  const trace = JSON.parse(buf.toString('utf8'));
  if (Array.isArray(trace)) return { top: {}, events: trace };
  const { traceEvents, ...top } = trace;
  return { top, events: traceEvents };
}

/** Span, id strides and step numbering of one tile, measured on the source. */
function tilePlan(events) {
  let minTs = Infinity;
  let maxTs = -Infinity;
  const maxId = {};
  let maxFlow = 0;
  let maxPy = 0;
  let minStep = Infinity;
  let maxStep = -Infinity;
  for (const e of events) {
    if (typeof e.ts === 'number' && e.ph !== 'M') {
      minTs = Math.min(minTs, e.ts);
      maxTs = Math.max(maxTs, e.ts + (typeof e.dur === 'number' ? e.dur : 0));
    }
    if (typeof e.id === 'number') maxFlow = Math.max(maxFlow, e.id);
    const a = e.args;
    if (a) {
      for (const k of ID_ARGS)
        if (typeof a[k] === 'number') maxId[k] = Math.max(maxId[k] ?? 0, a[k]);
      for (const k of PY_ARGS) if (typeof a[k] === 'number') maxPy = Math.max(maxPy, a[k]);
    }
    const m = typeof e.name === 'string' ? STEP.exec(e.name) : null;
    if (m) {
      minStep = Math.min(minStep, Number(m[1]));
      maxStep = Math.max(maxStep, Number(m[1]));
    }
  }
  // Correlation ids and ac2g flow ids are one id space: one stride for both.
  const corr = Math.max(maxFlow, maxId.correlation ?? 0) + 1;
  const stride = Object.fromEntries(ID_ARGS.map((k) => [k, (maxId[k] ?? 0) + 1]));
  stride.correlation = corr;
  return {
    // 1 ms of idle between copies, so tiles never overlap.
    shiftUs: Math.ceil(maxTs - minTs) + 1000,
    stride,
    flowStride: corr,
    pyStride: maxPy + 1,
    stepStride: minStep <= maxStep ? maxStep - minStep + 1 : 0,
  };
}

/** One event of copy `k` (k = 0 is the source itself). */
function shifted(e, k, plan) {
  if (k === 0) return e;
  const out = { ...e };
  if (typeof e.ts === 'number' && e.ph !== 'M')
    out.ts = Math.round((e.ts + k * plan.shiftUs) * 1000) / 1000;
  if (typeof e.id === 'number') out.id = e.id + k * plan.flowStride;
  else if (typeof e.id === 'string') out.id = `${e.id}-${k}`;
  if (e.args) {
    const a = { ...e.args };
    for (const key of ID_ARGS)
      if (typeof a[key] === 'number' && a[key] >= 0) a[key] += k * plan.stride[key];
    // Python parent id 0 means "no parent": keep it.
    for (const key of PY_ARGS)
      if (typeof a[key] === 'number' && a[key] > 0) a[key] += k * plan.pyStride;
    out.args = a;
  }
  const m = typeof e.name === 'string' && plan.stepStride > 0 ? STEP.exec(e.name) : null;
  if (m) out.name = `ProfilerStep#${Number(m[1]) + k * plan.stepStride}`;
  return out;
}

/**
 * Writes `copies` tiles of the source trace to `outPath` (through a temporary file, renamed at the
 * end so an interrupted run leaves no half file behind). `onProgress(copy)` after each copy.
 */
export async function writeTiledKineto(source, copies, outPath, onProgress) {
  const plan = tilePlan(source.events);
  const tmp = `${outPath}.part`;
  const out = fs.createWriteStream(tmp);
  const write = (s) =>
    out.write(s) ? Promise.resolve() : new Promise((resolve) => out.once('drain', resolve));
  const head = JSON.stringify(source.top);
  await write(`${head.slice(0, -1)}${head.length > 2 ? ',' : ''}"traceEvents":[\n`);
  let first = true;
  let pending = [];
  let pendingLen = 0;
  for (let k = 0; k < copies; k++) {
    for (const e of source.events) {
      const s = JSON.stringify(shifted(e, k, plan));
      pending.push(first ? s : `,\n${s}`);
      pendingLen += s.length;
      first = false;
      if (pendingLen > 4 << 20) {
        await write(pending.join(''));
        pending = [];
        pendingLen = 0;
      }
    }
    onProgress?.(k + 1);
  }
  await write(`${pending.join('')}\n]}\n`);
  await new Promise((resolve, reject) => out.end((err) => (err ? reject(err) : resolve())));
  fs.renameSync(tmp, outPath);
}

/** Uncompressed size of one copy as written (for choosing the number of copies). */
export function tileBytes(source) {
  let n = 0;
  for (const e of source.events) n += Buffer.byteLength(JSON.stringify(e)) + 2;
  return n;
}
