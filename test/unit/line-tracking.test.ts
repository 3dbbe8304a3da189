/**
 * Annotations follow edits: the line map between the text a trace refers to and the editor's text
 * keeps exactly the lines a shortest edit script keeps (checked against an LCS computed here by
 * dynamic programming), in order, on random edit sessions; and a file's view is stale only when its
 * loaded text is unknown and the file changed on disk.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { LoadedTexts, lineMapper } from '../../src/server/line-tracking';

/** Length of the longest common subsequence of two line arrays. */
function lcs(a: string[], b: string[]): number {
  const row = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    let diag = 0;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j];
      row[j] = a[i - 1] === b[j - 1] ? diag + 1 : Math.max(row[j], row[j - 1]);
      diag = up;
    }
  }
  return row[b.length];
}

/** A small deterministic PRNG (mulberry32), so failures reproduce from the printed seed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

void test('identical texts map every line to itself', () => {
  const map = lineMapper('a\nb\nc\n', 'a\nb\nc\n')!;
  assert.deepEqual([1, 2, 3, 4].map(map), [1, 2, 3, 4]);
});

void test('inserting above moves marks down, changing a line hides its mark, undo restores', () => {
  const before = ['import torch', 'x = f()', 'y = g(x)', 'z = h(y)'].join('\n');
  const inserted = ['# a', '# b', ...before.split('\n')].join('\n');
  assert.deepEqual([1, 2, 3, 4].map(lineMapper(before, inserted)!), [3, 4, 5, 6]);
  const changed = before.replace('y = g(x)', 'y = g2(x)');
  assert.deepEqual([1, 2, 3, 4].map(lineMapper(before, changed)!), [1, 2, null, 4]);
  const deleted = before.replace('x = f()\n', '');
  assert.deepEqual([1, 2, 3, 4].map(lineMapper(before, deleted)!), [1, null, 2, 3]);
});

void test('random edit sessions: kept lines are equal, in order, and as many as the LCS', () => {
  const seed = Number(process.env.GPU_LENS_SEED ?? Date.now() % 100_000);
  const rand = rng(seed);
  for (let round = 0; round < 300; round++) {
    // A small alphabet makes repeated lines common: the hard case for a line diff.
    const a = Array.from({ length: Math.floor(rand() * 40) }, () => `l${Math.floor(rand() * 6)}`);
    const b = [...a];
    for (let e = Math.floor(rand() * 8); e > 0; e--) {
      const at = Math.floor(rand() * (b.length + 1));
      const op = rand();
      if (op < 0.4) b.splice(at, 0, `l${Math.floor(rand() * 8)}`);
      else if (op < 0.7) b.splice(at, 1);
      else if (at < b.length) b[at] = `l${Math.floor(rand() * 8)}`;
    }
    const map = lineMapper(a.join('\n'), b.join('\n'));
    assert.ok(map, `seed ${seed} round ${round}: small edits stay within the bound`);
    let last = 0;
    let kept = 0;
    for (let i = 1; i <= a.length; i++) {
      const j: number | null = map(i);
      if (j === null) continue;
      kept++;
      assert.equal(b[j - 1], a[i - 1], `seed ${seed} round ${round}: line ${i} → ${j}`);
      assert.ok(j > last, `seed ${seed} round ${round}: order kept`);
      last = j;
    }
    assert.equal(kept, lcs(a, b), `seed ${seed} round ${round}: a shortest edit script`);
  }
});

void test('texts too different give up instead of guessing', () => {
  const a = Array.from({ length: 1_500 }, (_, i) => `a${i}`).join('\n');
  const b = Array.from({ length: 1_500 }, (_, i) => `b${i}`).join('\n');
  assert.equal(lineMapper(a, b), null);
});

void test('a file is stale only when its loaded text is unknown and it changed on disk', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-lens-lines-'));
  try {
    const read = path.join(dir, 'read.py');
    const unread = path.join(dir, 'unread.py');
    for (const f of [read, unread]) fs.writeFileSync(f, 'a\nb\n');
    const texts = new LoadedTexts(new Map([read, unread].map((f) => [f, fs.statSync(f).mtimeMs])));
    assert.equal(texts.view(read, undefined).stale, false);
    const later = new Date(Date.now() + 5_000);
    for (const f of [read, unread]) {
      fs.writeFileSync(f, 'x\na\nb\n');
      fs.utimesSync(f, later, later);
    }
    // read.py's loaded text was kept: the edit on disk is mapped, not stale.
    const kept = texts.view(read, 'x\na\nb\n');
    assert.deepEqual([kept.stale, kept.map(1), kept.map(2)], [false, 2, 3]);
    // unread.py changed before GPU Lens read it: its lines cannot be followed.
    assert.equal(texts.view(unread, 'x\na\nb\n').stale, true);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
