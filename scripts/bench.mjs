// `npm run bench`: large-trace benchmark. Generates big inputs by tiling real fixtures in time
// (cached in .cache/bench/), then for each input measures, each in its own child process (so peak
// RSS is that measurement's own): the full pipeline to a Report, CodeLens/hover answer times on that
// Report, and baselines on the same file in the same run (fs read, JSON.parse, a plain SQL query).
// Results are printed as a table and written to .cache/bench/results.json. Not part of `npm test`.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { readSourceTrace, tileBytes, writeTiledKineto } from './bench/gen-kineto.mjs';
import { writeTiledNsys } from './bench/gen-nsys.mjs';
import { compareReports, OBJECT_MODEL_COMMIT } from './bench/equality.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cache = path.join(root, '.cache', 'bench');
const fixtures = process.env.GPU_LENS_FIXTURES ?? '/work/shared/fixtures';
const KINETO_SOURCE = path.join(fixtures, 'torch', 'h100-owlv2-stack.json.gz');
const NSYS_SOURCE = path.join(fixtures, 'nsys', 'rtx5000-attention-nvtx-2026.2.sqlite');
const MiB = 1 << 20;
/** V8's longest string (2^29 - 24 UTF-16 units on 64-bit): JSON.parse of a file needs it whole. */
const V8_MAX_STRING = 2 ** 29 - 24;
// `--quick` runs only the smallest input of each kind (to check the harness itself).
const quick = process.argv.includes('--quick');
// `--timeline` runs only the kernel timeline row (its input is generated when missing).
const timelineOnly = process.argv.includes('--timeline');
const KINETO_TARGETS_MIB = quick ? [100] : [100, 500, 1200];
const NSYS_TARGET_KERNELS = quick ? [1_000_000] : [1_000_000, 5_000_000];
/** The rank-folder row: this many ranks, each a copy of the smallest Kineto input. */
const RANKS = quick ? 4 : 16;
// `--baseline REF`: the commit whose Reports this tree's are compared with (default: the last
// object-model Profile).
const baselineAt = process.argv.indexOf('--baseline');
const BASELINE = baselineAt > 0 ? process.argv[baselineAt + 1] : OBJECT_MODEL_COMMIT;

const log = (msg) => process.stderr.write(`[bench] ${msg}\n`);
const fmtMiB = (bytes) => `${(bytes / MiB).toFixed(0)} MiB`;
const fmtMs = (ms) =>
  ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 3 : 0)} ms`;

/** Bundles the pieces of src the child measures (core pipeline + server annotations) once. */
async function bundleCore() {
  const out = path.join(cache, 'core.cjs');
  await esbuild.build({
    stdin: {
      contents: [
        "export { loadTrace } from './src/core/load';",
        "export { buildReport } from './src/core/report';",
        "export { annotationsFor, hoverMarkdown } from './src/server/annotations';",
        "export { runReadOnlyTool } from './src/core/agent/run-tool';",
        "export { READER_YOUNG_GENERATION_MB } from './src/core/ingest/worker-job';",
        // The kernel timeline: columns, window query, and the webview's draw code (headless).
        "export { StackResolver } from './src/core/stack-resolver';",
        "export { PathResolver, WorkspaceIndex } from './src/core/workspace-paths';",
        "export { buildTimelineColumns } from './src/core/timeline-columns';",
        "export { queryTimeline } from './src/core/timeline-columns-window';",
        "export { shortKernelName } from './src/core/kernel-names';",
        "export { drawTimeline, layoutRows } from './webview/kernel-timeline/draw';",
      ].join('\n'),
      resolveDir: root,
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: ['better-sqlite3'],
    outfile: out,
    logLevel: 'warning',
  });
  // Rank folders are read in worker threads whose entry sits beside the bundle (rank-read-pool.ts).
  await esbuild.build({
    entryPoints: [path.join(root, 'src/core/ingest/rank-read-worker.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: ['better-sqlite3'],
    outfile: path.join(cache, 'rank-read-worker.js'),
    logLevel: 'warning',
  });
  return out;
}

/** Runs one measurement in a child process; returns its JSON result. */
function measure(mode, ...args) {
  const out = execFileSync(
    process.execPath,
    [path.join(root, 'scripts/bench/child.mjs'), mode, ...args],
    {
      cwd: root,
      encoding: 'utf8',
      maxBuffer: 1 << 20,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return JSON.parse(out.trim().split('\n').pop());
}

/** A workspace holding (empty) copies of the trace's relative source files: its code is "user code". */
function makeWorkspace(source) {
  const ws = path.join(cache, 'workspace');
  for (const e of source.events) {
    if (e.cat !== 'python_function') continue;
    const m = /^(.*)\((\d+)\): /.exec(e.name ?? '');
    if (!m || path.isAbsolute(m[1]) || m[1].startsWith('<') || m[1].includes('..')) continue;
    const f = path.join(ws, m[1]);
    if (fs.existsSync(f)) continue;
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, '');
  }
  return ws;
}

async function kinetoInputs() {
  log(`reading ${path.basename(KINETO_SOURCE)} …`);
  const source = readSourceTrace(KINETO_SOURCE);
  const tile = tileBytes(source);
  const inputs = [];
  for (const target of KINETO_TARGETS_MIB) {
    const copies = Math.max(1, Math.round((target * MiB) / tile));
    const file = path.join(cache, `kineto-owlv2-x${copies}.json`);
    if (!fs.existsSync(file)) {
      const t = performance.now();
      log(`generating ${path.basename(file)} (${copies} copies of ${fmtMiB(tile)}) …`);
      await writeTiledKineto(source, copies, file, (k) => {
        if (k % 5 === 0 || k === copies) log(`  ${k}/${copies} copies`);
      });
      log(`  done in ${fmtMs(performance.now() - t)}`);
    }
    inputs.push(file);
  }
  return { inputs, workspace: makeWorkspace(source) };
}

function nsysInputs() {
  const base = measureKernels(NSYS_SOURCE);
  return NSYS_TARGET_KERNELS.map((target) => {
    const copies = Math.max(1, Math.round(target / base));
    const file = path.join(cache, `nsys-attention-x${copies}.sqlite`);
    if (!fs.existsSync(file)) {
      const t = performance.now();
      log(`generating ${path.basename(file)} (${copies} copies of ${base} kernels) …`);
      writeTiledNsys(NSYS_SOURCE, copies, file, (k) => log(`  ${k}/${copies} copies`));
      log(`  done in ${fmtMs(performance.now() - t)}`);
    }
    return file;
  });
}

function measureKernels(file) {
  return measure('sql', file).kernels;
}

function row(cells, widths) {
  return cells.map((c, i) => String(c).padEnd(widths[i])).join('  ');
}

async function main() {
  fs.mkdirSync(cache, { recursive: true });
  const t0 = performance.now();
  const core = await bundleCore();
  const results = {
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? '',
      memGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
    },
    kineto: [],
    nsys: [],
    activation: null,
  };

  const { inputs: kInputs, workspace } = timelineOnly
    ? { inputs: [], workspace: makeWorkspace(readSourceTrace(KINETO_SOURCE)) }
    : await kinetoInputs();
  for (const file of kInputs) {
    const bytes = fs.statSync(file).size;
    const name = path.basename(file);
    log(`${name}: fs read …`);
    const read = measure('read', file);
    let parse = null;
    if (bytes <= V8_MAX_STRING) {
      log(`${name}: JSON.parse …`);
      parse = measure('parse', file);
    }
    log(`${name}: loadTrace + buildReport …`);
    const report = measure('report', file, core, workspace);
    results.kineto.push({ file: name, bytes, read, parse, report });
  }

  for (const file of timelineOnly ? [] : nsysInputs()) {
    const name = path.basename(file);
    const bytes = fs.statSync(file).size;
    log(`${name}: fs read …`);
    const read = measure('read', file);
    log(`${name}: SQL GROUP BY …`);
    const sql = measure('sql', file);
    log(`${name}: floor (raw scan of the kernel and runtime tables' used columns) …`);
    const floor = measure('floor', file);
    log(`${name}: loadTrace + buildReport …`);
    const report = measure('report', file, core, workspace);
    results.nsys.push({ file: name, bytes, read, sql, floor, report });
  }

  if (!timelineOnly) {
    const folder = rankFolderInput(kInputs[0], RANKS);
    log(`${path.basename(folder)}: loadTrace + buildReport of ${RANKS} ranks …`);
    const report = measure('report', folder, core, workspace);
    const one = results.kineto[0].report;
    results.rankFolder = {
      folder: path.basename(folder),
      ranks: RANKS,
      rankBytes: results.kineto[0].bytes,
      one,
      report,
    };
  }

  // Kernel timeline frames on the 1 M-kernel nsys input (the smallest nsys target).
  const tlFile = nsysInputs()[0];
  log(`${path.basename(tlFile)}: kernel timeline columns + zoom frames …`);
  results.timeline = {
    file: path.basename(tlFile),
    ...measure('timeline', tlFile, core, workspace),
  };

  if (timelineOnly) {
    printTimeline(results.timeline);
    return;
  }
  log('activation (module load of dist/extension.js with a stub vscode) …');
  const activation = [];
  for (let i = 0; i < 5; i++)
    activation.push(measure('activate', path.join(root, 'dist/extension.js')));
  results.activation = activation;
  log(`Reports of every fixture and the 1 M-kernel input: this tree vs ${BASELINE} …`);
  results.equality = await compareReports({
    root,
    cache,
    fixtures,
    commit: BASELINE,
    extra: [nsysInputs()[0]],
  });
  results.totalMs = performance.now() - t0;
  fs.writeFileSync(path.join(cache, 'results.json'), JSON.stringify(results, null, 2));
  print(results);
}

function print(r) {
  const mbps = (bytes, ms) => (bytes / MiB / (ms / 1000)).toFixed(1);
  console.log(
    `\nGPU Lens benchmark — ${r.machine.cpus} × ${r.machine.cpuModel}, ${r.machine.memGiB} GiB, Node ${r.machine.node}`,
  );
  console.log(
    '\nKineto JSON (loadTrace + buildReport in an analysis worker, as the language server, the CLI and the MCP server run it)',
  );
  const kw = [28, 9, 22, 22, 24, 9, 12];
  console.log(
    row(['file', 'size', 'fs read', 'JSON.parse', 'GPU Lens → Report', 'vs parse', 'peak RSS'], kw),
  );
  for (const k of r.kineto) {
    const rep = k.report;
    const parse = k.parse
      ? `${fmtMs(k.parse.ms)} ${mbps(k.bytes, k.parse.ms)} MB/s`
      : 'n/a: > V8 max string';
    const ratio = k.parse ? `${((100 * k.parse.ms) / rep.ms).toFixed(0)} %` : '—';
    console.log(
      row(
        [
          k.file,
          fmtMiB(k.bytes),
          `${fmtMs(k.read.ms)} ${mbps(k.bytes, k.read.ms)} MB/s`,
          parse,
          `${fmtMs(rep.ms)} ${mbps(k.bytes, rep.ms)} MB/s`,
          ratio,
          `${rep.rssMiB.toFixed(0)} MiB (parse ${k.parse ? k.parse.rssMiB.toFixed(0) : '—'})`,
        ],
        kw,
      ),
    );
    console.log(
      `    load ${fmtMs(rep.loadMs)} + report ${fmtMs(rep.reportMs)}; ${rep.gpuOps} GPU ops, ${rep.lines} lines, ${rep.findings} findings`,
    );
    if (rep.explain)
      console.log(
        `    agent explain_line on the hottest line, cold (load + report + answer): ${fmtMs(rep.ms + rep.explain.ms)}; the answer alone ${fmtMs(rep.explain.ms)} (${rep.explain.chars} characters)`,
      );
  }
  console.log('\nnsys SQLite (loadTrace + buildReport)');
  const nw = [30, 9, 22, 22, 26, 10, 10];
  console.log(
    row(['file', 'size', 'fs read', 'SQL GROUP BY', 'GPU Lens → Report', 'vs SQL', 'peak RSS'], nw),
  );
  for (const n of r.nsys) {
    const rep = n.report;
    console.log(
      row(
        [
          n.file,
          fmtMiB(n.bytes),
          `${fmtMs(n.read.ms)} ${mbps(n.bytes, n.read.ms)} MB/s`,
          `${fmtMs(n.sql.ms)} ${(n.sql.kernels / (n.sql.ms / 1000) / 1e6).toFixed(2)} M k/s`,
          `${fmtMs(rep.ms)} ${(rep.kernels / (rep.ms / 1000) / 1e6).toFixed(2)} M kernels/s`,
          `${(rep.ms / n.sql.ms).toFixed(1)}× SQL`,
          `${rep.rssMiB.toFixed(0)} MiB`,
        ],
        nw,
      ),
    );
    console.log(
      `    load ${fmtMs(rep.loadMs)} + report ${fmtMs(rep.reportMs)}; ${rep.kernels} kernels, ${rep.cpuCalls} API calls, ${rep.ranges} ranges`,
    );
    if (n.floor) printFloor(n.floor, rep);
  }
  console.log(
    '\nCodeLens / hover from memory (server annotationsFor / hoverMarkdown on the Report)',
  );
  for (const x of [...r.kineto, ...r.nsys]) {
    const { lens, hover } = x.report;
    if (!lens) continue;
    console.log(
      `  ${x.file}: ${x.report.files} files; CodeLens p50 ${fmtMs(lens.p50)} p99 ${fmtMs(lens.p99)} (n=${lens.n}); hover p50 ${fmtMs(hover.p50)} p99 ${fmtMs(hover.p99)} (n=${hover.n})`,
    );
  }
  if (r.rankFolder) printRankFolder(r.rankFolder, r.machine.cpus);
  if (r.timeline) printTimeline(r.timeline);
  const act = r.activation.map((a) => a.ms).sort((a, b) => a - b);
  console.log(
    `\nActivation: require(dist/extension.js) with a stub vscode module, median of ${act.length}: ${fmtMs(act[act.length >> 1])} (min ${fmtMs(act[0])}); trace loading runs in the language server process, not the extension host.`,
  );
  const eq = r.equality;
  console.log(
    `\nReports before and after (CLI JSON, ${eq.commit} vs this tree): ${eq.identical} of ${eq.inputs} inputs byte-identical${eq.differ.length ? `; differ: ${eq.differ.join('; ')}` : ''}`,
  );
  console.log(`\nTotal bench time ${fmtMs(r.totalMs)}; results in .cache/bench/results.json`);
}

/**
 * The rank folder next to its baselines: one rank's time × ranks ÷ cores, by wall time and by CPU
 * time (one rank alone keeps more than one core busy: V8's GC threads run beside the reader, so
 * its wall time × ranks ÷ cores is less than the cores could do), and one rank's peak RSS.
 */
function printRankFolder(f, cpus) {
  const { one, report } = f;
  const perRank = (ms) => fmtMs((ms * f.ranks) / cpus);
  console.log(
    `\nRank folder (${f.folder}: ${f.ranks} ranks of ${fmtMiB(f.rankBytes)}, each a copy of the smallest Kineto input)`,
  );
  console.log(
    `  loadTrace + buildReport ${fmtMs(report.ms)} (${fmtMs(report.cpuMs)} CPU), peak RSS ${report.rssMiB.toFixed(0)} MiB; baseline: one rank ${fmtMs(one.ms)} (${fmtMs(one.cpuMs)} CPU), × ${f.ranks} ranks ÷ ${cpus} cores = ${perRank(one.ms)} by wall time, ${perRank(one.cpuMs)} by CPU time; one rank's peak RSS ${one.rssMiB.toFixed(0)} MiB`,
  );
}

/** A folder of `ranks` links to `file`, named rank0.json … (rank-names.ts reads the rank there). */
function rankFolderInput(file, ranks) {
  const dir = path.join(cache, `ranks-${path.basename(file, '.json')}x${ranks}`);
  fs.mkdirSync(dir, { recursive: true });
  for (let i = 0; i < ranks; i++) {
    const link = path.join(dir, `rank${i}.json`);
    if (!fs.existsSync(link)) fs.symlinkSync(path.relative(dir, file), link);
  }
  return dir;
}

/**
 * The nsys floor (child.mjs floor: a bare raw scan of the kernel and runtime tables' used columns)
 * and GPU Lens's ratio to it, for the load stage and end to end, wall and CPU, with each peak RSS.
 */
function printFloor(f, rep) {
  const kps = (ms) => `${(f.kernels / (ms / 1000) / 1e6).toFixed(2)} M kernels/s`;
  console.log(
    `    floor: ${fmtMs(f.ms)} (${kps(f.ms)}), ${fmtMs(f.cpuMs)} CPU, ${f.rssMiB.toFixed(0)} MiB for ${f.kernels} kernels + ${f.calls} API calls; GPU Lens load ${(rep.loadMs / f.ms).toFixed(1)}× the floor, end to end ${(rep.ms / f.ms).toFixed(1)}× (CPU ${(rep.cpuMs / f.cpuMs).toFixed(1)}×, with the requests after the Report), peak RSS ${rep.rssMiB.toFixed(0)} / ${f.rssMiB.toFixed(0)} MiB`,
  );
}

/** The kernel timeline row: zoom frames (query + JSON round trip + draw code) vs one column scan. */
function printTimeline(t) {
  console.log(
    `\nKernel timeline (${t.file}: ${t.kernels} GPU ops, ${t.ops} ops in ${t.lanes} lanes with NVTX and CPU launches)`,
  );
  console.log(
    `  columns built in ${fmtMs(t.columnsMs)} (after load ${fmtMs(t.loadMs)}), ${fmtMiB(t.columnBytes)}; baseline: one scan of the columns ${fmtMs(t.scanMs)}`,
  );
  console.log(
    `  zoom whole run → one kernel → whole run, ${t.steps} frames of 1200 px: frame p50 ${fmtMs(t.frameP50)}, p95 ${fmtMs(t.frameP95)}, max ${fmtMs(t.frameMax)} (${(t.frameP50 / t.scanMs).toFixed(2)}× a scan); p50 query ${fmtMs(t.queryP50)} + JSON ${fmtMs(t.jsonP50)} + draw ${fmtMs(t.drawP50)}; largest answer ${(t.maxAnswerBytes / 1024).toFixed(0)} KiB`,
  );
  console.log(
    `  whole run: ${fmtMs(t.wholeRun.frameMs)} first (cold), ${fmtMs(t.wholeRunAgain.frameMs)} on the way back (${t.wholeRun.aggregatedLanes} lanes aggregated per pixel); one kernel: ${fmtMs(t.deepest.frameMs)} (${t.deepest.singleOps} single ops)`,
  );
}

await main();
