// The uploader against local HTTP servers that misbehave on purpose: one that answers slowly (the
// bound holds, the AbortSignal works, the request is really cut), one that throttles then accepts
// (retries, and what goes on the wire), one that refuses (no retry).
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Uploader, uploadSessionArtifacts, type S3Uploader } from '../src/index.js';
import { localServer, s3Error, s3Ok, timed, type LocalServer } from './helpers.js';

const credentials = { accessKeyId: 'AKIASLOWSERVERLEAK', secretAccessKey: 'slow-server-secret-never-shown' };
const dir = mkdtempSync(join(tmpdir(), 'vt-recording-slow-'));
const ogg = join(dir, 'recording.ogg');
const json = join(dir, 'report.json');
const html = join(dir, 'report.html');
writeFileSync(ogg, Buffer.concat([Buffer.from('OggS'), Buffer.alloc(300_000, 3)]));
writeFileSync(json, '{"a":1}');
writeFileSync(html, '<p>x</p>');

const SLOW_MS = 5_000;

describe('a server that answers slowly', () => {
  let slow: LocalServer;
  /** When the server saw each request's connection close before it answered. */
  const cut: number[] = [];
  const uploaders: S3Uploader[] = [];
  const uploader = (extra: Partial<Parameters<typeof createS3Uploader>[0]> = {}): S3Uploader => {
    const u = createS3Uploader({ bucket: 'calls', endpoint: slow.url, credentials, ...extra });
    uploaders.push(u);
    return u;
  };
  beforeAll(async () => {
    slow = await localServer((_req, res) => {
      const timer = setTimeout(() => s3Ok(res), SLOW_MS);
      res.on('close', () => {
        if (!res.writableFinished) cut.push(Date.now());
        clearTimeout(timer);
      });
    });
  });
  afterAll(async () => {
    for (const u of uploaders) u.destroy();
    await slow.close();
  });

  it('the time bound holds: failed at the bound, the request cut', async () => {
    const u = uploader({ timeoutMs: 1500 });
    const before = slow.requests.length;
    const cutBefore = cut.length;
    const { value: r, ms } = await timed(() => u.upload(ogg, 's/recording.ogg'));
    expect(r).toMatchObject({ status: 'failed', attempts: 1 });
    expect(r.error).toContain('timed out: the 1500 ms bound was reached during attempt 1');
    expect(r.error).toContain(`s3 bucket "calls" key "s/recording.ogg" at ${slow.url}`);
    expect(ms).toBeGreaterThanOrEqual(1490);
    expect(ms).toBeLessThan(1500 + 250);
    expect(slow.requests.length - before, 'the request reached the server').toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(cut.length - cutBefore, 'the server saw the request cut, not left hanging').toBe(1);
    console.log(`[recording] slow server, 1500 ms bound: failed in ${ms} ms`);
  });

  it('an AbortSignal ends the upload promptly', async () => {
    const u = uploader(); // the default 10 s bound
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const { value: r, ms } = await timed(() => u.upload(ogg, 's/recording.ogg', undefined, { signal: controller.signal }));
    expect(r).toMatchObject({ status: 'failed', attempts: 1 });
    expect(r.error).toMatch(/aborted by the caller after \d+ ms during attempt 1/);
    expect(ms).toBeLessThan(300 + 200);
    console.log(`[recording] slow server, aborted at 300 ms: failed in ${ms} ms`);
  });

  it("the uploader's own signal aborts its uploads", async () => {
    const controller = new AbortController();
    const u = uploader({ signal: controller.signal });
    setTimeout(() => controller.abort(), 200);
    const { value: r, ms } = await timed(() => u.upload(json, 's/report.json'));
    expect(r).toMatchObject({ status: 'failed', error: expect.stringContaining('aborted by the caller') });
    expect(ms).toBeLessThan(200 + 200);
    expect((await u.upload(json, 's/report.json')).error).toMatch(/aborted by the caller after \d ms before the first request$/);
  });

  it('uploadSessionArtifacts: one overall bound for all files, and its signal', async () => {
    const u = uploader();
    const { value: results, ms } = await timed(() => uploadSessionArtifacts({ uploader: u, sessionId: 's', recordingPath: ogg, reportPaths: [json, html], timeoutMs: 1200 }));
    expect(results.map((r) => [r.what, r.status])).toEqual([
      ['recording', 'failed'],
      ['report', 'failed'],
      ['report', 'failed'],
    ]);
    for (const r of results) expect(r.error).toContain('timed out: the 1200 ms bound was reached during attempt 1');
    expect(ms).toBeLessThan(1200 + 250);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 250);
    const aborted = await timed(() => uploadSessionArtifacts({ uploader: u, sessionId: 's', recordingPath: ogg, reportPaths: [json], signal: controller.signal }));
    expect(aborted.value.every((r) => r.status === 'failed' && /aborted by the caller/.test(r.error ?? ''))).toBe(true);
    expect(aborted.ms).toBeLessThan(250 + 200);
    console.log(`[recording] slow server, session artifacts: 1200 ms bound -> ${ms} ms; aborted at 250 ms -> ${aborted.ms} ms`);
  });
});

describe('a server that throttles, fails or refuses', () => {
  let server: LocalServer;
  let mode: 'throttle-then-ok' | 'html-500' | 'forbidden' = 'throttle-then-ok';
  let seen = 0;
  const uploaders: S3Uploader[] = [];
  beforeAll(async () => {
    server = await localServer((_req, res) => {
      seen++;
      if (mode === 'forbidden') s3Error(res, 403, 'AccessDenied', 'Access Denied');
      else if (mode === 'html-500') res.writeHead(500, { 'content-type': 'text/html' }).end('<html><body>upstream broke</body></html>');
      else if (seen <= 2) s3Error(res, 503, 'SlowDown', 'Please reduce your request rate.');
      else s3Ok(res);
    });
  });
  afterAll(async () => {
    for (const u of uploaders) u.destroy();
    await server.close();
  });

  it('retries throttling with backoff, then stores: one streamed PutObject with length, type and MD5', async () => {
    mode = 'throttle-then-ok';
    seen = 0;
    const u = createS3Uploader({ bucket: 'calls', endpoint: server.url, credentials, backoffMs: 100 });
    uploaders.push(u);
    const from = server.requests.length;
    const { value: r, ms } = await timed(() => u.upload(ogg, 'room/recording.ogg'));
    expect(r).toMatchObject({ status: 'uploaded', attempts: 3, url: `${server.url}/calls/room/recording.ogg` });
    expect(u.stats()).toMatchObject({ uploads: 1, uploaded: 1, attempts: 3, retries: 2 });
    const reqs = server.requests.slice(from);
    expect(reqs).toHaveLength(3);
    const file = readFileSync(ogg);
    for (const req of reqs) {
      expect(req.method).toBe('PUT');
      expect(req.url.split('?')[0]).toBe('/calls/room/recording.ogg');
      expect(req.headers['content-type']).toBe('audio/ogg');
      expect(req.headers['content-length']).toBe(String(file.length));
      expect(req.headers['content-md5']).toBe(createHash('md5').update(file).digest('base64'));
      expect(req.headers['content-encoding'] ?? '').not.toContain('aws-chunked');
      expect(req.body.equals(file), 'each attempt sends the whole file again').toBe(true);
      // Signed with the key id (that is how SigV4 works); the secret itself never travels.
      expect(req.headers.authorization).toContain(`Credential=${credentials.accessKeyId}/`);
      expect(JSON.stringify(req.headers)).not.toContain(credentials.secretAccessKey);
    }
    const gaps = reqs.slice(1).map((q, i) => q.at - reqs[i]!.at);
    expect(gaps.every((g) => g >= 40), `backoff between attempts: ${gaps.join(', ')} ms`).toBe(true);
    console.log(`[recording] throttled twice then stored: ${ms} ms, gaps ${gaps.join(', ')} ms`);
  });

  it('retries a 5xx without an S3 error body, and reports it after the last attempt', async () => {
    mode = 'html-500';
    const u = createS3Uploader({ bucket: 'calls', endpoint: server.url, credentials, backoffMs: 50, maxAttempts: 3 });
    uploaders.push(u);
    const r = await u.upload(json, 'room/report.json');
    expect(r).toMatchObject({ status: 'failed', attempts: 3 });
    expect(r.error).toContain('HTTP 500');
    expect(r.error).toContain('after 3 attempts');
  });

  it('does not retry a refusal (403), and names endpoint, bucket, key and cause without credentials', async () => {
    mode = 'forbidden';
    const u = createS3Uploader({ bucket: 'calls', endpoint: server.url, credentials, backoffMs: 50 });
    uploaders.push(u);
    const r = await u.upload(json, 'room/report.json');
    expect(r).toMatchObject({ what: 'report', status: 'failed', attempts: 1 });
    expect(r.error).toBe(
      `upload of ${json} to s3 bucket "calls" key "room/report.json" at ${server.url} failed: HTTP 403 AccessDenied: Access Denied (not retried: not a transient error; 1 attempt)`,
    );
    for (const secret of Object.values(credentials)) expect(r.error).not.toContain(secret);
  });
});
