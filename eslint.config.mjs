// Flat ESLint config: typed rules everywhere, a pure core, no console in the language server.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'out/**',
      'node_modules/**',
      '.cache/**',
      'test/fixtures/**',
      '**/*.mjs',
      '**/*.js',
    ],
  },
  ...tseslint.configs.recommendedTypeChecked,
  {
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
    // In the language server stdout can be the protocol channel: log through the connection.
    files: ['src/server/**/*.ts'],
    rules: { 'no-console': 'error' },
  },
);
