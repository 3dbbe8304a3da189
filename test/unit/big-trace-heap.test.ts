/**
 * Peak memory does not depend on holding a whole trace as objects: the 1.2 GB benchmark input
 * (`npm run bench`'s 39 tiles of the owlv2 trace, past V8's longest string) is analyzed by the CLI
 * with a 512 MiB JS heap. Its kernel count must be 39 times the source trace's, counted from the
 * source's raw events. Slow (tens of seconds, more with the input to generate), so it runs only
 * with GPU_LENS_BIG_TESTS=1:
 *
 *   npm run build:tests && GPU_LENS_BIG_TESTS=1 node --test out/test/unit/big-trace-heap.test.js
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
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
  `the ${COPIES}-tile owlv2 trace (1.2 GB) is analyzed under --max-old-space-size=${HEAP_MIB}`,
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

    const r = spawnSync(
      process.execPath,
      [`--max-old-space-size=${HEAP_MIB}`, path.join(repoRoot, 'dist', 'cli.js'), 'analyze', file],
      { encoding: 'utf8', timeout: 900_000, maxBuffer: 1 << 30 },
    );
    assert.equal(r.status, 0, r.stderr.slice(-2000));
    const report = JSON.parse(r.stdout) as { summary: { kernelCount: number } };
    assert.equal(report.summary.kernelCount, COPIES * kernels);
  },
);
