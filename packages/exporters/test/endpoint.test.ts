import { afterEach, describe, expect, it } from 'vitest';
import { OtlpConfigError } from '../src/errors.js';
import { DEFAULT_OTLP_TRACES_URL, parseOtlpHeaders, resolveOtlpTracesEndpoint } from '../src/endpoint.js';
import { captureDiag } from './helpers.js';

const resolve = (env: Record<string, string>, options: Parameters<typeof resolveOtlpTracesEndpoint>[0] = {}) => resolveOtlpTracesEndpoint({ ...options, env });

describe('resolveOtlpTracesEndpoint: URL', () => {
  it('defaults to localhost:4318/v1/traces', () => {
    expect(resolve({})).toMatchObject({ url: DEFAULT_OTLP_TRACES_URL, source: 'default', protocol: 'http/protobuf', compression: 'none', timeoutMillis: 10_000 });
  });

  it('uses OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as is, appending nothing', () => {
    expect(resolve({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318' }).url).toBe('http://collector:4318');
    expect(resolve({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://x.example/custom/ingest' })).toMatchObject({
      url: 'https://x.example/custom/ingest',
      source: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
    });
  });

  it('treats OTEL_EXPORTER_OTLP_ENDPOINT as a base and appends v1/traces, with or without a trailing slash', () => {
    expect(resolve({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).url).toBe('http://collector:4318/v1/traces');
    expect(resolve({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).url).toBe('http://collector:4318/v1/traces');
    expect(resolve({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://x.example/api/public/otel' }).url).toBe('https://x.example/api/public/otel/v1/traces');
    expect(resolve({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://x.example/api/public/otel/' })).toMatchObject({
      url: 'https://x.example/api/public/otel/v1/traces',
      source: 'OTEL_EXPORTER_OTLP_ENDPOINT',
    });
  });

  it('appends to a base that already ends in /v1/traces, as the spec says, and warns about it', () => {
    const resolved = resolve({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/v1/traces' });
    expect(resolved.url).toBe('http://collector:4318/v1/traces/v1/traces');
    expect(resolved.warnings.join()).toContain('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  });

  it('prefers the option, then the traces variable, then the base variable', () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://base:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://full:4318/t' };
    expect(resolve(env).url).toBe('http://full:4318/t');
    expect(resolve(env, { endpoint: 'http://code:4318' })).toMatchObject({ url: 'http://code:4318/v1/traces', source: 'option' });
  });

  it('accepts a code option with or without /v1/traces', () => {
    expect(resolve({}, { endpoint: 'http://h:4318' }).url).toBe('http://h:4318/v1/traces');
    expect(resolve({}, { endpoint: 'http://h:4318/' }).url).toBe('http://h:4318/v1/traces');
    expect(resolve({}, { endpoint: 'http://h:4318/v1/traces' }).url).toBe('http://h:4318/v1/traces');
    expect(resolve({}, { endpoint: 'http://h:4318/v1/traces/' }).url).toBe('http://h:4318/v1/traces');
    expect(resolve({}, { endpoint: 'http://h:4318/prefix' }).url).toBe('http://h:4318/prefix/v1/traces');
  });

  it('treats empty variables as unset', () => {
    expect(resolve({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: ' ', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://base:4318' }).url).toBe('http://base:4318/v1/traces');
  });

  it('throws a typed config error naming the setting for an unusable URL', () => {
    expect(() => resolve({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318:x' })).toThrow(OtlpConfigError);
    try {
      resolve({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'not a url' });
    } catch (error) {
      expect(error).toBeInstanceOf(OtlpConfigError);
      expect((error as OtlpConfigError).setting).toBe('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
    }
    expect(() => resolve({}, { endpoint: 'ftp://h/x' })).toThrow(/http/);
  });
});

describe('resolveOtlpTracesEndpoint: protocol, headers, timeout, compression', () => {
  let restore = (): void => undefined;
  afterEach(() => restore());

  it('reads the protocol, signal-specific first, and lets the option win', () => {
    expect(resolve({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }).protocol).toBe('http/json');
    expect(resolve({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf' }).protocol).toBe('http/protobuf');
    expect(resolve({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, { protocol: 'http/protobuf' }).protocol).toBe('http/protobuf');
  });

  it('falls back from grpc to http/protobuf with exactly one warning', () => {
    const diag = captureDiag();
    restore = diag.restore;
    const resolved = resolve({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' });
    expect(resolved.protocol).toBe('http/protobuf');
    expect(resolved.warnings).toHaveLength(1);
    expect(diag.warnings).toHaveLength(1);
    expect(diag.warnings[0]).toContain('grpc');
    expect(diag.warnings[0]).toContain('4318');
  });

  it('falls back from an unknown protocol with a warning', () => {
    const resolved = resolve({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'thrift' });
    expect(resolved.protocol).toBe('http/protobuf');
    expect(resolved.warnings[0]).toContain('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL');
  });

  it('parses k=v,k2=v2 headers, URL-decoded and trimmed, a value may contain =', () => {
    expect(parseOtlpHeaders('Authorization=Basic%20cGs6c2s%3D , x-tenant = a%2Cb,api-key=abc==')).toEqual({
      Authorization: 'Basic cGs6c2s=',
      'x-tenant': 'a,b',
      'api-key': 'abc==',
    });
  });

  it('skips header entries without a key and reports them', () => {
    const warnings: string[] = [];
    expect(parseOtlpHeaders('novalue,=x,,ok=1,bad=%E0%A4%A', warnings)).toEqual({ ok: '1', bad: '%E0%A4%A' });
    expect(warnings).toHaveLength(3);
  });

  it('merges generic, traces and code headers per name, ignoring case', () => {
    const resolved = resolve(
      { OTEL_EXPORTER_OTLP_HEADERS: 'authorization=generic,x-a=1', OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'Authorization=traces,x-b=2' },
      { headers: { 'X-B': 'code' } },
    );
    expect(resolved.headers).toEqual({ Authorization: 'traces', 'x-a': '1', 'X-B': 'code' });
  });

  it('reads timeout and compression, signal-specific first, and corrects bad values', () => {
    expect(resolve({ OTEL_EXPORTER_OTLP_TIMEOUT: '2500', OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip' })).toMatchObject({ timeoutMillis: 2500, compression: 'gzip' });
    expect(resolve({ OTEL_EXPORTER_OTLP_TIMEOUT: '2500', OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '700' }).timeoutMillis).toBe(700);
    const bad = resolve({ OTEL_EXPORTER_OTLP_TIMEOUT: 'soon', OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'brotli' });
    expect(bad).toMatchObject({ timeoutMillis: 10_000, compression: 'none' });
    expect(bad.warnings).toHaveLength(2);
  });
});
