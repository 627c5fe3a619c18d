import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // graphql 16 ships CommonJS (main) and ESM (module) copies. Node loads the CommonJS one for
    // Apollo and graphql-tools, while Vite would give our sources the ESM one, so
    // `instanceof GraphQLError` failed across the two. One copy for everything:
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores: the tfjs wasm backend and Postgres each want one, so test files run two at a time.
    maxWorkers: 2,
    pool: 'forks',
  },
});
