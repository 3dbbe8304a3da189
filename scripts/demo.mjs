// Demo: serves a real VS Code (code-server) on 127.0.0.1 with GPU Lens loaded from this repo and
// test/workspace open. Prints the URL and runs until Ctrl-C, then stops code-server cleanly.
// Usage: npm run demo   (builds first; or `node scripts/demo.mjs` after `npm run build`)
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot, startCodeServer, stopOnSignals, workbenchUrl } from './code-server.mjs';

const folder = path.join(repoRoot, 'test', 'workspace');
const fixtures =
  process.env.GPU_LENS_FIXTURES ?? path.resolve(repoRoot, '..', 'shared', 'fixtures');

if (!fs.existsSync(path.join(repoRoot, 'dist', 'extension.js'))) {
  console.error(
    '[demo] dist/extension.js is missing: run `npm run build` first (or `npm run demo`).',
  );
  process.exit(1);
}
const server = await startCodeServer({
  folder,
  linkExtension: true,
  env: { GPU_LENS_FIXTURES: fixtures },
});
console.log(`[demo] GPU Lens in VS Code: ${workbenchUrl(server.url, folder)}`);
console.log(
  '[demo] (listening on 127.0.0.1 only; forward the port to reach it from elsewhere). Ctrl-C stops it.',
);

stopOnSignals(server, { exitCode: 0 });
