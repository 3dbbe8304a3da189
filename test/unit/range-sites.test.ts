import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { emptyProfile, type CpuRange, type Profile } from '../../src/core/model';
import { StackResolver } from '../../src/core/stack-resolver';
import {
  fStringSegments,
  locateRanges,
  matchesSegments,
  rangeStats,
} from '../../src/core/range-sites';
import { PathResolver, WorkspaceIndex } from '../../src/core/workspace-paths';

const SCRIPT = [
  'import nvtx, torch',
  'def step(i):',
  '    with nvtx.annotate("preprocess"):', // line 3
  '        pass',
  '    torch.cuda.nvtx.range_push(f"decode_{i}")', // line 5
  '    torch.cuda.nvtx.range_pop()',
  '    with torch.profiler.record_function("dup"):', // line 7
  '        pass',
  '',
].join('\n');
const OTHER = 'from x import annotate\nwith annotate(message="dup"):\n    pass\n';

function setup(): { profile: Profile; stacks: StackResolver } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gl-ranges-'));
  fs.writeFileSync(path.join(root, 'serve.py'), SCRIPT);
  fs.writeFileSync(path.join(root, 'other.py'), OTHER);
  const profile = emptyProfile({
    path: 'x',
    format: 'nsys-sqlite',
    producer: 't',
    schemaVersion: '0',
  });
  const range = (name: string, startNs: number, endNs: number): CpuRange => ({
    name,
    startNs,
    endNs,
    pid: 1,
    tid: 1,
    rank: 0,
    domain: '',
    kind: 'nvtx',
    stackId: -1,
  });
  profile.ranges.push(
    range('preprocess', 0, 100),
    range('decode_7', 100, 300),
    range('dup', 300, 400),
    range('nowhere', 400, 500),
  );
  return {
    profile,
    stacks: new StackResolver(profile, new PathResolver(new WorkspaceIndex(root))),
  };
}

void test('ranges without stacks are located by their literal name, f-strings included', () => {
  const { profile, stacks } = setup();
  const loc = locateRanges(profile, stacks);
  assert.deepEqual(loc.sites[0], { file: 'serve.py', line: 3 });
  assert.deepEqual(loc.sites[1], { file: 'serve.py', line: 5 });
  assert.equal(loc.sites[3], null);
});

void test('a name opened at two call sites is ambiguous, not guessed', () => {
  const { profile, stacks } = setup();
  const loc = locateRanges(profile, stacks);
  assert.equal(loc.sites[2], null);
  assert.deepEqual(
    loc.ambiguous
      .get('dup')
      ?.map((s) => `${s.file}:${s.line}`)
      .sort(),
    ['other.py:2', 'serve.py:7'],
  );
  const stat = rangeStats(profile, loc).find((r) => r.name === 'dup');
  assert.equal(stat?.location, null);
  assert.equal(stat?.ambiguous?.length, 2);
});

void test('GPU time goes to every range open on the launching thread at launch time', () => {
  const { profile, stacks } = setup();
  const call = (startNs: number, tid: number) => ({
    name: 'cudaLaunchKernel',
    kind: 'launch' as const,
    startNs,
    endNs: startNs + 5,
    pid: 1,
    tid,
    rank: 0,
    correlationId: startNs,
    stackId: -1,
  });
  for (const c of [call(150, 1), call(150, 2), call(50, 1)]) profile.cpuCalls.push(c);
  const op = (launchIndex: number, ns: number) => ({
    kind: 'kernel' as const,
    name: 'k',
    startNs: 1000,
    endNs: 1000 + ns,
    deviceId: 0,
    streamId: 7,
    rank: 0,
    launchIndex,
    stackId: -1,
    isComm: false,
  });
  for (const o of [op(0, 30), op(1, 500), op(2, 7)]) profile.gpuOps.push(o);
  const stats = rangeStats(profile, locateRanges(profile, stacks));
  const by = new Map(stats.map((s) => [s.name, s]));
  assert.equal(by.get('decode_7')?.gpuNs, 30); // thread 2's launch is not inside thread 1's range
  assert.equal(by.get('preprocess')?.gpuNs, 7);
  assert.equal(by.get('preprocess')?.wallNs, 100);
  assert.equal(by.get('nowhere')?.gpuNs, 0);
});

void test('f-string bodies split into literal segments; {{ }} are braces, format specs nest', () => {
  assert.deepEqual(fStringSegments('step_{i}'), ['step_', '']);
  assert.deepEqual(fStringSegments('{a}{b}'), ['', '', '']);
  assert.deepEqual(fStringSegments('x{{y}}_{v:{w}}!'), ['x{y}_', '!']);
  assert.deepEqual(fStringSegments('open{ end'), null);
  assert.deepEqual(fStringSegments('no fields {{}}'), null);
});

void test('the greedy segment matcher agrees with a backtracking regex on every small case', () => {
  // Reference: the template as an anchored regex (fine at this size); fields match any text.
  const reference = (segments: string[], name: string): boolean =>
    new RegExp(
      '^' + segments.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[\\s\\S]*?') + '$',
    ).test(name);
  const words = (alphabet: string, maxLen: number): string[] => {
    const out = [''];
    for (let len = 1; len <= maxLen; len++)
      for (const w of out.filter((x) => x.length === len - 1))
        for (const c of alphabet) out.push(w + c);
    return out;
  };
  const segs = words('ab', 2);
  const names = words('ab', 6);
  let checked = 0;
  let matched = 0;
  for (const a of segs)
    for (const b of segs)
      for (const c of segs)
        for (const template of [
          [a, b],
          [a, b, c],
          [a, '', b, c],
        ])
          for (const name of names) {
            const want = reference(template, name);
            assert.equal(
              matchesSegments(template, name),
              want,
              `${JSON.stringify(template)} ~ ${name}`,
            );
            checked++;
            if (want) matched++;
          }
  assert.ok(
    checked > 10_000 && matched > 1000 && matched < checked - 1000,
    `${matched}/${checked}`,
  );
  // Prefix and suffix may not overlap; a repeated segment needs separate occurrences.
  assert.equal(matchesSegments(['ab', 'ba'], 'aba'), false);
  assert.equal(matchesSegments(['', '_', '_', ''], '__'), true);
  assert.equal(matchesSegments(['', '_', '_', ''], '_'), false);
  assert.equal(matchesSegments(['step_', ''], 'step_\n7'), true);
});

void test('a 14-field f-string against a 40-character name that does not match ends at once', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gl-ranges-'));
  const fields = Array.from({ length: 14 }, (_, i) => `{x${i}}`).join('_');
  const lines = [
    'import torch',
    `torch.cuda.nvtx.range_push(f"${fields}!")`, // a name of 14 fields joined by "_", then "!"
    // An unclosed literal with a run of backslashes: 2^20 ways to split it for a naive pattern.
    `torch.cuda.nvtx.range_push("${'\\\\'.repeat(20)}`,
    'x = 1',
    'torch.cuda.nvtx.range_push(f"{x0}_{x1}_{x2}_{x3}_{x4}_{x5}_{x6}_{x7}_{x8}_{x9}_{x10}_{x11}_{x12}_{x13}?")',
    '',
  ];
  fs.writeFileSync(path.join(root, 'hang.py'), lines.join('\n'));
  const profile = emptyProfile({
    path: 'x',
    format: 'nsys-sqlite',
    producer: 't',
    schemaVersion: '0',
  });
  const names = ['_'.repeat(40), `${'_'.repeat(39)}!`, `${'ab_'.repeat(13)}c?`];
  for (const name of names)
    profile.ranges.push({
      name,
      startNs: 0,
      endNs: 1,
      pid: 1,
      tid: 1,
      rank: 0,
      domain: '',
      kind: 'nvtx',
      stackId: -1,
    });
  const stacks = new StackResolver(profile, new PathResolver(new WorkspaceIndex(root)));
  const t0 = performance.now();
  const loc = locateRanges(profile, stacks);
  const ms = performance.now() - t0;
  assert.ok(ms < 250, `took ${ms.toFixed(0)} ms`);
  assert.equal(loc.sites[0], null); // 40 underscores: no "!" or "?" at the end
  assert.deepEqual(loc.sites[1], { file: 'hang.py', line: 2 }); // 39 underscores then "!"
  assert.deepEqual(loc.sites[2], { file: 'hang.py', line: 5 });
});
