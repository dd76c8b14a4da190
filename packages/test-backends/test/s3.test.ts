// S3-compatible storage (gofakes3 v1.2.0, MIT, built from its Go module source) on a free
// loopback port, driven by the real AWS SDK v3 client: put/get/head/list/delete, persistence
// across restart with the fs backend, and a clean error once the server is stopped.
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { backendOrSkip, startS3, type S3Handle } from '../src/index.js';

const gofakes3 = await backendOrSkip('s3');

describe.skipIf(!gofakes3)('S3 (gofakes3)', () => {
  const started: S3Handle[] = [];
  const clients: S3Client[] = [];
  const client = (s3: S3Handle): S3Client => {
    const c = new S3Client({ ...s3.clientConfig, maxAttempts: 1 });
    clients.push(c);
    return c;
  };
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await Promise.all(started.map((s) => s.stop()));
  });

  it('puts, heads, gets, lists and deletes objects with @aws-sdk/client-s3', async () => {
    const s3 = await startS3({ initialBucket: 'recordings' });
    started.push(s3);
    expect(s3.endpoint).toBe(`http://127.0.0.1:${s3.port}`);
    expect(s3.env.AWS_ENDPOINT_URL_S3).toBe(s3.endpoint);
    const c = client(s3);
    expect((await c.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name)).toEqual(['recordings']);

    const body = Buffer.from('OggS fake call audio');
    await c.send(new PutObjectCommand({ Bucket: 'recordings', Key: 'rooms/r1/call.ogg', Body: body, ContentType: 'audio/ogg', Metadata: { traceid: 'abc123' } }));
    await c.send(new PutObjectCommand({ Bucket: 'recordings', Key: 'rooms/r1/report.json', Body: '{"job_id":"j1"}', ContentType: 'application/json' }));
    await c.send(new PutObjectCommand({ Bucket: 'recordings', Key: 'rooms/r2/report.json', Body: '{}' }));

    const head = await c.send(new HeadObjectCommand({ Bucket: 'recordings', Key: 'rooms/r1/call.ogg' }));
    expect(head.ContentLength).toBe(body.length);
    expect(head.ContentType).toBe('audio/ogg');
    expect(head.Metadata?.traceid).toBe('abc123');

    const got = await c.send(new GetObjectCommand({ Bucket: 'recordings', Key: 'rooms/r1/report.json' }));
    expect(await got.Body?.transformToString()).toBe('{"job_id":"j1"}');

    const listed = await c.send(new ListObjectsV2Command({ Bucket: 'recordings', Prefix: 'rooms/r1/' }));
    expect(listed.Contents?.map((o) => o.Key).sort()).toEqual(['rooms/r1/call.ogg', 'rooms/r1/report.json']);

    await c.send(new DeleteObjectCommand({ Bucket: 'recordings', Key: 'rooms/r1/call.ogg' }));
    await expect(c.send(new HeadObjectCommand({ Bucket: 'recordings', Key: 'rooms/r1/call.ogg' }))).rejects.toMatchObject({ name: 'NotFound' });
    const after = await c.send(new ListObjectsV2Command({ Bucket: 'recordings' }));
    expect(after.Contents?.map((o) => o.Key).sort()).toEqual(['rooms/r1/report.json', 'rooms/r2/report.json']);

    // -autobucket: a bucket that was never created exists on first use.
    await c.send(new PutObjectCommand({ Bucket: 'reports', Key: 'x.json', Body: '{}' }));
    expect((await c.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name).sort()).toEqual(['recordings', 'reports']);
  });

  it('keeps objects across restart() with the fs backend', async () => {
    const s3 = await startS3({ backend: 'fs' });
    started.push(s3);
    const c = client(s3);
    await c.send(new PutObjectCommand({ Bucket: 'keep', Key: 'a.txt', Body: 'kept' }));
    await s3.restart();
    const got = await c.send(new GetObjectCommand({ Bucket: 'keep', Key: 'a.txt' }));
    expect(await got.Body?.transformToString()).toBe('kept');
  });

  it('gives a clean connection error, quickly, once the server is stopped', async () => {
    const s3 = await startS3();
    started.push(s3);
    const c = client(s3);
    await c.send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: 'v' }));
    await s3.stop();
    expect(s3.pid).toBeUndefined();
    const failure = async (cl: S3Client): Promise<string> => {
      const t0 = Date.now();
      const err = await cl.send(new GetObjectCommand({ Bucket: 'b', Key: 'k' })).then(
        () => undefined,
        (e: unknown) => e as Error & { code?: string },
      );
      expect(err, 'a stopped server must not answer').toBeDefined();
      expect(Date.now() - t0, 'fails fast, no hang').toBeLessThan(5000);
      return `${err?.name} ${err?.code} ${err?.message}`;
    };
    // The client that was talking to it: its kept-alive socket was reset (or refused on reconnect).
    expect(await failure(c)).toMatch(/ECONNRESET|ECONNREFUSED/);
    // A new client: connection refused.
    expect(await failure(client(s3))).toMatch(/ECONNREFUSED/);
  });

  it('runs two servers at the same time, each with its own objects', async () => {
    const [a, b] = await Promise.all([startS3(), startS3()]);
    started.push(a, b);
    expect(a.port).not.toBe(b.port);
    await client(a).send(new PutObjectCommand({ Bucket: 'x', Key: 'only-a', Body: '1' }));
    await client(b).send(new PutObjectCommand({ Bucket: 'x', Key: 'only-b', Body: '2' }));
    expect((await client(a).send(new ListObjectsV2Command({ Bucket: 'x' }))).Contents?.map((o) => o.Key)).toEqual(['only-a']);
    expect((await client(b).send(new ListObjectsV2Command({ Bucket: 'x' }))).Contents?.map((o) => o.Key)).toEqual(['only-b']);
  });
});
