// Flat ESLint config: typed rules for the TypeScript, ESLint's recommended rules for the `*.mjs`
// harness code (scripts, build, test runner config), a pure core, no console in the language server.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import gpuLens from './scripts/eslint/import-layers.mjs';

export default tseslint.config(
  {
    ignores: ['dist/**', 'out/**', 'node_modules/**', '.cache/**', 'test/fixtures/**', '**/*.js'],
  },
  {
    // Harness code runs on Node as ES modules; it has no tsconfig, so no type-aware rules.
    files: ['**/*.mjs'],
    ...js.configs.recommended,
    languageOptions: { ecmaVersion: 'latest', sourceType: 'module', globals: globals.node },
  },
  ...tseslint.configs.recommendedTypeChecked.map((c) => ({ ...c, files: ['**/*.ts'] })),
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
    },
  },
  {
    // src/core is shared by the language server, the CLI and the tests: it must not see VS Code.
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['vscode', 'vscode-*'],
              message: 'src/core must stay free of VS Code and LSP imports.',
            },
          ],
        },
      ],
    },
  },
  {
    // One-direction imports between layers (ingest → model ← attribute ← analyze ← report ← views).
    files: ['src/**/*.ts', 'webview/**/*.ts'],
    plugins: { 'gpu-lens': gpuLens },
    rules: { 'gpu-lens/import-layers': 'error' },
  },
  {
    // In the language server stdout can be the protocol channel: log through the connection.
    files: ['src/server/**/*.ts'],
    rules: { 'no-console': 'error' },
  },
);
