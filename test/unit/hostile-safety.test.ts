/**
 * Safe defaults, each shown on a real fixture copied to a temp folder: SQLite is opened read-only
 * and nothing is written beside it (WAL mode included); trace strings are escaped in Markdown and
 * hovers; environment dumps inside traces never reach any CLI output; size limits give a message;
 * and no code in src/ can hand a string to a shell.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import * as zlib from 'node:zlib';
import Database from 'better-sqlite3';
import { escapeMarkdown } from '../../src/core/markdown-text';
import { readKineto } from '../../src/core/ingest/kineto';
import { NsysDb } from '../../src/core/ingest/nsys-db';
import { readNsysSqlite } from '../../src/core/ingest/nsys-sqlite';
import type { Report } from '../../src/core/report-types';
import { annotationsFor, hoverMarkdown } from '../../src/server/annotations';
import { runCli, snapshot, snapshotDiff } from '../hostile/run-cli';
import { fixture, repoRoot } from './fixtures';
import { traceText } from './kineto-helpers';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-lens-safety-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const GPU_EXPORT = fixture('nsys', 'h200-nvfuser-nvtx-2024.6.sqlite');

function copyTo(name: string, src: string): string {
  const d = fs.mkdtempSync(path.join(tmp, 'case-'));
  const file = path.join(d, name);
  fs.copyFileSync(src, file);
  return file;
}

void test('safety: nsys exports are opened read-only and nothing is written beside them', () => {
  const file = copyTo('gpu.sqlite', GPU_EXPORT);
  const before = snapshot(path.dirname(file));
  const ndb = NsysDb.open(file);
  try {
    assert.equal(ndb.db.readonly, true);
    assert.throws(() => ndb.db.exec('CREATE TABLE written (a)'), /readonly/i);
    assert.throws(() => ndb.db.exec('DELETE FROM StringIds'), /readonly/i);
  } finally {
    ndb.close();
  }
  const profile = readNsysSqlite(file);
  assert.ok(profile.gpuOps.length > 0);
  assert.deepEqual(snapshotDiff(before, snapshot(path.dirname(file))), []);

  // WAL mode: a read-only connection would create -wal and -shm beside the file.
  const wal = copyTo('wal.sqlite', GPU_EXPORT);
  const db = new Database(wal);
  db.pragma('journal_mode = WAL');
  db.close();
  const walBefore = snapshot(path.dirname(wal));
  const privateTmp = fs.mkdtempSync(path.join(tmp, 'tmpdir-'));
  const savedTmp = process.env.TMPDIR;
  process.env.TMPDIR = privateTmp;
  try {
    assert.equal(readNsysSqlite(wal).gpuOps.length, profile.gpuOps.length);
  } finally {
    process.env.TMPDIR = savedTmp;
  }
  assert.deepEqual(snapshotDiff(walBefore, snapshot(path.dirname(wal))), []);
  assert.deepEqual(fs.readdirSync(privateTmp), [], 'the private copy was not removed');
});

const HOSTILE = [
  '<script>alert(1)</script>',
  '[x](javascript:alert(1))',
  '| a | b |\n# heading\r\n- item',
  '`code` **b** _i_ ~~s~~ &amp; {braces}',
  '\u001b]0;pwned\u0007\u001b[31mred\u0000',
];

void test('safety: trace strings are escaped in Markdown and in hovers', () => {
  for (const h of HOSTILE) {
    const e = escapeMarkdown(h);
    assert.doesNotMatch(e, /[\r\n\u0000-\u0008\u000b-\u001f\u007f]/, JSON.stringify(e));
    // Every metacharacter is preceded by a backslash.
    assert.doesNotMatch(e, /(^|[^\\])[<>[\]|`*_{}&~]/, JSON.stringify(e));
  }
  const report = {
    summary: { gpuBusyNs: 100 },
    lines: [
      {
        file: 'model.py',
        line: 3,
        function: HOSTILE[0],
        selfNs: 50,
        totalNs: 100,
        kernelCount: 2,
        precision: 'line',
        cpuOpNs: 0,
        opCount: 0,
        library: false,
        topKernels: HOSTILE.map((name) => ({ name, ns: 10, count: 1 })),
      },
    ],
    ranges: HOSTILE.map((name) => ({
      name,
      count: 1,
      wallNs: 5,
      gpuNs: 5,
      location: { file: 'model.py', line: 3 },
    })),
    // Findings at the line are detailed in the hover: their texts come from trace strings too.
    findings: HOSTILE.map((name) => ({
      rule: 'gpu-idle-gaps',
      severity: 'warning',
      title: name,
      message: name,
      savingsNs: 1,
      locations: [{ file: 'model.py', line: 3 }],
      fix: { title: name, detail: name, snippet: name },
    })),
    // The hover names the frames beneath the line from its call tree: recorded names and files.
    drilldown: {
      kernels: [],
      callTrees: [
        {
          file: 'model.py',
          line: 3,
          library: false,
          root: {
            ...{ function: HOSTILE[0], file: 'model.py', line: 3, selfNs: 0, totalNs: 100 },
            children: HOSTILE.slice(0, 3).map((name) => ({
              ...{ function: name, file: `lib/${name}.py`, line: 1, selfNs: 20, totalNs: 20 },
              children: [],
            })),
          },
        },
      ],
    },
  } as unknown as Report;
  const [a] = annotationsFor(report, 'model.py', false);
  const md = hoverMarkdown(report, 'model.py', a, HOSTILE[1], false);
  assert.doesNotMatch(md, /(^|[^\\])<(script|\/?[a-z])/i);
  assert.doesNotMatch(md, /(^|[^\\])\[x(\\\])?\]\(/);
  assert.doesNotMatch(md, /[\u0000-\u0008\u000b-\u001f\u007f]/);
  // The links are GPU Lens's own two, to the report: a file name cannot end a target early.
  assert.deepEqual(
    (md.match(/(^|[^\\])\]\(command:[\w.]+\?/g) ?? []).length,
    (md.match(/(^|[^\\])\]\(/g) ?? []).length,
  );
  assert.equal((md.match(/(^|[^\\])\]\(command:gpuLens\.showReport\?/g) ?? []).length, 2);
  assert.match(md, /^Beneath this line: /m);
  const link = hoverMarkdown(report, 'a (b).py', a, 'x', false).match(/\]\(command:[^)]*\)/);
  assert.ok(link, 'the report link survives parentheses in the file name');
  // Table rows stay rows: no trace string opens a line of its own.
  for (const line of md.split('\n')) assert.ok(!/^(#|- )/.test(line), line);
});

const SECRET = 'sk-live-GPULENS-7f3a9c1e-SECRET';

/** Runs the CLI in every format and returns everything it printed. */
async function allOutputs(trace: string): Promise<string> {
  let text = '';
  for (const format of ['json', 'markdown', 'sarif']) {
    const run = await runCli(['analyze', trace, '--workspace', tmp, '--format', format], 60_000);
    assert.equal(run.code, 0, run.stderr);
    text += run.stdout + run.stderr;
  }
  return text;
}

void test('safety: environment dumps in an nsys export never reach the output', async () => {
  const file = copyTo('env.sqlite', GPU_EXPORT);
  const db = new Database(file);
  db.prepare(
    "INSERT INTO TARGET_INFO_SYSTEM_ENV VALUES (281474976710656, 'Local (CLI)', 'DeviceEnvironment', 99, ?)",
  ).run(`AWS_SECRET_ACCESS_KEY=${SECRET}`);
  const next = (db.prepare('SELECT max(id) + 1 FROM StringIds').pluck().get() as number) ?? 1;
  db.prepare('INSERT INTO StringIds VALUES (?, ?), (?, ?)').run(
    next,
    'stdout',
    next + 1,
    `token ${SECRET}`,
  );
  db.prepare('INSERT INTO ProcessStreams VALUES (1, ?, ?)').run(next, next + 1);
  db.prepare("INSERT INTO META_DATA_CAPTURE VALUES ('CAPTURE_ENV', ?)").run(SECRET);
  db.close();
  const out = await allOutputs(file);
  assert.ok(out.includes('"schema": "gpu-lens/report@1"'));
  assert.ok(!out.includes(SECRET), 'the secret reached the output');
  assert.ok(!out.includes('GPULENS-7f3a'), 'part of the secret reached the output');

  const old = copyTo('env-2022.sqlite', fixture('nsys', 'cpu-react-agent-nvtx-2022.4.sqlite'));
  const odb = new Database(old);
  odb.prepare("INSERT INTO EXPORT_META_DATA VALUES ('CAPTURE_ENV', ?)").run(SECRET);
  odb.close();
  assert.ok(!(await allOutputs(old)).includes(SECRET));
});

void test('safety: environment dumps in a Kineto trace never reach the output', async () => {
  const trace = JSON.parse(traceText(fixture('torch', 'h100-bert-small-stack.json.gz'))) as Record<
    string,
    unknown
  > & { metadata: Record<string, unknown>; traceEvents: Record<string, unknown>[] };
  const env = { HF_TOKEN: SECRET, PATH: '/usr/bin' };
  trace.env = env;
  trace.metadata.env = env;
  (trace.metadata.system as Record<string, unknown>).env = env;
  trace.distributedInfo = { rank: 0, environ: env };
  trace.traceEvents[0] = { ...trace.traceEvents[0], args: { env } };
  const file = path.join(fs.mkdtempSync(path.join(tmp, 'case-')), 'env.json.gz');
  fs.writeFileSync(file, zlib.gzipSync(JSON.stringify(trace)));
  assert.ok(zlib.gunzipSync(fs.readFileSync(file)).toString().includes(SECRET));
  const out = await allOutputs(file);
  assert.ok(out.includes('"schema": "gpu-lens/report@1"'));
  assert.ok(!out.includes(SECRET), 'the secret reached the output');
});

void test('safety: inputs over the size limits get a message, not an out-of-memory crash', async () => {
  const dir = fs.mkdtempSync(path.join(tmp, 'case-'));
  const plain = path.join(dir, 'plain.json');
  fs.writeFileSync(plain, traceText(fixture('torch', 'h100-bert-small-stack.json.gz')));
  await assert.rejects(
    readKineto(plain, { maxBytes: 100_000 }),
    /too large to read: it holds more than/,
  );

  const oneValue = path.join(dir, 'one-value.json');
  // A string that never ends: the reader must stop holding it at the limit, not at the file's end.
  fs.writeFileSync(oneValue, `{"traceEvents": [{"name": "${'a'.repeat(65 * 1024 * 1024)}`);
  await assert.rejects(readKineto(oneValue), /one JSON value is larger than 64 MB/);

  // Eight gzip members of 16 MB of spaces: 128 MB from about 130 KB.
  const member = zlib.gzipSync(Buffer.alloc(16 * 1024 * 1024, 0x20));
  const bomb = path.join(dir, 'bomb.json.gz');
  const parts = [
    zlib.gzipSync('{"traceEvents": ['),
    ...Array<Buffer>(8).fill(member),
    zlib.gzipSync(']}'),
  ];
  fs.writeFileSync(bomb, Buffer.concat(parts));
  await assert.rejects(readKineto(bomb), /expands more than 100× .* likely gzip bomb/);
});

/** Every .ts file under src/. */
function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

void test('safety: no shell anywhere in src/ (only execFile/spawn with argument arrays)', () => {
  const files = sources(path.join(repoRoot, 'src'));
  assert.ok(files.length > 20);
  const allowed = new Set([
    'execFile',
    'execFileSync',
    'spawn',
    'spawnSync',
    'ChildProcess',
    'SpawnOptions',
  ]);
  const problems: string[] = [];
  let importers = 0;
  for (const f of files) {
    const text = fs.readFileSync(f, 'utf8');
    const rel = path.relative(repoRoot, f);
    if (/shell\s*:\s*(true|['"`])/.test(text)) problems.push(`${rel}: shell option`);
    if (/\bexecSync\s*\(/.test(text)) problems.push(`${rel}: execSync(`);
    if (/require\(\s*['"](node:)?child_process['"]\s*\)/.test(text))
      problems.push(`${rel}: require(child_process)`);
    if (/import\s+\*\s+as\s+\w+\s+from\s+['"](node:)?child_process['"]/.test(text))
      problems.push(`${rel}: namespace import of child_process (use named execFile/spawn)`);
    for (const m of text.matchAll(
      /import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*['"](node:)?child_process['"]/g,
    )) {
      importers++;
      for (const name of m[1].split(',').map((s) =>
        s
          .trim()
          .split(/\s+as\s+/)[0]
          .replace(/^type\s+/, ''),
      )) {
        if (name && !allowed.has(name)) problems.push(`${rel}: imports ${name} from child_process`);
      }
    }
  }
  assert.ok(importers > 0, 'no child_process import found: the check looks at the wrong files');
  assert.deepEqual(problems, []);
});
