/**
 * Host test: the language server survives hostile traces. About twenty inputs of the hostile
 * corpus (test/hostile) are opened through the server in a real extension host; each must answer
 * with a report or an error, and the server must still answer StatusRequest afterwards (it did not
 * crash or restart: the traces opened before are still listed).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  OpenTraceRequest,
  StatusRequest,
  type OpenTraceParams,
  type OpenTraceResult,
  type StatusResult,
} from '../../src/shared/protocol';
import { MAX_INACTIVE } from '../../src/server/trace-store';
import { generateCorpus } from '../hostile/corpus';
import { gpuLens } from './helpers';

/** A spread of the corpus: truncation, types, time, ids, names, encodings, bombs, SQLite, folders. */
const PICKS = [
  'cut-bert-0.5.json',
  'cut-bert-0.5.json.gz',
  'corrupt-bert-middle.json.gz',
  'type-events-object.json',
  'field-ts-string.json',
  'time-dur-huge.json',
  'time-infinity-literal.json',
  'ids-parent-ring.json',
  'name-1mb-kernel.json',
  'name-hostile-0.json',
  'utf8-invalid-bytes.json',
  'empty.json',
  'bomb-events-1gb.json.gz',
  'deep-array.json',
  'view-endless.sqlite',
  'kernel-negative.sqlite',
  'strings-1mb.sqlite',
  'not-sqlite-zeros.sqlite',
  'cut-gpu-0.5.sqlite',
  'wal-mode.sqlite',
  'folder-3000-traces',
  'symlink-loop-a.json',
];

/** Rejects when `p` takes longer than `ms`: a hung server must fail the test, not stall it. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

describe('hostile traces', () => {
  it('every input gives a report or an error, and the server keeps answering', async function () {
    this.timeout(300_000);
    const client = await (await gpuLens()).client();
    const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-lens-host-hostile-')));
    try {
      const corpus = generateCorpus(dir);
      const opened: string[] = [];
      let errors = 0;
      for (const name of PICKS) {
        const input = corpus.inputs.find((i) => path.basename(i.path) === name);
        assert.ok(input, `${name} is not in the corpus`);
        const params: OpenTraceParams = { path: input.path, workspaceFolder: corpus.workspace };
        try {
          const result = await within(
            client.sendRequest<OpenTraceResult>(OpenTraceRequest, params),
            30_000,
            name,
          );
          assert.equal(typeof result.summary.kernelCount, 'number', name);
          opened.push(result.id);
        } catch (e) {
          assert.ok(e instanceof Error && e.message.length > 0, `${name}: ${String(e)}`);
          assert.doesNotMatch(e.message, /no answer within/, e.message);
          errors++;
        }
      }
      console.log(`[hostile] ${PICKS.length} inputs: ${opened.length} reports, ${errors} errors`);
      const status = await within(
        client.sendRequest<StatusResult>(StatusRequest),
        10_000,
        'status',
      );
      // The same server still holds what it loaded: the shown trace and the latest MAX_INACTIVE
      // before it (the store keeps no more). A restarted server would hold none of them.
      assert.deepEqual(
        status.loaded
          .filter((t) => t.workspaceFolder === corpus.workspace)
          .map((t) => t.id)
          .sort(),
        opened.slice(-(MAX_INACTIVE + 1)).sort(),
        'the latest traces are still loaded: the server did not restart',
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
