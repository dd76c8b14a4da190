import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { createOtlpTraceExporter } from '../src/create-otlp-trace-exporter.js';
import { OtlpHttpSpanExporter } from '../src/otlp-http-exporter.js';
import { ReportingSpanExporter } from '../src/reporting-exporter.js';
import { readExportStats } from '../src/stats.js';
import { captureDiag, closedPort, exportSpans, FAILED, makeSpans, startServer, SUCCESS } from './helpers.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function server(...args: Parameters<typeof startServer>) {
  const started = await startServer(...args);
  cleanups.push(started.close);
  return started;
}

function exporterFor(options: Parameters<typeof createOtlpTraceExporter>[0]) {
  const messages: string[] = [];
  const exporter = createOtlpTraceExporter({ env: {}, logger: (message) => messages.push(message), ...options });
  cleanups.push(() => exporter.shutdown());
  return { exporter, messages };
}

describe('createOtlpTraceExporter against a real HTTP server', () => {
  it('sends protobuf to <base>/v1/traces and counts the spans', async () => {
    const collector = await server(() => ({ status: 200, headers: { 'Content-Type': 'application/x-protobuf' }, body: new Uint8Array() }));
    const { exporter, messages } = exporterFor({ endpoint: collector.url, headers: { 'x-tenant': 't1' } });
    const spans = makeSpans(3);
    expect((await exportSpans(exporter, spans)).code).toBe(SUCCESS);
    const [request] = collector.requests;
    expect(request?.url).toBe('/v1/traces');
    expect(request?.headers['content-type']).toBe('application/x-protobuf');
    expect(request?.headers['x-tenant']).toBe('t1');
    expect(request?.body.length).toBeGreaterThan(100);
    expect(exporter.stats()).toMatchObject({ exportedSpans: 3, successfulExports: 1, failedSpans: 0, requests: 1, retries: 0 });
    expect(messages).toEqual([]);
  });

  it('sends OTLP/JSON with hex ids when the protocol is http/json, gzip when asked', async () => {
    const collector = await server(() => ({ status: 200, headers: { 'Content-Type': 'application/json' }, body: '{}' }));
    const { exporter } = exporterFor({ endpoint: `${collector.url}/v1/traces`, protocol: 'http/json', compression: 'gzip' });
    const spans = makeSpans(2);
    expect((await exportSpans(exporter, spans)).code).toBe(SUCCESS);
    const request = collector.requests[0]!;
    expect(request.headers['content-encoding']).toBe('gzip');
    expect(request.headers['content-type']).toBe('application/json');
    const body = JSON.parse(gunzipSync(request.body).toString('utf8'));
    const sent = body.resourceSpans[0].scopeSpans[0].spans;
    expect(sent.map((span: { spanId: string }) => span.spanId)).toEqual(spans.map((span) => span.spanContext().spanId));
    expect(sent[0].traceId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('on HTTP 404 logs exactly one clear error naming the URL, the status and the variable, then only counts', async () => {
    const collector = await server(() => ({ status: 404, body: '404 page not found' }));
    const diag = captureDiag();
    cleanups.push(diag.restore);
    const { exporter, messages } = exporterFor({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: `${collector.url}/otlp` } });
    const url = `${collector.url}/otlp/v1/traces`;
    const first = await exportSpans(exporter, makeSpans(2));
    const second = await exportSpans(exporter, makeSpans(3));
    expect([first.code, second.code]).toEqual([FAILED, FAILED]);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain(`traces export to ${url} failed with HTTP 404`);
    expect(messages[0]).toContain('check OTEL_EXPORTER_OTLP_ENDPOINT (the base URL, /v1/traces is appended)');
    expect(messages[0]).toContain('this URL came from OTEL_EXPORTER_OTLP_ENDPOINT');
    expect(messages[0]).toContain('404 page not found');
    expect(diag.errors).toEqual(messages);
    expect(collector.requests).toHaveLength(2); // 404 is not retried
    expect(exporter.stats()).toMatchObject({ failedSpans: 5, failedExports: 2, exportedSpans: 0, failuresByReason: { http_404: 2 }, lastFailure: { status: 404 } });
  });

  it('on a closed port reports the connection error once, retries within bounds, never throws', async () => {
    const port = await closedPort();
    const { exporter, messages } = exporterFor({ endpoint: `http://127.0.0.1:${port}`, retry: { maxAttempts: 3, initialBackoffMs: 10 } });
    const result = await exportSpans(exporter, makeSpans(2));
    await exportSpans(exporter, makeSpans(1));
    expect(result.code).toBe(FAILED);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain(`traces export to http://127.0.0.1:${port}/v1/traces failed with a network error (ECONNREFUSED) after 3 attempts`);
    expect(messages[0]).toContain('is the collector running');
    expect(exporter.stats()).toMatchObject({ failedSpans: 3, failedExports: 2, requests: 6, retries: 4, failuresByReason: { ECONNREFUSED: 2 } });
  });

  it('retries 503 and 429, honouring Retry-After, then succeeds', async () => {
    const collector = await server((_, index) =>
      index === 0 ? { status: 503 } : index === 1 ? { status: 429, headers: { 'Retry-After': '1' } } : { status: 200 },
    );
    const { exporter, messages } = exporterFor({ endpoint: collector.url, retry: { initialBackoffMs: 10 } });
    const started = Date.now();
    expect((await exportSpans(exporter, makeSpans(1))).code).toBe(SUCCESS);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(collector.requests).toHaveLength(3);
    expect(exporter.stats()).toMatchObject({ exportedSpans: 1, requests: 3, retries: 2, failedSpans: 0 });
    expect(messages).toEqual([]);
  });

  it('stops retrying at the export deadline', async () => {
    const collector = await server(() => ({ status: 503 }));
    const { exporter, messages } = exporterFor({ endpoint: collector.url, timeoutMillis: 600, retry: { initialBackoffMs: 200, jitter: 0, maxAttempts: 100 } });
    const started = Date.now();
    expect((await exportSpans(exporter, makeSpans(1))).code).toBe(FAILED);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(collector.requests.length).toBeGreaterThanOrEqual(2);
    expect(collector.requests.length).toBeLessThanOrEqual(3);
    expect(messages[0]).toContain('failed with HTTP 503 after');
  });

  it('does not retry when retry is false', async () => {
    const collector = await server(() => ({ status: 503 }));
    const { exporter } = exporterFor({ endpoint: collector.url, retry: false });
    expect((await exportSpans(exporter, makeSpans(1))).code).toBe(FAILED);
    expect(collector.requests).toHaveLength(1);
  });
});

describe('ReportingSpanExporter', () => {
  const throwing: SpanExporter = {
    export: () => {
      throw new Error('boom');
    },
    shutdown: async () => undefined,
  };

  it('turns an exception from the wrapped exporter into a counted failure', async () => {
    const messages: string[] = [];
    const reporting = new ReportingSpanExporter(throwing, { target: 'memory', logger: (message) => messages.push(message) });
    expect((await exportSpans(reporting, makeSpans(2))).code).toBe(FAILED);
    expect(messages[0]).toBe('voicetrace: traces export to memory failed with an error (boom). Later failures are only counted (read them with stats()).');
    expect(readExportStats(reporting)).toMatchObject({ failedSpans: 2, failuresByReason: { error: 1 } });
  });

  it('understands the stock OTLPExporterError (numeric code, data)', async () => {
    const stockLike: SpanExporter = {
      export: (_spans: ReadableSpan[], done) => done({ code: FAILED, error: Object.assign(new Error('Unauthorized'), { code: 401, data: 'bad key' }) }),
      shutdown: async () => undefined,
    };
    const messages: string[] = [];
    const reporting = new ReportingSpanExporter(stockLike, { target: 'http://x/v1/traces', logger: (message) => messages.push(message), advise: () => 'check the key' });
    await exportSpans(reporting, makeSpans(1));
    expect(messages[0]).toContain('failed with HTTP 401; the server said: bad key — check the key.');
  });

  it('a throwing logger or advice does not break exporting', async () => {
    const reporting = new ReportingSpanExporter(throwing, {
      target: 'x',
      logger: () => {
        throw new Error('logger');
      },
      advise: () => {
        throw new Error('advice');
      },
    });
    expect((await exportSpans(reporting, makeSpans(1))).code).toBe(FAILED);
  });

  it('adds the wrapped exporter counters', async () => {
    const collector = await server(() => ({ status: 200 }));
    const http = new OtlpHttpSpanExporter({ url: `${collector.url}/v1/traces`, protocol: 'http/json' });
    const reporting = new ReportingSpanExporter(http, { target: http.url });
    cleanups.push(() => reporting.shutdown());
    await exportSpans(reporting, makeSpans(4));
    expect(reporting.stats()).toMatchObject({ exportedSpans: 4, requests: 1 });
    // The JSON the server got is what the stock serializer makes.
    const expected = JSON.parse(Buffer.from(JsonTraceSerializer.serializeRequest(makeSpans(1))!).toString('utf8'));
    expect(Object.keys(JSON.parse(collector.requests[0]!.body.toString('utf8')))).toEqual(Object.keys(expected));
  });
});
