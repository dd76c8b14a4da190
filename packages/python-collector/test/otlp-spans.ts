// OTLP/JSON spans as plain values, and a Collector round trip through the Python overlay: OTLP in,
// the file exporter's OTLP/JSON lines out.
import { startCollector, type CollectorHandle } from '@voicetrace/test-backends';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type Value = string | number | boolean | Value[] | undefined;

/** One span, flattened: attributes as a map, with its resource and scope. */
export interface FlatSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  startTimeUnixNano: string;
  attributes: Record<string, Value>;
  resource: Record<string, Value>;
  scope: string;
  status?: { code?: number | string; message?: string };
}

interface OtlpAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  arrayValue?: { values?: OtlpAnyValue[] };
}
interface OtlpKeyValue {
  key: string;
  value: OtlpAnyValue;
}
export interface OtlpRequest {
  resourceSpans: Array<{
    resource?: { attributes?: OtlpKeyValue[] };
    scopeSpans: Array<{ scope?: { name?: string }; spans: Array<{ traceId: string; spanId: string; parentSpanId?: string; name: string; startTimeUnixNano: string; attributes?: OtlpKeyValue[]; status?: FlatSpan['status'] }> }>;
  }>;
}

function value(v: OtlpAnyValue): Value {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(value);
  return undefined;
}

const map = (kvs: OtlpKeyValue[] = []): Record<string, Value> => Object.fromEntries(kvs.map((kv) => [kv.key, value(kv.value)]));

export function flatten(request: OtlpRequest): FlatSpan[] {
  return request.resourceSpans.flatMap((rs) =>
    rs.scopeSpans.flatMap((ss) =>
      ss.spans.map((s) => ({ ...s, attributes: map(s.attributes), resource: map(rs.resource?.attributes), scope: ss.scope?.name ?? '' })),
    ),
  );
}

/** The Collector as shipped (sidecar + Python overlay), writing what it exports to a file. */
export class OverlayRoundTrip {
  private constructor(
    readonly collector: CollectorHandle,
    private readonly output: string,
  ) {}

  static async start(): Promise<OverlayRoundTrip> {
    const output = join(mkdtempSync(join(tmpdir(), 'voicetrace-python-overlay-')), 'out.jsonl');
    const collector = await startCollector({
      configFiles: ['sidecar.yaml', 'overlays/python-agents.yaml', 'overlays/file.yaml'],
      // PII deletion off: these tests read the overlay's own work (the content it copies for LangFuse)
      env: { VOICETRACE_FILE_EXPORT_PATH: output, VOICETRACE_BATCH_TIMEOUT: '100ms', VOICETRACE_REDACT_PII: 'false' },
    });
    return new OverlayRoundTrip(collector, output);
  }

  /** Posts `request` and returns its spans as the Collector exported them (matched by span id). */
  async process(request: OtlpRequest, timeoutMs = 15_000): Promise<FlatSpan[]> {
    const wanted = new Set(flatten(request).map((s) => s.spanId));
    const res = await fetch(`${this.collector.otlpHttpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) });
    if (!res.ok) throw new Error(`collector answered ${res.status}: ${await res.text()}`);
    for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
      if (!existsSync(this.output)) continue;
      const spans = readFileSync(this.output, 'utf8')
        .split('\n')
        .filter((line) => line.includes('"resourceSpans"'))
        .flatMap((line) => flatten(JSON.parse(line) as OtlpRequest))
        .filter((s) => wanted.has(s.spanId));
      if (spans.length === wanted.size) return spans;
    }
    throw new Error(`the Collector exported fewer than ${wanted.size} spans within ${timeoutMs} ms:\n${this.collector.logTail(20)}`);
  }

  /** The Collector's warnings (a malformed metrics JSON is logged, not fatal). */
  warnings(): string[] {
    return this.collector.logTail(500).split('\n').filter((line) => line.includes('\twarn\t'));
  }

  stop(): Promise<void> {
    return this.collector.stop();
  }
}
