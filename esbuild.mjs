// One build for everything that ships: the extension, the language server, the CLI and the webview.
// `node esbuild.mjs` builds once; `--watch` rebuilds on change; `--tests` also bundles the host tests.
import * as esbuild from 'esbuild';

const watch = process.argv.includes('--watch');
const withTests = process.argv.includes('--tests');

/** Entry of the rank-folder reading thread, bundled beside every bundle that may load a folder. */
const RANK_WORKER = 'src/core/ingest/rank-read-worker.ts';

/** Node bundles run in the extension host, the server process and the CLI. */
const node = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  // better-sqlite3 loads its native binary relative to its own package: keep it outside the bundle.
  external: ['vscode', 'better-sqlite3'],
  logLevel: 'warning',
};

const builds = [
  { ...node, entryPoints: { extension: 'src/extension/extension.ts' }, outdir: 'dist' },
  // Analyses run in a worker thread of the server, the CLI and the MCP server (dist/cli.js finds
  // dist/analyze-worker.js beside it: src/core/analysis-runner.ts); the files of a rank folder are
  // read in worker threads of whichever process loads it (rank-read-pool.ts).
  {
    ...node,
    entryPoints: {
      server: 'src/server/main.ts',
      'analyze-worker': 'src/core/analyze-worker.ts',
      'rank-read-worker': RANK_WORKER,
    },
    outdir: 'dist',
  },
  {
    ...node,
    entryPoints: { cli: 'src/cli.ts' },
    outdir: 'dist',
    banner: { js: '#!/usr/bin/env node' },
  },
  {
    bundle: true,
    platform: 'browser',
    target: 'es2022',
    format: 'iife',
    sourcemap: true,
    entryPoints: { webview: 'webview/main.ts' },
    outdir: 'dist',
    logLevel: 'warning',
  },
];
if (withTests) {
  // Unit tests run under node's test runner; host tests run inside the real extension host.
  builds.push({
    ...node,
    // Each host test file is its own bundle: test/host/index.ts hands them all to mocha.
    entryPoints: [
      'test/unit/**/*.test.ts',
      'test/host/index.ts',
      'test/host/*.test.ts',
      // Workspace Trust host tests: their own index, and the workspace builder the runner imports.
      'test/host-trust/index.ts',
      'test/host-trust/*.test.ts',
      'test/host-trust/workspaces.ts',
      'test/ui/**/*.test.ts',
    ],
    outbase: 'test',
    outdir: 'out/test',
    // mocha, playwright-core and eslint resolve from the repo's node_modules at run time.
    external: [...node.external, 'mocha', 'playwright-core', 'eslint'],
  });
  // The unit tests load rank folders and run analyses from out/test/unit: the worker entries go
  // beside them.
  builds.push({
    ...node,
    entryPoints: {
      'rank-read-worker': RANK_WORKER,
      'analyze-worker': 'src/core/analyze-worker.ts',
    },
    outdir: 'out/test/unit',
  });
}

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
