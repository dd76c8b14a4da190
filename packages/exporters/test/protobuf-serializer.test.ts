import { SpanKind, SpanStatusCode, TraceFlags, type Attributes, type HrTime, type Link, type SpanContext } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeTraceRequest, hrTimeToFixed64 } from '../src/protobuf-trace-serializer.js';
import { SizeEstimator } from '../src/size-estimate.js';
import { withAttributes } from '../src/truncate.js';
import { ATTRIBUTE_PARTS, type AttributeParts } from '@voicetrace/conventions';
import { makeSpans } from './helpers.js';
import { decodeTraceRequest } from './otlp-proto.js';

// voicetrace's direct protobuf encoder against the OTLP proto definitions and the stock serializer:
// over random spans (every AnyValue type, arrays, kvlists, bytes, events, links, status, dropped counts,
// trace state, flags, remote parents, non-ASCII and lone-surrogate strings, 64-bit integers, several
// resources and scopes), both outputs decode to the same request.

type Resource = ReadableSpan['resource'];

const hex = (bytes: number) => fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString('hex'));
/** Strings of any UTF-16 code units: ASCII, accents, CJK, emoji pairs and lone surrogates. */
const text = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) }),
  fc.string({ minLength: 40, maxLength: 400, unit: fc.constantFrom('a', 'é', '日', '😀', '"', '\n') }),
);
const int64 = fc.oneof(
  fc.integer(),
  fc.maxSafeInteger(),
  fc.constantFrom(0, -1, 2 ** 31, -(2 ** 31) - 1, 2 ** 32, 2 ** 53, 2 ** 62, -(2 ** 63), 2 ** 63 - 2 ** 10, -(2 ** 53) - 2),
);
const scalar = fc.oneof(text, fc.boolean(), int64, fc.double());
const anyValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(fc.oneof(scalar, fc.constant(null), fc.constant(undefined)), { maxLength: 5 }),
    fc.uint8Array({ maxLength: 20 }),
    fc.dictionary(text, tie('value'), { maxKeys: 3 }),
    fc.constant(null),
    fc.constant(undefined),
  ),
})).value;
const attributes = fc.dictionary(text, anyValue, { maxKeys: 8 }) as fc.Arbitrary<Attributes>;
const hrTime: fc.Arbitrary<HrTime> = fc.tuple(fc.integer({ min: 0, max: 4_102_444_800 }), fc.integer({ min: 0, max: 999_999_999 }));
const traceState = fc.option(fc.constantFrom('vendor=value', 'a=1,b=2', 'congo=t61rcWkgMzE'), { nil: undefined }).map((s) => (s ? new TraceState(s) : undefined));
const spanContext: fc.Arbitrary<SpanContext> = fc.record({
  traceId: hex(16),
  spanId: hex(8),
  traceFlags: fc.constantFrom(TraceFlags.NONE, TraceFlags.SAMPLED, 0xff),
  isRemote: fc.option(fc.boolean(), { nil: undefined }),
  traceState,
});
/** Attributes as the OTel API types them: strings, numbers, booleans and arrays of them. */
const plainAttributes = fc.dictionary(text, fc.oneof(scalar, fc.array(scalar, { maxLength: 4 })), { maxKeys: 8 }) as fc.Arbitrary<Attributes>;
const event = (attrs: fc.Arbitrary<Attributes>): fc.Arbitrary<TimedEvent> =>
  fc.record({ name: text, time: hrTime, attributes: fc.option(attrs, { nil: undefined }), droppedAttributesCount: fc.option(fc.nat(1000), { nil: undefined }) });
const link = (attrs: fc.Arbitrary<Attributes>): fc.Arbitrary<Link> =>
  fc.record({ context: spanContext, attributes: fc.option(attrs, { nil: undefined }), droppedAttributesCount: fc.option(fc.nat(1000), { nil: undefined }) });

const resources: Resource[] = [
  { attributes: { 'service.name': 'agent', 'deployment.environment.name': 'prod', 'host.cpus': 8, 'process.pid': 4321, 'service.tags': ['a', 'b'] } },
  { attributes: { 'service.name': 'worker é日😀' }, schemaUrl: 'https://opentelemetry.io/schemas/1.30.0' },
  { attributes: {} },
].map((r) => ({ asyncAttributesPending: false, merge: () => r, getRawAttributes: () => [], ...r }) as unknown as Resource);
const scopes: Array<ReadableSpan['instrumentationScope']> = [{ name: 'livekit-agents', version: '1.9.0' }, { name: 'voicetrace' }, { name: 'x', version: '2', schemaUrl: 'https://example.com/s' }];

const spanOf = (attrs: fc.Arbitrary<Attributes>, resourceCount: number, scopeCount: number): fc.Arbitrary<ReadableSpan> => fc
  .record({
    name: text,
    kind: fc.constantFrom(SpanKind.INTERNAL, SpanKind.SERVER, SpanKind.CLIENT, SpanKind.PRODUCER, SpanKind.CONSUMER),
    context: spanContext,
    parent: fc.option(spanContext, { nil: undefined }),
    start: hrTime,
    end: hrTime,
    status: fc.record({ code: fc.constantFrom(SpanStatusCode.UNSET, SpanStatusCode.OK, SpanStatusCode.ERROR), message: fc.option(text, { nil: undefined }) }),
    attributes: attrs,
    events: fc.array(event(attrs), { maxLength: 3 }),
    links: fc.array(link(attrs), { maxLength: 3 }),
    dropped: fc.tuple(fc.nat(300), fc.nat(300), fc.nat(300)),
    resource: fc.nat(resourceCount - 1),
    scope: fc.nat(scopeCount - 1),
  })
  .map(
    (s) =>
      ({
        name: s.name,
        kind: s.kind,
        spanContext: () => s.context,
        parentSpanContext: s.parent,
        startTime: s.start,
        endTime: s.end,
        status: s.status,
        attributes: s.attributes,
        links: s.links,
        events: s.events,
        duration: [0, 0],
        ended: true,
        resource: resources[s.resource]!,
        instrumentationScope: scopes[s.scope]!,
        droppedAttributesCount: s.dropped[0],
        droppedEventsCount: s.dropped[1],
        droppedLinksCount: s.dropped[2],
      }) as ReadableSpan,
  );
const span = spanOf(attributes, resources.length, scopes.length);
/** Spans the size estimator knows (OTel attribute types; the first resource and two scopes have no schema URL). */
const plainSpan = spanOf(plainAttributes, 1, 2);

/** A decoded request with the differences proto3 allows between two encoders evened out (an absent Status is the default one). */
function normalized(bytes: Uint8Array): unknown {
  const request = decodeTraceRequest(Uint8Array.from(bytes)) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<{ status: unknown }> }> }> };
  for (const rs of request.resourceSpans) for (const ss of rs.scopeSpans) for (const s of ss.spans) s.status ??= { message: '', code: 0 };
  return request;
}

describe('the direct protobuf encoder', () => {
  it('encodes random spans to the request the stock serializer encodes (decoded with the OTLP protos)', () => {
    fc.assert(
      fc.property(fc.array(span, { minLength: 1, maxLength: 8 }), (spans) => {
        const ours = encodeTraceRequest(spans);
        const stock = ProtobufTraceSerializer.serializeRequest(spans)!;
        expect(normalized(ours)).toEqual(normalized(stock));
        // zero dropped counts and the default status are left out: never larger than the stock encoding
        expect(ours.length).toBeLessThanOrEqual(stock.length);
      }),
      { numRuns: 400 },
    );
  });

  it('writes an export copy that carries its attributes as parts exactly as the object they stand for (ATTRIBUTE_PARTS)', () => {
    /** A copy with parts, as the contract in @voicetrace/conventions defines it (the getter on a prototype). */
    const withParts = (span: ReadableSpan, parts: AttributeParts): ReadableSpan =>
      Object.assign(Object.create({ get [ATTRIBUTE_PARTS]() { return parts; } }) as object, withAttributes(span, { 'not.read': 'the encoder reads the parts' })) as ReadableSpan;
    fc.assert(
      fc.property(plainSpan, plainAttributes, fc.array(fc.nat(10)), fc.boolean(), (span, added, omitAt, withAdded) => {
        const base = span.attributes;
        const keys = Object.keys(base);
        // keys that are array indices come first in any JavaScript object: the parts keep base's order (see AttributeParts)
        fc.pre(![...keys, ...Object.keys(added)].some((key) => /^(0|[1-9]\d*)$/.test(key)));
        // some of base's keys, some not in it; and added keys, some in base
        const omit = [...omitAt.map((i) => keys[i] ?? `absent${i}`), ...Object.keys(added).slice(0, 1)];
        const extra = withAdded ? { ...added, ...(keys[0] !== undefined ? { [keys[0]]: 'replaced' } : {}) } : undefined;
        // Object.fromEntries defines keys (a "__proto__" key stays an attribute); a repeated key keeps its first place and takes the last value
        const built: Attributes = Object.fromEntries([...keys.filter((key) => !omit.includes(key)).map((key) => [key, base[key]]), ...Object.entries(extra ?? {})]);
        const fromParts = withParts(span, { base, omit, added: extra });
        const plain = withAttributes(span, built);
        expect(Buffer.from(encodeTraceRequest([fromParts])).equals(Buffer.from(encodeTraceRequest([plain])))).toBe(true);
        for (const json of [false, true]) expect(new SizeEstimator(json).span(fromParts)).toBe(new SizeEstimator(json).span(plain));
      }),
      { numRuns: 300 },
    );
  });

  it('stays within the size estimator of the bounded queue and the size limiter', () => {
    const estimator = new SizeEstimator(false);
    fc.assert(
      fc.property(fc.array(plainSpan, { minLength: 1, maxLength: 6 }), (spans) => {
        const estimate =
          estimator.requestBytes +
          spans.reduce((sum, s) => sum + estimator.span(s), 0) +
          [...new Set(spans.map((s) => s.resource))].reduce((sum, r) => sum + estimator.resource(r.attributes), 0) +
          [...new Set(spans.map((s) => s.instrumentationScope))].reduce((sum, s) => sum + estimator.scope(s.name, s.version), 0);
        expect(encodeTraceRequest(spans).length).toBeLessThanOrEqual(estimate);
      }),
      { numRuns: 200 },
    );
  });

  it('encodes real SDK spans as the stock serializer does', () => {
    const spans = makeSpans(20, (i) => ({ 'lk.pii.chat_ctx': `{"items":[${'{"role":"user","content":["héllo 😀"]},'.repeat(i * 10)}{}]}`, 'gen_ai.usage.input_tokens': i * 100, 'voicetrace.cost': i / 3, flags: [true, false] }));
    expect(normalized(encodeTraceRequest(spans))).toEqual(normalized(ProtobufTraceSerializer.serializeRequest(spans)!));
  });

  it('writes times as exact fixed64 nanoseconds, past 2^53 and up to the year 2100', () => {
    fc.assert(
      fc.property(hrTime, ([seconds, nanos]) => {
        const [low, high] = hrTimeToFixed64([seconds, nanos]);
        expect((BigInt(high) << 32n) | BigInt(low)).toBe(BigInt(seconds) * 1_000_000_000n + BigInt(nanos));
      }),
    );
  });

  it('reuses a resource block without reusing one still waiting for its attributes', () => {
    const [a] = makeSpans(1);
    const pending = { ...a!, spanContext: () => a!.spanContext(), resource: { attributes: { x: 1 }, asyncAttributesPending: true } as unknown as Resource } as ReadableSpan;
    const first = encodeTraceRequest([pending]);
    (pending.resource as { attributes: Attributes }).attributes = { x: 2 };
    const second = encodeTraceRequest([pending]);
    expect(normalized(first)).not.toEqual(normalized(second));
    expect(normalized(second)).toEqual(normalized(ProtobufTraceSerializer.serializeRequest([pending])!));
  });
});
