/**
 * Issue 11, one click: a repository whose `.vscode/settings.json` sets `gpuLens.nsysPath` to the
 * relative `tools/nsys` (a script of its own); the user runs Open in GPU Lens on its `.nsys-rep`.
 * Untrusted, the system nsys exports it and captures are refused; trusted, the relative paths
 * (here also the user's own machine settings) are refused instead of being resolved against the
 * workspace root, for nsys and for the capture interpreter (`gpuLens.pythonPath`, `tools/python`).
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  OpenTraceRequest,
  type OpenTraceParams,
  type OpenTraceResult,
} from '../../src/shared/protocol';
import type { CaptureOutcome } from '../../src/extension/tasks/capture-service';
import { gpuLens, poll } from '../host/helpers';
import {
  grantTrust,
  markersLeft,
  rangeCountsBySql,
  rangeCountsOfReport,
  scenario,
  serverStatus,
} from './trust-helpers';

const { sqlitePath, s } = scenario();
const open = () =>
  vscode.commands.executeCommand<OpenTraceResult | undefined>(
    'gpuLens.openInGpuLens',
    vscode.Uri.file(s.repPath),
  );

const script = vscode.Uri.file(path.join(s.folder, 'nvtx_pipeline.py'));
const profileTorch = () =>
  vscode.commands.executeCommand<CaptureOutcome | undefined>('gpuLens.profileTorch', script);

describe('Restricted Mode, one click: a relative nsysPath and Open in GPU Lens', () => {
  it('the workspace opens untrusted', async () => {
    assert.equal(vscode.workspace.isTrusted, false);
    await (await gpuLens()).restored();
  });

  it('Open in GPU Lens loads the .nsys-rep with the system nsys', async () => {
    const result = await open();
    assert.ok(result, 'the trace loaded');
    assert.deepEqual(await rangeCountsOfReport(result.id), rangeCountsBySql(sqlitePath));
    assert.equal((await serverStatus()).workspaceTrusted, false);
    assert.deepEqual(markersLeft(s), {}, 'tools/nsys did not run');
  });

  it('a capture is refused before anything runs', async () => {
    const outcome = await profileTorch();
    assert.equal(outcome?.status, 'failed');
    assert.match(outcome.message, /disabled in an untrusted workspace/);
    assert.deepEqual(markersLeft(s), {}, 'tools/python did not run');
  });

  it('trusted, the relative nsysPath is refused, not resolved against the workspace root', async function () {
    this.timeout(120_000);
    await grantTrust();
    await poll(
      'the server to be told the workspace is trusted',
      async () => (await serverStatus()).workspaceTrusted,
    );
    const before = (await serverStatus()).loaded.length;
    assert.equal(await open(), undefined, 'the load fails with the refusal');
    assert.equal((await serverStatus()).loaded.length, before);
    // The same request straight to the server: it names the refusal.
    const client = await (await gpuLens()).client();
    await assert.rejects(
      client.sendRequest(OpenTraceRequest, {
        path: s.repPath,
        workspaceFolder: s.folder,
      } satisfies OpenTraceParams),
      /gpuLens\.nsysPath must be an absolute path.*"tools\/nsys" is relative and was refused/,
    );
    assert.deepEqual(markersLeft(s), {}, 'tools/nsys did not run');
  });

  it('trusted, a relative pythonPath is refused too: the capture fails before it runs', async () => {
    assert.ok(vscode.workspace.isTrusted);
    const outcome = await profileTorch();
    assert.equal(outcome?.status, 'failed');
    assert.match(
      outcome.message,
      /gpuLens\.pythonPath must be an absolute path.*"tools\/python" is relative and was refused/,
    );
    assert.deepEqual(markersLeft(s), {}, 'tools/python did not run');
  });
});
