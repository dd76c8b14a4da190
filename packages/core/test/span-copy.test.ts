import { ROOT_CONTEXT, trace, type Attributes } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ATTRIBUTE_PARTS, attributePartsOf } from '@voicetrace/conventions';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { copySpan } from '../src/span-copy.js';

function endedSpan(attributes: Attributes): ReadableSpan {
  const memory = new InMemorySpanExporter();
  const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] }).getTracer('livekit-agents');
  const parent = tracer.startSpan('agent_session');
  tracer.startSpan('llm_request', { attributes }, trace.setSpan(ROOT_CONTEXT, parent)).end();
  return memory.getFinishedSpans()[0]!;
}

// attribute names (never array indices, which any JavaScript object orders first)
const key = fc.constantFrom('gen_ai.request.model', 'lk.llm_metrics', 'lk.ttft_ms', 'voicetrace.stage', 'voicetrace.cost', 'a', 'b.c');
const value = fc.oneof(fc.string(), fc.double({ noNaN: true }), fc.boolean(), fc.array(fc.string(), { maxLength: 3 }));
const attributes = fc.dictionary(key, value, { maxKeys: 7 }) as fc.Arbitrary<Attributes>;

describe('copySpan', () => {
  it('exports the live attributes without the left-out keys, plus the added ones, in their order; the live span keeps its own', () => {
    fc.assert(
      fc.property(attributes, fc.array(key, { maxLength: 4 }), fc.option(attributes, { nil: undefined }), (live, omit, added) => {
        const span = endedSpan(live);
        const before = { ...span.attributes };
        const copy = copySpan(span, { omit, attributes: added });
        const expected: Attributes = {};
        for (const k of Object.keys(span.attributes)) if (!omit.includes(k)) expected[k] = span.attributes[k];
        Object.assign(expected, added);
        // what the encoder writes (the parts) and what any other reader gets (`attributes`) are the same
        const parts = attributePartsOf(copy);
        if (omit.length || added) {
          expect(parts?.base).toBe(span.attributes);
          expect(parts?.omit ?? []).toEqual(omit);
          expect(parts?.added).toBe(added);
        } else expect(parts).toBeUndefined();
        expect(Object.entries(copy.attributes)).toEqual(Object.entries(expected));
        // once built, the object is what both read
        expect(attributePartsOf(copy)).toBeUndefined();
        expect(span.attributes).toEqual(before);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps the parts off a spread copy, which carries the attributes it is given', () => {
    const span = endedSpan({ 'lk.llm_metrics': '{}', 'gen_ai.request.model': 'gpt-4o-mini' });
    const copy = copySpan(span, { omit: ['lk.llm_metrics'] });
    const spread = { ...copy, attributes: { x: 1 } } as unknown as ReadableSpan;
    expect(ATTRIBUTE_PARTS in copy).toBe(true);
    expect(attributePartsOf(spread)).toBeUndefined();
    expect(copy.attributes).toEqual({ 'gen_ai.request.model': 'gpt-4o-mini' });
  });

  it('keeps an attribute named "__proto__" an attribute of the built object, as the encoder writes it', () => {
    const live = endedSpan({});
    const span = Object.assign(Object.create(live) as ReadableSpan, { attributes: JSON.parse('{"__proto__":"p","a":1,"b":2}') as Attributes });
    const copy = copySpan(span, { omit: ['b'], attributes: JSON.parse('{"c":3,"__proto__":"q"}') as Attributes });
    expect(Object.entries(copy.attributes)).toEqual([['__proto__', 'q'], ['a', 1], ['c', 3]]);
    expect(Object.getPrototypeOf(copy.attributes)).toBe(Object.prototype);
  });

  it('moves the copy to another trace and parent, the live span untouched', () => {
    const span = endedSpan({ a: 1 });
    const traceId = 'f'.repeat(32);
    const copy = copySpan(span, { traceId });
    expect(copy.spanContext()).toEqual({ ...span.spanContext(), traceId });
    expect(copy.parentSpanContext).toEqual({ ...span.parentSpanContext, traceId });
    expect(copySpan(span, { parent: null }).parentSpanContext).toBeUndefined();
    expect(span.spanContext().traceId).not.toBe(traceId);
    expect(copy.attributes).toBe(span.attributes);
  });
});
