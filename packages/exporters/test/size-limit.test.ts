import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeTraceRequest } from '../src/protobuf-trace-serializer.js';
import { DEFAULT_MAX_BATCH_BYTES, SizeLimitedSpanExporter } from '../src/size-limited-exporter.js';
import { TRUNCATED_ATTRIBUTES_KEY } from '../src/truncate.js';
import { captureDiag, exportSpans, FAILED, makeSpans, SUCCESS } from './helpers.js';

/** Records every request-sized part it is given. */
function recorder(fail?: (part: ReadableSpan[], index: number) => boolean) {
  const parts: ReadableSpan[][] = [];
  const exporter: SpanExporter = {
    export: (spans, done) => {
      parts.push(spans);
      const failed = fail?.(spans, parts.length - 1) ?? false;
      setImmediate(() => done(failed ? { code: FAILED, error: new Error('part failed') } : { code: SUCCESS }));
    },
    shutdown: async () => undefined,
  };
  return { exporter, parts };
}

const text = (length: number, char = 'x') => char.repeat(length);
let restoreDiag = (): void => undefined;
afterEach(() => restoreDiag());

describe('SizeLimitedSpanExporter: attribute cap', () => {
  it('cuts long strings, lists the keys, leaves the original span untouched and counts', async () => {
    const { exporter, parts } = recorder();
    const limited = new SizeLimitedSpanExporter(exporter, { maxAttributeLength: 10, env: {} });
    const [span] = makeSpans(1, () => ({ 'lk.chat_ctx': text(100), short: 'ok', list: ['a', text(20)], count: 3 }));
    expect((await exportSpans(limited, [span!])).code).toBe(SUCCESS);
    const sent = parts[0]![0]!;
    expect(sent.attributes['lk.chat_ctx']).toBe(text(10));
    expect(sent.attributes.list).toEqual(['a', text(10)]);
    expect(sent.attributes.short).toBe('ok');
    expect(sent.attributes.count).toBe(3);
    expect(sent.attributes[TRUNCATED_ATTRIBUTES_KEY]).toEqual(['lk.chat_ctx', 'list']);
    expect(sent.spanContext()).toEqual(span!.spanContext());
    expect(sent.resource).toBe(span!.resource);
    expect(span!.attributes['lk.chat_ctx']).toHaveLength(100);
    expect(limited.stats()).toMatchObject({ truncatedSpans: 1, truncatedAttributes: 2, splitBatches: 0 });
  });

  it('never cuts a surrogate pair in half', async () => {
    const { exporter, parts } = recorder();
    const limited = new SizeLimitedSpanExporter(exporter, { maxAttributeLength: 5, env: {} });
    await exportSpans(limited, makeSpans(1, () => ({ emoji: 'abcd😀😀😀' })));
    expect(parts[0]![0]!.attributes.emoji).toBe('abcd');
  });

  it('passes spans without long values through as the same objects', async () => {
    const { exporter, parts } = recorder();
    const spans = makeSpans(3, () => ({ a: 'short' }));
    await exportSpans(new SizeLimitedSpanExporter(exporter, { env: {} }), spans);
    expect(parts).toEqual([spans]);
    expect(parts[0]![0]).toBe(spans[0]);
  });
});

describe('SizeLimitedSpanExporter: request budget', () => {
  for (const protocol of ['http/protobuf', 'http/json'] as const) {
    it(`splits so that every ${protocol} request fits the budget, in order, nothing lost`, async () => {
      const { exporter, parts } = recorder();
      const budget = 20_000;
      const limited = new SizeLimitedSpanExporter(exporter, { maxBatchBytes: budget, protocol, env: {} });
      // Quotes and newlines: JSON escapes them, so they cost more there than their length.
      const spans = makeSpans(60, (index) => ({ payload: `{"turn":${index},"text":"${text(700, 'é')}\n"}`, index, ratio: index / 7, ok: true, tags: ['x', 'y'] }));
      expect((await exportSpans(limited, spans)).code).toBe(SUCCESS);
      expect(parts.length).toBeGreaterThan(2);
      expect(parts.flat()).toEqual(spans);
      const serializer = protocol === 'http/json' ? JsonTraceSerializer : ProtobufTraceSerializer;
      for (const part of parts) expect(serializer.serializeRequest(part)!.byteLength).toBeLessThanOrEqual(budget);
      // voicetrace's own protobuf encoder (what the OTLP exporter sends) fits too
      if (protocol === 'http/protobuf') for (const part of parts) expect(encodeTraceRequest(part).byteLength).toBeLessThanOrEqual(budget);
      // Not wastefully small either: parts are at least half full, the last one aside.
      for (const part of parts.slice(0, -1)) expect(serializer.serializeRequest(part)!.byteLength).toBeGreaterThan(budget / 2);
      expect(limited.stats()).toMatchObject({ splitBatches: 1, droppedOversizedSpans: 0 });
    });
  }

  it('drops a span that alone exceeds the budget, counts it, warns once and reports the batch failed', async () => {
    const diag = captureDiag();
    restoreDiag = diag.restore;
    const { exporter, parts } = recorder();
    const limited = new SizeLimitedSpanExporter(exporter, { maxBatchBytes: 5_000, maxAttributeLength: 1_000, env: {} });
    const spans = makeSpans(3, (index) => (index === 1 ? Object.fromEntries(Array.from({ length: 10 }, (_, key) => [`k${key}`, text(1_000)])) : {}));
    const result = await exportSpans(limited, spans);
    await exportSpans(limited, spans);
    expect(result.code).toBe(FAILED);
    expect(result.error?.message).toContain('exceeded the 5000-byte request budget');
    expect(parts[0]!.map((span) => span.spanContext().spanId)).toEqual([spans[0], spans[2]].map((span) => span!.spanContext().spanId));
    expect(limited.stats().droppedOversizedSpans).toBe(2);
    expect(diag.warnings.filter((warning) => warning.includes('dropped span'))).toHaveLength(1);
  });

  it('reports the first failed part but still sends the others', async () => {
    const { exporter, parts } = recorder((_, index) => index === 0);
    const limited = new SizeLimitedSpanExporter(exporter, { maxBatchBytes: 3_000, env: {} });
    const result = await exportSpans(limited, makeSpans(20, () => ({ a: text(500) })));
    expect(result).toMatchObject({ code: FAILED, error: { message: 'part failed' } });
    expect(parts.length).toBeGreaterThan(2);
  });

  it('forceFlush waits for parts not yet handed on', async () => {
    const { exporter, parts } = recorder();
    const limited = new SizeLimitedSpanExporter(exporter, { maxBatchBytes: 3_000, env: {} });
    let done = false;
    limited.export(makeSpans(20, () => ({ a: text(500) })), () => (done = true));
    await limited.forceFlush();
    expect(done).toBe(true);
    expect(parts.length).toBeGreaterThan(2);
  });

  it('reads the budget and the cap from the environment, correcting bad values with a warning', () => {
    const diag = captureDiag();
    restoreDiag = diag.restore;
    const { exporter } = recorder();
    const fromEnv = new SizeLimitedSpanExporter(exporter, { env: { VOICETRACE_EXPORT_MAX_BATCH_BYTES: '1000000', VOICETRACE_EXPORT_MAX_ATTRIBUTE_LENGTH: '4096' } });
    expect([fromEnv.maxBatchBytes, fromEnv.maxAttributeLength]).toEqual([1_000_000, 4096]);
    const bad = new SizeLimitedSpanExporter(exporter, { env: { VOICETRACE_EXPORT_MAX_BATCH_BYTES: '3MB' } });
    expect(bad.maxBatchBytes).toBe(DEFAULT_MAX_BATCH_BYTES);
    expect(diag.warnings).toEqual([expect.stringContaining('VOICETRACE_EXPORT_MAX_BATCH_BYTES="3MB" is not a positive integer; using 3000000')]);
  });
});
