import { availableParallelism } from 'node:os';
import { configDefaults, defineConfig } from 'vitest/config';

// One vitest run over every package; each package's tests live beside its sources.
const TESTS = ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'examples/*/src/**/*.test.ts', 'examples/*/test/**/*.test.ts'];

/**
 * Files that time real audio (the caller's voice in the recording, within 100 ms) or check a
 * timeout's bound within a few hundred ms: a busy neighbour moves those figures, so they run after
 * the rest, one at a time (with two files at once, the real room's user clips came out 270 ms long).
 */
const TIMED = [
  'examples/livekit-agent/test/real-room.test.ts',
  'packages/recording/test/egress-livekit.test.ts',
  'packages/recording/test/egress-request.test.ts',
  'packages/recording/test/s3.test.ts',
  'packages/recording/test/slow-server.test.ts',
  'packages/exporters/test/bounded-batch-processor.test.ts',
  'packages/exporters/test/otlp-exporter.test.ts',
];

export default defineConfig({
  test: {
    // a hang shows either way; with two files at once a CPU-bound test can take several times its time
    // alone (the 10,000-turn call: 5 s alone, 30 s beside the packaging test's npm installs)
    testTimeout: 120_000,
    hookTimeout: 600_000,
    pool: 'forks',
    // The suite waits far more than it computes (demo calls in real time, servers starting, retries
    // timing out): a run from a fresh clone used 14 min of CPU in 38. vitest's default (cores - 1)
    // runs one file at a time on 2 cores; two at once keep both busy. Files share nothing but the
    // backend caches, whose builds and installs take a lock (test-backends).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    projects: [
      { extends: true, test: { name: 'suite', include: TESTS, exclude: [...configDefaults.exclude, ...TIMED] } },
      // groupOrder 1: after the group above; singleFork: these files one after another
      { extends: true, test: { name: 'timed', include: TIMED, sequence: { groupOrder: 1 }, poolOptions: { forks: { singleFork: true } } } },
    ],
  },
});
