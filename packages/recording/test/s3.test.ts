// The uploader against a real S3-compatible server (gofakes3, from @voicetrace/test-backends): a real
// OGG (espeak-ng speech encoded by sox) and a report go in and come back byte-equal with their content
// types; a 16 MB file (a 30-minute call's recording is about 15 MB) goes in one PutObject; with the
// server stopped every upload resolves `failed` after its retries, inside its bound, with no credential
// in any message.
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backendOrSkip, speechTools, startS3, synthesizeSpeech, type S3Handle } from '@voicetrace/test-backends';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Uploader, toReportUpload, uploadSessionArtifacts, type S3Uploader, type UploadResult } from '../src/index.js';
import { pcmToOgg, timed } from './helpers.js';

const gofakes3 = await backendOrSkip('s3');
const speech = gofakes3 ? await backendOrSkip('speech') : undefined;

// gofakes3 checks no signature: these only have to be recognisable if they ever leaked into a message.
const credentials = { accessKeyId: 'AKIAVOICETRACELEAKCHECK', secretAccessKey: 'leak-check-secret/K7MDENG+bPxRfiCY' };
const leaks = [credentials.accessKeyId, credentials.secretAccessKey];

function expectNoCredentials(text: string | undefined): void {
  for (const secret of leaks) expect(text ?? '').not.toContain(secret);
}

describe.skipIf(!gofakes3)('S3 uploads (gofakes3)', () => {
  let s3: S3Handle;
  let reader: S3Client;
  const uploaders: S3Uploader[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'vt-recording-s3-'));
  const oggPath = join(dir, 'call.ogg');
  const reportPath = join(dir, 'report.json');
  const htmlPath = join(dir, 'report.html');
  const uploader = (extra: Partial<Parameters<typeof createS3Uploader>[0]> = {}): S3Uploader => {
    const u = createS3Uploader({ bucket: 'calls', endpoint: s3.endpoint, region: s3.region, credentials, ...extra });
    uploaders.push(u);
    return u;
  };
  const readBack = async (key: string, bucket = 'calls'): Promise<{ body: Buffer; contentType: string | undefined }> => {
    const got = await reader.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return { body: Buffer.from(await got.Body!.transformToByteArray()), contentType: got.ContentType };
  };

  beforeAll(async () => {
    s3 = await startS3();
    reader = new S3Client({ ...s3.clientConfig, maxAttempts: 1 });
    if (speech) {
      const { sox } = await speechTools();
      const spoken = await synthesizeSpeech('Hello, this is a recorded voicetrace test call.', { sampleRate: 48_000 });
      await pcmToOgg(sox, spoken.samples, spoken.sampleRate, oggPath);
    } else {
      // No sox: a small file that starts like an Ogg page is still a file to upload.
      writeFileSync(oggPath, Buffer.concat([Buffer.from('OggS'), randomBytes(20_000)]));
    }
    writeFileSync(reportPath, JSON.stringify({ job_id: 'job-1', voicetrace: { session_id: 'room-1' } }));
    writeFileSync(htmlPath, '<!doctype html><title>report</title><p>ünïcode</p>');
  });
  afterAll(async () => {
    for (const u of uploaders) u.destroy();
    reader?.destroy();
    await s3?.stop();
  });

  it('uploads a real OGG recording and a report, which read back byte-equal with their content types and URLs', async () => {
    const ogg = readFileSync(oggPath);
    expect(ogg.subarray(0, 4).toString()).toBe('OggS');
    const u = uploader({ prefix: 'prod' });
    const { value: rec, ms } = await timed(() => u.upload(oggPath, 'room-1/recording.ogg'));
    expect(rec).toEqual<UploadResult>({
      what: 'recording',
      status: 'uploaded',
      url: `${s3.endpoint}/calls/prod/room-1/recording.ogg`,
      attempts: 1,
      bucket: 'calls',
      key: 'prod/room-1/recording.ogg',
      bytes: ogg.length,
      contentType: 'audio/ogg',
      durationMs: expect.any(Number) as number,
    });
    const back = await readBack('prod/room-1/recording.ogg');
    expect(back.body.equals(ogg)).toBe(true);
    expect(back.contentType).toBe('audio/ogg');
    // The URL is the object's real address on this server (gofakes3 serves unsigned GETs).
    const viaUrl = await fetch(rec.url!);
    expect(viaUrl.status).toBe(200);
    expect(Buffer.from(await viaUrl.arrayBuffer()).equals(ogg)).toBe(true);

    const rep = await u.upload(reportPath, 'room-1/report.json');
    expect(rep).toMatchObject({ what: 'report', status: 'uploaded', attempts: 1, contentType: 'application/json', url: `${s3.endpoint}/calls/prod/room-1/report.json` });
    const repBack = await readBack('prod/room-1/report.json');
    expect(repBack.body.equals(readFileSync(reportPath))).toBe(true);
    expect(repBack.contentType).toBe('application/json');

    // An explicit content type wins over the extension.
    const custom = await u.upload(reportPath, 'room-1/raw.bin', 'application/vnd.voicetrace+json');
    expect(custom).toMatchObject({ status: 'uploaded', contentType: 'application/vnd.voicetrace+json' });
    expect((await readBack('prod/room-1/raw.bin')).contentType).toBe('application/vnd.voicetrace+json');

    expect(u.stats()).toEqual({ uploads: 3, uploaded: 3, failed: 0, attempts: 3, retries: 0, bytes: ogg.length + 2 * readFileSync(reportPath).length });
    console.log(`[recording] OGG of ${ogg.length} bytes uploaded in ${ms} ms`);
  });

  it('uploadSessionArtifacts: recording first, then the reports in order, a missing file a clean failure', async () => {
    const u = uploader();
    const { value: results, ms } = await timed(() =>
      uploadSessionArtifacts({ uploader: u, sessionId: 'room-2', recordingPath: oggPath, reportPaths: [reportPath, join(dir, 'missing.html'), htmlPath], keyPrefix: 'sessions' }),
    );
    expect(results.map((r) => [r.what, r.status, r.key, r.contentType])).toEqual([
      ['recording', 'uploaded', 'sessions/room-2/recording.ogg', 'audio/ogg'],
      ['report', 'uploaded', 'sessions/room-2/report.json', 'application/json'],
      ['report', 'failed', 'sessions/room-2/missing.html', 'text/html; charset=utf-8'],
      ['report', 'uploaded', 'sessions/room-2/report.html', 'text/html; charset=utf-8'],
    ]);
    expect(results[2]).toMatchObject({ attempts: 0, error: expect.stringMatching(/missing\.html.*ENOENT/) });
    expect((await readBack('sessions/room-2/recording.ogg')).body.equals(readFileSync(oggPath))).toBe(true);
    const html = await readBack('sessions/room-2/report.html');
    expect(html.body.toString('utf8')).toContain('ünïcode');
    expect(html.contentType).toBe('text/html; charset=utf-8');
    expect(results.map(toReportUpload)).toEqual([
      { what: 'recording', status: 'uploaded', url: `${s3.endpoint}/calls/sessions/room-2/recording.ogg`, attempts: 1 },
      { what: 'report', status: 'uploaded', url: `${s3.endpoint}/calls/sessions/room-2/report.json`, attempts: 1 },
      { what: 'report', status: 'failed', attempts: 0, error: results[2]!.error },
      { what: 'report', status: 'uploaded', url: `${s3.endpoint}/calls/sessions/room-2/report.html`, attempts: 1 },
    ]);
    console.log(`[recording] session artifacts (4 files, one missing) in ${ms} ms`);
  });

  it('takes its configuration from the standard AWS variables', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, s3.env, { AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey });
    try {
      const u = createS3Uploader({ bucket: 'from-env' });
      uploaders.push(u);
      expect([u.endpoint, u.region]).toEqual([s3.endpoint, s3.region]);
      const r = await u.upload(reportPath, 'x/report.json');
      expect(r).toMatchObject({ status: 'uploaded', url: `${s3.endpoint}/from-env/x/report.json` });
      expect((await readBack('x/report.json', 'from-env')).body.equals(readFileSync(reportPath))).toBe(true);
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });

  it('puts a 16 MB file (a 30-minute call) in one PutObject, streamed', async () => {
    const big = join(dir, 'long-call.ogg');
    const data = randomBytes(16 * 1024 * 1024);
    writeFileSync(big, data);
    const u = uploader();
    const { value: r, ms } = await timed(() => u.upload(big, 'long/recording.ogg'));
    expect(r).toMatchObject({ status: 'uploaded', attempts: 1, bytes: data.length });
    expect((await readBack('long/recording.ogg')).body.equals(data)).toBe(true);
    console.log(`[recording] 16 MiB in one PutObject: ${ms} ms`);
  });

  it('aborts: an upload whose signal is already aborted sends nothing', async () => {
    const u = uploader();
    const r = await u.upload(oggPath, 'never.ogg', undefined, { signal: AbortSignal.abort() });
    expect(r).toMatchObject({ status: 'failed', attempts: 0, error: expect.stringContaining('aborted by the caller') });
  });

  it('with the server stopped: failed after the retries, inside the bound, no throw, no credential in any message', async () => {
    const own = await startS3();
    try {
      const warm = createS3Uploader({ bucket: 'calls', endpoint: own.endpoint, credentials, maxAttempts: 4, backoffMs: 200 });
      const cold = createS3Uploader({ bucket: 'calls', endpoint: own.endpoint, credentials, maxAttempts: 4, backoffMs: 200 });
      uploaders.push(warm, cold);
      expect((await warm.upload(reportPath, 'before-stop.json')).status).toBe('uploaded'); // a kept-alive socket
      await own.stop();

      for (const [name, u] of [['warm', warm], ['cold', cold]] as const) {
        const { value: r, ms } = await timed(() => u.upload(oggPath, 'room-3/recording.ogg'));
        expect(r.status).toBe('failed');
        expect(r.attempts, `${name}: every attempt was made`).toBe(4);
        expect(ms, `${name}: inside the default 10 s bound`).toBeLessThan(10_000);
        expect(r.error).toContain(`s3 bucket "calls" key "room-3/recording.ogg" at ${own.endpoint}`);
        expect(r.error).toMatch(/ECONNREFUSED|ECONNRESET/);
        expect(r.error).toContain('after 4 attempts');
        expect(r.url).toBeUndefined();
        expectNoCredentials(r.error);
        expectNoCredentials(u.stats().lastError);
        console.log(`[recording] server stopped (${name} client): failed after ${r.attempts} attempts in ${ms} ms: ${r.error}`);
      }
      expect(warm.stats()).toMatchObject({ uploads: 2, uploaded: 1, failed: 1, attempts: 5, retries: 3 });

      // A tight bound: the retries stop at the bound, not after it.
      const tight = createS3Uploader({ bucket: 'calls', endpoint: own.endpoint, credentials, timeoutMs: 700, maxAttempts: 50, backoffMs: 150 });
      uploaders.push(tight);
      const { value: t, ms } = await timed(() => tight.upload(oggPath, 'room-3/recording.ogg'));
      expect(t.status).toBe('failed');
      expect(t.attempts).toBeGreaterThan(1);
      expect(ms).toBeLessThan(700 + 150);
      expect(t.error).toMatch(/700 ms bound/);
      console.log(`[recording] server stopped, 700 ms bound: failed after ${t.attempts} attempts in ${ms} ms`);
    } finally {
      await own.stop();
    }
  });
});
