import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CallResult } from './call.js';
import { QUIRKS, type QuirkId } from './quirks.js';

/**
 * What one compatibility scenario established about a plugin: the stable facts the README's table
 * shows (version, stages verified, where each figure comes from, the quirks observed). The suite
 * checks each run's facts against the committed `compat.json` (rewritten with
 * `VOICETRACE_COMPAT_WRITE=1`), so a plugin that changes behaviour fails a test, and the README's
 * table is rendered from that file (see table.ts).
 */
export interface CompatEntry {
  /** npm package name. */
  plugin: string;
  /** Installed version (read from the package). */
  version: string;
  /** What it is used as: `STT (streaming)`, `LLM`, `TTS (non-streaming)` ... */
  role: string;
  /** The scenario (test file) that verified it. */
  scenario: string;
  /** Stages whose figures were checked against injected truth. */
  stages: string[];
  /** Figure -> `provider` (the plugin reports it) or `voicetrace` (measured from the SDK's events and spans). */
  sources: Record<string, 'provider' | 'voicetrace'>;
  /** Quirks this run observed. */
  quirks: QuirkId[];
}

/** The figures a run compared: injected (or the SDK's anchor) against voicetrace, for the closing note. */
export interface FigureRow {
  figure: string;
  turn?: number | undefined;
  injected: number;
  voicetrace: number;
}

const here = dirname(fileURLToPath(import.meta.url));
/** The committed facts, one entry per plugin and scenario. */
export const COMPAT_FILE = join(here, '..', 'compat.json');

/** The installed version of an npm package. */
export function installedVersion(name: string): string {
  const require = createRequire(import.meta.url);
  let dir = dirname(require.resolve(name));
  while (!existsSync(join(dir, 'package.json')) || (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string }).name !== name) {
    const parent = dirname(dir);
    if (parent === dir) return 'unknown';
    dir = parent;
  }
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

/** The committed entries. */
export function readCompat(): CompatEntry[] {
  return existsSync(COMPAT_FILE) ? (JSON.parse(readFileSync(COMPAT_FILE, 'utf8')) as CompatEntry[]) : [];
}

/**
 * This run's entry against the committed one (same plugin and scenario): returns the committed
 * entry, or writes this one when `VOICETRACE_COMPAT_WRITE=1`.
 */
export function committedEntry(entry: CompatEntry): CompatEntry | undefined {
  for (const quirk of entry.quirks) if (!QUIRKS[quirk]) throw new Error(`unknown quirk ${quirk}`);
  const entries = readCompat();
  const index = entries.findIndex((e) => e.plugin === entry.plugin && e.scenario === entry.scenario);
  if (process.env.VOICETRACE_COMPAT_WRITE === '1') {
    if (index >= 0) entries[index] = entry;
    else entries.push(entry);
    entries.sort((a, b) => a.plugin.localeCompare(b.plugin) || a.scenario.localeCompare(b.scenario));
    writeFileSync(COMPAT_FILE, `${JSON.stringify(entries, null, 2)}\n`);
    return entry;
  }
  return index >= 0 ? entries[index] : undefined;
}

/** Keeps a run's compared figures (not committed: they vary run to run) for the closing note's table. */
export function recordFigures(scenario: string, rows: FigureRow[], result?: CallResult): void {
  const dir = process.env.VOICETRACE_COMPAT_OUT ?? join(tmpdir(), 'voicetrace-compat');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${scenario}.json`), JSON.stringify({ scenario, rows, usage: result?.summary.usage, usageCheck: result?.summary.usageCheck, counters: result?.counters }, null, 2));
}
