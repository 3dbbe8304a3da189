// One measurement in a fresh process, so its peak RSS is its own: prints one JSON line.
//   child.mjs read   FILE            stream the file from disk (fs read throughput)
//   child.mjs parse  FILE            readFileSync + JSON.parse of the whole file
//   child.mjs sql    FILE            a plain better-sqlite3 GROUP BY over the kernel table
//   child.mjs floor  FILE            the nsys floor: a bare raw scan of the kernel and runtime
//                                    tables' columns the reader uses
//   child.mjs report FILE CORE WS    loadTrace + buildReport, then CodeLens/hover timings, in a
//                                    worker thread with the young generation the server's
//                                    analysis worker has (worker-job.ts), as the product runs it
//   child.mjs activate EXT           require() of dist/extension.js with a stub `vscode` module
//   child.mjs timeline FILE CORE WS  kernel timeline columns, then frames of a zoom (timeline.mjs)
import * as fs from 'node:fs';
import Module, { createRequire } from 'node:module';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { timelineFrames } from './timeline.mjs';

const require = createRequire(import.meta.url);
const [mode, file, corePath, workspace] = isMainThread ? process.argv.slice(2) : workerData;

const cpuStart = process.cpuUsage();
const done = (result) => {
  // maxRSS is in KiB; CPU time (user + system, all threads) is less disturbed by other load on
  // the machine than wall time.
  const rssMiB = process.resourceUsage().maxRSS / 1024;
  const cpu = process.cpuUsage(cpuStart);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  process.stdout.write(`${JSON.stringify({ ...result, rssMiB, cpuMs })}\n`);
};

async function read() {
  const t = performance.now();
  let bytes = 0;
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 }))
    bytes += chunk.length;
  return { ms: performance.now() - t, bytes };
}

function parse() {
  const t = performance.now();
  const text = fs.readFileSync(file, 'utf8');
  const value = JSON.parse(text);
  const events = Array.isArray(value) ? value.length : value.traceEvents.length;
  return { ms: performance.now() - t, events };
}

function sql() {
  const Database = require('better-sqlite3');
  const t = performance.now();
  const db = new Database(file, { readonly: true });
  const rows = db
    .prepare(
      `SELECT s.value AS name, COUNT(*) AS n, SUM(k.end - k.start) AS ns
       FROM CUPTI_ACTIVITY_KIND_KERNEL k JOIN StringIds s ON s.id = k.demangledName
       GROUP BY k.demangledName ORDER BY ns DESC`,
    )
    .all();
  const kernels = rows.reduce((a, r) => a + r.n, 0);
  db.close();
  return { ms: performance.now() - t, kernels, names: rows.length };
}

/**
 * The floor for the nsys reader: the columns it selects from the kernel and runtime tables (the
 * two big ones), read the way it reads them (`.raw()` pages of 4,096 rowids through `.all()`, the
 * fastest better-sqlite3 offers), touching each row only to sum `end - start` so that the scan is
 * not optimised away. No objects, no linking, no names: what reading those rows costs at least.
 */
function floor() {
  const Database = require('better-sqlite3');
  const t = performance.now();
  const db = new Database(file, { readonly: true });
  const scan = (table, wanted) => {
    const have = new Set(db.pragma(`table_info("${table}")`).map((c) => c.name));
    if (have.size === 0) return { rows: 0, ns: 0 };
    const cols = wanted.map((c) => (have.has(c) ? `"${c}"` : 'NULL')).join(', ');
    const page = db.prepare(`SELECT ${cols} FROM "${table}" WHERE rowid > ? AND rowid <= ?`).raw();
    const edge = (fn) => db.prepare(`SELECT ${fn}(rowid) FROM "${table}"`).pluck().get();
    const [min, max] = [edge('min'), edge('max')];
    let rows = 0;
    let ns = 0;
    for (let lo = (min ?? 1) - 1; max !== null && lo < max; lo += 4096) {
      for (const r of page.all(lo, lo + 4096)) {
        ns += r[1] - r[0];
        rows++;
      }
    }
    return { rows, ns };
  };
  // The columns nsys-gpu.ts reads (callchainId only for exports with Python stacks: not here).
  const kernels = scan('CUPTI_ACTIVITY_KIND_KERNEL', [
    'start',
    'end',
    'deviceId',
    'streamId',
    'correlationId',
    'globalPid',
    'demangledName',
    'shortName',
  ]);
  const calls = scan('CUPTI_ACTIVITY_KIND_RUNTIME', [
    'start',
    'end',
    'globalTid',
    'correlationId',
    'nameId',
  ]);
  db.close();
  return {
    ms: performance.now() - t,
    kernels: kernels.rows,
    calls: calls.rows,
    ns: kernels.ns + calls.ns,
  };
}

/** p-th percentile (0–100) of an unsorted sample, in ms. */
function pct(sample, p) {
  const s = [...sample].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/** `reportHere` on a worker thread limited as the server's analysis worker is; its result. */
function report() {
  const core = require(corePath);
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), {
      workerData: [mode, file, corePath, workspace],
      resourceLimits: { maxYoungGenerationSizeMb: core.READER_YOUNG_GENERATION_MB },
    });
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

async function reportHere() {
  const core = require(corePath);
  const t0 = performance.now();
  // The 5 M-kernel export holds 12.6 M activity rows, past the default event budget (10 M):
  // the bench measures the pipeline, not the budget.
  const profile = await core.loadTrace(file, { maxEvents: Number.MAX_SAFE_INTEGER });
  const t1 = performance.now();
  const rep = core.buildReport(profile, { workspaceRoot: workspace });
  const t2 = performance.now();
  const counts = {
    gpuOps: profile.gpuOps.length,
    cpuCalls: profile.cpuCalls.length,
    ranges: profile.ranges.length,
    stacks: profile.stacks.length,
  };
  // What the language server does per request (src/server/server.ts): CodeLens = annotationsFor
  // on the file; hover = annotationsFor + find the line + hoverMarkdown.
  const files = [...new Set(rep.lines.map((l) => l.file))];
  const lens = [];
  const hover = [];
  const rounds = Math.max(1, Math.ceil(2000 / Math.max(1, files.length)));
  for (let r = 0; r < rounds && files.length > 0; r++) {
    for (const f of files) {
      let t = performance.now();
      const anns = core.annotationsFor(rep, f, false);
      lens.push(performance.now() - t);
      const a = anns[(r * 7) % anns.length];
      if (!a) continue;
      t = performance.now();
      const found = core.annotationsFor(rep, f, false).find((x) => x.line === a.line);
      core.hoverMarkdown(rep, f, found, 'bench', false);
      hover.push(performance.now() - t);
    }
  }
  // What an agent's first question costs (MCP / Language Model Tool): explain the hottest line.
  const hottest = [...rep.lines].sort((a, b) => b.selfNs - a.selfNs)[0];
  let explain = null;
  if (hottest) {
    const source = {
      list: async () => [],
      resolve: async () => ({ report: rep, workspaceRoot: workspace }),
    };
    const t = performance.now();
    const answer = await core.runReadOnlyTool(
      'gpulens_explain_line',
      { file: hottest.file, line: hottest.line },
      source,
    );
    explain = { ms: performance.now() - t, chars: answer.text.length };
  }
  const lensStats = lens.length ? { p50: pct(lens, 50), p99: pct(lens, 99), n: lens.length } : null;
  const hoverStats = hover.length
    ? { p50: pct(hover, 50), p99: pct(hover, 99), n: hover.length }
    : null;
  return {
    loadMs: t1 - t0,
    reportMs: t2 - t1,
    ms: t2 - t0,
    kernels: rep.summary.kernelCount,
    lines: rep.lines.length,
    findings: rep.findings.length,
    files: files.length,
    lens: lensStats,
    hover: hoverStats,
    explain,
    ...counts,
  };
}

function activate() {
  // A stub `vscode` module (every property a no-op function/object): this times the module load of
  // the bundle only, not activate(), which needs a real extension host.
  const stub = new Proxy(function vscodeStub() {}, {
    get: (target, key) => (key === 'then' ? undefined : stub),
    apply: () => stub,
    construct: () => stub,
  });
  const load = Module._load;
  Module._load = function (request, ...rest) {
    return request === 'vscode' ? stub : load.call(this, request, ...rest);
  };
  const t = performance.now();
  const ext = require(file);
  const ms = performance.now() - t;
  return { ms, exportsActivate: typeof ext.activate === 'function' };
}

const timeline = () => timelineFrames(require(corePath), file, workspace);

const modes = { read, parse, sql, floor, report, activate, timeline };
if (!isMainThread) parentPort.postMessage(await reportHere());
else if (!modes[mode]) throw new Error(`unknown mode ${mode}`);
else done(await modes[mode]());
