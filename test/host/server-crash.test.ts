/**
 * Host test: the language server dying mid-load (killed here, as the kernel's OOM killer would)
 * ends the load without a hang or the client library's raw text, and the next load starts a fresh
 * server; Cancel of a load in flight settles at once and leaves the server ready for the next.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { CancellationTokenSource } from 'vscode-languageclient/node';
import {
  OpenTraceRequest,
  StatusRequest,
  type OpenTraceResult,
  type StatusResult,
} from '../../src/shared/protocol';
import { fixture } from '../unit/fixtures';
import { gpuLens, poll, workspaceFolder } from './helpers';

const BERT = fixture('torch', 'h100-bert-small-stack.json.gz');
const OWL = fixture('torch', 'h100-owlv2-stack.json.gz');

/** Pids of this extension host's children running the GPU Lens server bundle. */
function serverPids(): number[] {
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmd = fs.readFileSync(`/proc/${e}/cmdline`, 'utf8');
      if (ppid === process.pid && cmd.includes('dist/server.js')) out.push(Number(e));
    } catch {
      // Ended while we looked.
    }
  }
  return out;
}

describe('server crash and cancel', function () {
  this.timeout(120_000);

  it('a server killed mid-load ends the load, and the next load starts a fresh server', async () => {
    const first = await vscode.commands.executeCommand<OpenTraceResult>(
      'gpuLens.openTrace',
      vscode.Uri.file(BERT),
    );
    assert.ok(first, 'BERT loads');
    const [pid] = serverPids();
    assert.ok(pid, 'the server runs as a child of this extension host');
    const loading = vscode.commands.executeCommand('gpuLens.openTrace', vscode.Uri.file(OWL));
    process.kill(pid, 'SIGKILL');
    assert.equal(await loading, undefined, 'the interrupted load ends without a result');
    await poll('the killed server gone', () => Promise.resolve(!serverPids().includes(pid)));

    const again = await vscode.commands.executeCommand<OpenTraceResult>(
      'gpuLens.openTrace',
      vscode.Uri.file(BERT),
    );
    assert.ok(again, 'BERT loads again');
    assert.ok(serverPids().length === 1 && serverPids()[0] !== pid, 'on a fresh server');
    const client = await (await gpuLens()).client();
    const status = await client.sendRequest<StatusResult>(StatusRequest);
    assert.deepEqual(
      status.loaded.map((t) => t.path),
      [BERT],
    );
  });

  it('Cancel settles a load at once and the server serves the next request', async () => {
    const client = await (await gpuLens()).client();
    const source = new CancellationTokenSource();
    const t = performance.now();
    const pending = client.sendRequest(
      OpenTraceRequest,
      { path: OWL, workspaceFolder: workspaceFolder().uri.fsPath },
      source.token,
    );
    setTimeout(() => source.cancel(), 50);
    await assert.rejects(pending, /cancel/i);
    const cancelledAfter = performance.now() - t;
    assert.ok(cancelledAfter < 2000, `settled ${cancelledAfter.toFixed(0)} ms after the request`);
    const status = await client.sendRequest<StatusResult>(StatusRequest);
    assert.ok(!status.loaded.some((t) => t.path === OWL), 'the cancelled trace was not kept');
    const next = await client.sendRequest<OpenTraceResult>(OpenTraceRequest, {
      path: BERT,
      workspaceFolder: workspaceFolder().uri.fsPath,
    });
    assert.ok(next.summary.kernelCount > 0);
  });
});
