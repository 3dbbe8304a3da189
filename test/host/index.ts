/**
 * Entry point of the host tests: VS Code (code-server here, desktop VS Code under @vscode/test-cli)
 * loads this module in the real extension host and awaits `run()`. It hands every bundled
 * `out/test/host/*.test.js` to mocha and rejects when any test fails.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';
import * as vscode from 'vscode';

/** Runs all host test files with mocha's spec reporter; rejects with the failure count. */
export async function run(): Promise<void> {
  await runMocha(__dirname, (f) => f.endsWith('.test.js'));
}

/**
 * Runs the test files of `dir` that `pick` accepts with mocha's spec reporter; rejects with the
 * failure count. Shared with test/host-trust/index.ts.
 */
export async function runMocha(dir: string, pick: (file: string) => boolean): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 60_000, reporter: 'spec' });
  // GPU_LENS_HOST_GREP (inherited through code-server) runs a subset while developing.
  if (process.env.GPU_LENS_HOST_GREP) mocha.grep(process.env.GPU_LENS_HOST_GREP);
  const files = fs.readdirSync(dir).filter(pick).sort();
  if (files.length === 0) throw new Error(`no host test files to run in ${dir}`);
  // scripts/host-tests.mjs streams the console from this line on.
  console.log(`[host-tests] running ${files.length} file(s) in VS Code ${vscode.version}`);
  for (const f of files) mocha.addFile(path.join(dir, f));
  await mocha.loadFilesAsync();
  const failures = await new Promise<number>((resolve) => mocha.run(resolve));
  if (failures > 0) throw new Error(`${failures} host test(s) failed`);
}
