import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

let cachedRoot: string | undefined;

/** The monorepo root: the nearest ancestor of this module holding `collector-config/` and `scripts/`. */
export function repoRoot(): string {
  if (cachedRoot) return cachedRoot;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'collector-config')) && existsSync(join(dir, 'scripts'))) return (cachedRoot = dir);
    const parent = dirname(dir);
    if (parent === dir) throw new Error('test-backends: cannot find the repository root (collector-config/ and scripts/)');
    dir = parent;
  }
}

/** Absolute path of a file in `collector-config/` (absolute paths pass through). */
export function collectorConfigPath(file: string): string {
  return resolve(repoRoot(), 'collector-config', file);
}
