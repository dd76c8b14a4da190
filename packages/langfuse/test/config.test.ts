import { describe, expect, it } from 'vitest';
import { DEFAULT_LANGFUSE_BASE_URL, langfuseAuthorization, langfuseConfigFromEnv, langfuseTracesUrl } from '../src/config.js';
import { LangfuseConfigError } from '../src/errors.js';
import { createLangfuseSpanExporter } from '../src/exporter.js';

const keys = { LANGFUSE_PUBLIC_KEY: 'pk-lf-1', LANGFUSE_SECRET_KEY: 'sk-lf-1' };

function configError(env: Record<string, string>): LangfuseConfigError {
  try {
    langfuseConfigFromEnv(env);
  } catch (error) {
    if (error instanceof LangfuseConfigError) return error;
    throw error;
  }
  throw new Error('expected a LangfuseConfigError');
}

describe('langfuseConfigFromEnv', () => {
  it('is undefined when no LANGFUSE_* variable is set (empty ones count as unset)', () => {
    expect(langfuseConfigFromEnv({})).toBeUndefined();
    expect(langfuseConfigFromEnv({ LANGFUSE_PUBLIC_KEY: '', LANGFUSE_SECRET_KEY: ' ', LANGFUSE_HOST: '' })).toBeUndefined();
  });

  it('defaults the base URL to LangFuse Cloud (EU) only when both keys are set and no URL is', () => {
    expect(langfuseConfigFromEnv(keys)).toEqual({ publicKey: 'pk-lf-1', secretKey: 'sk-lf-1', baseUrl: DEFAULT_LANGFUSE_BASE_URL });
  });

  it('reads LANGFUSE_BASE_URL, or the older LANGFUSE_HOST; LANGFUSE_BASE_URL wins', () => {
    expect(langfuseConfigFromEnv({ ...keys, LANGFUSE_HOST: 'https://us.cloud.langfuse.com' })?.baseUrl).toBe('https://us.cloud.langfuse.com');
    expect(langfuseConfigFromEnv({ ...keys, LANGFUSE_HOST: 'http://old:3000', LANGFUSE_BASE_URL: 'http://new:3000' })?.baseUrl).toBe('http://new:3000');
  });

  it('throws one typed error naming the missing key when half set', () => {
    const error = configError({ LANGFUSE_PUBLIC_KEY: 'pk-lf-1' });
    expect(error.missing).toEqual(['LANGFUSE_SECRET_KEY']);
    expect(error.message).toContain('LANGFUSE_SECRET_KEY is not set (LANGFUSE_PUBLIC_KEY is)');
  });

  it('names both keys when only a URL is set', () => {
    const error = configError({ LANGFUSE_BASE_URL: 'http://localhost:3000' });
    expect(error.missing).toEqual(['LANGFUSE_PUBLIC_KEY', 'LANGFUSE_SECRET_KEY']);
    expect(error.message).toContain('LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY are not set (LANGFUSE_BASE_URL is)');
  });

  it('rejects a URL that is not http(s)', () => {
    expect(configError({ ...keys, LANGFUSE_HOST: 'cloud.langfuse.com' }).invalid).toEqual(['LANGFUSE_HOST']);
  });
});

describe('langfuseTracesUrl and langfuseAuthorization', () => {
  it('appends the OTel traces path, safe against slashes and an OTel path already given', () => {
    const expected = 'https://cloud.langfuse.com/api/public/otel/v1/traces';
    for (const base of ['https://cloud.langfuse.com', 'https://cloud.langfuse.com/', 'https://cloud.langfuse.com/api/public/otel/', expected, `${expected}/`]) {
      expect(langfuseTracesUrl(base)).toBe(expected);
    }
    expect(langfuseTracesUrl('http://host:3000/langfuse/')).toBe('http://host:3000/langfuse/api/public/otel/v1/traces');
  });

  it('a baseUrl given in code that is not an http(s) URL is the typed error naming it, never a TypeError', () => {
    for (const baseUrl of ['cloud.langfuse.com', 'not a url', 'ftp://cloud.langfuse.com']) {
      for (const call of [() => langfuseTracesUrl(baseUrl), () => createLangfuseSpanExporter({ publicKey: 'pk-lf-1', secretKey: 'sk-lf-1', baseUrl })]) {
        expect(call).toThrow(LangfuseConfigError);
        expect(call).toThrow(expect.objectContaining({ invalid: ['baseUrl'], missing: [], message: expect.stringContaining(JSON.stringify(baseUrl)) }));
      }
    }
  });

  it('is Basic base64(publicKey:secretKey)', () => {
    expect(langfuseAuthorization({ publicKey: 'pk-lf-1', secretKey: 'sk-lf-1' })).toBe(`Basic ${Buffer.from('pk-lf-1:sk-lf-1').toString('base64')}`);
  });
});
