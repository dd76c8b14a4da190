import { context, ROOT_CONTEXT, trace, TraceFlags, type Context, type ContextManager } from '@opentelemetry/api';
import { isTracingSuppressed, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { createServer, type Server } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BoundedBatchSpanProcessor } from '../src/bounded-batch-processor.js';
import { createOtlpTraceExporter } from '../src/create-otlp-trace-exporter.js';
import { ExportHttpError } from '../src/errors.js';
import { isRetryableExportFailure } from '../src/retryable.js';
import { SizeEstimator } from '../src/size-estimate.js';
import { SizeLimitedSpanExporter } from '../src/size-limited-exporter.js';
import type { ExportQueueStats } from '../src/types.js';
import { captureDiag, closedPort, FAILED, makeSpans, SUCCESS } from './helpers.js';

type Mode = 'ok' | 'down' | 'reject' | 'hang' | 'throw';

/** An exporter whose behaviour the test switches; records every batch it is given and the context it ran in. */
class ScriptedExporter implements SpanExporter {
  mode: Mode = 'ok';
  readonly batches: ReadableSpan[][] = [];
  readonly delivered: string[] = [];
  suppressed: boolean[] = [];
  shutdowns = 0;

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.batches.push(spans);
    this.suppressed.push(isTracingSuppressed(context.active()));
    const mode = this.mode;
    if (mode === 'throw') throw new Error('exporter bug');
    if (mode === 'hang') return;
    setImmediate(() => {
      if (mode === 'ok') {
        this.delivered.push(...spans.map((s) => s.spanContext().spanId));
        return done({ code: SUCCESS });
      }
      const error =
        mode === 'down'
          ? new ExportHttpError({ url: 'http://127.0.0.1:1/v1/traces', kind: 'network', networkCode: 'ECONNREFUSED', message: 'ECONNREFUSED connect' })
          : new ExportHttpError({ url: 'http://127.0.0.1:1/v1/traces', kind: 'http', status: 400, message: 'HTTP 400' });
      done({ code: FAILED, error });
    });
  }

  async shutdown(): Promise<void> {
    this.shutdowns++;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ids = (spans: readonly ReadableSpan[]) => spans.map((s) => s.spanContext().spanId);

/** `handedOver = delivered + dropped + queued + in flight`, always. */
function expectBalanced(q: ExportQueueStats): void {
  expect(q.handedOverSpans).toBe(q.deliveredSpans + q.droppedSpans + q.queuedSpans + q.inFlightSpans);
}

/** Children only (no root), so that eviction order is plain arrival order. */
function children(count: number, attributes: (index: number) => Record<string, string | number> = () => ({})): ReadableSpan[] {
  return makeSpans(count + 1, (index) => ({ index, ...attributes(index) })).slice(1);
}

let restoreDiag = (): void => undefined;
afterEach(() => restoreDiag());

/** A synchronous context manager, so that `context.active()` means something in these tests. */
class StackContextManager implements ContextManager {
  private current: Context = ROOT_CONTEXT;
  active(): Context {
    return this.current;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    const previous = this.current;
    this.current = ctx;
    try {
      return fn.call(thisArg, ...args);
    } finally {
      this.current = previous;
    }
  }
  bind<T>(_context: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.current = ROOT_CONTEXT;
    return this;
  }
}
beforeAll(() => void context.setGlobalContextManager(new StackContextManager()));
afterAll(() => context.disable());

describe('BoundedBatchSpanProcessor: batching', () => {
  it('exports after the delay, at once when a batch is full, inside suppressTracing, and skips unsampled spans', async () => {
    const exporter = new ScriptedExporter();
    const processor = new BoundedBatchSpanProcessor(exporter, { scheduledDelayMillis: 40, maxExportBatchSize: 4, env: {} });
    const spans = children(6);
    const unsampled = { ...spans[0]!, spanContext: () => ({ ...spans[0]!.spanContext(), traceFlags: TraceFlags.NONE }) } as ReadableSpan;
    processor.onEnd(unsampled);
    for (const span of spans.slice(0, 4)) processor.onEnd(span);
    await sleep(5);
    expect(exporter.batches.map((b) => b.length)).toEqual([4]); // full batch: no waiting for the delay
    for (const span of spans.slice(4)) processor.onEnd(span);
    await sleep(10);
    expect(exporter.batches).toHaveLength(1);
    await sleep(60);
    expect(exporter.batches.map((b) => b.length)).toEqual([4, 2]);
    expect(exporter.delivered).toEqual(ids(spans));
    expect(exporter.suppressed.every(Boolean)).toBe(true);
    expect(processor.queueStats()).toMatchObject({ handedOverSpans: 6, deliveredSpans: 6, droppedSpans: 0, queuedSpans: 0 });
  });

  it('never keeps the process alive: its timer is unref\'d', async () => {
    const processor = new BoundedBatchSpanProcessor(new ScriptedExporter(), { scheduledDelayMillis: 60_000, env: {} });
    const [span] = children(1);
    const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    processor.onEnd(span!);
    expect(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length).toBe(before);
    await processor.shutdown();
  });

  it('reads the OTEL_BSP_* variables and its own, corrects bad values with a warning, and lets code options win', () => {
    const diag = captureDiag();
    restoreDiag = diag.restore;
    const env = { OTEL_BSP_MAX_QUEUE_SIZE: '100', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '10', OTEL_BSP_SCHEDULE_DELAY: '250', OTEL_BSP_EXPORT_TIMEOUT: '7000', VOICETRACE_BSP_MAX_QUEUE_BYTES: '65536', VOICETRACE_BSP_SHUTDOWN_TIMEOUT: '1500' };
    const fromEnv = new BoundedBatchSpanProcessor(new ScriptedExporter(), { env });
    expect([fromEnv.maxQueueSize, fromEnv.maxExportBatchSize, fromEnv.scheduledDelayMillis, fromEnv.exportTimeoutMillis, fromEnv.maxQueueBytes, fromEnv.shutdownTimeoutMillis]).toEqual([100, 10, 250, 7000, 65536, 1500]);
    const code = new BoundedBatchSpanProcessor(new ScriptedExporter(), { env, maxQueueSize: 50 });
    expect(code.maxQueueSize).toBe(50);
    const bad = new BoundedBatchSpanProcessor(new ScriptedExporter(), { env: { OTEL_BSP_MAX_QUEUE_SIZE: 'lots', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '4096' } });
    expect([bad.maxQueueSize, bad.maxExportBatchSize, bad.maxQueueBytes, bad.scheduledDelayMillis]).toEqual([2048, 2048, 8 * 1024 * 1024, 5000]);
    expect(diag.warnings.join('\n')).toContain('OTEL_BSP_MAX_QUEUE_SIZE="lots" is not a positive integer; using 2048');
    expect(diag.warnings.join('\n')).toContain('maxExportBatchSize (4096) is above maxQueueSize (2048)');
  });
});

describe('BoundedBatchSpanProcessor: bounds and the drop policy', () => {
  it('holds at most maxQueueSize spans: the oldest queued go first, each drop counted once', async () => {
    const diag = captureDiag();
    restoreDiag = diag.restore;
    const exporter = new ScriptedExporter();
    exporter.mode = 'down';
    const processor = new BoundedBatchSpanProcessor(exporter, { maxQueueSize: 10, maxExportBatchSize: 2, scheduledDelayMillis: 60_000, retry: { initialBackoffMs: 60_000 }, env: {} });
    const spans = children(25);
    // spans 0 and 1 fill a batch and go out at once (to fail); the bound counts them while in flight
    for (const span of spans) processor.onEnd(span);
    let q = processor.queueStats();
    expect(q).toMatchObject({ queuedSpans: 8, inFlightSpans: 2, peakQueuedSpans: 10 });
    expect(q.droppedByReason.queue_full).toBe(15); // spans 2..16, oldest first
    expectBalanced(q);
    await sleep(10); // the failed batch is back at the head of the queue, still within the bound
    q = processor.queueStats();
    expect(q).toMatchObject({ queuedSpans: 10, inFlightSpans: 0, requeuedSpans: 2 });
    exporter.mode = 'ok';
    await processor.forceFlush();
    expect(exporter.delivered).toEqual(ids([...spans.slice(0, 2), ...spans.slice(17)]));
    expect(diag.warnings.filter((w) => w.includes('queue is full'))).toHaveLength(1);
    expectBalanced(processor.queueStats());
  });

  it('evicts a trace root only when nothing else is queued (the session span survives a long outage)', async () => {
    const exporter = new ScriptedExporter();
    exporter.mode = 'down';
    const processor = new BoundedBatchSpanProcessor(exporter, { maxQueueSize: 5, scheduledDelayMillis: 60_000, retry: { initialBackoffMs: 60_000 }, env: {} });
    const [root, ...rest] = makeSpans(16); // root first, then 15 children
    // the root and 4 children fill the queue: one batch in flight, so the next 7 find nothing to evict and are refused
    processor.onEnd(root!);
    for (const span of rest.slice(0, 11)) processor.onEnd(span);
    expect(processor.queueStats().droppedByReason.queue_full).toBe(7);
    await sleep(10); // the batch failed and is queued again
    // later spans evict the oldest children, never the root
    for (const span of rest.slice(11)) processor.onEnd(span);
    exporter.mode = 'ok';
    await processor.forceFlush();
    expect(exporter.delivered).toEqual(ids([root!, ...rest.slice(11)]));
    expect(processor.queueStats().droppedByReason.queue_full).toBe(11);
  });

  it('holds at most maxQueueBytes (estimated): the byte bound evicts too, and a span larger than the bound is refused', async () => {
    const exporter = new ScriptedExporter();
    const estimator = new SizeEstimator(false);
    const spans = children(10, () => ({ text: 'x'.repeat(2_000) }));
    const one = estimator.span(spans[0]!);
    const processor = new BoundedBatchSpanProcessor(exporter, { maxQueueBytes: one * 4 + 10, scheduledDelayMillis: 60_000, env: {} });
    for (const span of spans) processor.onEnd(span);
    const [huge] = children(1, () => ({ text: 'y'.repeat(20_000) }));
    processor.onEnd(huge!);
    let q = processor.queueStats();
    expect(q.queuedSpans).toBe(4);
    expect(q.queuedBytes).toBeLessThanOrEqual(processor.maxQueueBytes);
    expect(q.droppedByReason).toMatchObject({ queue_bytes_full: 6, oversized: 1 });
    await processor.forceFlush();
    expect(exporter.delivered).toEqual(ids(spans.slice(6)));
    q = processor.queueStats();
    expect(q.peakQueuedBytes).toBeLessThanOrEqual(processor.maxQueueBytes);
    expectBalanced(q);
  });
});

describe('BoundedBatchSpanProcessor: outages and failures', () => {
  it('keeps a batch that failed retryably and delivers it when the backend is back, with backoff between attempts', async () => {
    const exporter = new ScriptedExporter();
    exporter.mode = 'down';
    const processor = new BoundedBatchSpanProcessor(exporter, { scheduledDelayMillis: 10, retry: { initialBackoffMs: 30, maxBackoffMs: 60 }, env: {} });
    const spans = children(8);
    for (const span of spans) processor.onEnd(span);
    await sleep(200);
    const attemptsWhileDown = exporter.batches.length;
    expect(attemptsWhileDown).toBeGreaterThanOrEqual(2);
    expect(attemptsWhileDown).toBeLessThanOrEqual(7); // backoff: 10 ms delay, then 30, 60, 60... ms
    const held = processor.queueStats();
    expect(held).toMatchObject({ deliveredSpans: 0, droppedSpans: 0 });
    expect(held.queuedSpans + held.inFlightSpans).toBe(8);
    exporter.mode = 'ok';
    await sleep(150);
    const q = processor.queueStats();
    expect(q).toMatchObject({ deliveredSpans: 8, droppedSpans: 0, queuedSpans: 0 });
    expect(q.retriedExports).toBeGreaterThanOrEqual(attemptsWhileDown);
    expect(q.requeuedSpans).toBe(8 * q.retriedExports);
    expect(exporter.delivered).toEqual(ids(spans));
    expect(processor.stats()).toMatchObject({ exportedSpans: 8, failedSpans: 0 });
  });

  it('drops a batch the backend refuses for good (HTTP 400), counted as export_failed; an exporter that throws is contained', async () => {
    const exporter = new ScriptedExporter();
    exporter.mode = 'reject';
    const processor = new BoundedBatchSpanProcessor(exporter, { scheduledDelayMillis: 60_000, env: {} });
    for (const span of children(3)) processor.onEnd(span);
    await processor.forceFlush();
    exporter.mode = 'throw';
    for (const span of children(2)) processor.onEnd(span);
    await processor.forceFlush();
    expect(exporter.batches).toHaveLength(2);
    const q = processor.queueStats();
    expect(q.droppedByReason.export_failed).toBe(5);
    expect(processor.stats().failedSpans).toBe(5);
    expectBalanced(q);
  });

  it('counts the spans the size limiter dropped as oversized and the rest as delivered', async () => {
    const exporter = new ScriptedExporter();
    const limited = new SizeLimitedSpanExporter(exporter, { maxBatchBytes: 5_000, maxAttributeLength: 10_000, env: {} });
    const processor = new BoundedBatchSpanProcessor(limited, { scheduledDelayMillis: 60_000, env: {} });
    const spans = children(4, (index): Record<string, string> => (index === 2 ? { big: 'z'.repeat(9_000) } : {}));
    for (const span of spans) processor.onEnd(span);
    await processor.forceFlush();
    expect(processor.queueStats()).toMatchObject({ deliveredSpans: 3, droppedByReason: { oversized: 1 }, queuedSpans: 0 });
    expect(exporter.batches).toHaveLength(1);
  });

  it('classifies failures as the OTLP specification does', () => {
    const http = (status: number) => new ExportHttpError({ url: 'u', kind: 'http', status, message: `HTTP ${status}` });
    expect([429, 502, 503, 504].map((s) => isRetryableExportFailure(http(s)))).toEqual([true, true, true, true]);
    expect([400, 401, 403, 404, 413, 500].map((s) => isRetryableExportFailure(http(s)))).toEqual([false, false, false, false, false, false]);
    expect(isRetryableExportFailure(new ExportHttpError({ url: 'u', kind: 'timeout', message: 'no response' }))).toBe(true);
    expect(isRetryableExportFailure(new ExportHttpError({ url: 'u', kind: 'network', networkCode: 'ECONNRESET', message: 'reset' }))).toBe(true);
    expect(isRetryableExportFailure(new ExportHttpError({ url: 'u', kind: 'network', networkCode: 'DEPTH_ZERO_SELF_SIGNED_CERT', message: 'cert' }))).toBe(false);
    expect(isRetryableExportFailure(Object.assign(new Error('OTLP export failed'), { code: 503 }))).toBe(true);
    expect(isRetryableExportFailure(new Error('EACCES: permission denied'))).toBe(false);
    expect(isRetryableExportFailure(undefined)).toBe(false);
  });

  it('through the real OTLP exporter: a collector that is down at first gets every span once it listens', async () => {
    const port = await closedPort();
    const exporter = createOtlpTraceExporter({ endpoint: `http://127.0.0.1:${port}`, timeoutMillis: 500, retry: { maxAttempts: 2, initialBackoffMs: 50 }, logger: () => undefined, env: {} });
    const processor = new BoundedBatchSpanProcessor(exporter, { scheduledDelayMillis: 20, retry: { initialBackoffMs: 50, maxBackoffMs: 100 }, env: {} });
    const spans = children(20);
    for (const span of spans) processor.onEnd(span);
    await sleep(400);
    expect(processor.queueStats()).toMatchObject({ deliveredSpans: 0, droppedSpans: 0 });
    let received = 0;
    const server: Server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        received++;
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    try {
      for (let i = 0; i < 50 && processor.queueStats().deliveredSpans < 20; i++) await sleep(50);
      expect(processor.queueStats()).toMatchObject({ deliveredSpans: 20, droppedSpans: 0, queuedSpans: 0 });
      expect(received).toBeGreaterThan(0);
      // the exporter's own counters count attempts; the queue's outcomes count spans once
      const stats = processor.stats();
      expect(stats.exportedSpans).toBe(20);
      expect(stats.failedSpans).toBe(0);
      expect(stats.failedExports).toBeGreaterThan(0);
      expect(stats.failuresByReason.ECONNREFUSED).toBeGreaterThan(0);
    } finally {
      await processor.shutdown();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('BoundedBatchSpanProcessor: bounded flush and shutdown', () => {
  it('forceFlush resolves within the export timeout when the exporter hangs, and the batch stays for later', async () => {
    const exporter = new ScriptedExporter();
    exporter.mode = 'hang';
    const processor = new BoundedBatchSpanProcessor(exporter, { scheduledDelayMillis: 60_000, exportTimeoutMillis: 150, shutdownTimeoutMillis: 50, env: {} });
    for (const span of children(3)) processor.onEnd(span);
    const started = Date.now();
    await processor.forceFlush();
    expect(Date.now() - started).toBeLessThan(400);
    // the export timed out: retryable, so the spans are queued again, not lost
    await sleep(20);
    expect(processor.queueStats()).toMatchObject({ droppedSpans: 0, queuedSpans: 3, retriedExports: 1 });
    await processor.shutdown();
  });

  it('shutdown returns within its bound against a hanging exporter, counts what never left as shutdown, then refuses spans', async () => {
    const exporter = new ScriptedExporter();
    exporter.mode = 'hang';
    const processor = new BoundedBatchSpanProcessor(exporter, { scheduledDelayMillis: 60_000, maxExportBatchSize: 4, shutdownTimeoutMillis: 200, env: {} });
    for (const span of children(10)) processor.onEnd(span);
    const started = Date.now();
    await processor.shutdown();
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(190);
    expect(took).toBeLessThan(500);
    processor.onEnd(children(1)[0]!);
    await processor.shutdown(); // idempotent
    const q = processor.queueStats();
    expect(q.droppedByReason).toMatchObject({ shutdown: 10, after_shutdown: 1 });
    expect(q).toMatchObject({ queuedSpans: 0, inFlightSpans: 0, handedOverSpans: 11 });
    expectBalanced(q);
    expect(exporter.shutdowns).toBe(1);
  });

  it('shutdown delivers what is queued when the backend answers, and a backend that comes back within the bound still gets it', async () => {
    const exporter = new ScriptedExporter();
    exporter.mode = 'down';
    const processor = new BoundedBatchSpanProcessor(exporter, { scheduledDelayMillis: 60_000, shutdownTimeoutMillis: 2_000, env: {} });
    const spans = children(7);
    for (const span of spans) processor.onEnd(span);
    setTimeout(() => (exporter.mode = 'ok'), 300);
    await processor.shutdown();
    expect(processor.queueStats()).toMatchObject({ deliveredSpans: 7, droppedSpans: 0 });
    expect(exporter.delivered).toEqual(ids(spans));
  });

  it('never throws into the caller, whatever it is handed', () => {
    const processor = new BoundedBatchSpanProcessor(new ScriptedExporter(), { env: {} });
    expect(() => processor.onEnd(undefined as unknown as ReadableSpan)).not.toThrow();
    expect(() => processor.onEnd({ spanContext: () => ({ traceFlags: 1 }) } as unknown as ReadableSpan)).not.toThrow();
    expect(() => processor.onStart(trace.wrapSpanContext({ traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 1 }) as never, ROOT_CONTEXT)).not.toThrow();
  });
});
