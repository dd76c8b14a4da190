import { ensureBinary } from './binaries.js';
import type { BackendName } from './types.js';

/** True under `CI=true` (or `CI=1`). */
export function isCI(): boolean {
  const v = process.env.CI;
  return v === 'true' || v === '1';
}

function banner(lines: string[]): string {
  const bar = '='.repeat(78);
  return ['', bar, ...lines.map((l) => `  ${l}`), bar, ''].join('\n');
}

/**
 * Resolves a backend for a test file: its binary path when available. When it is unavailable:
 * on a user's machine, prints a loud message and resolves undefined (skip the tests with
 * `describe.skipIf(!path)`); under `CI=true` it throws (the test file fails), except for
 * backends that can never be obtained on these machines (Tempo), which are skipped loudly.
 *
 *   const bins = await backendsOrSkip('collector', 'jaeger');
 *   describe.skipIf(!bins)('pipeline', () => { ... });
 */
export async function backendOrSkip(name: BackendName): Promise<string | undefined> {
  const r = await ensureBinary(name);
  if (r.available) return r.path;
  if (isCI() && !r.permanent) {
    throw new Error(`[test-backends] ${name} is unavailable under CI=true, failing instead of skipping: ${r.reason}`);
  }
  console.warn(
    banner([
      `SKIPPING tests that need ${name.toUpperCase()}: it is unavailable.`,
      ...r.reason.split('\n'),
      r.permanent
        ? 'This backend cannot be obtained on this machine; skipped even under CI=true.'
        : `Under CI=true this is a failure. To get it: see packages/test-backends/README.md.`,
    ]),
  );
  return undefined;
}

/** backendOrSkip for several backends: all paths, or undefined if any is unavailable (each reported). */
export async function backendsOrSkip<N extends BackendName>(...names: N[]): Promise<Record<N, string> | undefined> {
  await Promise.all(names.map((n) => ensureBinary(n))); // build/install in parallel, then report each
  const out = {} as Record<N, string>;
  let ok = true;
  for (const n of names) {
    const p = await backendOrSkip(n);
    if (p === undefined) ok = false;
    else out[n] = p;
  }
  return ok ? out : undefined;
}
