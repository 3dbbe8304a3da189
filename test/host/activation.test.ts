/**
 * Host test: in a real extension host the extension activates, its language server starts and
 * answers, and better-sqlite3 loads inside the server and reads a real nsys export.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import * as vscode from 'vscode';
import {
  OpenTraceRequest,
  StatusRequest,
  type OpenTraceParams,
  type OpenTraceResult,
  type StatusResult,
} from '../../src/shared/protocol';
import { fixture, repoRoot } from '../unit/fixtures';
import { gpuLens } from './helpers';

describe('activation', () => {
  it('activates and exports the client API', async () => {
    const exported = await gpuLens();
    assert.equal(typeof exported.client, 'function');
    assert.ok(vscode.extensions.getExtension('gpu-lens.gpu-lens')?.isActive);
  });

  it('starts the language server, which reports the extension version', async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
      version: string;
    };
    const client = await (await gpuLens()).client();
    const status = await client.sendRequest<StatusResult>(StatusRequest);
    assert.equal(status.version, pkg.version);
    assert.match(status.sqlite, /\d+\.\d+/, 'server should report the SQLite library version');
    assert.ok(Array.isArray(status.loaded));
  });

  it('loads better-sqlite3 in the server and reads a real nsys export', async () => {
    const trace = fixture('nsys', 'h200-nvfuser-nvtx-2024.6.sqlite');
    // Expected value computed independently, here in the extension host (Node 24 as well).
    const db = new Database(trace, { readonly: true, fileMustExist: true });
    const expected = (
      db.prepare('SELECT COUNT(*) AS n FROM CUPTI_ACTIVITY_KIND_KERNEL').get() as { n: number }
    ).n;
    db.close();
    assert.ok(expected > 0, 'fixture should contain kernels');

    const client = await (await gpuLens()).client();
    const params: OpenTraceParams = {
      path: trace,
      workspaceFolder: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? path.dirname(trace),
    };
    const result = await client.sendRequest<OpenTraceResult>(OpenTraceRequest, params);
    assert.equal(result.summary.kernelCount, expected);
    const status = await client.sendRequest<StatusResult>(StatusRequest);
    assert.ok(
      status.loaded.some((t) => t.id === result.id && t.path === trace),
      `status should list the loaded trace ${result.id}`,
    );
  });
});
