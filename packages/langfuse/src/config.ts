import { redactUrl } from '@voicetrace/exporters';
import { LangfuseConfigError } from './errors.js';
import type { LangfuseConfig } from './types.js';

/** The base URL used when both keys are set and no URL is (LangFuse Cloud, EU region). */
export const DEFAULT_LANGFUSE_BASE_URL = 'https://cloud.langfuse.com';

/** LangFuse's OTLP/HTTP traces path, below the base URL. */
export const LANGFUSE_OTEL_TRACES_PATH = '/api/public/otel/v1/traces';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads LangFuse's settings from the environment:
 *
 * - `LANGFUSE_PUBLIC_KEY` and `LANGFUSE_SECRET_KEY`: both required.
 * - `LANGFUSE_BASE_URL`, or the older `LANGFUSE_HOST` (`LANGFUSE_BASE_URL` wins when both are set).
 *   When both keys are set and neither URL variable is, the base is `https://cloud.langfuse.com`
 *   (LangFuse Cloud, EU); US projects must set `https://us.cloud.langfuse.com`.
 *
 * None of the four set (empty counts as unset): `undefined`, LangFuse export is off.
 *
 * @throws {LangfuseConfigError} when only some are set (naming the missing keys) or the URL is not an
 * http(s) URL: call this at setup, where a half-configured LangFuse should stop the start.
 */
export function langfuseConfigFromEnv(env: Env = process.env): LangfuseConfig | undefined {
  const read = (name: string): string | undefined => env[name]?.trim() || undefined;
  const publicKey = read('LANGFUSE_PUBLIC_KEY');
  const secretKey = read('LANGFUSE_SECRET_KEY');
  const urlVariable = read('LANGFUSE_BASE_URL') !== undefined ? 'LANGFUSE_BASE_URL' : 'LANGFUSE_HOST';
  const baseUrl = read(urlVariable);
  if (publicKey === undefined && secretKey === undefined && baseUrl === undefined) return undefined;

  const missing = [publicKey === undefined ? 'LANGFUSE_PUBLIC_KEY' : undefined, secretKey === undefined ? 'LANGFUSE_SECRET_KEY' : undefined].filter(
    (name): name is string => name !== undefined,
  );
  if (missing.length > 0) {
    const set = ['LANGFUSE_PUBLIC_KEY', 'LANGFUSE_SECRET_KEY', urlVariable].filter((name) => read(name) !== undefined);
    const seen = set.map((name) => `${name}=${JSON.stringify(name === urlVariable ? redactUrl(read(name)!) : maskKey(read(name)!))}`);
    throw new LangfuseConfigError(
      `voicetrace: LangFuse is configured halfway: ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set ` +
        `(${set.join(', ')} ${set.length > 1 ? 'are' : 'is'}). Values seen: ${seen.join(', ')}. ` +
        'Set both keys to export to LangFuse, or unset every LANGFUSE_* variable to turn it off.',
      missing,
    );
  }
  const resolved = baseUrl ?? DEFAULT_LANGFUSE_BASE_URL;
  if (!isHttpUrl(resolved)) {
    throw new LangfuseConfigError(
      `voicetrace: ${urlVariable}=${JSON.stringify(redactUrl(resolved))} is not an http(s) URL; expected e.g. ${DEFAULT_LANGFUSE_BASE_URL}`,
      [],
      [urlVariable],
    );
  }
  return { publicKey: publicKey!, secretKey: secretKey!, baseUrl: resolved };
}

/**
 * `<base>/api/public/otel/v1/traces`, safe against trailing slashes. A base that already carries the
 * OTel path (`.../api/public/otel`, the value LangFuse's docs give for `OTEL_EXPORTER_OTLP_ENDPOINT`,
 * or the full traces URL) is completed rather than doubled.
 *
 * @throws {LangfuseConfigError} when `baseUrl` is not an http(s) URL (`cloud.langfuse.com`, without a
 * scheme): a `baseUrl` given in code gets the same typed error as the variables, never `new URL`'s TypeError.
 */
export function langfuseTracesUrl(baseUrl: string): string {
  if (!isHttpUrl(baseUrl)) {
    throw new LangfuseConfigError(
      `voicetrace: the LangFuse baseUrl (${JSON.stringify(redactUrl(baseUrl))}) is not an http(s) URL; expected e.g. ${DEFAULT_LANGFUSE_BASE_URL}`,
      [],
      ['baseUrl'],
    );
  }
  const url = new URL(baseUrl);
  const path = url.pathname.replace(/\/+$/, '');
  if (path.endsWith(LANGFUSE_OTEL_TRACES_PATH)) url.pathname = path;
  else if (path.endsWith('/api/public/otel')) url.pathname = `${path}/v1/traces`;
  else url.pathname = `${path}${LANGFUSE_OTEL_TRACES_PATH}`;
  return url.href;
}

/**
 * What is probably wrong with a LangFuse configuration that is complete: keys swapped or pasted into the
 * wrong variable (LangFuse's public keys start `pk-lf-`, secret keys `sk-lf-`), or no base URL (the EU
 * cloud is then used, which a US or self-hosted project would refuse with 401). One sentence each.
 */
export function langfuseConfigWarnings(config: LangfuseConfig, env: Env = process.env): string[] {
  const warnings: string[] = [];
  if (config.publicKey.startsWith('sk-lf-') && config.secretKey.startsWith('pk-lf-')) {
    warnings.push('voicetrace: LANGFUSE_PUBLIC_KEY holds a secret key (sk-lf-...) and LANGFUSE_SECRET_KEY a public one: they look swapped, and LangFuse will answer 401.');
  } else {
    if (!config.publicKey.startsWith('pk-lf-')) warnings.push('voicetrace: LANGFUSE_PUBLIC_KEY does not start with pk-lf- (LangFuse public keys do); check the value.');
    if (!config.secretKey.startsWith('sk-lf-')) warnings.push('voicetrace: LANGFUSE_SECRET_KEY does not start with sk-lf- (LangFuse secret keys do); check the value.');
  }
  if (!env.LANGFUSE_BASE_URL?.trim() && !env.LANGFUSE_HOST?.trim() && config.baseUrl === DEFAULT_LANGFUSE_BASE_URL) {
    warnings.push(`voicetrace: LANGFUSE_BASE_URL is not set: exporting to ${DEFAULT_LANGFUSE_BASE_URL} (EU). Set it to https://us.cloud.langfuse.com or your own host otherwise.`);
  }
  return warnings;
}

/** `Basic base64(publicKey:secretKey)`, the header LangFuse authenticates with. */
export function langfuseAuthorization(config: Pick<LangfuseConfig, 'publicKey' | 'secretKey'>): string {
  return `Basic ${Buffer.from(`${config.publicKey}:${config.secretKey}`, 'utf8').toString('base64')}`;
}

/** A key as it may be shown: LangFuse's `pk-lf-`/`sk-lf-` prefix when it has one, never the rest. */
function maskKey(value: string): string {
  return `${/^[ps]k-lf-/.exec(value)?.[0] ?? ''}***`;
}

function isHttpUrl(text: string): boolean {
  try {
    const { protocol } = new URL(text);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}
