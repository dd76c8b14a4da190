import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// One vitest run over every package; each package's tests live beside its sources.
export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'examples/*/src/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 600_000,
    pool: 'forks',
    // The suite waits far more than it computes (demo calls in real time, servers starting, retries
    // timing out): a cold run used 14 min of CPU in 37 min. vitest's default (cores - 1) runs one file
    // at a time on a 2-core machine; two at once keep both cores busy. Test files share nothing but
    // the backend caches, whose builds and installs take a lock (test-backends).
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
});
