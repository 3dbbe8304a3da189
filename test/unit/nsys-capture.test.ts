/**
 * End to end on the real Nsight Systems of this machine: capture test/workspace/nvtx_pipeline.py,
 * export it, read it. Fails (does not skip) when nsys is not installed.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { findNsys, nsysVersion } from '../../src/core/ingest/nsys-export';
import { readNsysSqlite } from '../../src/core/ingest/nsys-sqlite';
import type { Profile } from '../../src/core/model';
import { captureWithNsys, type NsysCapture } from './nsys-capture-helper';
import { repoRoot } from './fixtures';
import { rowsOf } from './table-rows';

const ITERATIONS = 3;
const script = path.join(repoRoot, 'test', 'workspace', 'nvtx_pipeline.py');

void describe('live nsys capture of nvtx_pipeline.py', { timeout: 600_000 }, () => {
  let tmp = '';
  let capture: NsysCapture;
  let profile: Profile;

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-lens-nsys-'));
    capture = await captureWithNsys(script, tmp, {
      env: { PIPELINE_ITERATIONS: String(ITERATIONS) },
    });
    profile = readNsysSqlite(capture.sqlitePath);
  });

  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  void it('finds nsys and reads its version', async () => {
    const nsys = findNsys();
    assert.ok(nsys, 'nsys must be installed for this test');
    assert.match(await nsysVersion(nsys), /^\d{4}\.\d+(\.\d+)*$/);
  });

  void it('exports into the temporary folder, not next to the report or into the repo', () => {
    assert.equal(path.dirname(capture.sqlitePath), path.join(tmp, 'export'));
    assert.ok(capture.sqlitePath.startsWith(tmp));
  });

  void it('has the script NVTX ranges with the loop counts', () => {
    const counts = new Map<string, number>();
    for (const r of profile.ranges) counts.set(r.name, (counts.get(r.name) ?? 0) + 1);
    assert.equal(counts.get('load_model'), 1);
    for (const name of ['batch', 'preprocess', 'infer', 'postprocess']) {
      assert.equal(counts.get(name), ITERATIONS, `count of ${name}`);
    }
    assert.equal(profile.ranges.length, 1 + 4 * ITERATIONS);
    // Nesting as in the script: every infer range lies inside a batch range on the same thread.
    const batches = profile.ranges.filter((r) => r.name === 'batch');
    for (const infer of profile.ranges.filter((r) => r.name === 'infer')) {
      assert.ok(
        batches.some(
          (b) => b.tid === infer.tid && b.startNs <= infer.startNs && infer.endNs <= b.endNs,
        ),
        'infer nested in batch',
      );
      assert.ok(infer.endNs - infer.startNs >= 20_000_000, 'infer holds the 20 ms sleep');
    }
  });

  void it('reads the OS runtime calls, with the sleeps inside infer classified as waits', () => {
    const db = new Database(capture.sqlitePath, { readonly: true });
    const expected = db
      .prepare(
        'SELECT count(*) FROM OSRT_API WHERE eventClass NOT IN (31, 32) AND coalesce(nestingLevel, 0) = 0',
      )
      .pluck()
      .get() as number;
    db.close();
    assert.ok(expected > 0);
    const osCalls = rowsOf(profile.cpuCalls).filter(
      (c) => c.kind === 'os-wait' || c.kind === 'os-other',
    );
    assert.equal(osCalls.length, expected);
    const sleeps = osCalls.filter((c) => /sleep/.test(c.name) && c.endNs - c.startNs >= 15_000_000);
    assert.ok(
      sleeps.length >= ITERATIONS,
      `at least ${ITERATIONS} long sleeps, got ${sleeps.length}`,
    );
    assert.ok(sleeps.every((c) => c.kind === 'os-wait'));
    assert.equal(profile.source.format, 'nsys-sqlite');
    assert.match(profile.source.schemaVersion, /^3\.\d+\.\d+$/);
  });
});
