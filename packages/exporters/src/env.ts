import { diag } from '@opentelemetry/api';
import type { Env } from './types.js';

/** A variable's trimmed value; empty counts as unset, as the OTel spec asks. */
export function readEnv(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

const warnThroughDiag = (message: string): void => diag.warn(`voicetrace: ${message}`);

/**
 * A positive integer from code or the environment. A bad value is corrected to the default with one
 * warning instead of failing (the BatchSpanProcessor's way with bad options).
 */
export function positiveIntSetting(
  option: number | undefined,
  env: Env,
  name: string,
  fallback: number,
  warn: (message: string) => void = warnThroughDiag,
): number {
  if (option !== undefined) {
    if (Number.isSafeInteger(option) && option > 0) return option;
    warn(`the option for ${name} must be a positive integer (got ${option}); using ${fallback}`);
    return fallback;
  }
  const raw = readEnv(env, name);
  if (raw === undefined) return fallback;
  const parsed = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (Number.isSafeInteger(parsed) && parsed > 0) return parsed;
  warn(`${name}=${JSON.stringify(raw)} is not a positive integer; using ${fallback}`);
  return fallback;
}
