// What startAudioEgress sends, recorded by a local server that speaks Twirp the way livekit-server does,
// and how it takes the answers: success, gateway errors (retried), LiveKit's own refusals (final, the
// echoed token scrubbed), a server that hangs (the bound, the AbortSignal), a server that is gone.
import { TokenVerifier } from 'livekit-server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAudioEgress, type AudioEgressOptions } from '../src/index.js';
import { localServer, timed, twirpError, type LocalServer, type SeenRequest } from './helpers.js';

const apiKey = 'APIvoicetraceTest';
const apiSecret = 'api-secret-that-must-never-be-shown-0123456789';
const s3 = { bucket: 'calls', region: 'eu-west-1', endpoint: 'https://s3.example.internal:9000', accessKey: 'AKIAEGRESSKEY', secret: 's3-secret-only-in-the-request-body', forcePathStyle: true };
const PATH = '/twirp/livekit.Egress/StartRoomCompositeEgress';

type Mode = 'ok' | 'gateway-then-ok' | 'unauthenticated' | 'unavailable' | 'hang' | 'egress-failed';

describe('startAudioEgress: the request and the answers', () => {
  let server: LocalServer;
  let mode: Mode = 'ok';
  let count = 0;
  beforeAll(async () => {
    server = await localServer((req, res) => {
      count++;
      if (req.url !== PATH) return void twirpError(res, 404, 'bad_route', `no handler for ${req.url}`);
      switch (mode) {
        case 'ok':
          return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ egressId: 'EG_abc123', roomName: 'call-1', status: 'EGRESS_STARTING' }));
        case 'gateway-then-ok':
          if (count <= 2) return void res.writeHead(502, { 'content-type': 'text/html' }).end('<html>502 Bad Gateway</html>');
          return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ egressId: 'EG_after_retry', status: 'EGRESS_STARTING' }));
        case 'unauthenticated': {
          // livekit-server echoes the whole token in this message.
          const token = String(req.headers.authorization).replace(/^Bearer /, '');
          return void twirpError(res, 401, 'unauthenticated', `invalid token: ${token}, error: token signature is invalid: signature is invalid`);
        }
        case 'unavailable':
          return void twirpError(res, 503, 'unavailable', 'no response from servers');
        case 'egress-failed':
          return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ egressId: 'EG_dead', status: 'EGRESS_FAILED', error: 'could not connect to S3' }));
        case 'hang':
          return; // never answers
      }
    });
  });
  afterAll(async () => {
    await server.close();
  });
  const base = (): AudioEgressOptions => ({ url: server.url.replace('http', 'ws'), apiKey, apiSecret, roomName: 'call-1', s3, filepath: 'calls/call-1/egress.ogg', backoffMs: 50 });
  const last = (): SeenRequest => server.requests[server.requests.length - 1]!;
  const expectNoSecrets = (text: string | undefined, token?: string): void => {
    for (const secret of [apiSecret, s3.secret, ...(token ? [token] : [])]) expect(text ?? '').not.toContain(secret);
  };

  it('sends one room-composite, audio-only, OGG-to-S3 request with a roomRecord token', async () => {
    mode = 'ok';
    count = 0;
    const r = await startAudioEgress(base());
    expect(r).toEqual({ what: 'egress', status: 'started', egressId: 'EG_abc123', url: 'https://s3.example.internal:9000/calls/calls/call-1/egress.ogg', attempts: 1, durationMs: expect.any(Number) });
    const req = last();
    expect(req.method).toBe('POST');
    expect(req.url).toBe(PATH);
    expect(req.headers['content-type']).toMatch(/^application\/json/);

    const auth = String(req.headers.authorization);
    expect(auth).toMatch(/^Bearer eyJ/);
    const claims = await new TokenVerifier(apiKey, apiSecret).verify(auth.slice('Bearer '.length));
    expect(claims.iss).toBe(apiKey);
    expect(claims.video?.roomRecord).toBe(true);
    expect(auth).not.toContain(apiSecret);

    const body = JSON.parse(req.body.toString('utf8')) as Record<string, unknown>;
    expect(body).toMatchObject({ roomName: 'call-1', audioOnly: true });
    expect(body.videoOnly ?? false).toBe(false);
    expect(body.file, 'no deprecated `file` field: the output goes once, in fileOutputs').toBeUndefined();
    expect(body.fileOutputs).toEqual([
      {
        fileType: 'OGG',
        filepath: 'calls/call-1/egress.ogg',
        s3: { accessKey: s3.accessKey, secret: s3.secret, region: s3.region, endpoint: s3.endpoint, bucket: s3.bucket, forcePathStyle: true },
      },
    ]);
    // The S3 secret travels in the body (the API needs it to write the file), exactly once, nowhere else.
    expect(req.body.toString('utf8').split(s3.secret)).toHaveLength(2);
    expect(JSON.stringify(req.headers)).not.toContain(s3.secret);
  });

  it('defaults: a timestamped file under the room, path-style with an endpoint, no S3 block without s3', async () => {
    mode = 'ok';
    const { filepath: _f, ...noPath } = base();
    const r = await startAudioEgress({ ...noPath, s3: { bucket: 'calls', endpoint: 'http://minio:9000' } });
    const file = (JSON.parse(last().body.toString()) as { fileOutputs: { filepath: string; s3: Record<string, unknown> }[] }).fileOutputs[0]!;
    expect(file.filepath).toMatch(/^call-1\/egress-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z\.ogg$/);
    expect(file.s3).toEqual({ bucket: 'calls', endpoint: 'http://minio:9000', forcePathStyle: true });
    expect(r).toMatchObject({ status: 'started', url: `http://minio:9000/calls/${file.filepath}` });

    const { s3: _s, ...noS3 } = base();
    const r2 = await startAudioEgress(noS3);
    const out = (JSON.parse(last().body.toString()) as { fileOutputs: Record<string, unknown>[] }).fileOutputs[0]!;
    expect(out).toEqual({ fileType: 'OGG', filepath: 'calls/call-1/egress.ogg' });
    expect(r2).toMatchObject({ status: 'started', egressId: 'EG_abc123' });
    expect('url' in r2).toBe(false);
  });

  it('reads LIVEKIT_URL / LIVEKIT_API_KEY / LIVEKIT_API_SECRET', async () => {
    mode = 'ok';
    const saved = { url: process.env.LIVEKIT_URL, key: process.env.LIVEKIT_API_KEY, secret: process.env.LIVEKIT_API_SECRET };
    Object.assign(process.env, { LIVEKIT_URL: server.url, LIVEKIT_API_KEY: apiKey, LIVEKIT_API_SECRET: apiSecret });
    try {
      expect(await startAudioEgress({ roomName: 'call-1' })).toMatchObject({ status: 'started' });
    } finally {
      for (const [k, v] of [['LIVEKIT_URL', saved.url], ['LIVEKIT_API_KEY', saved.key], ['LIVEKIT_API_SECRET', saved.secret]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('retries gateway errors (502 without a Twirp code), then starts', async () => {
    mode = 'gateway-then-ok';
    count = 0;
    const { value: r, ms } = await timed(() => startAudioEgress(base()));
    expect(r).toMatchObject({ status: 'started', egressId: 'EG_after_retry', attempts: 3 });
    expect(count).toBe(3);
    console.log(`[recording] egress: two 502s then started, ${ms} ms`);
  });

  it("LiveKit's 401 is final, and the token it echoes is scrubbed from the message", async () => {
    mode = 'unauthenticated';
    count = 0;
    const r = await startAudioEgress(base());
    const token = String(last().headers.authorization).replace(/^Bearer /, '');
    expect(r).toMatchObject({ status: 'failed', attempts: 1 });
    expect(count).toBe(1);
    if (r.status !== 'failed') throw new Error('unreachable');
    expect(r.error).toBe(
      `audio egress of room "call-1" via 127.0.0.1:${server.port} failed: LiveKit answered HTTP 401 unauthenticated: invalid token: [redacted token], error: token signature is invalid: signature is invalid (1 attempt)`,
    );
    expectNoSecrets(r.error, token);
  });

  it("LiveKit's 503 unavailable (its own retries done) is final", async () => {
    mode = 'unavailable';
    count = 0;
    const r = await startAudioEgress(base());
    expect(r).toMatchObject({ status: 'failed', attempts: 1, error: expect.stringContaining('HTTP 503 unavailable: no response from servers') });
  });

  it('an egress LiveKit reports failed at once is a failure', async () => {
    mode = 'egress-failed';
    const r = await startAudioEgress(base());
    expect(r).toMatchObject({ status: 'failed', attempts: 1, error: expect.stringContaining('LiveKit reported egress EG_dead failed: could not connect to S3') });
  });

  it('a server that hangs: failed at the bound; an AbortSignal ends it sooner', async () => {
    mode = 'hang';
    const { value: r, ms } = await timed(() => startAudioEgress({ ...base(), timeoutMs: 1500 }));
    expect(r).toMatchObject({ status: 'failed', attempts: 1, error: expect.stringContaining('timed out: the 1500 ms bound was reached during attempt 1') });
    expect(ms).toBeGreaterThanOrEqual(1490);
    expect(ms).toBeLessThan(1500 + 250);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const aborted = await timed(() => startAudioEgress({ ...base(), signal: controller.signal }));
    expect(aborted.value).toMatchObject({ status: 'failed', error: expect.stringMatching(/aborted by the caller after \d+ ms during attempt 1/) });
    expect(aborted.ms).toBeLessThan(300 + 200);
    console.log(`[recording] egress to a hanging server: 1500 ms bound -> ${ms} ms; aborted at 300 ms -> ${aborted.ms} ms`);
  });

  it('a server that is gone: connection errors retried, then failed, inside the bound', async () => {
    const gone = await localServer(() => undefined);
    const url = gone.url;
    await gone.close();
    const { value: r, ms } = await timed(() => startAudioEgress({ ...base(), url, timeoutMs: 5000 }));
    expect(r).toMatchObject({ status: 'failed', attempts: 3 });
    if (r.status !== 'failed') throw new Error('unreachable');
    expect(r.error).toMatch(/ECONNREFUSED/);
    expect(r.error).toContain('after 3 attempts');
    expect(ms).toBeLessThan(5000);
    expectNoSecrets(r.error);
    console.log(`[recording] egress to a stopped server: ${r.attempts} attempts, ${ms} ms: ${r.error}`);
  });
});
