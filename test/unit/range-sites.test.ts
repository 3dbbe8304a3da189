import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { emptyProfile, type CpuRange, type Profile } from '../../src/core/model';
import { StackResolver } from '../../src/core/attribute';
import { locateRanges, rangeStats } from '../../src/core/range-sites';
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
  profile.cpuCalls.push(call(150, 1), call(150, 2), call(50, 1));
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
  profile.gpuOps.push(op(0, 30), op(1, 500), op(2, 7));
  const stats = rangeStats(profile, locateRanges(profile, stacks));
  const by = new Map(stats.map((s) => [s.name, s]));
  assert.equal(by.get('decode_7')?.gpuNs, 30); // thread 2's launch is not inside thread 1's range
  assert.equal(by.get('preprocess')?.gpuNs, 7);
  assert.equal(by.get('preprocess')?.wallNs, 100);
  assert.equal(by.get('nowhere')?.gpuNs, 0);
});
