/**
 * A real one-node Slurm cluster on localhost for the multi-rank capture tests (Debian's slurm-wlm
 * and munge; run as root): a fresh munge key and socket, a slurm.conf with ports of its own and the
 * CPUs `slurmd -C` reports, munged + slurmctld + slurmd started here and stopped by their PIDs.
 * Everything lives in one temp folder; the machine's own Slurm / munge set-up is never touched.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface SlurmCluster {
  /** Environment for srun / scontrol (SLURM_CONF). */
  env: NodeJS.ProcessEnv;
  stop(): void;
}

/** Polls `check` every 250 ms until it returns true or `ms` pass. */
async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`slurm: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Starts the cluster; throws (never skips) when slurm-wlm or munge is missing. */
export async function startSlurm(): Promise<SlurmCluster> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gl-slurm-'));
  for (const d of ['state', 'spool', 'munge']) fs.mkdirSync(path.join(dir, d), { mode: 0o700 });
  const key = path.join(dir, 'munge', 'munge.key');
  fs.writeFileSync(key, crypto.randomBytes(1024), { mode: 0o400 });
  const sock = path.join(dir, 'munge', 'sock');
  const mungePid = path.join(dir, 'munge', 'pid');
  execFileSync('munged', [
    '--force',
    `--key-file=${key}`,
    `--socket=${sock}`,
    `--pid-file=${mungePid}`,
    `--log-file=${path.join(dir, 'munge', 'log')}`,
    `--seed-file=${path.join(dir, 'munge', 'seed')}`,
  ]);
  const children: ChildProcess[] = [];
  let conf = '';
  const stop = (): void => {
    // Steps of a failed srun can outlive it: cancel this cluster's jobs before its daemons go.
    if (conf)
      try {
        execFileSync('scancel', ['--full', '--state=RUNNING'], {
          env: { ...process.env, SLURM_CONF: conf },
          stdio: 'ignore',
        });
      } catch {
        // no jobs, or the controller is already gone
      }
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    if (fs.existsSync(mungePid)) {
      try {
        process.kill(Number(fs.readFileSync(mungePid, 'utf8').trim()), 'SIGTERM');
      } catch {
        // already gone
      }
    }
  };
  try {
    const host = os.hostname().split('.')[0];
    // `NodeName=vm CPUs=2 … RealMemory=24105`: declare what the node has, memory a bit below.
    const probe = execFileSync('slurmd', ['-C'], { encoding: 'utf8' });
    const cpus = Number(/CPUs=(\d+)/.exec(probe)?.[1] ?? 1);
    const mem = Math.floor(Number(/RealMemory=(\d+)/.exec(probe)?.[1] ?? 2000) * 0.9);
    const port = 17000 + crypto.randomInt(0, 2000) * 2;
    conf = path.join(dir, 'slurm.conf');
    fs.writeFileSync(
      conf,
      [
        'ClusterName=gpulens',
        `SlurmctldHost=${host}(127.0.0.1)`,
        'AuthType=auth/munge',
        'CredType=cred/munge',
        `AuthInfo=socket=${sock}`,
        'SlurmUser=root',
        'SlurmdUser=root',
        `SlurmctldPort=${port}`,
        `SlurmdPort=${port + 1}`,
        `StateSaveLocation=${path.join(dir, 'state')}`,
        `SlurmdSpoolDir=${path.join(dir, 'spool')}`,
        `SlurmctldPidFile=${path.join(dir, 'slurmctld.pid')}`,
        `SlurmdPidFile=${path.join(dir, 'slurmd.pid')}`,
        `SlurmctldLogFile=${path.join(dir, 'slurmctld.log')}`,
        `SlurmdLogFile=${path.join(dir, 'slurmd.log')}`,
        'ProctrackType=proctrack/linuxproc',
        'TaskPlugin=task/none',
        'SelectType=select/cons_tres',
        'SelectTypeParameters=CR_Core',
        'ReturnToService=2',
        'MpiDefault=none',
        'JobAcctGatherType=jobacct_gather/none',
        `NodeName=${host} NodeAddr=127.0.0.1 CPUs=${cpus} RealMemory=${mem}`,
        `PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE`,
        '',
      ].join('\n'),
    );
    const env = { ...process.env, SLURM_CONF: conf };
    for (const daemon of ['slurmctld', 'slurmd'])
      children.push(spawn(daemon, ['-D', '-f', conf], { env, stdio: 'ignore' }));
    const state = (): string => {
      try {
        return execFileSync('sinfo', ['-h', '-n', host, '-o', '%T'], {
          env,
          encoding: 'utf8',
        }).trim();
      } catch {
        return '';
      }
    };
    await until(() => state() !== '', 30_000, 'slurmctld');
    if (/drain|inval|down/.test(state()))
      execFileSync('scontrol', ['update', `nodename=${host}`, 'state=resume'], { env });
    await until(() => /idle|mix|alloc/.test(state()), 30_000, `node ${host} to come up`);
    return {
      env,
      stop: () => {
        stop();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    stop();
    throw e;
  }
}
