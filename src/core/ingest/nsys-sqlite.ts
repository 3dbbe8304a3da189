/**
 * Reader for Nsight Systems SQLite exports (`nsys export --type sqlite`), schemas 3.0.0 (2022.4)
 * to 3.25.0 (2026.2). Opens the file read-only, reads each table once, and never touches the
 * environment dumps (TARGET_INFO_SYSTEM_ENV, ProcessStreams, META_DATA_CAPTURE).
 */
import {
  emptyProfile,
  StackTable,
  type DeviceInfo,
  type MetricSample,
  type Profile,
} from '../model';
import { EventBudget } from './event-budget';
import { errorText, NsysDb, readMeta, readStrings } from './nsys-db';
import { readNvtxRanges, readOsrtCalls } from './nsys-cpu';
import {
  KERNEL_COLUMNS,
  KERNEL_TABLE,
  linkKernels,
  readCopies,
  readKernels,
  RUNTIME_COLUMNS,
  RUNTIME_TABLE,
  RuntimeCallReader,
  type Span,
} from './nsys-gpu';
import type { LaunchLinker } from './nsys-launch-linker';
import { startTableScan } from './nsys-table-scan';
import { readPythonCallchains, stringsMayHavePython } from './nsys-stacks';

export interface NsysReadOptions {
  /** Rank stamped on every event (for rank-per-file jobs); default 0. */
  rank?: number;
  /** Activity rows counted against this budget before any is read (default: a fresh one). */
  budget?: EventBudget;
  /**
   * Read the kernel and CUDA API tables on worker threads while this one turns what they read into
   * the Profile: by default each table that is large enough for the overlap to pay
   * (nsys-table-scan.ts).
   */
  workers?: boolean;
}

/** The tables whose rows become ops, calls, ranges or samples (what memory grows with). */
const ACTIVITY_TABLES = [
  'CUPTI_ACTIVITY_KIND_RUNTIME',
  'CUPTI_ACTIVITY_KIND_KERNEL',
  'CUPTI_ACTIVITY_KIND_MEMCPY',
  'CUPTI_ACTIVITY_KIND_MEMSET',
  'OSRT_API',
  'NVTX_EVENTS',
  'GPU_METRICS',
];

/**
 * Reads an nsys SQLite export into a Profile. Throws `not an Nsight Systems SQLite export: …` for
 * files that are not SQLite or hold no nsys table; missing tables only add warnings.
 */
export function readNsysSqlite(path: string, options: NsysReadOptions = {}): Profile {
  const rank = options.rank ?? 0;
  const ndb = NsysDb.open(path);
  try {
    // Row counts up front (NsysDb.rowCount: rowid spans, two b-tree edge lookups per table): a
    // too-large export is refused before anything is read.
    const spans = new Map(ACTIVITY_TABLES.map((t) => [t, ndb.rowCount(t)]));
    const rows = [...spans.values()].reduce((n, s) => n + s, 0);
    (options.budget ?? new EventBudget()).take(rows, path, 'activity rows');
    const meta = readMeta(ndb);
    const profile = emptyProfile({
      path,
      format: 'nsys-sqlite',
      producer: meta.productVersion
        ? `nsys ${meta.productVersion.split('.').slice(0, 3).join('.')}`
        : 'nsys',
      schemaVersion: meta.schemaVersion,
    });
    const warnings = profile.warnings;
    if (!meta.schemaVersion) {
      warnings.push('No export metadata (EXPORT_SCHEMA_VERSION): schema version unknown.');
    } else if (!/^3\./.test(meta.schemaVersion)) {
      warnings.push(`Untested nsys export schema ${meta.schemaVersion} (tested: 3.0.0 to 3.25.0).`);
    }

    const strings = readStrings(ndb);
    const stacks = new StackTable();
    const hasPython = stringsMayHavePython(strings);
    const cudaStacks = hasPython
      ? readPythonCallchains(ndb, 'CUDA_CALLCHAINS', strings, stacks)
      : new Map<number, number>();
    const osrtStacks = hasPython
      ? readPythonCallchains(ndb, 'OSRT_CALLCHAINS', strings, stacks)
      : new Map<number, number>();

    // The column tables are sized once for every row (OSRT's outer calls are fewer than its rows).
    const rowsOf = (...tables: string[]) => tables.reduce((n, t) => n + (spans.get(t) ?? 0), 0);
    profile.cpuCalls.reserve(rowsOf('CUPTI_ACTIVITY_KIND_RUNTIME', 'OSRT_API'));
    profile.gpuOps.reserve(
      rowsOf(
        'CUPTI_ACTIVITY_KIND_KERNEL',
        'CUPTI_ACTIVITY_KIND_MEMCPY',
        'CUPTI_ACTIVITY_KIND_MEMSET',
      ),
    );
    const span: Span = { min: Infinity, max: -Infinity };
    // The kernel and runtime tables are read (each on a thread of its own when large) while this
    // one turns their chunks of rows into ops and calls, whichever is ready; the kernels are linked
    // to their launching calls once both are in.
    const runtime = startTableScan(
      ndb,
      RUNTIME_TABLE,
      RUNTIME_COLUMNS.slice(0, cudaStacks.size > 0 ? 6 : 5),
      { onWorker: options.workers, withLinker: true, chunkRows: 1 << 16 },
    );
    const kernels = startTableScan(ndb, KERNEL_TABLE, KERNEL_COLUMNS, {
      onWorker: options.workers,
      chunkRows: 1 << 16,
    });
    const calls = new RuntimeCallReader(strings, cudaStacks, rank, profile.cpuCalls, span);
    const takeRuntime = (wait: boolean): boolean => {
      const chunk = runtime.next(wait);
      if (!chunk) return false;
      calls.add(chunk);
      runtime.recycle(chunk);
      return true;
    };
    let linker: LaunchLinker;
    try {
      const kernelRows = ndb.rowCount(KERNEL_TABLE);
      const links = readKernels(kernels, kernelRows, strings, rank, profile.gpuOps, () =>
        takeRuntime(false),
      );
      while (takeRuntime(true));
      linker = runtime.linker();
      linkKernels(profile.gpuOps, links, linker, profile.cpuCalls, span, calls.anyStack);
    } finally {
      runtime.abandon();
      kernels.abandon();
    }
    const cudaCallCount = profile.cpuCalls.length;
    readCopies(ndb, linker, profile.cpuCalls, rank, profile.gpuOps, span);
    readOsrtCalls(ndb, strings, osrtStacks, rank, profile.cpuCalls, span);
    profile.cpuCalls.trim();
    profile.gpuOps.trim();
    readNvtxRanges(ndb, strings, rank, profile.ranges, span, warnings);
    profile.stacks = stacks.stacks;
    profile.devices = readDevices(ndb);
    profile.metrics = readMetrics(ndb, span);

    if (profile.gpuOps.length === 0 && cudaCallCount === 0) {
      warnings.push('No CUDA activity in this export (CUDA was not traced, or no GPU work ran).');
    } else if (profile.gpuOps.length > 0 && !ndb.has('CUPTI_ACTIVITY_KIND_RUNTIME')) {
      warnings.push('No CUDA API table: GPU operations cannot be linked to their launching calls.');
    }
    setSpan(ndb, profile, span);
    return profile;
  } catch (e) {
    // A damaged page surfaces only when a query reaches it, as a raw SqliteError.
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('SQLITE_'))
      throw new Error(`${path}: the export is damaged or unreadable (${errorText(e)})`);
    throw e;
  } finally {
    ndb.close();
  }
}

/**
 * The span is first to last event read. ANALYSIS_DETAILS is only a fallback for exports with no
 * events: in the real exports its startTime/stopTime are not on the events' clock (Windows
 * captures use an epoch-based value; Linux ones start after the first events).
 */
function setSpan(ndb: NsysDb, profile: Profile, span: Span): void {
  if (span.min <= span.max) {
    profile.spanStartNs = span.min;
    profile.spanEndNs = span.max;
    return;
  }
  const cols = ndb.columns('ANALYSIS_DETAILS');
  if (cols.has('startTime') && cols.has('stopTime')) {
    const row = ndb.db
      .prepare('SELECT startTime, stopTime FROM ANALYSIS_DETAILS LIMIT 1')
      .raw()
      .get() as [number | null, number | null] | undefined;
    if (row && typeof row[0] === 'number' && typeof row[1] === 'number') {
      profile.spanStartNs = row[0];
      profile.spanEndNs = row[1];
    }
  }
}

const positive = (v: unknown): number | undefined =>
  typeof v === 'number' && v > 0 ? v : undefined;

/**
 * CUDA devices. TARGET_INFO_GPU also lists non-CUDA adapters on Windows (integrated GPUs, the basic
 * render driver): when TARGET_INFO_CUDA_DEVICE exists it says which GPU rows are CUDA devices and
 * their CUDA ordinal (the `deviceId` of kernels); otherwise rows with SMs are kept, numbered by
 * `cuDevice` where present.
 */
function readDevices(ndb: NsysDb): DeviceInfo[] {
  if (!ndb.has('TARGET_INFO_GPU')) return [];
  const gpuRows = new Map<number, DeviceInfo & { cuDevice: number | null }>();
  const wanted = ['id', 'name', 'totalMemory', 'smCount', 'memoryBandwidth', 'cuDevice'];
  for (const [id, name, mem, sms, bw, cuDevice] of ndb.rows('TARGET_INFO_GPU', wanted)) {
    if (typeof id !== 'number') continue;
    gpuRows.set(id, {
      id,
      name: typeof name === 'string' ? name : '',
      totalMemoryBytes: positive(mem),
      smCount: positive(sms),
      memoryBandwidth: positive(bw),
      cuDevice: typeof cuDevice === 'number' ? cuDevice : null,
    });
  }
  const devices = new Map<number, DeviceInfo>();
  const cudaCols = ndb.columns('TARGET_INFO_CUDA_DEVICE');
  if (cudaCols.has('gpuId') && cudaCols.has('cudaId')) {
    for (const [gpuId, cudaId, sms] of ndb.rows('TARGET_INFO_CUDA_DEVICE', [
      'gpuId',
      'cudaId',
      'numMultiprocessors',
    ])) {
      const gpu = typeof gpuId === 'number' ? gpuRows.get(gpuId) : undefined;
      if (!gpu || typeof cudaId !== 'number' || devices.has(cudaId)) continue;
      devices.set(cudaId, toDevice(gpu, cudaId, positive(sms)));
    }
  } else {
    for (const gpu of gpuRows.values()) {
      if (gpu.smCount === undefined) continue;
      const id = gpu.cuDevice ?? gpu.id;
      if (!devices.has(id)) devices.set(id, toDevice(gpu, id, undefined));
    }
  }
  return [...devices.values()].sort((a, b) => a.id - b.id);
}

function toDevice(gpu: DeviceInfo, id: number, sms: number | undefined): DeviceInfo {
  return {
    id,
    name: gpu.name,
    totalMemoryBytes: gpu.totalMemoryBytes,
    smCount: gpu.smCount ?? sms,
    memoryBandwidth: gpu.memoryBandwidth,
  };
}

/**
 * GPU metrics samples (`--gpu-metrics-devices`). Unverified against a real export: the layout
 * follows NVIDIA's documentation, GPU_METRICS(timestamp, typeId, metricId, value) named through
 * TARGET_INFO_GPU_METRICS(typeId, metricId, metricName), the GPU id in the low 8 bits of typeId.
 */
function readMetrics(ndb: NsysDb, span: Span): MetricSample[] {
  const samples: MetricSample[] = [];
  const cols = ndb.columns('GPU_METRICS');
  if (!['timestamp', 'typeId', 'metricId', 'value'].every((c) => cols.has(c))) return samples;
  const names = new Map<string, string>();
  for (const [typeId, metricId, metricName] of ndb.rows('TARGET_INFO_GPU_METRICS', [
    'typeId',
    'metricId',
    'metricName',
  ])) {
    names.set(
      `${String(typeId)}:${String(metricId)}`,
      typeof metricName === 'string' ? metricName : '',
    );
  }
  for (const [ts, typeId, metricId, value] of ndb.rows('GPU_METRICS', [
    'timestamp',
    'typeId',
    'metricId',
    'value',
  ])) {
    if (typeof ts !== 'number' || typeof value !== 'number') continue;
    const type = typeof typeId === 'number' ? typeId : 0;
    samples.push({
      tsNs: ts,
      deviceId: type % 256,
      metric: names.get(`${type}:${String(metricId)}`) ?? `metric ${String(metricId)}`,
      value,
    });
    if (ts < span.min) span.min = ts;
    if (ts > span.max) span.max = ts;
  }
  return samples;
}
