/**
 * Live Nsight Systems captures for tests: profile a Python script with the installed nsys (CPU-only
 * tracing: OS runtime + NVTX), import the `.qdstrm` when this nsys packaging leaves one, and export
 * to SQLite. Everything is written under the caller's temporary folder, never into the repo.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { exportNsysRep, findNsys, NSYS_NOT_FOUND } from '../../src/core/ingest/nsys-export';

export interface NsysCapture {
  nsys: string;
  repPath: string;
  sqlitePath: string;
}

function exec(file: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { maxBuffer: 16 * 1024 * 1024, timeout: 300_000, env },
      (err, stdout, stderr) => {
        if (err)
          reject(
            new Error(`${path.basename(file)} ${args.join(' ')} failed: ${err.message}\n${stderr}`),
          );
        else resolve(stdout + stderr);
      },
    );
  });
}

/** Debian's packaging does not find its importer: look beside the real nsys binary, then Debian's path. */
function findQdstrmImporter(nsys: string): string | null {
  const real = fs.realpathSync(nsys);
  const candidates = [
    path.resolve(path.dirname(real), '..', 'host-linux-x64', 'QdstrmImporter'),
    '/usr/lib/nsight-systems/host-linux-x64/QdstrmImporter',
  ];
  return candidates.find((c) => fs.existsSync(c)) ?? null;
}

/** The Python to run scripts with: Debian's (it has torch 1.13) when present, else PATH's python3. */
export function pythonForCaptures(): string {
  return fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

/**
 * Captures `script` with `nsys profile --trace=osrt,nvtx --sample=none --cpuctxsw=none` into
 * `tmpDir` and returns the report and its SQLite export. Throws (never skips) when nsys is missing.
 */
export async function captureWithNsys(
  script: string,
  tmpDir: string,
  opts: { scriptArgs?: string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<NsysCapture> {
  const nsys = findNsys();
  if (!nsys) throw new Error(NSYS_NOT_FOUND);
  const base = path.join(tmpDir, 'cap');
  await exec(
    nsys,
    [
      'profile',
      '--trace=osrt,nvtx',
      '--sample=none',
      '--cpuctxsw=none',
      '--force-overwrite',
      'true',
      '-o',
      base,
      pythonForCaptures(),
      script,
      ...(opts.scriptArgs ?? []),
    ],
    { ...process.env, ...opts.env },
  );
  const repPath = `${base}.nsys-rep`;
  const qdstrm = `${base}.qdstrm`;
  if (!fs.existsSync(repPath) && fs.existsSync(qdstrm)) {
    const importer = findQdstrmImporter(nsys);
    if (!importer)
      throw new Error(`nsys left ${qdstrm} and no QdstrmImporter was found beside ${nsys}`);
    await exec(importer, ['-i', qdstrm]);
  }
  if (!fs.existsSync(repPath)) throw new Error(`nsys profile wrote no ${repPath}`);
  const sqlitePath = await exportNsysRep(repPath, path.join(tmpDir, 'export'), { nsysPath: nsys });
  return { nsys, repPath, sqlitePath };
}
