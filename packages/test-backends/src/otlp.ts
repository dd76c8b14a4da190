import { randomBytes } from 'node:crypto';

/** A random 16-byte trace id as 32 lowercase hex characters. */
export const randomTraceId = (): string => randomBytes(16).toString('hex');
/** A random 8-byte span id as 16 lowercase hex characters. */
export const randomSpanId = (): string => randomBytes(8).toString('hex');

/** An attribute value; plain numbers become intValue when integral, doubleValue otherwise. */
export type AttrValue = string | number | boolean | { double: number } | { int: number } | string[];

export interface SimpleSpan {
  name: string;
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
  /** Start time in ms since the epoch (default: now minus durationMs). */
  startMs?: number;
  /** Duration in ms (default 100). */
  durationMs?: number;
  attributes?: Record<string, AttrValue>;
  status?: 'unset' | 'ok' | 'error';
  /** OTLP SpanKind number (default 1 = INTERNAL). */
  kind?: number;
}

function anyValue(v: AttrValue): Record<string, unknown> {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  if (Array.isArray(v)) return { arrayValue: { values: v.map((s) => ({ stringValue: s })) } };
  if ('double' in v) return { doubleValue: v.double };
  return { intValue: String(v.int) };
}

const msToNanos = (ms: number): string => (BigInt(Math.round(ms * 1000)) * 1000n).toString();

/** Builds an OTLP/JSON `ExportTraceServiceRequest` with one resource and one scope. */
export function otlpTracesJson(opts: { serviceName: string; scopeName?: string; spans: SimpleSpan[]; resource?: Record<string, AttrValue> }): unknown {
  const now = Date.now();
  const attrs = (o: Record<string, AttrValue> = {}) => Object.entries(o).map(([key, v]) => ({ key, value: anyValue(v) }));
  return {
    resourceSpans: [
      {
        resource: { attributes: attrs({ 'service.name': opts.serviceName, ...opts.resource }) },
        scopeSpans: [
          {
            scope: { name: opts.scopeName ?? 'voicetrace-test' },
            spans: opts.spans.map((s) => {
              const duration = s.durationMs ?? 100;
              const start = s.startMs ?? now - duration;
              return {
                traceId: s.traceId ?? randomTraceId(),
                spanId: s.spanId ?? randomSpanId(),
                ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
                name: s.name,
                kind: s.kind ?? 1,
                startTimeUnixNano: msToNanos(start),
                endTimeUnixNano: msToNanos(start + duration),
                attributes: attrs(s.attributes),
                status: { code: s.status === 'error' ? 2 : s.status === 'ok' ? 1 : 0 },
              };
            }),
          },
        ],
      },
    ],
  };
}

/** POSTs an OTLP/JSON traces request to `<baseUrl>/v1/traces` (or `path`); throws unless 2xx. */
export async function postOtlpJson(baseUrl: string, body: unknown, opts: { path?: string; headers?: Record<string, string> } = {}): Promise<void> {
  const res = await fetch(`${baseUrl}${opts.path ?? '/v1/traces'}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...opts.headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`OTLP POST ${baseUrl} -> ${res.status}: ${text.slice(0, 500)}`);
}
