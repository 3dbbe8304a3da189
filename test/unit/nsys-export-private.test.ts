/**
 * Where `.nsys-rep` exports live, on the real nsys of this machine: the SQLite export holds the
 * profiled process's whole environment, so it exists only in a private temp folder (0700, file
 * 0600) while it is read, and that folder is gone afterwards — after a read, a failing read, a
 * cancelled export, `loadTrace` and the CLI. TMPDIR points at a fresh folder per check, so "the
 * temp folder is empty afterwards" also catches a leftover under any other name.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { withNsysExport } from '../../src/core/ingest/nsys-export';
import { loadTrace } from '../../src/core/load';
import { captureWithNsys, type NsysCapture } from './nsys-capture-helper';
import { repoRoot } from './fixtures';

const script = path.join(repoRoot, 'test', 'workspace', 'nvtx_pipeline.py');
const TOKEN = `gpu-lens-test-token-${randomUUID()}`;

/** How often `needle` occurs in `file`'s bytes. */
function occurrences(file: string, needle: string): number {
  const data = fs.readFileSync(file);
  let n = 0;
  for (let i = data.indexOf(needle); i >= 0; i = data.indexOf(needle, i + 1)) n++;
  return n;
}

void describe('private .nsys-rep exports', { timeout: 600_000 }, () => {
  let work = '';
  let capture: NsysCapture;
  const savedTmp = process.env.TMPDIR;

  /** A fresh, empty folder made the process's temp folder (os.tmpdir() reads TMPDIR each call). */
  const freshTmp = (name: string): string => {
    const dir = path.join(work, name);
    fs.mkdirSync(dir);
    process.env.TMPDIR = dir;
    return dir;
  };

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-lens-export-test-'));
    capture = await captureWithNsys(script, work, {
      env: { PIPELINE_ITERATIONS: '1', GPU_LENS_TEST_TOKEN: TOKEN },
    });
  });

  after(() => {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  void it('holds the export in a 0700 folder as a 0600 file while it is read, then removes it', async () => {
    const tmp = freshTmp('tmp-read');
    const seen = await withNsysExport(capture.repPath, {}, (sqlite) => ({
      dir: path.dirname(sqlite),
      dirMode: fs.statSync(path.dirname(sqlite)).mode & 0o777,
      fileMode: fs.statSync(sqlite).mode & 0o777,
      tokens: occurrences(sqlite, TOKEN),
    }));
    assert.equal(path.dirname(seen.dir), tmp, 'a folder of its own in the temp folder');
    assert.equal(seen.dirMode.toString(8), '700');
    assert.equal(seen.fileMode.toString(8), '600');
    // What makes this matter: the export carries the profiled process's environment.
    assert.ok(seen.tokens > 0, 'the export should hold the environment variable set for the run');
    assert.equal(fs.existsSync(seen.dir), false, 'the export folder should be removed');
    assert.deepEqual(fs.readdirSync(tmp), []);
  });

  void it('exports two reports of the same name to separate folders', async () => {
    freshTmp('tmp-twins');
    const twin = path.join(work, 'other', path.basename(capture.repPath));
    fs.mkdirSync(path.dirname(twin));
    fs.copyFileSync(capture.repPath, twin);
    // Both callbacks wait for each other, so both exports exist at the same time.
    let arrive!: () => void;
    let arrived = 0;
    const both = new Promise<void>((resolve) => (arrive = resolve));
    const read = (rep: string) =>
      withNsysExport(rep, {}, async (sqlite) => {
        if (++arrived === 2) arrive();
        await both;
        return { sqlite, tokens: occurrences(sqlite, TOKEN) };
      });
    const [a, b] = await Promise.all([read(capture.repPath), read(twin)]);
    assert.equal(path.basename(a.sqlite), path.basename(b.sqlite));
    assert.notEqual(path.dirname(a.sqlite), path.dirname(b.sqlite));
    assert.ok(a.tokens > 0 && a.tokens === b.tokens, 'each read a whole export of its own');
  });

  void it('removes the folder when reading fails and when the export is cancelled', async () => {
    const tmp = freshTmp('tmp-errors');
    await assert.rejects(
      withNsysExport(capture.repPath, {}, () => {
        throw new Error('the reader failed');
      }),
      /the reader failed/,
    );
    assert.deepEqual(fs.readdirSync(tmp), []);

    // Cancel once the private folder exists, while nsys is exporting into it.
    const abort = new AbortController();
    let used = false;
    const exporting = withNsysExport(capture.repPath, { signal: abort.signal }, () => {
      used = true;
    });
    const deadline = Date.now() + 30_000;
    while (fs.readdirSync(tmp).length === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 5));
    assert.equal(fs.readdirSync(tmp).length, 1, 'the export folder should appear');
    abort.abort();
    await assert.rejects(exporting, /cancelled/);
    assert.equal(used, false);
    assert.deepEqual(fs.readdirSync(tmp), []);
    // nsys was stopped: nothing shows up later either.
    await new Promise((r) => setTimeout(r, 1_000));
    assert.deepEqual(fs.readdirSync(tmp), []);
  });

  void it('loadTrace reads the .nsys-rep and leaves nothing in the temp folder or beside it', async () => {
    const tmp = freshTmp('tmp-load');
    const beside = fs.readdirSync(path.dirname(capture.repPath)).sort();
    const profile = await loadTrace(capture.repPath);
    assert.equal(profile.source.path, capture.repPath);
    // Expected from the test's own export of the same report.
    const db = new Database(capture.sqlitePath, { readonly: true });
    const ranges = db
      .prepare('SELECT count(*) FROM NVTX_EVENTS WHERE eventType IN (59, 60)')
      .pluck()
      .get() as number;
    db.close();
    assert.ok(ranges > 0);
    assert.equal(profile.ranges.length, ranges);
    assert.deepEqual(fs.readdirSync(tmp), []);
    assert.deepEqual(fs.readdirSync(path.dirname(capture.repPath)).sort(), beside);
  });

  void it('the CLI analyzes the .nsys-rep and leaves nothing in the temp folder or beside it', () => {
    const tmp = freshTmp('tmp-cli');
    const cli = path.join(repoRoot, 'dist', 'cli.js');
    assert.ok(fs.existsSync(cli), `${cli} is missing: run \`node esbuild.mjs\` first`);
    const beside = fs.readdirSync(path.dirname(capture.repPath)).sort();
    const r = spawnSync(
      process.execPath,
      [cli, 'analyze', capture.repPath, '--workspace', work, '--format', 'json'],
      { encoding: 'utf8', timeout: 120_000, env: { ...process.env, TMPDIR: tmp } },
    );
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { source: { path: string } };
    assert.equal(report.source.path, capture.repPath);
    assert.deepEqual(fs.readdirSync(tmp), []);
    assert.deepEqual(fs.readdirSync(path.dirname(capture.repPath)).sort(), beside);
  });
});
