// @vscode/test-cli configuration for machines that can download desktop VS Code: runs the same
// host tests (out/test/host/index.js → mocha over out/test/host/*.test.js) in an Electron host.
// Here, without internet, scripts/host-tests.mjs runs them in code-server instead.
// Usage: npm run build:tests && npx vscode-test
import { defineConfig } from '@vscode/test-cli';

export default defineConfig({
  label: 'host',
  files: 'out/test/host/*.test.js',
  workspaceFolder: 'test/workspace',
  version: '1.95.0',
  mocha: { ui: 'bdd', timeout: 60_000 },
  launchArgs: ['--disable-extensions', '--disable-workspace-trust'],
});
