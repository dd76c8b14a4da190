/** A span read from OTLP/JSON, attributes as a plain map, times in epoch seconds. */
export interface FlatSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  start: number;
  end: number;
  attributes: Record<string, AttributeValue>;
  /** 0 unset, 1 ok, 2 error. */
  statusCode: number;
  statusMessage: string | undefined;
  /** `service.name` of the span's resource. */
  serviceName: string | undefined;
  scope: string | undefined;
}

export type AttributeValue = string | number | boolean | AttributeValue[] | null;

/** A problem with one part of one line (the rest of the line is still read). */
export interface SpanProblem {
  reason: string;
}

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;

/**
 * The spans of one OTLP/JSON `ExportTraceServiceRequest` (one line of the Collector's `file`
 * exporter, or of voicetrace's own file exporter). Spans with ids, names or times of the wrong
 * type are skipped and described in `problems`; what is readable is kept.
 */
export function spansOfRequest(request: unknown, problems: SpanProblem[]): FlatSpan[] {
  if (!isObject(request)) {
    problems.push({ reason: `expected a JSON object (an OTLP ExportTraceServiceRequest), got ${describe(request)}` });
    return [];
  }
  const resourceSpans = request.resourceSpans;
  if (!Array.isArray(resourceSpans)) {
    problems.push({ reason: `not an OTLP/JSON trace request: "resourceSpans" is ${resourceSpans === undefined ? 'missing' : describe(resourceSpans)}` });
    return [];
  }
  const out: FlatSpan[] = [];
  let skipped = 0;
  let firstSkip: string | undefined;
  for (const rs of resourceSpans) {
    if (!isObject(rs)) continue;
    const resource = isObject(rs.resource) ? attributeMap(rs.resource.attributes) : {};
    const serviceName = typeof resource['service.name'] === 'string' ? resource['service.name'] : undefined;
    const scopes = Array.isArray(rs.scopeSpans) ? rs.scopeSpans : Array.isArray(rs.instrumentationLibrarySpans) ? rs.instrumentationLibrarySpans : [];
    for (const ss of scopes) {
      if (!isObject(ss) || !Array.isArray(ss.spans)) continue;
      const scopeObject = isObject(ss.scope) ? ss.scope : isObject(ss.instrumentationLibrary) ? ss.instrumentationLibrary : undefined;
      const scope = typeof scopeObject?.name === 'string' ? scopeObject.name : undefined;
      for (const raw of ss.spans) {
        const span = flatSpan(raw, serviceName, scope);
        if (typeof span === 'string') {
          skipped++;
          firstSkip ??= span;
        } else out.push(span);
      }
    }
  }
  if (skipped) problems.push({ reason: `${skipped} span(s) skipped: ${firstSkip}` });
  return out;
}

function flatSpan(raw: unknown, serviceName: string | undefined, scope: string | undefined): FlatSpan | string {
  if (!isObject(raw)) return `a span is ${describe(raw)}, not an object`;
  const traceId = typeof raw.traceId === 'string' ? raw.traceId.toLowerCase() : undefined;
  const spanId = typeof raw.spanId === 'string' ? raw.spanId.toLowerCase() : undefined;
  if (!traceId || !HEX32.test(traceId)) return `traceId ${short(raw.traceId)} is not 32 hex digits`;
  if (!spanId || !HEX16.test(spanId)) return `spanId ${short(raw.spanId)} is not 16 hex digits`;
  if (typeof raw.name !== 'string') return `span ${spanId}: name is ${describe(raw.name)}`;
  const start = nanosToSeconds(raw.startTimeUnixNano);
  const end = nanosToSeconds(raw.endTimeUnixNano);
  if (start === undefined) return `span ${spanId} (${raw.name}): startTimeUnixNano ${short(raw.startTimeUnixNano)} is not a time`;
  if (end === undefined) return `span ${spanId} (${raw.name}): endTimeUnixNano ${short(raw.endTimeUnixNano)} is not a time`;
  const parent = typeof raw.parentSpanId === 'string' && HEX16.test(raw.parentSpanId.toLowerCase()) ? raw.parentSpanId.toLowerCase() : undefined;
  const status = isObject(raw.status) ? raw.status : {};
  const code = typeof status.code === 'number' ? status.code : status.code === 'STATUS_CODE_ERROR' ? 2 : status.code === 'STATUS_CODE_OK' ? 1 : 0;
  return {
    traceId,
    spanId,
    parentSpanId: parent,
    name: raw.name,
    start,
    end: Math.max(start, end),
    attributes: attributeMap(raw.attributes),
    statusCode: code,
    statusMessage: typeof status.message === 'string' && status.message ? status.message : undefined,
    serviceName,
    scope,
  };
}

/** OTLP/JSON `KeyValue[]` as a map; values of unknown shape are left out. */
export function attributeMap(list: unknown): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  if (!Array.isArray(list)) return out;
  for (const kv of list) {
    if (!isObject(kv) || typeof kv.key !== 'string') continue;
    const value = anyValue(kv.value);
    if (value !== undefined) out[kv.key] = value;
  }
  return out;
}

function anyValue(value: unknown): AttributeValue | undefined {
  if (!isObject(value)) return undefined;
  if (typeof value.stringValue === 'string') return value.stringValue;
  if (typeof value.boolValue === 'boolean') return value.boolValue;
  if ('intValue' in value) {
    const n = typeof value.intValue === 'string' ? Number(value.intValue) : value.intValue;
    return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
  }
  if ('doubleValue' in value) {
    const n = typeof value.doubleValue === 'string' ? Number(value.doubleValue) : value.doubleValue;
    return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
  }
  if (isObject(value.arrayValue)) {
    const values = Array.isArray(value.arrayValue.values) ? value.arrayValue.values : [];
    return values.map(anyValue).filter((v): v is AttributeValue => v !== undefined);
  }
  return undefined;
}

/** `"1795635413948999882"` (or a number) -> epoch seconds, rounded to the microsecond. */
function nanosToSeconds(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value / 1e9 : undefined;
  if (typeof value !== 'string' || !/^\d{1,20}$/.test(value)) return undefined;
  return Number((BigInt(value) + 500n) / 1000n) / 1e6;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function short(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : describe(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
