// The pure parts: content types, object URLs, redaction, error classification, the report entry, and
// the uploader's and the egress helper's refusals of bad options (results, never throws).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReportUpload } from '@voicetrace/report';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  contentTypeFor,
  createS3Uploader,
  isTransientS3Error,
  isTransientTwirpError,
  objectUrl,
  startAudioEgress,
  toReportUpload,
  uploadSessionArtifacts,
  type ReportUploadEntry,
  type UploadResult,
} from '../src/index.js';
import { redact } from '../src/redact.js';

// Compile-time (tsconfig.test.json): our entry is exactly the report's `ReportUpload`, both ways.
const _toReport: ReportUpload = {} as ReportUploadEntry;
const _fromReport: ReportUploadEntry = {} as ReportUpload;
const _result: ReportUpload = {} as UploadResult;
void [_toReport, _fromReport, _result];

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('contentTypeFor', () => {
  it('maps the artifact extensions, case-insensitively', () => {
    expect(contentTypeFor('/tmp/job/recording.ogg')).toBe('audio/ogg');
    expect(contentTypeFor('CALL.OGG')).toBe('audio/ogg');
    expect(contentTypeFor('report.json')).toBe('application/json');
    expect(contentTypeFor('report.html')).toBe('text/html; charset=utf-8');
    expect(contentTypeFor('traces.jsonl')).toBe('application/x-ndjson');
    expect(contentTypeFor('noext')).toBe('application/octet-stream');
  });
});

describe('objectUrl', () => {
  it('is path-style under an endpoint, with the key segments encoded', () => {
    expect(objectUrl({ bucket: 'calls', key: 'a b/r#1.ogg', endpoint: 'http://127.0.0.1:9000/' })).toBe('http://127.0.0.1:9000/calls/a%20b/r%231.ogg');
    expect(objectUrl({ bucket: 'calls', key: 'k', endpoint: 'https://user:pw@minio.example.com/base/' })).toBe('https://minio.example.com/base/calls/k');
    expect(objectUrl({ bucket: 'calls', key: 'k', endpoint: 'https://r2.example.com', forcePathStyle: false })).toBe('https://calls.r2.example.com/k');
  });
  it('is virtual-hosted on AWS, path-style for dotted buckets, or s3://', () => {
    expect(objectUrl({ bucket: 'calls', key: 's/recording.ogg', region: 'eu-west-1' })).toBe('https://calls.s3.eu-west-1.amazonaws.com/s/recording.ogg');
    expect(objectUrl({ bucket: 'calls', key: 'k' })).toBe('https://calls.s3.us-east-1.amazonaws.com/k');
    expect(objectUrl({ bucket: 'my.calls', key: 'k', region: 'eu-west-1' })).toBe('https://s3.eu-west-1.amazonaws.com/my.calls/k');
    expect(objectUrl({ bucket: 'calls', key: 'a/b.json', style: 's3', endpoint: 'http://x' })).toBe('s3://calls/a/b.json');
  });
});

describe('redact', () => {
  it('removes listed secrets, bearer JWTs, SigV4 query credentials and URL passwords', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJ2aWRlbyI6eyJyb29tUmVjb3JkIjp0cnVlfX0.5tqNVZpBTWgFnMj_naKutbSIYZuXVCdvxQ5s5UbQoK4';
    const text = `invalid token: ${jwt}, error: bad; key=AKIAEXAMPLE secret s3cr3t-value https://u:pw@h/x?X-Amz-Signature=abc123&X-Amz-Credential=AKIA%2F Authorization header missing, Bearer abcdefghijkl`;
    const out = redact(text, ['s3cr3t-value', 'AKIAEXAMPLE', '']);
    for (const leaked of [jwt, 's3cr3t-value', 'AKIAEXAMPLE', 'pw@', 'abc123', 'abcdefghijkl']) expect(out).not.toContain(leaked);
    expect(out).toContain('invalid token: [redacted token], error: bad');
    expect(out).toContain('Authorization header missing'); // words are not mistaken for credentials
  });
});

describe('transient errors', () => {
  const s3Error = (name: string, status?: number): Error => Object.assign(new Error(name), { name, $metadata: status ? { httpStatusCode: status } : {} });
  it('S3: network, 5xx, 408, 429 and throttling codes are retried; 4xx are not', () => {
    expect(isTransientS3Error(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isTransientS3Error(s3Error('InternalError', 500))).toBe(true);
    expect(isTransientS3Error(s3Error('Unknown', 502))).toBe(true);
    expect(isTransientS3Error(s3Error('SlowDown', 503))).toBe(true);
    expect(isTransientS3Error(s3Error('RequestTimeout', 400))).toBe(true);
    expect(isTransientS3Error(s3Error('TooManyRequests', 429))).toBe(true);
    expect(isTransientS3Error(s3Error('AccessDenied', 403))).toBe(false);
    expect(isTransientS3Error(s3Error('NoSuchBucket', 404))).toBe(false);
    expect(isTransientS3Error(s3Error('BadDigest', 400))).toBe(false);
    expect(isTransientS3Error('not an error')).toBe(false);
  });
  it('Twirp: transport errors and code-less gateway answers are retried; LiveKit verdicts are not', () => {
    const twirp = (status: number, code?: string): Error => Object.assign(new Error('m'), { status, code });
    expect(isTransientTwirpError(new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) }))).toBe(true);
    expect(isTransientTwirpError(twirp(502))).toBe(true);
    expect(isTransientTwirpError(twirp(429))).toBe(true);
    expect(isTransientTwirpError(twirp(503, 'unavailable'))).toBe(false);
    expect(isTransientTwirpError(twirp(404, 'not_found'))).toBe(false);
    expect(isTransientTwirpError(twirp(401))).toBe(false);
    expect(isTransientTwirpError(Object.assign(new Error('timeout'), { name: 'TimeoutError' }))).toBe(false);
    // fetch's TypeError for a request it refuses to send (a forbidden port, a bad URL) is not a network hiccup.
    expect(isTransientTwirpError(new TypeError('fetch failed', { cause: new Error('bad port') }))).toBe(false);
  });
});

describe('toReportUpload', () => {
  it('keeps exactly the fields the report schema allows', async () => {
    const { REPORT_SCHEMA } = await import('@voicetrace/report/internal');
    const allowed = Object.keys((REPORT_SCHEMA as { $defs: { upload: { properties: object } } }).$defs.upload.properties).sort();
    const full: UploadResult = { what: 'recording', status: 'uploaded', url: 'http://x/b/k', attempts: 2, bucket: 'b', key: 'k', contentType: 'audio/ogg', bytes: 3, durationMs: 5 };
    expect(toReportUpload(full)).toEqual({ what: 'recording', status: 'uploaded', url: 'http://x/b/k', attempts: 2 });
    const failed = toReportUpload({ what: 'egress', status: 'failed', attempts: 1, error: 'e' });
    expect(Object.keys(failed).every((k) => allowed.includes(k))).toBe(true);
    expect(allowed).toEqual(['attempts', 'error', 'status', 'url', 'what']);
  });
});

describe('bad options are results, not throws', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vt-recording-'));
  const file = join(dir, 'report.json');
  writeFileSync(file, '{}');

  it('no bucket, a bad endpoint, an empty key, a missing file, a directory', async () => {
    const noBucket = createS3Uploader({ bucket: '' });
    expect(await noBucket.upload(file, 'k.json')).toMatchObject({ status: 'failed', attempts: 0, error: expect.stringContaining('no bucket configured') });
    const badEndpoint = createS3Uploader({ bucket: 'b', endpoint: 'ftp://user:hunter2@host' });
    const r = await badEndpoint.upload(file, 'k.json');
    expect(r).toMatchObject({ status: 'failed', attempts: 0 });
    expect(r.error).toContain('not an http(s) URL');
    expect(r.error).not.toContain('hunter2');
    const ok = createS3Uploader({ bucket: 'b', endpoint: 'http://127.0.0.1:9' });
    expect(await ok.upload(file, '')).toMatchObject({ status: 'failed', attempts: 0, error: expect.stringContaining('key is empty') });
    const missing = await ok.upload(join(dir, 'nope.ogg'), 's/recording.ogg');
    expect(missing).toMatchObject({ what: 'recording', status: 'failed', attempts: 0, contentType: 'audio/ogg' });
    expect(missing.error).toMatch(/cannot read the local file: .*ENOENT/);
    expect(missing.error).toContain('bucket "b" key "s/recording.ogg" at http://127.0.0.1:9');
    expect(await ok.upload(undefined as unknown as string, 'k')).toMatchObject({ status: 'failed', attempts: 0, error: expect.stringContaining('cannot read the local file') });
    expect(await ok.upload(dir, 'd')).toMatchObject({ status: 'failed', error: expect.stringContaining('not a regular file') });
    expect(ok.stats()).toMatchObject({ uploads: 4, uploaded: 0, failed: 4, attempts: 0 });
  });

  it('an uploader that throws still gives results, in order', async () => {
    const results = await uploadSessionArtifacts({
      uploader: { timeoutMs: 1000, upload: () => Promise.reject(new Error('boom')) },
      sessionId: 'room/../x',
      recordingPath: '/x/rec.OGG',
      reportPaths: ['/x/report.json'],
    });
    expect(results.map((r) => [r.what, r.status, r.key])).toEqual([
      ['recording', 'failed', 'room_.._x/recording.ogg'],
      ['report', 'failed', 'room_.._x/report.json'],
    ]);
    expect(results[0]?.error).toContain('threw: boom');
  });

  it('reads the standard AWS variables', () => {
    vi.stubEnv('AWS_ENDPOINT_URL_S3', '');
    vi.stubEnv('AWS_ENDPOINT_URL', 'http://127.0.0.1:4566');
    vi.stubEnv('AWS_REGION', 'eu-central-1');
    vi.stubEnv('AWS_S3_FORCE_PATH_STYLE', '');
    const u = createS3Uploader({ bucket: 'calls', prefix: '/prod' });
    expect([u.endpoint, u.region, u.objectUrl('s/r.ogg')]).toEqual(['http://127.0.0.1:4566', 'eu-central-1', 'http://127.0.0.1:4566/calls/prod/s/r.ogg']);
    vi.stubEnv('AWS_ENDPOINT_URL_S3', 'http://127.0.0.1:9000');
    vi.stubEnv('AWS_S3_FORCE_PATH_STYLE', 'false');
    expect(createS3Uploader({ bucket: 'calls' }).objectUrl('k')).toBe('http://calls.127.0.0.1:9000/k');
    vi.stubEnv('AWS_ENDPOINT_URL_S3', '');
    vi.stubEnv('AWS_ENDPOINT_URL', '');
    vi.stubEnv('AWS_REGION', '');
    vi.stubEnv('AWS_DEFAULT_REGION', '');
    vi.stubEnv('AWS_S3_FORCE_PATH_STYLE', '');
    const aws = createS3Uploader({ bucket: 'calls', urlStyle: 's3' });
    expect([aws.endpoint, aws.region, aws.objectUrl('k')]).toEqual([undefined, 'us-east-1', 's3://calls/k']);
    expect(createS3Uploader({ bucket: 'calls' }).objectUrl('k')).toBe('https://calls.s3.us-east-1.amazonaws.com/k');
  });

  it('egress: no url, no keys, no room, an empty bucket', async () => {
    vi.stubEnv('LIVEKIT_URL', '');
    vi.stubEnv('LIVEKIT_API_KEY', '');
    vi.stubEnv('LIVEKIT_API_SECRET', '');
    expect(await startAudioEgress({ roomName: 'r' })).toMatchObject({ what: 'egress', status: 'failed', attempts: 0, error: expect.stringContaining('no LiveKit URL') });
    expect(await startAudioEgress({ roomName: 'r', url: 'ws://x' })).toMatchObject({ status: 'failed', error: expect.stringContaining('no API key and secret') });
    expect(await startAudioEgress({ roomName: ' ', url: 'ws://x', apiKey: 'k', apiSecret: 's' })).toMatchObject({ status: 'failed', error: expect.stringContaining('no room name') });
    expect(await startAudioEgress({ roomName: 'r', url: 'ws://x', apiKey: 'k', apiSecret: 's', s3: { bucket: '' } })).toMatchObject({ status: 'failed', error: expect.stringContaining('s3.bucket') });
    expect(await startAudioEgress({ roomName: 'r', url: 'ftp://x', apiKey: 'k', apiSecret: 's' })).toMatchObject({ status: 'failed', error: expect.stringContaining('must start with') });
  });
});
