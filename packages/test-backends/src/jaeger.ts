import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinary } from './binaries.js';
import { freePorts, hermeticEnv, httpStatus, makeWorkDir, ManagedProcess, sleep } from './process.js';
import type { JaegerHandle, JaegerOptions, JaegerSearch, JaegerSpan, JaegerTrace } from './types.js';

interface RawJaegerTrace {
  traceID: string;
  spans: Array<{
    traceID: string;
    spanID: string;
    operationName: string;
    references?: Array<{ refType: string; traceID?: string; spanID: string }>;
    startTime: number;
    duration: number;
    tags?: Array<{ key: string; type?: string; value: unknown }>;
    processID?: string;
  }>;
  processes?: Record<string, { serviceName: string }>;
}

function toTrace(raw: RawJaegerTrace): JaegerTrace {
  return {
    traceId: raw.traceID,
    spans: raw.spans.map((s): JaegerSpan => ({
      traceId: s.traceID,
      spanId: s.spanID,
      operationName: s.operationName,
      parentSpanId: s.references?.find((r) => r.refType === 'CHILD_OF')?.spanID,
      serviceName: s.processID ? raw.processes?.[s.processID]?.serviceName : undefined,
      startTime: s.startTime,
      duration: s.duration,
      tags: Object.fromEntries((s.tags ?? []).map((t) => [t.key, t.value])),
      tagTypes: Object.fromEntries((s.tags ?? []).map((t) => [t.key, t.type ?? typeof t.value])),
      links: (s.references ?? []).filter((r) => r.refType === 'FOLLOWS_FROM').map((r) => ({ traceId: r.traceID ?? '', spanId: r.spanID })),
    })),
  };
}

/**
 * Starts Jaeger v2 (all-in-one, in-memory storage) on free loopback ports: OTLP in (gRPC and
 * HTTP) and the query API, and waits until the query API answers.
 */
export async function startJaeger(opts: JaegerOptions = {}): Promise<JaegerHandle> {
  const bin = await requireBinary('jaeger');
  const [otlpGrpc, otlpHttp, query, queryGrpc, health] = (await freePorts(5)) as [number, number, number, number, number];
  const workDir = makeWorkDir('jaeger');
  const host = '127.0.0.1';
  // JSON is valid YAML: Jaeger v2 reads a Collector-style config.
  const config = {
    service: {
      extensions: ['jaeger_storage', 'jaeger_query', 'healthcheckv2'],
      pipelines: { traces: { receivers: ['otlp'], processors: ['batch'], exporters: ['jaeger_storage_exporter'] } },
      telemetry: { metrics: { level: 'none' }, logs: { level: 'info' } },
    },
    extensions: {
      jaeger_storage: { backends: { memstore: { memory: { max_traces: 100000 } } } },
      jaeger_query: { storage: { traces: 'memstore' }, http: { endpoint: `${host}:${query}` }, grpc: { endpoint: `${host}:${queryGrpc}` } },
      healthcheckv2: { use_v2: true, http: { endpoint: `${host}:${health}` } },
    },
    receivers: { otlp: { protocols: { grpc: { endpoint: `${host}:${otlpGrpc}` }, http: { endpoint: `${host}:${otlpHttp}` } } } },
    processors: { batch: { timeout: '100ms' } },
    exporters: { jaeger_storage_exporter: { trace_storage: 'memstore' } },
  };
  const configFile = join(workDir, 'jaeger.yaml');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const queryUrl = `http://${host}:${query}`;
  const proc = new ManagedProcess({
    label: 'jaeger',
    command: bin,
    args: ['--config', configFile],
    env: hermeticEnv({}),
    workDir,
    isReady: async () => (await httpStatus(`${queryUrl}/api/services`)) === 200,
    readyTimeoutMs: opts.readyTimeoutMs ?? 30_000,
  });
  await proc.start();

  const getTraceJson = async (traceIdHex: string): Promise<string | undefined> => {
    const res = await fetch(`${queryUrl}/api/traces/${traceIdHex}`, { signal: AbortSignal.timeout(5000) });
    if (res.status === 404) {
      await res.arrayBuffer();
      return undefined;
    }
    if (!res.ok) throw new Error(`jaeger GET /api/traces/${traceIdHex} -> ${res.status}: ${await res.text()}`);
    return res.text();
  };

  const getTrace = async (traceIdHex: string): Promise<JaegerTrace | undefined> => {
    const json = await getTraceJson(traceIdHex);
    if (json === undefined) return undefined;
    const raw = (JSON.parse(json) as { data?: RawJaegerTrace[] }).data?.[0];
    return raw ? toTrace(raw) : undefined;
  };

  const findTraces = async (q: JaegerSearch): Promise<JaegerTrace[]> => {
    const params = new URLSearchParams({ service: q.service, limit: String(q.limit ?? 1000), lookback: q.lookback ?? '1h' });
    if (q.operation) params.set('operation', q.operation);
    if (q.tags && Object.keys(q.tags).length > 0) params.set('tags', JSON.stringify(q.tags));
    const res = await fetch(`${queryUrl}/api/traces?${params}`, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`jaeger GET /api/traces?${params} -> ${res.status}: ${await res.text()}`);
    const body = (await res.json()) as { data?: RawJaegerTrace[] | null };
    return (body.data ?? []).map(toTrace);
  };

  const waitForTrace = async (traceIdHex: string, o: { minSpans?: number; timeoutMs?: number } = {}): Promise<JaegerTrace> => {
    const deadline = Date.now() + (o.timeoutMs ?? 20_000);
    let last: JaegerTrace | undefined;
    while (Date.now() < deadline) {
      last = await getTrace(traceIdHex).catch(() => undefined);
      if (last && last.spans.length >= (o.minSpans ?? 1)) return last;
      await sleep(200);
    }
    throw new Error(`jaeger: trace ${traceIdHex} has ${last?.spans.length ?? 0} span(s) after ${o.timeoutMs ?? 20_000} ms (wanted ${o.minSpans ?? 1})`);
  };

  return Object.assign(proc, {
    ports: { otlpGrpc, otlpHttp, query, queryGrpc, health },
    otlpGrpcEndpoint: `${host}:${otlpGrpc}`,
    otlpHttpUrl: `http://${host}:${otlpHttp}`,
    queryUrl,
    getTrace,
    getTraceJson,
    waitForTrace,
    findTraces,
  });
}
