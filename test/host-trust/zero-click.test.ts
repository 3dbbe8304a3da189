/**
 * Issue 11, zero click: a repository whose `.vscode/settings.json` sets `gpuLens.nsysPath` to a
 * script of its own and whose `.gpu-lens/history.json` names a `.nsys-rep`. Opened in Restricted
 * Mode nothing of it runs, and the trace still loads with the system nsys; once the user grants
 * trust the server is told, the capture is restored, and the user's own nsysPath (machine
 * settings) runs, never the workspace's.
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { OpenTraceResult } from '../../src/shared/protocol';
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

describe('Restricted Mode, zero click: nsysPath in .vscode/settings.json, history.json names a trace', () => {
  it('the workspace opens untrusted', () => {
    assert.equal(vscode.workspace.isTrusted, false);
  });

  it('activation restores no capture and runs nothing', async () => {
    const api = await gpuLens();
    await api.restored();
    assert.deepEqual(markersLeft(s), {});
    const status = await serverStatus();
    assert.equal(status.workspaceTrusted, false, 'the server was told: untrusted');
    assert.deepEqual(status.loaded, [], 'no trace was restored');
  });

  it('the server is sent the user nsysPath only: the workspace value is dropped', () => {
    // What the language client answers to workspace/configuration: VS Code's own view.
    const c = vscode.workspace.getConfiguration('gpuLens', vscode.workspace.workspaceFolders?.[0]);
    assert.equal(c.get('nsysPath'), s.machineSettings['gpuLens.nsysPath']);
  });

  it('Open in GPU Lens loads the .nsys-rep with the system nsys, running no configured one', async () => {
    const result = await vscode.commands.executeCommand<OpenTraceResult | undefined>(
      'gpuLens.openInGpuLens',
      vscode.Uri.file(s.repPath),
    );
    assert.ok(result, 'the trace loaded');
    assert.deepEqual(await rangeCountsOfReport(result.id), rangeCountsBySql(sqlitePath));
    assert.deepEqual(markersLeft(s), {}, 'neither the workspace nor the user nsys ran');
  });

  it('granting trust tells the server and restores the capture with the user nsys only', async function () {
    this.timeout(120_000);
    const before = (await serverStatus()).loaded.map((t) => t.id);
    await grantTrust();
    await poll(
      'the server to be told the workspace is trusted',
      async () => (await serverStatus()).workspaceTrusted,
    );
    await (await gpuLens()).restored();
    const restored = (await serverStatus()).loaded.filter((t) => !before.includes(t.id));
    assert.deepEqual(
      restored.map((t) => t.path),
      [s.repPath],
      'the newest capture inside .gpu-lens was restored, not the newer one outside it',
    );
    assert.deepEqual(await rangeCountsOfReport(restored[0].id), rangeCountsBySql(sqlitePath));
    const left = markersLeft(s);
    // The user's machine-scoped nsysPath is honoured now (so the markers do show a run) ...
    assert.match(left.user ?? '', /export --type sqlite/);
    // ... but a workspace cannot set a machine-scoped setting, trusted or not.
    assert.equal(left.workspace, undefined);
  });
});
