import type { Attributes, HrTime, SpanContext } from '@opentelemetry/api';
import { ProtobufTraceSerializer, type IExportTraceServiceResponse, type ISerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { attributePartsOf } from '@voicetrace/conventions';
import { NATIVE_STRING, utf8Length } from './utf8-length.js';

/**
 * OTLP/HTTP protobuf encoding of spans (`ExportTraceServiceRequest`) in one pass over the
 * `ReadableSpan`s into one growing buffer, with no intermediate object tree:
 *
 * - an attribute (KeyValue and its AnyValue) is measured exactly before it is written (its key's and
 *   string value's UTF-8 lengths), so its length prefixes are written once, in place;
 * - a span, event, link or status is written after a 2-byte placeholder for its length, patched
 *   when it ends (a span under 128 bytes or over 16 KiB moves by a byte or two: rare);
 * - a ScopeSpans and ResourceSpans length is patched once per batch;
 * - strings are copied by Node (`latin1` for ASCII, `utf8` otherwise); ids are hex-decoded in place;
 *   times are exact fixed64 nanoseconds; varints are canonical (minimal).
 *
 * Why not the stock `ProtobufTraceSerializer` (otlp-transformer 0.220): it walks every string three
 * times in JavaScript, one character at a time (a size estimate, an ASCII check, then the copy),
 * allocates a buffer per trace and span id, and shifts written bytes whenever a message is longer
 * than 127 bytes (each span, each large attribute, and the batch once per nesting level). Voice spans
 * carry large strings (the chat context, the request's messages) and many attributes, so that is
 * most of an export's cost. packages/exporters/README.md has the measured figures.
 *
 * The output is the message the stock serializer writes (tests decode both with the OTLP proto
 * definitions over random spans and compare), except that proto3 defaults are left out (dropped
 * counts of 0, an unset status) and a resource or scope block is encoded once and reused.
 */

/** OTLP span flags: the W3C trace flags, plus whether the parent is remote (proto `SpanFlags`). */
const HAS_IS_REMOTE = 0x100;
const IS_REMOTE = 0x200;
const INT64_MIN = -(2 ** 63);
const INT64_MAX = 2 ** 63;

/**
 * Node's own string copies behind `buf.write(text, offset, length, encoding)`, without its argument
 * handling (a third of the time on short strings); `buf.write` when a Node version lacks them.
 */
type StringWrite = (this: Buffer, text: string, offset: number, length: number) => number;
const latin1Write = (Buffer.prototype as unknown as { latin1Write?: StringWrite }).latin1Write;
const utf8Write = (Buffer.prototype as unknown as { utf8Write?: StringWrite }).utf8Write;

type Resource = ReadableSpan['resource'];
type Scope = ReadableSpan['instrumentationScope'];

/** Resource and scope blocks already encoded (field tag and length included), by object. */
const resourceBlocks = new WeakMap<Resource, Buffer>();
const scopeBlocks = new WeakMap<Scope, Buffer>();

/** Bytes per span of the batches encoded so far: the next buffer is sized from it. */
let bytesPerSpan = 2048;

/** Encodes spans as one OTLP `ExportTraceServiceRequest` (protobuf). */
export function encodeTraceRequest(spans: readonly ReadableSpan[]): Uint8Array {
  // group by resource, then scope (by identity, as the stock serializer does)
  const groups = new Map<Resource, Map<Scope, ReadableSpan[]>>();
  for (const span of spans) {
    let scopes = groups.get(span.resource);
    if (!scopes) groups.set(span.resource, (scopes = new Map()));
    let list = scopes.get(span.instrumentationScope);
    if (!list) scopes.set(span.instrumentationScope, (list = []));
    list.push(span);
  }
  const writer = new Writer(Math.ceil(spans.length * bytesPerSpan * 1.25) + 1024);
  for (const [resource, scopes] of groups) {
    const resourceSpans = writer.open(1, 3);
    writer.block(resourceBlocks, resource, encodeResource);
    for (const [scope, list] of scopes) {
      const scopeSpans = writer.open(2, 3);
      writer.block(scopeBlocks, scope, encodeScope);
      for (const span of list) writer.span(span);
      if (scope.schemaUrl) writer.stringField(3, scope.schemaUrl);
      writer.close(scopeSpans, 3);
    }
    if (resource.schemaUrl) writer.stringField(3, resource.schemaUrl);
    writer.close(resourceSpans, 3);
  }
  if (spans.length) bytesPerSpan = bytesPerSpan * 0.5 + (writer.pos / spans.length) * 0.5;
  return writer.finish();
}

/**
 * The protobuf serializer of voicetrace's OTLP exporter: {@link encodeTraceRequest} for requests,
 * the stock decoder for responses (partial success).
 */
export const VoiceTraceProtobufSerializer: ISerializer<ReadableSpan[], IExportTraceServiceResponse> = {
  serializeRequest: (spans) => encodeTraceRequest(spans),
  deserializeResponse: (data) => ProtobufTraceSerializer.deserializeResponse(data),
};

// ---- sizes ---------------------------------------------------------------------------------

function varintSize(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  if (value < 2 ** 35) return 5;
  if (value < 2 ** 42) return 6;
  if (value < 2 ** 49) return 7;
  if (value < 2 ** 56) return 8;
  return 9;
}

/** A length-delimited field of `length` content bytes, with a 1-byte tag (every field number used here is below 16). */
function delimited(length: number): number {
  return 1 + varintSize(length) + length;
}

function isInt64(value: number): boolean {
  return Number.isInteger(value) && value >= INT64_MIN && value < INT64_MAX;
}

/**
 * An AnyValue's content size. Strings and scalars are measured on the spot; arrays and kvlists
 * (rare in spans) are measured recursively, strings included.
 */
function anyValueSize(value: unknown, stringLength: number): number {
  switch (typeof value) {
    case 'string':
      return 1 + varintSize(stringLength) + stringLength;
    case 'boolean':
      return 2;
    case 'number':
      return isInt64(value) ? 1 + (value < 0 ? 10 : varintSize(value)) : 9;
    case 'object': {
      if (value === null) return 0;
      if (value instanceof Uint8Array) return delimited(value.length);
      return delimited(compoundSize(value));
    }
    default:
      return 0;
  }
}

/** The content size of an ArrayValue or KeyValueList. */
function compoundSize(value: object): number {
  let size = 0;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      size += delimited(anyValueSize(item, typeof item === 'string' ? utf8Length(item) : 0));
    }
    return size;
  }
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object);
  for (let i = 0; i < keys.length; i++) {
    const item = object[keys[i]!];
    const keyLength = utf8Length(keys[i]!);
    size += delimited(1 + varintSize(keyLength) + keyLength + delimited(anyValueSize(item, typeof item === 'string' ? utf8Length(item) : 0)));
  }
  return size;
}

// ---- writing -------------------------------------------------------------------------------

/** Writes one request into a buffer that grows when needed. */
class Writer {
  buf: Buffer;
  pos = 0;

  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  /** Starts a length-delimited field whose length is patched by {@link Writer.close}: `reserved` bytes are kept for it. */
  open(field: number, reserved: number): number {
    this.ensure(1 + reserved);
    this.tag(field, 2);
    const at = this.pos;
    this.pos += reserved;
    return at;
  }

  /** Ends a field begun with {@link Writer.open}: its length goes in the placeholder, the content moves if the varint is shorter or longer. */
  close(at: number, reserved: number): void {
    const start = at + reserved;
    const length = this.pos - start;
    const needed = varintSize(length);
    if (needed !== reserved) {
      this.ensure(needed - reserved);
      this.buf.copyWithin(at + needed, start, this.pos);
      this.pos += needed - reserved;
    }
    writeVarint(this.buf, at, length);
  }

  /** A resource or scope block, encoded once per object (a resource still waiting for async attributes is not kept). */
  block<K extends object>(cache: WeakMap<K, Buffer>, key: K, encode: (key: K) => Buffer): void {
    let block = cache.get(key);
    if (!block) {
      block = encode(key);
      if (!(key as { asyncAttributesPending?: boolean }).asyncAttributesPending) cache.set(key, block);
    }
    this.ensure(block.length);
    block.copy(this.buf, this.pos);
    this.pos += block.length;
  }

  span(span: ReadableSpan): void {
    const at = this.open(2, 2);
    const context = span.spanContext();
    this.contextFields(context);
    const parent = span.parentSpanContext;
    if (parent?.spanId) {
      this.ensure(10);
      this.tag(4, 2);
      this.hexBytes(parent.spanId, 8);
    }
    this.stringField(5, span.name);
    this.ensure(32);
    if (span.kind != null) {
      this.tag(6, 0);
      this.varint(span.kind + 1);
    }
    this.tag(7, 1);
    this.hrTime(span.startTime);
    this.tag(8, 1);
    this.hrTime(span.endTime);
    this.spanAttributes(span);
    if (span.droppedAttributesCount) this.varintField(10, span.droppedAttributesCount);
    for (const event of span.events) this.event(event);
    if (span.droppedEventsCount) this.varintField(12, span.droppedEventsCount);
    for (const link of span.links) this.link(link);
    if (span.droppedLinksCount) this.varintField(14, span.droppedLinksCount);
    const status = span.status;
    if (status.code || status.message) {
      const statusAt = this.open(15, 1);
      if (status.message) this.stringField(2, status.message);
      if (status.code) this.varintField(3, status.code);
      this.close(statusAt, 1);
    }
    // flags (field 16, fixed32): a 2-byte tag
    this.ensure(6);
    this.buf[this.pos++] = 0x85;
    this.buf[this.pos++] = 0x01;
    this.pos = this.buf.writeUInt32LE(flagsOf(context.traceFlags, parent?.isRemote), this.pos);
    this.close(at, 2);
  }

  /** Fields 1-3 of a span and of a link alike: trace id, span id, trace state. */
  private contextFields(context: SpanContext): void {
    this.ensure(28);
    this.tag(1, 2);
    this.hexBytes(context.traceId, 16);
    this.tag(2, 2);
    this.hexBytes(context.spanId, 8);
    const traceState = context.traceState?.serialize();
    if (traceState) this.stringField(3, traceState);
  }

  private event(event: ReadableSpan['events'][number]): void {
    const at = this.open(11, 2);
    this.ensure(9);
    this.tag(1, 1);
    this.hrTime(event.time);
    this.stringField(2, event.name);
    if (event.attributes) this.attributes(3, event.attributes);
    if (event.droppedAttributesCount) this.varintField(4, event.droppedAttributesCount);
    this.close(at, 2);
  }

  private link(link: ReadableSpan['links'][number]): void {
    const at = this.open(13, 2);
    const context = link.context;
    this.contextFields(context);
    if (link.attributes) this.attributes(4, link.attributes);
    if (link.droppedAttributesCount) this.varintField(5, link.droppedAttributesCount);
    this.ensure(5);
    this.tag(6, 5);
    this.pos = this.buf.writeUInt32LE(flagsOf(context.traceFlags, context.isRemote), this.pos);
    this.close(at, 2);
  }

  /** A span's attributes, from their parts when its export copy carries them (ATTRIBUTE_PARTS in `@voicetrace/conventions`). */
  private spanAttributes(span: ReadableSpan): void {
    const parts = attributePartsOf(span);
    if (!parts) return this.attributes(9, span.attributes);
    const { base, omit, added } = parts;
    const keys = Object.keys(base);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      if (omit?.includes(key)) continue;
      this.keyValue(9, key, added && Object.hasOwn(added, key) ? added[key] : base[key]);
    }
    if (!added) return;
    const more = Object.keys(added);
    for (let i = 0; i < more.length; i++) {
      const key = more[i]!;
      if (!Object.hasOwn(base, key) || omit?.includes(key)) this.keyValue(9, key, added[key]);
    }
  }

  attributes(field: number, attributes: Attributes): void {
    const keys = Object.keys(attributes);
    for (let i = 0; i < keys.length; i++) this.keyValue(field, keys[i]!, attributes[keys[i]!]);
  }

  /** A KeyValue, measured first: its lengths are written once, in place. */
  private keyValue(field: number, key: string, value: unknown): void {
    const keyLength = utf8Length(key);
    const stringLength = typeof value === 'string' ? utf8Length(value) : 0;
    const valueSize = anyValueSize(value, stringLength);
    const size = 1 + varintSize(keyLength) + keyLength + 1 + varintSize(valueSize) + valueSize;
    this.ensure(delimited(size));
    this.tag(field, 2);
    this.varint(size);
    this.tag(1, 2);
    this.varint(keyLength);
    this.text(key, keyLength);
    this.tag(2, 2);
    this.varint(valueSize);
    this.anyValue(value, stringLength);
  }

  /** An AnyValue's content (the caller wrote its tag and length, and made room for it). */
  private anyValue(value: unknown, stringLength: number): void {
    switch (typeof value) {
      case 'string':
        this.tag(1, 2);
        this.varint(stringLength);
        this.text(value, stringLength);
        return;
      case 'boolean':
        this.tag(2, 0);
        this.buf[this.pos++] = value ? 1 : 0;
        return;
      case 'number':
        if (isInt64(value)) {
          this.tag(3, 0);
          this.int64(value);
        } else {
          this.tag(4, 1);
          this.pos = this.buf.writeDoubleLE(value, this.pos);
        }
        return;
      case 'object': {
        if (value === null) return;
        if (value instanceof Uint8Array) {
          this.tag(7, 2);
          this.varint(value.length);
          this.buf.set(value, this.pos);
          this.pos += value.length;
          return;
        }
        this.tag(Array.isArray(value) ? 5 : 6, 2);
        this.varint(compoundSize(value));
        if (Array.isArray(value)) {
          for (let i = 0; i < value.length; i++) {
            const item: unknown = value[i];
            const itemLength = typeof item === 'string' ? utf8Length(item) : 0;
            this.tag(1, 2);
            this.varint(anyValueSize(item, itemLength));
            this.anyValue(item, itemLength);
          }
        } else {
          const object = value as Record<string, unknown>;
          const keys = Object.keys(object);
          for (let i = 0; i < keys.length; i++) this.keyValue(1, keys[i]!, object[keys[i]!]);
        }
        return;
      }
      default:
        return;
    }
  }

  stringField(field: number, text: string): void {
    const length = utf8Length(text);
    this.ensure(6 + length);
    this.tag(field, 2);
    this.varint(length);
    this.text(text, length);
  }

  /** A string's `length` UTF-8 bytes (room made by the caller). */
  private text(text: string, length: number): void {
    const buf = this.buf;
    if (length === text.length) {
      // ASCII (a non-ASCII character takes more than one byte): byte per code unit
      if (length < NATIVE_STRING) {
        let pos = this.pos;
        for (let i = 0; i < length; i++) buf[pos++] = text.charCodeAt(i);
        this.pos = pos;
      } else {
        this.pos += latin1Write ? latin1Write.call(buf, text, this.pos, length) : buf.write(text, this.pos, length, 'latin1');
      }
      return;
    }
    this.pos += utf8Write ? utf8Write.call(buf, text, this.pos, length) : buf.write(text, this.pos, length, 'utf8');
  }

  private varintField(field: number, value: number): void {
    this.ensure(11);
    this.tag(field, 0);
    this.varint(value);
  }

  private tag(field: number, wireType: number): void {
    this.buf[this.pos++] = (field << 3) | wireType;
  }

  private varint(value: number): void {
    this.pos = writeVarint(this.buf, this.pos, value);
  }

  /** A signed int64 as a varint: negative values in two's complement (10 bytes). */
  private int64(value: number): void {
    if (value >= 0) return this.varint(value);
    const abs = -value;
    let low = abs >>> 0;
    let high = Math.floor(abs / 0x100000000) >>> 0;
    low = ~low >>> 0;
    high = ~high >>> 0;
    low = (low + 1) >>> 0;
    if (low === 0) high = (high + 1) >>> 0;
    const buf = this.buf;
    for (let i = 0; i < 9; i++) {
      buf[this.pos++] = (low & 0x7f) | 0x80;
      low = ((low >>> 7) | (high << 25)) >>> 0;
      high >>>= 7;
    }
    buf[this.pos++] = low & 0x01;
  }

  /** An OTel time ([seconds, nanoseconds]) as fixed64 nanoseconds since the epoch. */
  private hrTime(time: HrTime): void {
    const [low, high] = hrTimeToFixed64(time);
    this.buf.writeUInt32LE(low, this.pos);
    this.buf.writeUInt32LE(high, this.pos + 4);
    this.pos += 8;
  }

  /** A hex id (trace or span id) as `bytes` raw bytes, with its length prefix. */
  private hexBytes(hex: string, bytes: number): void {
    const buf = this.buf;
    buf[this.pos++] = bytes;
    if (hex.length === bytes * 2) {
      for (let i = 0; i < bytes; i++) buf[this.pos++] = (hexDigit(hex.charCodeAt(2 * i)) << 4) | hexDigit(hex.charCodeAt(2 * i + 1));
    } else {
      // a malformed id still takes its declared length (the protocol's)
      buf.fill(0, this.pos, this.pos + bytes);
      this.pos += bytes;
    }
  }

  /** Room for `bytes` more (the buffer doubles when short). */
  private ensure(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    let capacity = this.buf.length * 2;
    while (capacity < this.pos + bytes) capacity *= 2;
    const grown = Buffer.allocUnsafe(capacity);
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }
}

function writeVarint(buf: Buffer, pos: number, value: number): number {
  while (value >= 0x80) {
    buf[pos++] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  buf[pos++] = value;
  return pos;
}

function hexDigit(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  const lower = code | 0x20;
  if (lower >= 97 && lower <= 102) return lower - 87;
  return 0;
}

function flagsOf(traceFlags: number, isRemote: boolean | undefined): number {
  return ((traceFlags & 0xff) | HAS_IS_REMOTE | (isRemote ? IS_REMOTE : 0)) >>> 0;
}

/**
 * [low, high] 32-bit halves of `seconds * 1e9 + nanos`, exact beyond 2^53 (the product is split so
 * that every intermediate stays a safe integer).
 */
export function hrTimeToFixed64(time: HrTime): [number, number] {
  const seconds = time[0];
  const nanos = time[1];
  const secondsLow = seconds % 0x10000;
  const secondsHigh = Math.floor(seconds / 0x10000);
  // secondsHigh * 1e9 * 2^16: split secondsHigh * 1e9 (< 2^53) into 32-bit halves, shifted by 16
  const a = secondsHigh * 1e9;
  const aLow = a % 0x100000000;
  const aHigh = Math.floor(a / 0x100000000);
  const shiftedLow = (aLow % 0x10000) * 0x10000;
  const shiftedHigh = aHigh * 0x10000 + Math.floor(aLow / 0x10000);
  // secondsLow * 1e9 + nanos (< 2^53)
  const b = secondsLow * 1e9 + nanos;
  const bLow = b % 0x100000000;
  const bHigh = Math.floor(b / 0x100000000);
  const low = shiftedLow + bLow;
  const carry = Math.floor(low / 0x100000000);
  return [low % 0x100000000, (shiftedHigh + bHigh + carry) % 0x100000000];
}

/** A resource's block: field 1 of ResourceSpans (tag, length, attributes). */
function encodeResource(resource: Resource): Buffer {
  const writer = new Writer(256);
  const at = writer.open(1, 3);
  writer.attributes(1, resource.attributes ?? {});
  writer.close(at, 3);
  return Buffer.from(writer.finish());
}

/** A scope's block: field 1 of ScopeSpans (name, version). */
function encodeScope(scope: Scope): Buffer {
  const writer = new Writer(128);
  const at = writer.open(1, 1);
  writer.stringField(1, scope.name ?? '');
  if (scope.version) writer.stringField(2, scope.version);
  writer.close(at, 1);
  return Buffer.from(writer.finish());
}
