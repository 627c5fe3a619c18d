import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores: the tfjs wasm backend and Postgres each want one, so test files run two at a time.
    maxWorkers: 2,
    pool: 'forks',
  },
});
