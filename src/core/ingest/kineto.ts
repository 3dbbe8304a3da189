/**
 * Reader for torch.profiler / Kineto Chrome traces (`.json`, `.json.gz`, object or bare-array
 * form), streamed so that multi-GB traces load with memory bounded by the Profile.
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import type { DeviceInfo, Profile } from '../model';
import { StackTable, emptyProfile } from '../model';
import type { CpuCalls } from '../model-cpu-calls';
import type { GpuOps } from '../model-gpu-ops';
import { type MemoryEvents, timeOrder } from '../model-memory';
import { EventBudget } from './event-budget';
import { JsonTraceScanner, TraceFormatError } from './json-stream';
import { KinetoEventSink } from './kineto-events';
import { setRangeOrder } from './range-order';
import { type ThreadPoints, newPoints } from './kineto-columns';
import { KinetoStacks, innermostSpans } from './kineto-stacks';
import { backwardCallerStacks } from './kineto-backward';

export interface KinetoReadOptions {
  /** Rank stamped on every op, call and range (default 0). */
  rank?: number;
  signal?: AbortSignal;
  /** Called per chunk with bytes read from disk (compressed bytes for .gz) and the file size. */
  onProgress?: (bytesRead: number, totalBytes: number) => void;
  /** Most bytes of JSON read from one file, after decompression (default `KINETO_MAX_BYTES`). */
  maxBytes?: number;
  /** Events counted against this budget as they are read (default: a fresh default budget). */
  budget?: EventBudget;
}

/** Default `maxBytes`: well above the multi-GB traces real jobs write. */
export const KINETO_MAX_BYTES = 16 * 1024 ** 3;
/**
 * Gzip expansion refused once more than `GZIP_RATIO_FLOOR` bytes came out: real traces compress
 * 10–30×, while a gzip bomb expands thousands of times (and its flood of identical events would
 * exhaust memory before any byte limit is reached).
 */
export const MAX_GZIP_RATIO = 100;
const GZIP_RATIO_FLOOR = 64 * 1024 * 1024;

/** A read trace with what multi-rank merging needs beyond the Profile. */
export interface KinetoRead {
  profile: Profile;
  /** `distributedInfo.rank` when the trace holds one. */
  distributedRank: number | undefined;
  /** µs subtracted from epoch-scale timestamps (0 when none was needed). */
  baseUs: number;
  /** The top-level `host_name` / `hostname` (the node that wrote the trace), when present. */
  hostName: string | undefined;
}

/** Top-level keys that can hold a user's environment: never kept. */
const ENV_KEYS = /^(env|environ|environment|pip_packages|pip_list)$/i;

/**
 * Reads a Kineto trace into a Profile. Throws a clear Error when the file is not a trace (empty,
 * not JSON, truncated, no events); bad single events only add warnings.
 */
export async function readKineto(path: string, options: KinetoReadOptions = {}): Promise<Profile> {
  return (await readKinetoDetailed(path, options)).profile;
}

/** As {@link readKineto}, plus the trace's own rank and time base (for ranks.ts). */
export async function readKinetoDetailed(
  path: string,
  options: KinetoReadOptions & { baseUs?: number } = {},
): Promise<KinetoRead> {
  const rank = options.rank ?? 0;
  const sink = new KinetoEventSink(rank, options.baseUs);
  const top = new Map<string, unknown>();
  const budget = options.budget ?? new EventBudget();
  const scanner = new JsonTraceScanner({
    onEvent: (value, text) => {
      budget.take(1, path);
      sink.add(value, text);
    },
    needsText: (value) => sink.needsText(value),
    onTopLevel: (key, value) => {
      if (!ENV_KEYS.test(key)) top.set(key, stripEnv(value));
    },
  });
  try {
    await pump(path, scanner, options);
    scanner.end();
  } catch (err) {
    if (err instanceof TraceFormatError)
      throw new Error(`${path}: not a readable trace: ${err.message}`);
    if (err instanceof TraceLimitError)
      throw new Error(`${path}: too large to read: ${err.message}`);
    if (err instanceof Error && 'code' in err && String(err.code).startsWith('Z_'))
      throw new Error(
        `${path}: not a readable trace: gzip data is corrupt or truncated (${err.message})`,
      );
    throw err;
  }
  if (scanner.eventCount === 0)
    throw new Error(`${path}: not a readable trace: it holds no events`);
  const profile = buildProfile(path, scanner.form, sink, top);
  const { gpuOps, cpuCalls, ranges, operators } = profile;
  if (gpuOps.length + cpuCalls.length + ranges.length + operators.length === 0)
    profile.warnings.push(
      `None of the ${scanner.eventCount} events is one GPU Lens reads (GPU operations, CUDA ` +
        `calls, operators, annotations): is this a torch.profiler trace?`,
    );
  return {
    profile,
    distributedRank: distributedRankOf(top.get('distributedInfo')),
    baseUs: sink.baseUs,
    hostName: hostNameOf(top.get('host_name') ?? top.get('hostname')),
  };
}

async function pump(
  path: string,
  scanner: JsonTraceScanner,
  options: KinetoReadOptions,
): Promise<void> {
  const { signal, onProgress } = options;
  signal?.throwIfAborted();
  const totalBytes = (await fs.promises.stat(path)).size;
  const head = await readHead(path);
  // Sniff gzip by its magic bytes rather than trusting the file name.
  const gz = head[0] === 0x1f && head[1] === 0x8b;
  const file = fs.createReadStream(path, { highWaterMark: 1 << 20 });
  let bytesRead = 0;
  const count = (n: number): void => {
    bytesRead += n;
    onProgress?.(bytesRead, totalBytes);
  };
  // With gzip, progress counts the compressed bytes read (pipe keeps the file in flowing mode).
  if (gz) file.on('data', (c: Buffer | string) => count(c.length));
  // 1 MB output chunks (zlib's default is 16 KB): fewer, larger pushes into the scanner.
  const source: NodeJS.ReadableStream = gz
    ? file.pipe(zlib.createGunzip({ chunkSize: 1 << 20 }))
    : file;
  const maxBytes = options.maxBytes ?? KINETO_MAX_BYTES;
  let jsonBytes = 0;
  try {
    for await (const chunk of source) {
      signal?.throwIfAborted();
      if (!gz) count((chunk as Buffer).length);
      jsonBytes += (chunk as Buffer).length;
      checkSize(jsonBytes, gz ? bytesRead : jsonBytes, maxBytes);
      scanner.push(chunk as Buffer);
    }
  } finally {
    file.destroy();
  }
}

/** Throws a clear error when a file expands past the byte limit or like a gzip bomb. */
function checkSize(jsonBytes: number, diskBytes: number, maxBytes: number): void {
  const mb = (n: number): string => `${Math.round(n / 1024 / 1024)} MB`;
  if (jsonBytes > maxBytes)
    throw new TraceLimitError(`it holds more than ${mb(maxBytes)} of JSON (the limit)`);
  if (jsonBytes > GZIP_RATIO_FLOOR && jsonBytes > MAX_GZIP_RATIO * diskBytes)
    throw new TraceLimitError(
      `its gzip data expands more than ${MAX_GZIP_RATIO}× (${mb(jsonBytes)} from ` +
        `${mb(diskBytes)}): refused as a likely gzip bomb`,
    );
}

/** A trace over one of the reader's size limits. */
class TraceLimitError extends Error {}

async function readHead(path: string): Promise<Buffer> {
  const fd = await fs.promises.open(path, 'r');
  try {
    const buf = Buffer.alloc(2);
    await fd.read(buf, 0, 2, 0);
    return buf;
  } finally {
    await fd.close();
  }
}

function buildProfile(
  path: string,
  form: 'array' | 'object' | null,
  sink: KinetoEventSink,
  top: Map<string, unknown>,
): Profile {
  const profile = emptyProfile({
    path,
    format: 'kineto-json',
    producer: producerOf(form, top),
    schemaVersion: top.has('schemaVersion') ? String(top.get('schemaVersion')) : '',
  });
  profile.gpuOps = sink.gpuOps;
  profile.cpuCalls = sink.cpuCalls;
  profile.ranges = sink.ranges;
  profile.operators = sink.operators;
  setRangeOrder(profile, Int32Array.from(sink.userRangeRows));
  // Spare rows and unsorted memory tables are dropped before the stack pass allocates its indexes
  // (a large trace's peak): their copies then replace them instead of adding to the pass's.
  profile.gpuOps.trim();
  profile.cpuCalls.trim();
  profile.operators.trim();
  sortMemory(sink);
  profile.memory = sink.memory;
  profile.devices = devicesOf(top.get('deviceProperties'), sink);
  if (sink.spanStart <= sink.spanEnd) {
    profile.spanStartNs = sink.spanStart;
    profile.spanEndNs = sink.spanEnd;
  }
  linkLaunches(sink);
  sink.pyFrames.finish();
  const stacks = new KinetoStacks(sink, new StackTable());
  const calls = sink.cpuCalls;
  const callPoints = pointsOf(sink.callThreads, (i) => calls.startNs[i]);
  const callStacks = stacks.resolve(callPoints);
  // Autograd-thread launches: the stack of the backward() call they serve. A launch with no stack
  // of its own (no forward op linked) takes it as its stack; one with a forward op's stack keeps
  // that and carries the caller's on its GPU ops.
  const callers = backwardCallerStacks(sink, stacks.table, (p) => stacks.ownStacks(p), callPoints);
  for (let i = 0; i < calls.length; i++)
    calls.stackId[i] = callStacks[i] >= 0 ? callStacks[i] : callers[i];
  linkOpStacks(sink.gpuOps, calls, callers);
  linkRangeStacks(sink, stacks);
  profile.memoryEvents = memoryEventsWithStacks(sink);
  profile.stacks = stacks.table.stacks;
  if (sink.malformed > 0)
    profile.warnings.push(`${sink.malformed} malformed trace events were skipped`);
  if (sink.dropped > 0)
    profile.warnings.push(`${sink.dropped} events without a name or time were dropped`);
  return profile;
}

/** GPU ops take their launching call's stack, and the backward() caller's where it differs. */
function linkOpStacks(ops: GpuOps, calls: CpuCalls, callers: ArrayLike<number>): void {
  for (let i = 0; i < ops.length; i++) {
    const launch = ops.launchIndex[i];
    if (launch < 0) continue;
    const stack = (ops.stackId[i] = calls.stackId[launch]);
    const caller = callers[launch];
    if (caller >= 0 && caller !== stack) ops.callerStackId[i] = caller;
  }
}

/**
 * User ranges and operators take the stack at their start, resolved in the trace's order of the
 * two (stacks are interned as they are found: this order keeps the stack table's).
 */
function linkRangeStacks(sink: KinetoEventSink, stacks: KinetoStacks): void {
  const { ops, operators, ranges, rangeThreads, userRangeRows } = sink;
  const points = newPoints(ranges.length + operators.length);
  // Operator j is the j-th op row filed as an operator (the others are ProfilerStep ranges), and
  // the rows of the sequence that are no user range's are the operators' in order.
  const opRows = new Int32Array(operators.length);
  for (let i = 0, j = 0; i < ops.length; i++) if (ops.range[i] >= 0) opRows[j++] = i;
  for (let k = 0, u = 0, j = 0; k < points.length; k++) {
    if (u < userRangeRows.length && userRangeRows[u] === k) {
      points.thread[k] = rangeThreads[u];
      points.ts[k] = ranges[u++].startNs;
    } else {
      points.thread[k] = ops.thread[opRows[j]];
      points.ts[k] = ops.start[opRows[j++]];
    }
  }
  const found = stacks.resolve(points);
  for (let k = 0, u = 0, j = 0; k < points.length; k++) {
    if (u < userRangeRows.length && userRangeRows[u] === k) ranges[u++].stackId = found[k];
    else operators.stackId[j++] = found[k];
  }
}

/** Where each call, range or memory event (on `threads[i]`, at `startOf(i)`) starts. */
function pointsOf(threads: readonly number[], startOf: (i: number) => number): ThreadPoints {
  const points = newPoints(threads.length);
  for (let i = 0; i < threads.length; i++) {
    points.thread[i] = threads[i];
    points.ts[i] = startOf(i);
  }
  return points;
}

/**
 * Replaces the sink's memory samples and events (with the events' threads) by copies in time
 * order, equal times in trace order; the unsorted tables are freed.
 */
function sortMemory(sink: KinetoEventSink): void {
  const { memory, memoryEvents, memoryThreads } = sink;
  sink.memory = memory.permuted(timeOrder(memory.tsNs, memory.length));
  const order = timeOrder(memoryEvents.tsNs, memoryEvents.length);
  sink.memoryEvents = memoryEvents.permuted(order);
  sink.memoryThreads = Array.from(order, (i) => memoryThreads[i]);
}

/**
 * Allocations and frees (time-ordered by `sortMemory`), each with the stack of its enclosing
 * operator (the innermost cpu_op of its thread whose span holds it; backward ops have their
 * forward op's, as their kernels do); -1 outside any operator.
 */
function memoryEventsWithStacks(sink: KinetoEventSink): MemoryEvents {
  const { ops, operators, ranges, memoryEvents } = sink;
  const { tsNs, stackId } = memoryEvents;
  const points = pointsOf(sink.memoryThreads, (i) => tsNs[i]);
  const enclosing = innermostSpans(ops, points);
  for (let i = 0; i < memoryEvents.length; i++) {
    if (enclosing[i] < 0) continue;
    const r = ops.range[enclosing[i]];
    stackId[i] = r >= 0 ? operators.stackId[r] : ranges[~r].stackId;
  }
  return memoryEvents;
}

/** GPU op → launching call, by correlation id (from args, else from the ac2g flow ids). */
function linkLaunches(sink: KinetoEventSink): void {
  const callByCorrelation = new Map<number, number>();
  const callAt = new Map<string, number>();
  const { cpuCalls: calls, gpuOps: ops } = sink;
  for (let i = 0; i < calls.length; i++) {
    const corr = calls.correlationOf(i);
    if (corr >= 0) callByCorrelation.set(corr, i);
    else callAt.set(`${sink.callThreads[i]}@${calls.startNs[i]}`, i);
  }
  for (const [id, thread, ts] of sink.launchFlowStart.entries()) {
    const i = callAt.get(`${thread}@${ts}`);
    if (i !== undefined) {
      calls.setCorrelation(i, Number(id));
      callByCorrelation.set(Number(id), i);
    }
  }
  for (let i = 0; i < ops.length; i++) {
    const corr = sink.gpuCorrelation[i];
    const call = corr >= 0 ? callByCorrelation.get(corr) : undefined;
    if (call !== undefined) ops.launchIndex[i] = call;
  }
}

function devicesOf(props: unknown, sink: KinetoEventSink): DeviceInfo[] {
  const devices: DeviceInfo[] = [];
  if (Array.isArray(props)) {
    for (const p of props as Record<string, unknown>[]) {
      if (typeof p?.id !== 'number') continue;
      const d: DeviceInfo = { id: p.id, name: typeof p.name === 'string' ? p.name : `GPU ${p.id}` };
      if (typeof p.totalGlobalMem === 'number') d.totalMemoryBytes = p.totalGlobalMem;
      if (typeof p.numSms === 'number') d.smCount = p.numSms;
      devices.push(d);
    }
  }
  const known = new Set(devices.map((d) => d.id));
  const ops = sink.gpuOps;
  for (let i = 0; i < ops.length; i++) {
    const id = ops.deviceId[i];
    if (known.has(id)) continue;
    known.add(id);
    devices.push({ id, name: `GPU ${id}` });
  }
  return devices.sort((a, b) => a.id - b.id);
}

function producerOf(form: 'array' | 'object' | null, top: Map<string, unknown>): string {
  if (form === 'array') return 'Kineto (legacy)';
  const meta = top.get('metadata') as { system?: { torch_env_info?: { torch_version?: unknown } } };
  const version = meta?.system?.torch_env_info?.torch_version;
  const base = typeof version === 'string' ? `PyTorch ${version}` : 'PyTorch';
  return top.has('hip_runtime_version') || top.has('roctracer_version') ? `${base} (ROCm)` : base;
}

function distributedRankOf(info: unknown): number | undefined {
  const rank = (info as { rank?: unknown } | undefined)?.rank;
  return typeof rank === 'number' ? rank : undefined;
}

function hostNameOf(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 && v.length <= 255 ? v : undefined;
}

/** Drops environment dumps nested anywhere in a kept top-level value. */
function stripEnv(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripEnv);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (!ENV_KEYS.test(k)) out[k] = stripEnv(v);
  return out;
}
