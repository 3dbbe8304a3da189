/**
 * Peak memory does not depend on holding a whole trace as objects: the 1.2 GB benchmark input
 * (`npm run bench`'s 39 tiles of the owlv2 trace, past V8's longest string) is analyzed in an
 * analysis worker, as the server, the CLI and the MCP server run it (core/analysis-runner.ts), with
 * a 512 MiB JS heap (old and young generations together). Its kernel count must be 39 times the source trace's, counted from the
 * source's raw events. Slow (tens of seconds, more with the input to generate), so it runs only
 * with GPU_LENS_BIG_TESTS=1:
 *
 *   npm run build:tests && GPU_LENS_BIG_TESTS=1 node --test out/test/unit/big-trace-heap.test.js
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runAnalysis } from '../../src/core/analysis-runner';
import { fixture, repoRoot } from './fixtures';

const SOURCE = fixture('torch', 'h100-owlv2-stack.json.gz');
const COPIES = 39;
const HEAP_MIB = 512;

interface Generator {
  readSourceTrace: (file: string) => { events: { cat?: string }[] };
  writeTiledKineto: (
    source: unknown,
    copies: number,
    out: string,
    onProgress: () => void,
  ) => Promise<void>;
}

void test(
  `the ${COPIES}-tile owlv2 trace (1.2 GB) is analyzed in a ${HEAP_MIB} MiB JS heap`,
  { skip: process.env.GPU_LENS_BIG_TESTS !== '1' && 'set GPU_LENS_BIG_TESTS=1 to run' },
  async () => {
    const gen = (await import(
      path.join(repoRoot, 'scripts', 'bench', 'gen-kineto.mjs')
    )) as Generator;
    const source = gen.readSourceTrace(SOURCE);
    const file = path.join(repoRoot, '.cache', 'bench', `kineto-owlv2-x${COPIES}.json`);
    if (!fs.existsSync(file)) {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      await gen.writeTiledKineto(source, COPIES, file, () => {});
    }
    assert.ok(fs.statSync(file).size > 2 ** 29, 'the input is past V8 longest string');
    const kernels = source.events.filter((e) => e.cat === 'kernel').length;

    const report = await runAnalysis(
      {
        tracePath: file,
        workspaceFolder: repoRoot,
        maxEvents: Number.MAX_SAFE_INTEGER,
        pathMap: [],
        thresholds: {},
      },
      { heapMb: HEAP_MIB },
    );
    assert.equal(report.summary.kernelCount, COPIES * kernels);
  },
);
