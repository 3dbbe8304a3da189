// The kernel timeline's frame time (child.mjs `timeline` mode): loads a trace, builds its timeline
// columns (what the analysis worker hands the server), then zooms from the whole run down to one
// kernel and back out by halves, timing each frame as the panel pays for it: the server's window
// query, the answer's JSON round trip (JSON-RPC, then postMessage) and the webview's draw code
// (webview/kernel-timeline/draw.ts) on a stub 2D context — the JavaScript of a frame, not the
// browser's rasterisation. The baseline, in the same run: one plain pass over the columns.

const PIXELS = 1200;

/** A 2D context that records nothing: the draw code runs in full, no pixels are produced. */
function stubContext() {
  let calls = 0;
  const count = () => {
    calls++;
  };
  return {
    fillStyle: '',
    strokeStyle: '',
    font: '',
    textBaseline: 'middle',
    lineWidth: 1,
    fillRect: count,
    strokeRect: count,
    clearRect: count,
    fillText: count,
    save: count,
    restore: count,
    beginPath: count,
    rect: count,
    clip: count,
    calls: () => calls,
  };
}

const PALETTE = {
  foreground: '#ccc',
  muted: '#999',
  border: '#333',
  background: '#1e1e1e',
  selection: '#07f',
  kernels: ['#1a85ff', '#388a34', '#652d90', '#11a8cd', '#2472c8'],
  memcpy: '#d18616',
  memset: '#bf8803',
  range: '#bc3fbc',
  launch: '#0dbc79',
  causes: { 'late-launch': '#e51400' },
  other: '#717171',
};

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const p95 = (xs) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))];

/** Runs the measurement; `core` is the bench bundle (scripts/bench.mjs bundleCore). */
export async function timelineFrames(core, file, workspace) {
  const t0 = performance.now();
  const profile = await core.loadTrace(file, { maxEvents: Number.MAX_SAFE_INTEGER });
  const t1 = performance.now();
  const paths = new core.PathResolver(new core.WorkspaceIndex(workspace), []);
  const columns = core.buildTimelineColumns(profile, new core.StackResolver(profile, paths));
  const t2 = performance.now();
  const n = columns.start.length;
  const bytes = Object.values(columns)
    .filter((v) => ArrayBuffer.isView(v))
    .reduce((sum, a) => sum + a.byteLength, 0);

  // Baseline: one pass over every op's start and end (what any per-frame full scan would cost).
  const s0 = performance.now();
  let busy = 0;
  for (let i = 0; i < n; i++) busy += columns.end[i] - columns.start[i];
  const scanMs = performance.now() - s0;

  // Target: the middle op of the lane with the most ops.
  let lane = 0;
  for (let l = 1; l < columns.lanes.length; l++)
    if (
      columns.laneStart[l + 1] - columns.laneStart[l] >
      columns.laneStart[lane + 1] - columns.laneStart[lane]
    )
      lane = l;
  const mid = (columns.laneStart[lane] + columns.laneStart[lane + 1]) >> 1;
  const target = (columns.start[mid] + columns.end[mid]) / 2;
  const opNs = Math.max(100, columns.end[mid] - columns.start[mid]);
  const spans = [];
  for (let span = columns.spanNs; span > 4 * opNs; span /= 2) spans.push(span);
  spans.push(4 * opNs);
  const sequence = [...spans, ...spans.slice(0, -1).reverse()];

  const rows = core.layoutRows(columns.lanes);
  const frames = [];
  for (const span of sequence) {
    const from = Math.max(0, Math.min(columns.spanNs - span, target - span / 2));
    const q0 = performance.now();
    const answer = core.queryTimeline(columns, {
      kind: 'window',
      t0: from,
      t1: from + span,
      pixels: PIXELS,
    });
    const q1 = performance.now();
    const json = JSON.stringify(answer);
    const received = JSON.parse(json);
    const q2 = performance.now();
    const ctx = stubContext();
    core.drawTimeline(
      ctx,
      { t0: received.t0, t1: received.t1, width: PIXELS },
      rows,
      received,
      [],
      PALETTE,
      null,
      core.shortKernelName,
      received.baseNs,
    );
    const q3 = performance.now();
    frames.push({
      spanNs: span,
      queryMs: q1 - q0,
      jsonMs: q2 - q1,
      drawMs: q3 - q2,
      frameMs: q3 - q0,
      answerBytes: json.length,
      singleOps: answer.rows.reduce((k, r) => k + (r.ops?.index.length ?? 0), 0),
      aggregatedLanes: answer.rows.filter((r) => r.agg).length,
      drawCalls: ctx.calls(),
    });
  }
  const frame = frames.map((f) => f.frameMs);
  return {
    loadMs: t1 - t0,
    columnsMs: t2 - t1,
    ops: n,
    lanes: columns.lanes.length,
    kernels: profile.gpuOps.length,
    columnBytes: bytes,
    scanMs,
    busyNs: busy,
    steps: frames.length,
    frameP50: median(frame),
    frameP95: p95(frame),
    frameMax: Math.max(...frame),
    queryP50: median(frames.map((f) => f.queryMs)),
    jsonP50: median(frames.map((f) => f.jsonMs)),
    drawP50: median(frames.map((f) => f.drawMs)),
    maxAnswerBytes: Math.max(...frames.map((f) => f.answerBytes)),
    wholeRun: frames[0],
    // The zoom comes back out to the whole run: the same frame with the code warm.
    wholeRunAgain: frames[frames.length - 1],
    deepest: frames[spans.length - 1],
  };
}
