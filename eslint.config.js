// Lint rules, including the import directions between the layers of src/.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import globals from 'globals';

/** Layers and the layers each may not import (arrows point from importer to importee). */
const forbiddenImports = [
  {
    target: './src/ml',
    from: [
      './src/server',
      './src/graphql',
      './src/services',
      './src/db',
      './src/jobs',
      './src/corpus',
    ],
  },
  {
    target: './src/corpus',
    from: ['./src/server', './src/graphql', './src/services', './src/db', './src/jobs', './src/ml'],
  },
  {
    target: './src/db',
    from: ['./src/server', './src/graphql', './src/services', './src/jobs', './src/ml'],
  },
  { target: './src/jobs', from: ['./src/server', './src/graphql'] },
  { target: './src/services', from: ['./src/server', './src/graphql'] },
  { target: './src/graphql', from: ['./src/server'] },
];

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'dist/',
      '.data/',
      'src/generated/',
      'scratch/',
      '.scratch*',
      '.tmpw/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver': { typescript: true, node: true } },
    rules: {
      'import-x/no-restricted-paths': ['error', { zones: forbiddenImports }],
      'import-x/no-cycle': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-console': ['error', { allow: ['warn', 'error'] }],
    },
  },
  {
    files: ['src/main.ts', 'src/cli/**/*.ts', 'bench/**/*.ts', 'test/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
  {
    // The dashboard's plain ES modules run in the browser, not in Node.
    files: ['src/server/dashboard/**/*.js'],
    languageOptions: { globals: globals.browser },
  },
);
