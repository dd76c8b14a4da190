// The bounded queue and the size limiter share one size estimate per span (a module-level weak map,
// size-estimate.ts). V8 shrinks a weak map's table only on delete, so every span's estimate is
// forgotten after its last reading: by the limiter for the spans it splits, and by the queue for
// the spans it drops before the limiter sees them (evicted to make room, or too large to hold).
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { BoundedBatchSpanProcessor } from '../src/bounded-batch-processor.js';
import { SizeEstimator } from '../src/size-estimate.js';
import { makeSpans, SUCCESS } from './helpers.js';

const idle: SpanExporter = { export: (_spans, done) => done({ code: SUCCESS }), shutdown: async () => {} };

describe('the queue forgets the estimates of the spans it drops', () => {
  afterEach(() => vi.restoreAllMocks());

  it('evicted to make room: the victim; refused for lack of room: the span itself', async () => {
    const forget = vi.spyOn(SizeEstimator.prototype, 'forget');
    const processor = new BoundedBatchSpanProcessor(idle, { maxQueueSize: 2, scheduledDelayMillis: 60_000, env: {} });
    const spans = makeSpans(4);
    for (const span of spans) processor.onEnd(span);
    const forgotten = forget.mock.calls.map(([span]) => span);
    // the root is kept longest (evicted last): two of the three others went
    expect(forgotten).toHaveLength(2);
    for (const span of forgotten) expect(spans).toContain(span);
    expect(processor.stats().lostByReason.queue_full).toBe(2);
    forget.mockClear();
    await processor.shutdown();
  });

  it('too large to hold', async () => {
    const forget = vi.spyOn(SizeEstimator.prototype, 'forget');
    const processor = new BoundedBatchSpanProcessor(idle, { maxQueueBytes: 300, scheduledDelayMillis: 60_000, env: {} });
    const [big] = makeSpans(1, () => ({ blob: 'x'.repeat(2000) })) as [ReadableSpan];
    processor.onEnd(big);
    expect(forget.mock.calls.map(([span]) => span)).toEqual([big]);
    await processor.shutdown();
  });
});
