/**
 * The hostile-input corpus: every broken or hostile trace GPU Lens must survive, generated from the
 * real fixtures into a temp folder at test time. Besides the Kineto and SQLite mutations, this adds
 * what lives in the file system: folders of thousands of files, broken rank folders, symlinks
 * (loops, dangling, to devices and to files outside the workspace), a FIFO, odd file names, a
 * workspace that links outside itself, and a database locked by another process.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { fixture, repoRoot } from '../unit/fixtures';
import { traceText, type TraceEvent } from '../unit/kineto-helpers';
import { kinetoCorpus, writerFor } from './corpus-kineto';
import { nsysCorpus } from './corpus-nsys';

export interface CorpusInput {
  /** File or folder handed to the CLI. */
  path: string;
  /** Started before the input is read and stopped after (e.g. another process holding a lock). */
  hold?: () => Promise<() => void>;
}

export interface Corpus {
  dir: string;
  /** The workspace the CLI is run with (`--workspace`): it links outside itself. */
  workspace: string;
  inputs: CorpusInput[];
}

/** Generates the whole corpus into `dir` (an empty temp folder). */
export function generateCorpus(dir: string): Corpus {
  const inputs: CorpusInput[] = [
    ...kinetoCorpus(dir).map((p) => ({ path: p })),
    ...nsysCorpus(dir).map((p) => ({ path: p })),
  ];
  const workspace = makeWorkspace(dir);
  for (const p of fileSystemCorpus(dir, workspace)) inputs.push({ path: p });
  inputs.push(lockedDatabase(dir));
  return { dir, workspace, inputs };
}

/** A workspace with one real source file, a file symlink to /etc/passwd and a folder link to /. */
function makeWorkspace(dir: string): string {
  const ws = path.join(dir, 'ws');
  fs.mkdirSync(ws);
  fs.writeFileSync(
    path.join(ws, 'model.py'),
    'import torch\n\ndef forward(x):\n    return x @ x\n',
  );
  fs.symlinkSync('/etc/passwd', path.join(ws, 'link.py'));
  fs.symlinkSync('/', path.join(ws, 'rootlink'));
  return ws;
}

function fileSystemCorpus(dir: string, ws: string): string[] {
  const made: string[] = [];
  const w = writerFor(dir, made);
  const small = fs.readFileSync(fixture('torch', 'backward-thread.json'), 'utf8');
  const folder = (name: string, files: [string, string | Buffer][]): void => {
    const d = path.join(dir, name);
    fs.mkdirSync(d);
    for (const [f, data] of files) fs.writeFileSync(path.join(d, f), data);
    made.push(d);
  };
  const many = (n: number, nameOf: (i: number) => string, data: string): [string, string][] =>
    Array.from({ length: n }, (_, i) => [nameOf(i), data]);
  folder(
    'folder-3000-traces',
    many(3000, (i) => `rank-${i}.json`, small),
  );
  folder(
    'folder-3000-other-files',
    many(3000, (i) => `notes-${i}.txt`, 'hello'),
  );
  folder(
    'folder-200-tiny-traces',
    many(
      200,
      (i) => `rank-${i}.json`,
      '[{"ph":"X","cat":"kernel","name":"k","pid":0,"tid":7,"ts":1,"dur":1}]',
    ),
  );
  folder('folder-empty', []);
  folder('folder-rank-truncated', [
    ['rank-0.json', small],
    ['rank-1.json', small.slice(0, small.length / 2)],
  ]);
  folder('folder-rank-duplicate', [
    ['rank-0.json', small],
    ['rank_0.json.gz', zlib.gzipSync(small)],
  ]);
  folder('folder-rank-not-json', [['rank-0.json', 'SQLite format 3\0 but not really']]);
  const odd = path.join(dir, 'folder-rank-is-dir');
  fs.mkdirSync(path.join(odd, 'rank-0.json'), { recursive: true });
  fs.symlinkSync('.', path.join(odd, 'rank-1.json'));
  made.push(odd);

  const link = (name: string, target: string): void => {
    const p = path.join(dir, name);
    fs.symlinkSync(target, p);
    made.push(p);
  };
  link('symlink-to-real-fixture.json', fixture('torch', 'backward-thread.json'));
  link('symlink-loop-a.json', path.join(dir, 'symlink-loop-b.json'));
  link('symlink-loop-b.json', path.join(dir, 'symlink-loop-a.json'));
  link('symlink-dangling.json', path.join(dir, 'no-such-file.json'));
  link('symlink-dev-zero.json', '/dev/zero');
  link('symlink-dev-urandom.json.gz', '/dev/urandom');
  link('symlink-proc-environ.json', '/proc/self/environ');
  link('symlink-etc-passwd.sqlite', '/etc/passwd');
  link('symlink-to-folder-ranks.json', path.join(dir, 'folder-rank-duplicate'));
  const fifo = path.join(dir, 'fifo.json');
  execFileSync('mkfifo', [fifo]);
  made.push(fifo);
  w('name with\nnewline.json', small.slice(0, 100));
  w('name-\u001b[31mansi.json', small.slice(0, 100));
  w('--format.json', small);

  // Frames that point outside the workspace, by `..`, absolute paths and symlinks in it.
  const bert = JSON.parse(traceText(fixture('torch', 'h100-bert-small-stack.json.gz'))) as {
    traceEvents: TraceEvent[];
  };
  const outside = [
    '../../../../etc/passwd',
    '/etc/passwd',
    `${ws}/../outside.py`,
    'link.py',
    'rootlink/etc/passwd',
    `${ws}/rootlink/etc/passwd`,
    'model.py',
    `${ws}/model.py`,
  ];
  let n = 0;
  for (const e of bert.traceEvents) {
    if (e.cat === 'python_function') e.name = `${outside[n++ % outside.length]}(2): f`;
  }
  w('frames-outside-workspace.json', JSON.stringify(bert));
  return made;
}

/**
 * A copy of the GPU export held under an exclusive transaction by a child process for as long as
 * the input is being read. The holder lives in its own folder: SQLite may put a journal beside it.
 */
function lockedDatabase(dir: string): CorpusInput {
  const sub = path.join(dir, 'locked');
  fs.mkdirSync(sub);
  const file = path.join(sub, 'locked.sqlite');
  fs.copyFileSync(fixture('nsys', 'h200-nvfuser-nvtx-2024.6.sqlite'), file);
  const script =
    'const D = require(process.argv[1]); const db = new D(process.argv[2]);' +
    "db.exec('BEGIN EXCLUSIVE'); process.stdout.write('locked\\n');" +
    "process.stdin.on('data', () => {}); process.stdin.on('end', () => process.exit(0));";
  const hold = (): Promise<() => void> =>
    new Promise((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ['-e', script, path.join(repoRoot, 'node_modules', 'better-sqlite3'), file],
        { stdio: ['pipe', 'pipe', 'inherit'] },
      );
      child.once('error', reject);
      child.stdout.once('data', () =>
        resolve(() => {
          child.stdin.end();
        }),
      );
    });
  return { path: file, hold };
}
