import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { encodeExportTraceServiceRequest, startLangfuseContractServer, type LangfuseContractServer } from '../src/index.js';
import { makeSpans, withIds } from '../../langfuse/test/helpers.js';

const auth = `Basic ${Buffer.from('pk-lf-test:sk-lf-test').toString('base64')}`;
let server: LangfuseContractServer;
beforeAll(async () => {
  server = await startLangfuseContractServer({ publicKey: 'pk-lf-test', secretKey: 'sk-lf-test' });
});
afterAll(() => server.close());
beforeEach(() => server.reset());

const post = (body: Uint8Array | string, headers: Record<string, string> = {}, path = '/api/public/otel/v1/traces') =>
  fetch(`${server.baseUrl}${path}`, { method: 'POST', body, headers: { Authorization: auth, 'Content-Type': 'application/x-protobuf', ...headers } });

const protobuf = (spans = makeSpans(2)) => ProtobufTraceSerializer.serializeRequest(spans)!;
const json = (spans = makeSpans(2)) => Buffer.from(JsonTraceSerializer.serializeRequest(spans)!).toString('utf8');
const id = (hex: string) => Buffer.from(hex, 'hex');

describe('LangFuse contract server', () => {
  it('accepts protobuf, answers 200 with a JSON body and records decoded spans', async () => {
    const spans = makeSpans(2, (index) => ({ 'lk.speech_id': `sp_${index}`, 'gen_ai.usage.input_tokens': 12, ratio: 0.5, ok: true, tags: ['a', 'b'] }));
    const response = await post(protobuf(spans));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({});
    const [root, child] = server.spans;
    expect(root).toMatchObject({
      traceId: spans[0]!.spanContext().traceId,
      spanId: spans[0]!.spanContext().spanId,
      name: 'agent_session',
      kind: 1,
      scopeName: 'livekit-agents',
      scopeVersion: '1.9.0',
      resourceAttributes: { 'service.name': 'voice-agent' },
      attributes: { 'lk.speech_id': 'sp_0', 'gen_ai.usage.input_tokens': 12, ratio: 0.5, ok: true, tags: ['a', 'b'] },
    });
    expect(root!.parentSpanId).toBeUndefined();
    expect(child).toMatchObject({ parentSpanId: root!.spanId, kind: 3, status: { code: 2, message: 'cancelled' } });
    expect(child!.startTimeUnixNano).toMatch(/^\d{19}$/);
    expect(server.requests).toEqual([expect.objectContaining({ status: 200, spanCount: 2, headers: expect.objectContaining({ authorization: auth }) })]);
  });

  it('accepts gzip-compressed OTLP/JSON', async () => {
    const response = await post(gzipSync(json()), { 'Content-Type': 'application/json; charset=utf-8', 'Content-Encoding': 'gzip' });
    expect(response.status).toBe(200);
    expect(server.spans).toHaveLength(2);
  });

  it('answers 404 on another path and 405 on another method', async () => {
    expect((await post(protobuf(), {}, '/api/public/otel/v1/logs')).status).toBe(404);
    expect((await post(protobuf(), {}, '/v1/traces')).status).toBe(404);
    expect((await fetch(`${server.tracesUrl}`, { headers: { Authorization: auth } })).status).toBe(405);
  });

  it('answers 401 without Basic auth or with other keys', async () => {
    expect((await post(protobuf(), { Authorization: '' })).status).toBe(401);
    expect((await post(protobuf(), { Authorization: `Basic ${Buffer.from('pk-lf-test:wrong').toString('base64')}` })).status).toBe(401);
    expect((await post(protobuf(), { Authorization: `Bearer sk-lf-test` })).status).toBe(401);
    expect(server.spans).toHaveLength(0);
  });

  it('answers 400 to another content type, undecodable bodies and bad gzip', async () => {
    expect((await post(json(), { 'Content-Type': 'text/plain' })).status).toBe(400);
    const garbage = await post(new Uint8Array([0xff, 0xff, 0xff, 0x01]));
    expect(garbage.status).toBe(400);
    expect(await garbage.json()).toEqual({ error: 'Failed to parse OTel Protobuf Trace' });
    expect((await post('{not json', { 'Content-Type': 'application/json' })).status).toBe(400);
    expect((await post(protobuf(), { 'Content-Encoding': 'gzip' })).status).toBe(400);
  });

  it('rejects the whole batch with 400 when one span has a trace id that is not 16 bytes', async () => {
    const request = {
      resourceSpans: [
        {
          scopeSpans: [
            {
              scope: { name: 'livekit-agents' },
              spans: [
                { traceId: id('0af7651916cd43dd8448eb211c80319c'), spanId: id('b7ad6b7169203331'), name: 'fine' },
                { traceId: id('0af7651916cd43dd8448eb211c8031'), spanId: id('b7ad6b7169203331'), name: 'short trace id' },
              ],
            },
          ],
        },
      ],
    };
    const response = await post(encodeExportTraceServiceRequest(request));
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toContain('1 of 2 span(s) cannot be processed (traceId:wrong_length×1)');
    expect(server.spans).toHaveLength(0);
  });

  it('rejects all-zero and wrong-length span ids, in protobuf and JSON', async () => {
    const [good, other] = makeSpans(2);
    const zeroSpan = withIds(other!, other!.spanContext().traceId, '0000000000000000');
    const zeroTrace = withIds(other!, '00000000000000000000000000000000', 'b7ad6b7169203331');
    for (const bad of [zeroSpan, zeroTrace]) {
      expect((await post(protobuf([good!, bad]))).status).toBe(400);
      expect((await post(json([good!, bad]), { 'Content-Type': 'application/json' })).status).toBe(400);
    }
    const nineBytes = JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b716920333100' }] }] }] });
    expect((await post(nineBytes, { 'Content-Type': 'application/json' })).status).toBe(400);
    expect(server.spans).toHaveLength(0);
  });

  it('answers 200 {} to a request without spans', async () => {
    const response = await post('{}', { 'Content-Type': 'application/json' });
    expect([response.status, await response.json()]).toEqual([200, {}]);
  });

  it('rejects an x-langfuse-ingestion-version above 4', async () => {
    expect((await post(protobuf(), { 'x-langfuse-ingestion-version': '5' })).status).toBe(400);
    expect((await post(protobuf(), { 'x-langfuse-ingestion-version': '4' })).status).toBe(200);
  });

  it('rate-limits the first N authenticated requests with 429 and Retry-After', async () => {
    const limited = await startLangfuseContractServer({ publicKey: 'pk', secretKey: 'sk', rateLimitFirst: 2, retryAfterSeconds: 3 });
    try {
      const send = (authorization: string) =>
        fetch(limited.tracesUrl, { method: 'POST', body: protobuf(), headers: { Authorization: authorization, 'Content-Type': 'application/x-protobuf' } });
      const good = `Basic ${Buffer.from('pk:sk').toString('base64')}`;
      expect((await send('Basic bad')).status).toBe(401);
      const first = await send(good);
      expect([first.status, first.headers.get('retry-after')]).toEqual([429, '3']);
      expect((await send(good)).status).toBe(429);
      expect((await send(good)).status).toBe(200);
      expect(limited.requests.map((request) => request.status)).toEqual([401, 429, 429, 200]);
    } finally {
      await limited.close();
    }
  });

  it('stores the accepted spans as LangFuse would: observations with type, level, usage, TTFT; one trace; reset forgets them', async () => {
    const spans = makeSpans(3, (index) =>
      index === 0
        ? { 'session.id': 's1', 'user.id': 'u1', 'langfuse.trace.name': 'voice-session' }
        : { 'session.id': 's1', 'user.id': 'u1', 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o-mini', 'langfuse.observation.usage_details': '{"input":10,"output_audio_ms":300}' },
    );
    expect((await post(protobuf(spans))).status).toBe(200);
    // rejected batches leave no observations
    expect((await post(protobuf(), { 'x-langfuse-ingestion-version': '9' })).status).toBe(400);
    const observations = server.observations();
    expect(observations.map((o) => [o.spanName, o.type, o.level])).toEqual([
      ['agent_session', 'SPAN', 'DEFAULT'],
      ['llm_request', 'GENERATION', 'ERROR'],
      ['llm_request', 'GENERATION', 'ERROR'],
    ]);
    // no explicit total: LangFuse adds tokens and milliseconds
    expect(observations[1]).toMatchObject({ model: 'gpt-4o-mini', usageDetails: { input: 10, output_audio_ms: 300, total: 310 }, totalFilledByLangfuse: true, statusMessage: 'cancelled', sessionId: 's1' });
    const [trace] = server.traces();
    expect(trace).toMatchObject({ id: spans[0]!.spanContext().traceId, name: 'voice-session', sessionId: 's1', userId: 'u1', events: { root: 1, update: 2, shallow: 0 } });
    server.reset();
    expect([server.observations(), server.traces(), server.scores]).toEqual([[], [], []]);
  });

  it('injects failures before any check with failNext', async () => {
    server.failNext(503, 2, { 'Retry-After': '1' });
    expect((await post(protobuf())).status).toBe(503);
    expect((await post(protobuf())).status).toBe(503);
    expect((await post(protobuf())).status).toBe(200);
  });
});
