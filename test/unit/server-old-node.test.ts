/**
 * The language server (dist/server.js) started under the machine's own Node 20, as an extension host
 * before VS Code 1.101 would start it: it must stay up, say why it cannot work, and answer requests
 * with that reason, where the real server would crash in better-sqlite3 on the first trace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  createMessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
} from 'vscode-jsonrpc/node';
import { repoRoot } from './fixtures';

const server = path.join(repoRoot, 'dist', 'server.js');

/** A `node` on PATH outside this repo whose major is below 22 (Debian's Node 20), if any. */
function oldNode(): string | undefined {
  const dirs = (process.env.PATH ?? '').split(path.delimiter);
  for (const dir of dirs) {
    const bin = path.join(dir, 'node');
    if (!dir || dir.startsWith(repoRoot) || !fs.existsSync(bin)) continue;
    const v = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim();
    if (Number(v.slice(1).split('.')[0]) < 22) return bin;
  }
  return undefined;
}

const node20 = oldNode();

void test(
  'under Node 20 the server answers with a clear message instead of crashing',
  { skip: !node20 && 'no Node older than 22 on PATH', timeout: 60_000 },
  async () => {
    assert.ok(fs.existsSync(server), `${server} is missing: run \`node esbuild.mjs\` first`);
    const child = spawn(node20!, [server, '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    const conn = createMessageConnection(
      new StreamMessageReader(child.stdout),
      new StreamMessageWriter(child.stdin),
    );
    // The message is a window/showMessageRequest (VS Code shows it as an error notification).
    const shown = new Promise<{ type: number; message: string }>((resolve) =>
      conn.onRequest('window/showMessageRequest', (params: { type: number; message: string }) => {
        resolve(params);
        return null;
      }),
    );
    conn.listen();
    try {
      const init: { capabilities: Record<string, unknown> } = await conn.sendRequest('initialize', {
        processId: process.pid,
        rootUri: null,
        capabilities: {},
      });
      // No editor features are offered: nothing would ask for CodeLens or hovers it cannot give.
      assert.equal(init.capabilities.codeLensProvider, undefined);
      assert.equal(init.capabilities.hoverProvider, undefined);
      await conn.sendNotification('initialized', {});
      const msg = await shown;
      assert.equal(msg.type, 1, 'an error message');
      const version = spawnSync(node20!, ['-p', 'process.versions.node'], { encoding: 'utf8' });
      assert.match(msg.message, /GPU Lens needs Node\.js 22 or newer/);
      assert.ok(msg.message.includes(`Node ${version.stdout.trim()}`), msg.message);
      assert.match(msg.message, /VS Code to 1\.101 or later/);

      // Opening a trace is where the real server would crash: here it is refused with the reason.
      const trace = path.join(repoRoot, 'test', 'workspace', 'traces');
      await assert.rejects(
        conn.sendRequest('gpuLens/openTrace', { path: trace, workspaceFolder: repoRoot }),
        (e: Error) => e.message === msg.message,
      );
      assert.equal(child.exitCode, null, `the server exited: ${stderr}`);
      await conn.sendRequest('shutdown');
      await conn.sendNotification('exit');
      assert.equal(await exited, 0, stderr);
    } finally {
      conn.dispose();
      child.kill();
    }
  },
);
