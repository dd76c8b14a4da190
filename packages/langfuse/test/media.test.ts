// LangfuseClips (LangFuse's own uploadMedia of @langfuse/core) against the contract server's media API,
// which validates as LangFuse does and checks the upload as S3 does (@voicetrace/langfuse-contract, src/media.ts).
import { startLangfuseContractServer, mediaIdOf, type LangfuseContractServer } from '@voicetrace/langfuse-contract';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LangfuseClips } from '../src/media.js';

const KEYS = { publicKey: 'pk-lf-media', secretKey: 'sk-lf-media' };
const TRACE = '0af7651916cd43dd8448eb211c80319c';
const USER_SPAN = 'b7ad6b7169203331';
const AGENT_SPAN = 'c8be7c827a314442';
const dir = mkdtempSync(join(tmpdir(), 'vt-lf-media-'));
let server: LangfuseContractServer;

/** A small mono WAV (the content does not matter to LangFuse, its bytes and hash do). */
function clip(name: string, bytes: number): string {
  const path = join(dir, name);
  const body = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) body[i] = (i * 31 + name.length) & 0xff;
  writeFileSync(path, body);
  return path;
}

beforeAll(async () => {
  server = await startLangfuseContractServer(KEYS);
});
afterAll(() => server.close());
beforeEach(() => server.reset());

describe('contract server: LangFuse\'s media API', () => {
  const auth = `Basic ${Buffer.from(`${KEYS.publicKey}:${KEYS.secretKey}`).toString('base64')}`;
  const request = (body: unknown, authorization = auth) => fetch(`${server.baseUrl}/api/public/media`, { method: 'POST', headers: { Authorization: authorization, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const bytes = Buffer.from('RIFF....WAVE');
  const hash = createHash('sha256').update(bytes).digest('base64');
  const valid = { traceId: TRACE, observationId: USER_SPAN, field: 'input', contentType: 'audio/wav', contentLength: bytes.length, sha256Hash: hash };

  it('rejects what LangFuse rejects: keys (401), the body schema (400: type, length, hash, field), an unknown media id (404)', async () => {
    expect((await request(valid, `Bearer ${KEYS.publicKey}`)).status).toBe(401);
    for (const bad of [{ contentType: 'audio/x-wav' }, { contentLength: 0 }, { contentLength: 1.5 }, { sha256Hash: 'abc' }, { field: 'expectedOutput' }, { traceId: undefined }]) {
      const answer = await request({ ...valid, ...bad });
      expect(answer.status, JSON.stringify(bad)).toBe(400);
      expect(await answer.json()).toMatchObject({ message: 'Invalid request data' });
    }
    const patch = await fetch(`${server.baseUrl}/api/public/media/unknown`, { method: 'PATCH', headers: { Authorization: auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ uploadedAt: new Date().toISOString(), uploadHttpStatus: 200 }) });
    expect(patch.status).toBe(404);
  });

  it('the presigned PUT is checked as S3 checks it: the signed content type, and the checksum against the body', async () => {
    const { uploadUrl, mediaId } = (await (await request(valid)).json()) as { uploadUrl: string; mediaId: string };
    expect(mediaId).toBe(mediaIdOf(hash));
    expect((await fetch(uploadUrl, { method: 'PUT', headers: { 'Content-Type': 'audio/ogg', 'x-amz-checksum-sha256': hash }, body: bytes })).status).toBe(403);
    expect((await fetch(uploadUrl, { method: 'PUT', headers: { 'Content-Type': 'audio/wav', 'x-amz-checksum-sha256': hash }, body: Buffer.from('something else') })).status).toBe(400);
    expect((await fetch(uploadUrl, { method: 'PUT', headers: { 'Content-Type': 'audio/wav', 'x-amz-checksum-sha256': hash }, body: bytes })).status).toBe(200);
  });
});

describe('LangfuseClips: a turn\'s audio on its LangFuse observation', () => {
  it('uploads the clip and links it to the observation\'s field: the id is LangFuse\'s, the bytes arrive whole, the upload is reported', async () => {
    const clips = new LangfuseClips({ ...KEYS, baseUrl: server.baseUrl });
    const path = clip('turn-001-user.wav', 48_044);
    expect(await clips.attach({ traceId: TRACE, observationId: USER_SPAN, field: 'input', path })).toBe('uploaded');
    const [media] = server.media();
    const hash = createHash('sha256').update(readFileSync(path)).digest('base64');
    expect(media).toMatchObject({ mediaId: mediaIdOf(hash), contentType: 'audio/wav', contentLength: 48_044, sha256Hash: hash, uploadHttpStatus: 200, links: [{ traceId: TRACE, observationId: USER_SPAN, field: 'input' }] });
    expect(media!.bytes!.equals(readFileSync(path))).toBe(true);
    expect(server.requests.map((r) => `${r.method} ${r.path.replace(media!.mediaId, ':id')} ${r.status}`)).toEqual(['POST /api/public/media 201', 'PUT /__s3/media/:id 200', 'PATCH /api/public/media/:id 200']);
    expect(clips.stats()).toEqual({ uploaded: 1, failed: 0, tooLarge: 0, invalid: 0, bytes: 48_044 });
  });

  it('the same audio on a second observation is linked again without a second upload (LangFuse deduplicates by hash)', async () => {
    const clips = new LangfuseClips({ ...KEYS, baseUrl: server.baseUrl });
    const path = clip('same.wav', 1_000);
    await clips.attach({ traceId: TRACE, observationId: USER_SPAN, field: 'input', path });
    expect(await clips.attach({ traceId: TRACE, observationId: AGENT_SPAN, field: 'output', path })).toBe('uploaded');
    expect(server.media()).toHaveLength(1);
    expect(server.media()[0]!.links).toEqual([
      { traceId: TRACE, observationId: USER_SPAN, field: 'input' },
      { traceId: TRACE, observationId: AGENT_SPAN, field: 'output' },
    ]);
    expect(server.requests.filter((r) => r.method === 'PUT')).toHaveLength(1);
  });

  it('caps the size and checks the ids before sending anything; counts each', async () => {
    const clips = new LangfuseClips({ ...KEYS, baseUrl: server.baseUrl }, { maxBytes: 1_000 });
    expect(await clips.attach({ traceId: TRACE, observationId: USER_SPAN, field: 'input', path: clip('big.wav', 1_001) })).toBe('too_large');
    expect(await clips.attach({ traceId: 'not-a-trace', observationId: USER_SPAN, field: 'input', path: clip('ok.wav', 10) })).toBe('invalid');
    expect(server.requests).toEqual([]);
    expect(clips.stats()).toMatchObject({ uploaded: 0, tooLarge: 1, invalid: 1 });
  });

  it('wrong keys, a missing file, LangFuse down: failed, counted, one message without the secret, nothing thrown', async () => {
    const messages: string[] = [];
    const wrong = new LangfuseClips({ ...KEYS, secretKey: 'sk-lf-wrong', baseUrl: server.baseUrl }, { maxRetries: 0, logger: (m) => messages.push(m) });
    expect(await wrong.attach({ traceId: TRACE, observationId: USER_SPAN, field: 'input', path: clip('a.wav', 10) })).toBe('failed');
    expect(await wrong.attach({ traceId: TRACE, observationId: USER_SPAN, field: 'input', path: join(dir, 'missing.wav') })).toBe('failed');
    expect(server.media()).toEqual([]);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(/attaching a clip to LangFuse failed .*401/);
    expect(messages[0]).not.toContain('sk-lf-wrong');
    const port = await closedPort();
    const down = new LangfuseClips({ ...KEYS, baseUrl: `http://127.0.0.1:${port}` }, { maxRetries: 0, logger: () => {} });
    expect(await down.attach({ traceId: TRACE, observationId: USER_SPAN, field: 'output', path: clip('b.wav', 10) })).toBe('failed');
    expect(down.stats().failed).toBe(1);
  });
});

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
