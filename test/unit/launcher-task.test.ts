/**
 * The `gpuLens` task's `launcher`: the classic mistakes refused before anything runs, the
 * launchers' command lines (torchrun: Debian's torch 1.13 torchrun fails on Python 3.11, so it is
 * covered by its command line only), and real captures of the 4-rank gloo job under `srun` on a
 * one-node Slurm cluster, run through the same capture steps the task runs; the capture folder
 * loads as one multi-rank trace naming the slow rank.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { loadTrace } from '../../src/core/load';
import { buildReport } from '../../src/core/report';
import {
  captureNsys,
  captureTorch,
  type CaptureInput,
  type StepRunner,
} from '../../src/extension/tasks/capture-steps';
import {
  type GpuLensTaskDefinition,
  validateDefinition,
} from '../../src/extension/tasks/definition';
import { launcherCommand } from '../../src/extension/tasks/launcher-command';
import { runStep } from '../../src/extension/tasks/process';
import { repoRoot } from './fixtures';
import { pythonForCaptures } from './nsys-capture-helper';
import { lineOf, scenariosDir } from './rule-helpers';
import { startSlurm } from './slurm-cluster';

const SCRIPT = 'gloo_straggler.py';
const base = { type: 'gpuLens', program: 'train.py' } as const;

void test('launcher task: the classic mistakes are one-line refusals before anything runs', () => {
  const one = (d: Partial<GpuLensTaskDefinition>): string => {
    const errors = validateDefinition(d);
    assert.equal(errors.length, 1, JSON.stringify(errors));
    return errors[0];
  };
  // nsys around torchrun / srun: every rank in one report.
  assert.match(
    one({ ...base, tool: 'nsys', program: '/usr/bin/torchrun' }),
    /every rank would land in one report/,
  );
  assert.match(
    one({ ...base, tool: 'nsys', program: undefined, module: 'torch.distributed.run' }),
    /one report/,
  );
  assert.match(one({ ...base, tool: 'torch', program: 'srun' }), /one trace/);
  // An output template without a rank: every rank writes the same file.
  assert.match(
    one({ ...base, tool: 'nsys', launcher: 'srun', output: 'caps/run1' }),
    /no rank in it.*%q\{SLURM_PROCID\}/,
  );
  assert.match(
    one({ ...base, tool: 'torch', launcher: 'torchrun', ranks: 2, output: 'caps/r%q{RANK}' }),
    /\{rank\}/,
  );
  assert.match(
    one({ ...base, tool: 'nsys', launcher: 'srun', nsysArgs: ['-o', 'x'] }),
    /sets the output/,
  );
  assert.match(one({ ...base, tool: 'nsys', launcher: 'mpirun' }), /"ranks" is needed/);
  assert.match(one({ ...base, tool: 'nsys', launcher: 'srun', ranks: 0 }), /"ranks" must be/);
  assert.match(
    one({ ...base, tool: 'nsys', launcher: 'torchrun', ranks: 2, partition: 'gpu' }),
    /Slurm option/,
  );
  assert.deepEqual(
    validateDefinition({
      ...base,
      tool: 'nsys',
      launcher: 'srun',
      ranks: 4,
      output: 'c/rank%q{SLURM_PROCID}',
    }),
    [],
  );
});

void test('launcher task: profiling only some of the ranks is refused before anything runs', () => {
  const srun = { ...base, tool: 'nsys', launcher: 'srun', ranks: 4 } as const;
  const refusal = (d: Partial<GpuLensTaskDefinition>): string => {
    const errors = validateDefinition(d);
    assert.equal(errors.length, 1, JSON.stringify(errors));
    assert.match(errors[0], /profile only some of the ranks.*time out in NCCL/);
    return errors[0];
  };
  // The profiler behind a per-rank condition: rank 0 under nsys, the others without it.
  const onlyRank0 = 'if [ "$SLURM_PROCID" -eq 0 ]; then exec "$@"; else exec "${@:4}"; fi';
  assert.match(
    refusal({ ...srun, launcherArgs: ['--overcommit', 'bash', '-c', onlyRank0, 'sh'] }),
    /per-rank condition in "launcherArgs"/,
  );
  assert.match(
    refusal({
      ...srun,
      launcher: 'torchrun',
      launcherArgs: ['bash', '-c', '[ ${RANK} = 1 ] && x'],
    }),
    /per-rank condition/,
  );
  assert.match(refusal({ ...srun, python: '/opt/py$LOCAL_RANK/bin/python' }), /"python"/);
  // Launcher arguments that give some ranks a command of their own (MPMD contexts, srun's
  // per-rank program file, mpirun app files).
  assert.match(
    refusal({
      ...srun,
      launcher: 'mpirun',
      launcherArgs: ['python3', 'train.py', ':', '-np', '1'],
    }),
    /"launcherArgs" ":"/,
  );
  assert.match(refusal({ ...srun, launcherArgs: ['--multi-prog'] }), /--multi-prog/);
  assert.match(
    refusal({ ...srun, launcher: 'mpirun', launcherArgs: ['--app=ctx.txt'] }),
    /--app=ctx.txt/,
  );
  // Per-rank file patterns and other variables are no subset.
  assert.deepEqual(
    validateDefinition({
      ...srun,
      launcherArgs: ['--output=log-%t.txt', '--chdir=$SLURM_SUBMIT_DIR', '--overcommit'],
    }),
    [],
  );
});

void test('launcher task: srun, torchrun and mpirun command lines put the profiler inside', () => {
  const inner = ['nsys', 'profile', '--output=/c/rank%q{RANK}', 'python3', 'train.py'];
  const def = (launcher: 'srun' | 'torchrun' | 'mpirun'): GpuLensTaskDefinition => ({
    ...base,
    tool: 'nsys',
    launcher,
    ranks: 8,
    nodes: 2,
    launcherArgs: ['--extra'],
  });
  assert.deepEqual(launcherCommand({ ...def('srun'), partition: 'gpu' }, inner), [
    'srun',
    ['-n', '8', '-N', '2', '-p', 'gpu', '--extra', ...inner],
  ]);
  assert.deepEqual(launcherCommand(def('torchrun'), inner), [
    'torchrun',
    ['--nproc-per-node', '8', '--nnodes', '2', '--extra', '--no-python', ...inner],
  ]);
  assert.deepEqual(launcherCommand(def('mpirun'), inner), [
    'mpirun',
    ['-np', '8', '--extra', ...inner],
  ]);
});

void test(
  'launcher task: srun captures with torch and nsys load as one multi-rank trace',
  { timeout: 600_000 },
  async () => {
    const cluster = await startSlurm();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gl-launcher-'));
    try {
      const capture = async (
        tool: 'torch' | 'nsys',
        ranks: number,
        slow: number,
      ): Promise<string> => {
        const outDir = path.join(dir, tool);
        fs.mkdirSync(outDir);
        const def: GpuLensTaskDefinition = {
          type: 'gpuLens',
          tool,
          program: SCRIPT,
          launcher: 'srun',
          ranks,
          launcherArgs: ['--overcommit'],
          nsysArgs: ['--trace=osrt,nvtx'],
        };
        assert.deepEqual(validateDefinition(def), []);
        const port = String(29000 + Math.floor(Math.random() * 900));
        const input: CaptureInput = {
          def,
          python: pythonForCaptures(),
          program: path.join(scenariosDir, SCRIPT),
          cwd: scenariosDir,
          env: {
            ...cluster.env,
            MASTER_ADDR: '127.0.0.1',
            MASTER_PORT: port,
            GLOO_SLOW_RANK: String(slow),
            GLOO_STRAGGLER_ITERS: '200',
          },
          outDir,
          outBase: path.join(outDir, 'trace'),
          nsysPath: '',
          workspaceFolder: scenariosDir,
          launcher: path.join(repoRoot, 'python', 'gpu_lens_torch_launcher.py'),
        };
        const abort = new AbortController();
        let log = '';
        const run: StepRunner = async (step, what) => {
          const r = await runStep(step, (t) => (log += t), abort.signal);
          if (r.code !== 0) throw new Error(`${what} exited with ${r.code}: ${log.slice(-2000)}`);
          return r;
        };
        return tool === 'nsys'
          ? captureNsys(input, run, () => undefined)
          : captureTorch(input, run);
      };
      const torchFolder = await capture('torch', 4, 2);
      assert.deepEqual(
        fs.readdirSync(torchFolder).sort(),
        [0, 1, 2, 3].map((r) => `rank${r}.pt.trace.json`),
      );
      const nsysFolder = await capture('nsys', 2, 1);
      assert.deepEqual(
        fs
          .readdirSync(nsysFolder)
          .filter((n) => !n.endsWith('.qdstrm'))
          .sort(),
        ['rank0.nsys-rep', 'rank0.sqlite', 'rank1.nsys-rep', 'rank1.sqlite'],
      );
      for (const [folder, ranks, slow, line] of [
        [torchFolder, 4, 2, lineOf(SCRIPT, '# straggler work')],
        [nsysFolder, 2, 1, lineOf(SCRIPT, 'annotate("straggler_work")')],
      ] as const) {
        const report = buildReport(await loadTrace(folder), { workspaceRoot: scenariosDir });
        assert.equal(report.summary.rankCount, ranks);
        const f = report.findings.find(
          (x) => x.rule === 'straggler' && x.evidence.kind === 'allreduce',
        );
        assert.equal(f?.evidence.rank, slow, report.findings.map((x) => x.title).join('; '));
        assert.equal(f?.locations[0].line, line);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      cluster.stop();
    }
  },
);
