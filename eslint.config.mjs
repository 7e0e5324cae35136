// Flat config: type-aware rules everywhere, plus the workflow sandbox boundary.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tools/**', '.run/**', 'eslint.config.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver': { node: { extensions: ['.ts', '.js'] } } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test registers describe/it synchronously; their promises are the runner's.
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      'import-x/no-cycle': 'error',
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no I/O, no domain modules
    // that do I/O, and activities by type only.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'Workflows must not use Node built-ins.' },
            { group: ['ioredis'], message: 'Workflows must not do I/O.' },
            {
              group: ['**/bank', '**/bank/**'],
              allowTypeImports: true,
              message: 'Workflows must not touch the bank.',
            },
            {
              group: ['**/plugins', '**/plugins/**'],
              allowTypeImports: true,
              message: 'Plugins run in activities.',
            },
            {
              group: ['**/activities', '**/activities/**'],
              allowTypeImports: true,
              message: 'Import activity types only.',
            },
          ],
          paths: ['fs', 'path', 'os', 'child_process', 'crypto', 'net', 'http'],
        },
      ],
    },
  },
);
