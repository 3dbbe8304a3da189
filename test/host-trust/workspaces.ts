/**
 * Builds the hostile workspaces of the Workspace Trust host tests in a temporary folder (run by
 * scripts/host-tests.mjs --trust before code-server opens them). Each holds a real `.nsys-rep`
 * (a live capture of test/workspace/nvtx_pipeline.py) and a fake "nsys" that appends to a marker
 * file outside the workspace and then runs the real nsys: a marker that exists proves the
 * workspace (or a setting) chose the program that ran.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { captureWithNsys, pythonForCaptures } from '../unit/nsys-capture-helper';

/** What the runner needs to start a scenario, and what its test reads back (as JSON). */
export interface TrustScenario {
  name: 'zero-click' | 'one-click';
  /** The workspace folder code-server opens. */
  folder: string;
  /** The real `.nsys-rep` inside it. */
  repPath: string;
  /** Remote machine settings (`<user-data-dir>/Machine/settings.json`): where `machine` settings live. */
  machineSettings: Record<string, unknown>;
  /** Marker files: a fake nsys appends its command line to its own marker when it runs. */
  markers: Record<string, string>;
}

export interface TrustManifest {
  /** The SQLite export of the capture (made with the system nsys): the test's ground truth. */
  sqlitePath: string;
  scenarios: TrustScenario[];
}

/** A fake program at `file` that records that it ran in `marker`, then runs the `real` one. */
function fakeProgram(file: string, marker: string, real: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  fs.writeFileSync(file, `#!/bin/sh\necho "$0 $*" >> ${q(marker)}\nexec ${q(real)} "$@"\n`, {
    mode: 0o755,
  });
  return file;
}

function write(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

/** The sources of the captured program, so the trace's frames map onto workspace files. */
function copySources(repo: string, into: string): void {
  for (const f of ['nvtx_pipeline.py', 'nvtx_helper.py'])
    fs.copyFileSync(path.join(repo, 'test', 'workspace', f), path.join(into, f));
}

/**
 * Captures once, then builds the two workspaces of issue 11 under `root`:
 * - zero-click: `.vscode/settings.json` sets `gpuLens.nsysPath` to a script in the repo and
 *   `.gpu-lens/history.json` names the `.nsys-rep` as a capture (activation would load it), and
 *   a newer one outside the capture folder. The machine settings name a second fake nsys: the user's own choice, honoured only once
 *   the workspace is trusted.
 * - one-click: `gpuLens.nsysPath` is the relative `tools/nsys` and `gpuLens.pythonPath` the
 *   relative `tools/python` (in the workspace and in the machine settings); the user opens the
 *   `.nsys-rep` in the repo, and profiles its script.
 */
export async function makeTrustWorkspaces(root: string, repo: string): Promise<TrustManifest> {
  fs.mkdirSync(path.join(root, 'capture'), { recursive: true });
  const capture = await captureWithNsys(
    path.join(repo, 'test', 'workspace', 'nvtx_pipeline.py'),
    path.join(root, 'capture'),
    { env: { PIPELINE_ITERATIONS: '2' } },
  );
  const markers = path.join(root, 'markers');
  fs.mkdirSync(markers, { recursive: true });

  const zero = path.join(root, 'zero-click');
  fs.mkdirSync(zero, { recursive: true });
  copySources(repo, zero);
  const zeroRep = path.join(zero, '.gpu-lens', 'nsys-20250101-000000', 'nvtx_pipeline.nsys-rep');
  fs.mkdirSync(path.dirname(zeroRep), { recursive: true });
  fs.copyFileSync(capture.repPath, zeroRep);
  const zeroMarkers = {
    workspace: path.join(markers, 'zero-click-workspace-nsys'),
    user: path.join(markers, 'zero-click-user-nsys'),
  };
  const evil = fakeProgram(path.join(zero, 'tools', 'nsys'), zeroMarkers.workspace, capture.nsys);
  const userNsys = fakeProgram(path.join(root, 'user-bin', 'nsys'), zeroMarkers.user, capture.nsys);
  write(
    path.join(zero, '.vscode', 'settings.json'),
    JSON.stringify({ 'gpuLens.nsysPath': evil }, null, 2),
  );
  // The newest entry names a trace outside the capture folder: never restored, even trusted.
  const outside = path.join(zero, 'elsewhere', 'outside.nsys-rep');
  fs.mkdirSync(path.dirname(outside), { recursive: true });
  fs.copyFileSync(capture.repPath, outside);
  const entry = (tracePath: string, at: string) => ({
    tool: 'nsys',
    command: 'nsys profile python nvtx_pipeline.py',
    startedAt: at,
    endedAt: at,
    tracePath,
    status: 'succeeded',
  });
  write(
    path.join(zero, '.gpu-lens', 'history.json'),
    JSON.stringify({
      captures: [
        entry(zeroRep, '2025-01-01T00:00:00.000Z'),
        entry(outside, '2025-01-02T00:00:00.000Z'),
      ],
    }),
  );

  const one = path.join(root, 'one-click');
  fs.mkdirSync(one, { recursive: true });
  copySources(repo, one);
  const oneRep = path.join(one, 'traces', 'nvtx_pipeline.nsys-rep');
  fs.mkdirSync(path.dirname(oneRep), { recursive: true });
  fs.copyFileSync(capture.repPath, oneRep);
  const oneMarkers = {
    workspace: path.join(markers, 'one-click-workspace-nsys'),
    python: path.join(markers, 'one-click-workspace-python'),
  };
  fakeProgram(path.join(one, 'tools', 'nsys'), oneMarkers.workspace, capture.nsys);
  // A fake interpreter too: a relative gpuLens.pythonPath must be refused the same way.
  fakeProgram(path.join(one, 'tools', 'python'), oneMarkers.python, pythonForCaptures());
  const relative = { 'gpuLens.nsysPath': 'tools/nsys', 'gpuLens.pythonPath': 'tools/python' };
  write(path.join(one, '.vscode', 'settings.json'), JSON.stringify(relative, null, 2));

  return {
    sqlitePath: capture.sqlitePath,
    scenarios: [
      {
        name: 'zero-click',
        folder: zero,
        repPath: zeroRep,
        machineSettings: { 'gpuLens.nsysPath': userNsys },
        markers: zeroMarkers,
      },
      {
        name: 'one-click',
        folder: one,
        repPath: oneRep,
        machineSettings: relative,
        markers: oneMarkers,
      },
    ],
  };
}
