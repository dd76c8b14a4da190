import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLangfuseSpanExporter } from '../src/exporter.js';
import type { LangfuseExporterOptions } from '../src/types.js';
import { startLangfuseContractServer, type LangfuseContractServer } from '@voicetrace/langfuse-contract';
import { exportSpans, FAILED, makeSpans, SUCCESS, withIds } from './helpers.js';

const keys = { publicKey: 'pk-lf-1234', secretKey: 'sk-lf-5678' };
let server: LangfuseContractServer;
beforeAll(async () => {
  server = await startLangfuseContractServer(keys);
});
afterAll(() => server.close());
beforeEach(() => server.reset());

function exporter(options: LangfuseExporterOptions = {}, config = { ...keys, baseUrl: server.baseUrl }) {
  const messages: string[] = [];
  const created = createLangfuseSpanExporter(config, { logger: (message) => messages.push(message), env: {}, ...options });
  return { exporter: created, messages };
}

describe('createLangfuseSpanExporter against the contract server', () => {
  it('delivers spans with Basic auth, protobuf, gzip and the ingestion version header', async () => {
    const { exporter: langfuse, messages } = exporter();
    const spans = makeSpans(3, (index) => ({ 'langfuse.observation.type': index === 0 ? 'span' : 'generation', 'gen_ai.request.model': 'gpt-x' }));
    expect((await exportSpans(langfuse, spans)).code).toBe(SUCCESS);
    await langfuse.shutdown();
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]!.headers).toEqual(
      expect.objectContaining({
        authorization: `Basic ${Buffer.from('pk-lf-1234:sk-lf-5678').toString('base64')}`,
        contentType: 'application/x-protobuf',
        contentEncoding: 'gzip',
        ingestionVersion: '4',
      }),
    );
    expect(server.spans.map((span) => span.spanId)).toEqual(spans.map((span) => span.spanContext().spanId));
    expect(server.spans[1]).toMatchObject({ name: 'llm_request', parentSpanId: spans[0]!.spanContext().spanId, attributes: { 'langfuse.observation.type': 'generation' } });
    expect(langfuse.stats()).toMatchObject({ exportedSpans: 3, failedSpans: 0, requests: 1, retries: 0 });
    expect(messages).toEqual([]);
  });

  it('wrong keys: 401, not retried, logged once with the reason, counted', async () => {
    const { exporter: langfuse, messages } = exporter({ retry: { initialBackoffMs: 10 } }, { ...keys, secretKey: 'sk-lf-wrong', baseUrl: server.baseUrl });
    expect((await exportSpans(langfuse, makeSpans(2))).code).toBe(FAILED);
    expect((await exportSpans(langfuse, makeSpans(1))).code).toBe(FAILED);
    await langfuse.shutdown();
    expect(server.requests.map((request) => request.status)).toEqual([401, 401]);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain(`LangFuse traces export to ${server.tracesUrl} failed with HTTP 401; the server said:`);
    expect(messages[0]).toContain('Invalid credentials');
    expect(messages[0]).toContain('check LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY');
    expect(langfuse.stats()).toMatchObject({ failedSpans: 3, failedExports: 2, requests: 2, retries: 0, failuresByReason: { http_401: 2 } });
  });

  it('403 is not retried either', async () => {
    server.failNext(403, 1);
    const { exporter: langfuse } = exporter({ retry: { initialBackoffMs: 10 } });
    expect((await exportSpans(langfuse, makeSpans(1))).code).toBe(FAILED);
    expect(server.requests).toHaveLength(1);
  });

  it('429 for the first 2 requests: waits for Retry-After, retries, then succeeds', async () => {
    const limited = await startLangfuseContractServer({ ...keys, rateLimitFirst: 2, retryAfterSeconds: 1 });
    try {
      const { exporter: langfuse, messages } = exporter({ retry: { initialBackoffMs: 10 } }, { ...keys, baseUrl: limited.baseUrl });
      const started = Date.now();
      expect((await exportSpans(langfuse, makeSpans(2))).code).toBe(SUCCESS);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
      expect(limited.requests.map((request) => request.status)).toEqual([429, 429, 200]);
      expect(limited.spans).toHaveLength(2);
      expect(langfuse.stats()).toMatchObject({ exportedSpans: 2, requests: 3, retries: 2, failedSpans: 0 });
      expect(messages).toEqual([]);
      await langfuse.shutdown();
    } finally {
      await limited.close();
    }
  });

  it('503 forever: bounded retries, then the batch is dropped and counted', async () => {
    server.failNext(503);
    const { exporter: langfuse, messages } = exporter({ retry: { maxAttempts: 4, initialBackoffMs: 20, maxBackoffMs: 50 } });
    expect((await exportSpans(langfuse, makeSpans(3))).code).toBe(FAILED);
    expect(server.requests.map((request) => request.status)).toEqual([503, 503, 503, 503]);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain('failed with HTTP 503 after 4 attempts');
    expect(langfuse.stats()).toMatchObject({ failedSpans: 3, requests: 4, retries: 3, failuresByReason: { http_503: 1 }, lastFailure: { status: 503, attempts: 4 } });
  });

  it('500 is retried too (LangFuse answers 500 when it cannot queue a batch)', async () => {
    server.failNext(500, 1);
    const { exporter: langfuse } = exporter({ retry: { initialBackoffMs: 10 } });
    expect((await exportSpans(langfuse, makeSpans(1))).code).toBe(SUCCESS);
    expect(server.requests.map((request) => request.status)).toEqual([500, 200]);
  });

  it('a batch with a malformed id is rejected with 400, not retried, and the reason is logged', async () => {
    const [good, bad] = makeSpans(2);
    const { exporter: langfuse, messages } = exporter({ retry: { initialBackoffMs: 10 } });
    const result = await exportSpans(langfuse, [good!, withIds(bad!, bad!.spanContext().traceId, '0000000000000000')]);
    expect(result.code).toBe(FAILED);
    expect(server.requests.map((request) => request.status)).toEqual([400]);
    expect(server.spans).toHaveLength(0);
    expect(messages[0]).toContain('failed with HTTP 400; the server said: {"error":"Invalid OTLP trace export: 1 of 2 span(s) cannot be processed (spanId:all_zero×1)');
  });

  it('can leave the ingestion version header out for older servers', async () => {
    const { exporter: langfuse } = exporter({ ingestionVersion: false, compression: 'none', headers: { authorization: 'ignored', 'x-extra': '1' } });
    expect((await exportSpans(langfuse, makeSpans(1))).code).toBe(SUCCESS);
    expect(server.requests[0]!.headers.ingestionVersion).toBeUndefined();
    expect(server.requests[0]!.headers.contentEncoding).toBeUndefined();
  });
});
