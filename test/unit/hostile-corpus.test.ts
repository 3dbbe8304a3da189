/**
 * The CLI on the whole hostile corpus (test/hostile): each input must end, within the time limit,
 * either in a clear one-line error (exit non-zero, one stderr line starting `gpu-lens:`) or in a
 * valid Report (exit 0, JSON). Reading never writes: the corpus folder (inputs, their folders, the
 * workspace) is byte-for-byte and mtime-for-mtime the same afterwards, nothing a trace says is ever
 * run, lines only ever name files inside the workspace, and hostile names come out escaped in
 * Markdown.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import MarkdownIt from 'markdown-it';
import { after, before, test } from 'node:test';
import type { Report } from '../../src/core/report-types';
import { generateCorpus, type Corpus, type CorpusInput } from '../hostile/corpus';
import { mapLimit, runCli, snapshot, snapshotDiff, type CliRun } from '../hostile/run-cli';
import { fixturesDir } from './fixtures';

/** Per input; the slowest legitimate ones (a locked database waits out SQLite's busy timeout) take ~6 s. */
const LIMIT_MS = 20_000;
const CONCURRENCY = 2;

type Outcome = 'error' | 'report';

/** The contract for one run; returns the outcome or throws with the reason. */
function judge(run: CliRun, ws: string): Outcome {
  if (run.timedOut) throw new Error(`no answer within ${LIMIT_MS} ms`);
  if (run.code === 0) {
    let report: Report;
    try {
      report = JSON.parse(run.stdout) as Report;
    } catch {
      throw new Error(`exit 0 but stdout is not JSON: ${run.stdout.slice(0, 120)}`);
    }
    if (report.schema !== 'gpu-lens/report@1') throw new Error('exit 0 but not a Report');
    if (run.stderr !== '') throw new Error(`exit 0 with stderr: ${run.stderr.slice(0, 200)}`);
    for (const l of report.lines) {
      const abs = path.resolve(ws, l.file);
      const real = fs.existsSync(abs) ? fs.realpathSync(abs) : abs;
      if (!real.startsWith(ws + path.sep))
        throw new Error(`a line names ${l.file}, outside the workspace`);
    }
    return 'report';
  }
  const lines = run.stderr.split('\n');
  if (lines.length !== 2 || lines[1] !== '' || !lines[0].startsWith('gpu-lens: '))
    throw new Error(
      `exit ${run.code} without a one-line "gpu-lens:" error: ${JSON.stringify(run.stderr.slice(0, 300))}`,
    );
  if (run.stdout !== '') throw new Error('error exit with output on stdout');
  return 'error';
}

let dir = '';
let corpus: Corpus;
before(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-lens-hostile-')));
  corpus = generateCorpus(dir);
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

async function runOne(input: CorpusInput, ws: string): Promise<CliRun> {
  const release = input.hold ? await input.hold() : undefined;
  try {
    return await runCli(['analyze', input.path, '--workspace', ws], LIMIT_MS);
  } finally {
    release?.();
  }
}

void test('hostile corpus: every input gives a one-line error or a Report, in time, and nothing is written', async () => {
  assert.ok(corpus.inputs.length >= 200, `only ${corpus.inputs.length} inputs`);
  const before = snapshot(dir);
  const fixturesBefore = snapshot(fixturesDir());

  const started = Date.now();
  const runs = await mapLimit(corpus.inputs, CONCURRENCY, (input) =>
    runOne(input, corpus.workspace),
  );
  const failures: string[] = [];
  const counts = { error: 0, report: 0, withWarnings: 0 };
  runs.forEach((run, i) => {
    const name = path.relative(dir, corpus.inputs[i].path);
    try {
      const outcome = judge(run, corpus.workspace);
      counts[outcome]++;
      const warned = outcome === 'report' && (JSON.parse(run.stdout) as Report).warnings.length > 0;
      if (warned) counts.withWarnings++;
      // Every event unreadable: the report must say so, not come back silently empty. (Without a
      // cat, events read as the cat-less legacy format, so those inputs are not in this list.)
      const unreadable = /^field-(ph-|cat-(array|object|string))/.test(path.basename(name));
      if (outcome === 'report' && !warned && unreadable)
        throw new Error('a report from unreadable events has no warning');
    } catch (e) {
      failures.push(`${JSON.stringify(name)}: ${(e as Error).message}`);
    }
  });
  const slowest = runs.reduce((a, r, i) => (r.ms > runs[a].ms ? i : a), 0);
  console.log(
    `hostile corpus: ${corpus.inputs.length} inputs, ${counts.error} errors, ${counts.report} ` +
      `partial reports (${counts.withWarnings} with warnings) in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
      `slowest ${path.basename(corpus.inputs[slowest].path)} ${runs[slowest].ms} ms`,
  );
  assert.deepEqual(failures, []);

  // Nothing read was written, moved or created beside it; the locked copy's holder may journal.
  const diff = snapshotDiff(before, snapshot(dir)).filter(
    (d) => !d.includes(`locked${path.sep}locked.sqlite-`),
  );
  assert.deepEqual(diff, []);
  assert.deepEqual(snapshotDiff(fixturesBefore, snapshot(fixturesDir())), []);
  assert.equal(fs.existsSync(path.join(dir, 'PWNED')), false, 'a trace string was run by a shell');
});

/** Raw HTML on: whatever the export lets through as HTML would be rendered. */
const renderer = new MarkdownIt({ html: true });

void test('hostile corpus: hostile names are escaped in Markdown output', async () => {
  const hostile = corpus.inputs.filter((i) => /hostile/.test(path.basename(i.path)));
  assert.ok(hostile.length >= 10, `${hostile.length} inputs with hostile names`);
  const runs = await mapLimit(hostile, CONCURRENCY, (input) =>
    runCli(
      ['analyze', input.path, '--workspace', corpus.workspace, '--format', 'markdown'],
      LIMIT_MS,
    ),
  );
  runs.forEach((run, i) => {
    const name = path.basename(hostile[i].path);
    assert.equal(run.code, 0, `${name}: ${run.stderr}`);
    // Rendered as a Markdown viewer would, with raw HTML allowed: hostile names stay text (escaped,
    // or inside code spans), so no element or javascript: link comes out of them.
    const html = renderer.render(run.stdout);
    assert.doesNotMatch(html, /<(script|img|iframe)\b/i, name);
    assert.doesNotMatch(html, /href="javascript:/i, name);
  });
  assert.equal(fs.existsSync(path.join(dir, 'PWNED')), false);
});
