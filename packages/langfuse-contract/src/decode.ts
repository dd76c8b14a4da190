import type { ReceivedSpan, ReceivedValue } from './types.js';

/** Why a span cannot be ingested; LangFuse rejects the whole batch for any of these. */
export interface BatchCheck {
  spans: ReceivedSpan[];
  totalSpanCount: number;
  invalidSpanCount: number;
  /** Counted reasons such as `traceId:wrong_length`, `spanId:all_zero`, `spans:not_an_array`. */
  reasons: Record<string, number>;
}

type Plain = Record<string, unknown>;

/**
 * Walks decoded `resourceSpans` (from protobuf: ids as bytes; from OTLP/JSON: ids as hex) and checks
 * every id against OTLP's rule: a trace id is 16 bytes, a span id 8, and an id of all zeroes is
 * invalid; a parent span id may be absent (root) but if present follows the span id rule.
 * Collections that are present but not arrays are reported too (a JSON-only defect).
 */
export function checkResourceSpans(resourceSpans: unknown): BatchCheck {
  const check: BatchCheck = { spans: [], totalSpanCount: 0, invalidSpanCount: 0, reasons: {} };
  const count = (reason: string): void => {
    check.reasons[reason] = (check.reasons[reason] ?? 0) + 1;
  };
  for (const resourceSpan of arrayOf(resourceSpans, 'resourceSpans', count)) {
    const resource = asPlain(asPlain(resourceSpan).resource);
    const resourceAttributes = attributeMap(arrayOf(resource.attributes, 'attributes', count));
    for (const scopeSpan of arrayOf(asPlain(resourceSpan).scopeSpans, 'scopeSpans', count)) {
      const scope = asPlain(asPlain(scopeSpan).scope);
      for (const raw of arrayOf(asPlain(scopeSpan).spans, 'spans', count)) {
        check.totalSpanCount++;
        const span = asPlain(raw);
        const traceId = idToHex(span.traceId, 16);
        const spanId = idToHex(span.spanId, 8);
        const parent = isAbsent(span.parentSpanId) ? undefined : idToHex(span.parentSpanId, 8);
        const problems = [
          traceId.problem && `traceId:${traceId.problem}`,
          spanId.problem && `spanId:${spanId.problem}`,
          parent?.problem && `parentSpanId:${parent.problem}`,
        ].filter((problem): problem is string => Boolean(problem));
        if (problems.length > 0 || !traceId.hex || !spanId.hex) {
          check.invalidSpanCount++;
          problems.forEach(count);
          continue;
        }
        const status = asPlain(span.status);
        const received: ReceivedSpan = {
          traceId: traceId.hex,
          spanId: spanId.hex,
          name: String(span.name ?? ''),
          kind: Number(span.kind ?? 0),
          startTimeUnixNano: String(span.startTimeUnixNano ?? '0'),
          endTimeUnixNano: String(span.endTimeUnixNano ?? '0'),
          attributes: attributeMap(arrayOf(span.attributes, 'attributes', count)),
          resourceAttributes,
          scopeName: String(scope.name ?? ''),
          status: { code: Number(status.code ?? 0) },
          events: arrayOf(span.events, 'events', count).map((event) => {
            const plain = asPlain(event);
            return { name: String(plain.name ?? ''), timeUnixNano: String(plain.timeUnixNano ?? '0'), attributes: attributeMap(arrayOf(plain.attributes, 'attributes', count)) };
          }),
          links: arrayOf(span.links, 'links', count).map((link) => {
            const plain = asPlain(link);
            return {
              traceId: idToHex(plain.traceId, 16).hex ?? '',
              spanId: idToHex(plain.spanId, 8).hex ?? '',
              attributes: attributeMap(arrayOf(plain.attributes, 'attributes', count)),
            };
          }),
        };
        if (parent?.hex) received.parentSpanId = parent.hex;
        if (typeof scope.version === 'string' && scope.version) received.scopeVersion = scope.version;
        if (typeof status.message === 'string' && status.message) received.status.message = status.message;
        check.spans.push(received);
      }
    }
  }
  return check;
}

function idToHex(value: unknown, size: number): { hex?: string; problem?: string } {
  let bytes: Uint8Array;
  if (isAbsent(value)) return { problem: 'absent' };
  if (value instanceof Uint8Array) bytes = value;
  else if (typeof value === 'string') {
    // OTLP/JSON carries ids as hex (not base64, unlike proto3's JSON mapping).
    if (!/^(?:[0-9a-fA-F]{2})+$/.test(value)) return { problem: 'not_hex' };
    bytes = Buffer.from(value, 'hex');
  } else return { problem: 'not_an_id' };
  if (bytes.length !== size) return { problem: 'wrong_length' };
  if (bytes.every((byte) => byte === 0)) return { problem: 'all_zero' };
  return { hex: Buffer.from(bytes).toString('hex') };
}

function isAbsent(value: unknown): boolean {
  return value === undefined || value === null || value === '' || (value instanceof Uint8Array && value.length === 0);
}

function arrayOf(value: unknown, field: string, count: (reason: string) => void): unknown[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value;
  count(`${field}:not_an_array`);
  return [];
}

function asPlain(value: unknown): Plain {
  return value !== null && typeof value === 'object' ? (value as Plain) : {};
}

function attributeMap(keyValues: unknown[]): Record<string, ReceivedValue> {
  const map: Record<string, ReceivedValue> = {};
  for (const keyValue of keyValues) {
    const plain = asPlain(keyValue);
    if (typeof plain.key === 'string') map[plain.key] = anyValue(plain.value);
  }
  return map;
}

/** OTLP `AnyValue` (decoded protobuf or OTLP/JSON) as a plain value. */
function anyValue(value: unknown): ReceivedValue {
  const v = asPlain(value);
  if ('stringValue' in v) return String(v.stringValue);
  if ('boolValue' in v) return Boolean(v.boolValue);
  if ('intValue' in v) {
    const number = Number(v.intValue);
    return Number.isSafeInteger(number) ? number : String(v.intValue);
  }
  if ('doubleValue' in v) return Number(v.doubleValue);
  if ('arrayValue' in v) return arrayOf(asPlain(v.arrayValue).values, 'values', () => undefined).map(anyValue);
  if ('kvlistValue' in v) return attributeMap(arrayOf(asPlain(v.kvlistValue).values, 'values', () => undefined));
  if ('bytesValue' in v) {
    const bytes = v.bytesValue;
    return bytes instanceof Uint8Array ? new Uint8Array(bytes) : Buffer.from(String(bytes), 'base64');
  }
  return null;
}
