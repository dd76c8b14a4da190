import type { AttributeValue, Attributes } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { attributePartsOf } from '@voicetrace/conventions';
import { utf8Length } from './utf8-length.js';

/**
 * Worst-case framing bytes per element, read off the OTLP messages (protobuf: tags and length
 * varints; JSON: field names and punctuation), so that the estimate is never below the real request
 * size (the tests check it against both stock serializers). A value costs its framing plus its text.
 */
const OVERHEAD = {
  json: { request: 64, resource: 96, scope: 96, span: 420, attribute: 24, string: 16, int: 32, double: 40, bool: 18, array: 28, arrayItem: 1, event: 120, link: 240 },
  protobuf: { request: 16, resource: 16, scope: 24, span: 112, attribute: 10, string: 6, int: 11, double: 9, bool: 2, array: 6, arrayItem: 3, event: 32, link: 56 },
} as const;

type Overhead = (typeof OVERHEAD)[keyof typeof OVERHEAD];

/**
 * Span estimates, per encoding, by span: an ended span does not change, and the bounded queue and the
 * size limiter in front of one exporter both estimate every span.
 */
const spanEstimates = { json: new WeakMap<ReadableSpan, number>(), protobuf: new WeakMap<ReadableSpan, number>() };

/** Estimates the bytes one OTLP request will take, by part, for one encoding. */
export class SizeEstimator {
  private readonly overhead: Overhead;

  constructor(private readonly json: boolean) {
    this.overhead = json ? OVERHEAD.json : OVERHEAD.protobuf;
  }

  /** Fixed cost of a request with no spans. */
  get requestBytes(): number {
    return this.overhead.request;
  }

  /** A span on its own, without its resource and scope. */
  span(span: ReadableSpan): number {
    const cache = this.json ? spanEstimates.json : spanEstimates.protobuf;
    let bytes = cache.get(span);
    if (bytes === undefined) {
      bytes = this.measure(span);
      cache.set(span, bytes);
    }
    return bytes;
  }

  /**
   * Forgets a span's estimate once nobody will ask again (its batch was split). A weak map's entries
   * go with their spans, but its table keeps the size of the most spans ever held at once (5 KiB per
   * live call in the bench) until entries are deleted: a delete lets V8 shrink it.
   */
  forget(span: ReadableSpan): void {
    (this.json ? spanEstimates.json : spanEstimates.protobuf).delete(span);
  }

  private measure(span: ReadableSpan): number {
    const o = this.overhead;
    let bytes = o.span + this.text(span.name) + this.text(span.status.message ?? '') + this.spanAttributes(span);
    for (const event of span.events) bytes += o.event + this.text(event.name) + this.attributes(event.attributes);
    for (const link of span.links) bytes += o.link + this.attributes(link.attributes);
    return bytes;
  }

  /** A resource block, paid once per request that carries spans of it. */
  resource(attributes: Attributes): number {
    return this.overhead.resource + this.attributes(attributes);
  }

  /** A scope block, paid once per request that carries spans of it. */
  scope(name: string, version: string | undefined): number {
    return this.overhead.scope + this.text(name) + this.text(version ?? '');
  }

  /** A span's attributes, from their parts when its export copy carries them (as the encoder writes them). */
  private spanAttributes(span: ReadableSpan): number {
    const parts = attributePartsOf(span);
    if (!parts) return this.attributes(span.attributes);
    const { base, omit, added } = parts;
    let bytes = 0;
    for (const key of Object.keys(base)) {
      if (!omit?.includes(key)) bytes += this.overhead.attribute + this.text(key) + this.value((added && Object.hasOwn(added, key) ? added[key] : base[key]) as AttributeValue | undefined);
    }
    if (added) for (const key of Object.keys(added)) if (!Object.hasOwn(base, key) || omit?.includes(key)) bytes += this.overhead.attribute + this.text(key) + this.value(added[key] as AttributeValue | undefined);
    return bytes;
  }

  private attributes(attributes: Attributes | undefined): number {
    if (!attributes) return 0;
    let bytes = 0;
    const keys = Object.keys(attributes);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      bytes += this.overhead.attribute + this.text(key) + this.value(attributes[key]);
    }
    return bytes;
  }

  private value(value: AttributeValue | undefined): number {
    if (Array.isArray(value)) {
      let bytes = this.overhead.array;
      for (const item of value) bytes += this.overhead.arrayItem + this.scalar(item);
      return bytes;
    }
    return this.scalar(value as string | number | boolean | undefined);
  }

  private scalar(value: string | number | boolean | null | undefined): number {
    const o = this.overhead;
    if (typeof value === 'string') return o.string + this.text(value);
    if (typeof value === 'number') return Number.isInteger(value) ? o.int : o.double;
    return o.bool;
  }

  /** UTF-8 bytes, plus JSON's escapes (a `"` or `\` doubles, a control character takes six). */
  private text(text: string): number {
    if (!this.json) return utf8Length(text);
    let bytes = Buffer.byteLength(text, 'utf8');
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 0x22 || c === 0x5c) bytes += 1;
      else if (c < 0x20) bytes += 5;
    }
    return bytes;
  }
}
