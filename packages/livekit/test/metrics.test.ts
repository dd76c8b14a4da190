// The agent's metrics pipeline (issue #12): which exporter and endpoint the OTel variables select,
// one process identity, sessions wired to the metrics view, and an exporter pointed at a dead port or
// at a server that never answers: the event loop is never blocked (monitorEventLoopDelay during the
// stall) and every failed export is counted.
import { voice, initializeLogger } from '@livekit/agents';
import { AggregationTemporality, InMemoryMetricExporter, MetricReader } from '@opentelemetry/sdk-metrics';
import { METRIC } from '@voicetrace/conventions';
import { SessionMetrics } from '@voicetrace/core';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, describe, expect, it } from 'vitest';
import { CountingMetricExporter, createMetrics, resolveSignalEndpoint, signalWanted } from '../src/metrics.js';
import { ExportResultCode } from '@opentelemetry/core';
import type { PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { setupVoiceTrace } from '../src/setup.js';
import { resourceFromAttributes } from '@opentelemetry/resources';

initializeLogger({ pretty: false, level: 'silent' });
const quiet = { handleSignals: false, journal: false, report: false as const, warnings: false as const, logs: false as const };

class CollectingReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

describe('metrics: what the OTel variables select', () => {
  it('is on with an OTLP endpoint (or when asked), off with OTEL_METRICS_EXPORTER=none or metrics: false', () => {
    expect(signalWanted('metrics', undefined, undefined, {})).toBe(false);
    expect(signalWanted('metrics', undefined, undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' })).toBe(true);
    expect(signalWanted('metrics', undefined, undefined, { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://c:4318/v1/metrics' })).toBe(true);
    expect(signalWanted('metrics', undefined, undefined, { OTEL_METRICS_EXPORTER: 'otlp' })).toBe(true);
    expect(signalWanted('metrics', undefined, { endpoint: 'http://c:4318' }, {})).toBe(true);
    expect(signalWanted('metrics', undefined, undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_METRICS_EXPORTER: 'none' })).toBe(false);
    expect(signalWanted('metrics', false, undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' })).toBe(false);
    expect(signalWanted('metrics', true, undefined, {})).toBe(true);
    expect(signalWanted('logs', undefined, undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_LOGS_EXPORTER: 'none' })).toBe(false);
  });

  it('resolves the URL as the spec says: the signal variable as is, the base + /v1/metrics, the otlp option\'s base', () => {
    expect(resolveSignalEndpoint('metrics', undefined, undefined, { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://m:9/custom' }).url).toBe('http://m:9/custom');
    expect(resolveSignalEndpoint('metrics', undefined, undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/' }).url).toBe('http://c:4318/v1/metrics');
    expect(resolveSignalEndpoint('logs', undefined, undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }).url).toBe('http://c:4318/v1/logs');
    expect(resolveSignalEndpoint('metrics', undefined, { endpoint: 'http://c:4318/v1/traces' }, {}).url).toBe('http://c:4318/v1/metrics');
    expect(resolveSignalEndpoint('metrics', 'http://x:1/v1/metrics', undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }).url).toBe('http://x:1/v1/metrics');
    expect(resolveSignalEndpoint('metrics', undefined, undefined, {}).url).toBe('http://localhost:4318/v1/metrics');
    expect(resolveSignalEndpoint('metrics', undefined, undefined, { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }).protocol).toBe('http/json');
    const grpc = resolveSignalEndpoint('metrics', undefined, undefined, { OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'grpc' });
    expect([grpc.protocol, grpc.warnings.length]).toEqual(['http/protobuf', 1]);
  });

  it('exports cumulative by default, honours OTEL_METRIC_EXPORT_INTERVAL, and warns about delta', () => {
    const warnings: string[] = [];
    const resource = resourceFromAttributes({ 'service.name': 'x' });
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_METRIC_EXPORT_INTERVAL: '250' };
    const metrics = createMetrics({ option: undefined, resource, serviceInstanceId: 'i', env, warn: (_k, m) => warnings.push(m) })!;
    expect(metrics.target).toBe('http://127.0.0.1:9/v1/metrics (OTLP http/protobuf)');
    const reader = (metrics.provider as unknown as { _sharedState: { metricCollectors: Array<{ _metricReader: { _exportInterval: number; selectAggregationTemporality: (t: number) => number } }> } })._sharedState.metricCollectors[0]!._metricReader;
    expect(reader._exportInterval).toBe(250);
    expect(reader.selectAggregationTemporality(0)).toBe(AggregationTemporality.CUMULATIVE);
    expect(warnings).toEqual([]);
    createMetrics({ option: true, resource, serviceInstanceId: 'i', env: { OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'delta' }, warn: (_k, m) => warnings.push(m) });
    expect(warnings.join('\n')).toMatch(/cumulative/);
    void metrics.shutdown();
  });

  it('gives every process (every setup) its own service.instance.id, with the environment on the resource', async () => {
    const a = setupVoiceTrace({ ...quiet, metrics: { readers: [new CollectingReader()] }, environment: 'prod' });
    const b = setupVoiceTrace({ ...quiet, metrics: { readers: [new CollectingReader()] }, environment: 'prod' });
    expect(a.metrics!.serviceInstanceId).not.toBe(b.metrics!.serviceInstanceId);
    const resource = (a.metrics!.provider as unknown as { _sharedState: { resource: { attributes: Record<string, unknown> } } })._sharedState.resource;
    expect(resource.attributes).toMatchObject({ 'service.instance.id': a.metrics!.serviceInstanceId, 'deployment.environment.name': 'prod' });
    await Promise.all([a.shutdown(), b.shutdown()]);
  });

  it('wires each instrumented session to the metrics view: started, active, and back to 0 when it ends', async () => {
    const reader = new CollectingReader();
    const vt = setupVoiceTrace({ ...quiet, metrics: { readers: [reader] }, environment: 'test' });
    const session = new voice.AgentSession({});
    vt.instrument(session, { sessionId: 'one' });
    const value = async (name: string) => {
      const { resourceMetrics } = await reader.collect();
      const metric = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name);
      return (metric?.dataPoints ?? []).reduce((n, p) => n + (p.value as number), 0);
    };
    expect(await value(METRIC.SESSIONS_STARTED)).toBe(1);
    expect(await value(METRIC.SESSIONS_ACTIVE)).toBe(1);
    // the drop counters are observed from the setup's counters, every reason from 0
    vt.counters.count('malformed_event');
    expect(await value(METRIC.DROPPED_INPUTS)).toBe(1);
    const tracer = vt.provider.getTracer('livekit-agents');
    tracer.startSpan('agent_session').end();
    expect(await value(METRIC.SESSIONS_ACTIVE)).toBe(0);
    await vt.shutdown();
  });
});

/** A TCP server that accepts connections and never answers (a Collector stuck behind a proxy). */
async function stallingServer(): Promise<{ port: number; server: Server; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createTcpServer((socket) => void sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, server, sockets };
}

/** A port nothing listens on. */
async function deadPort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('metrics: credentials stay out of messages', () => {
  it('a failure that echoes the request names the endpoint without its password and scrubs the sent token', () => {
    const token = 'vt-metrics-token-1234567';
    const password = 'vt-metrics-pw-98765';
    const url = `http://agent:${password}@127.0.0.1:1/v1/metrics`;
    const echoing: PushMetricExporter = {
      export: (_m, done) => done({ code: ExportResultCode.FAILED, error: new Error(`401 from ${url}: you sent authorization=Bearer ${token}`) }),
      forceFlush: () => Promise.resolve(),
      shutdown: () => Promise.resolve(),
    };
    const warnings: string[] = [];
    const secrets = [`Bearer ${token}`, token, password];
    const counting = new CountingMetricExporter(echoing, (_k, m) => warnings.push(m), 'http://[REDACTED]:[REDACTED]@127.0.0.1:1/v1/metrics (OTLP http/protobuf)', secrets);
    counting.export({} as never, () => undefined);
    const said = [counting.stats().lastFailure ?? '', ...warnings].join('\n');
    expect(said).toContain('failed');
    expect(said).not.toContain(token);
    expect(said).not.toContain(password);
  });

  it('createMetrics: the target it prints has no userinfo', () => {
    const metrics = createMetrics({ option: { endpoint: 'http://agent:vt-secret-pw-1234@c:4318' }, resource: resourceFromAttributes({}), serviceInstanceId: 'i', env: {}, warn: () => undefined })!;
    expect(metrics.target).not.toContain('vt-secret-pw-1234');
    void metrics.shutdown(100);
  });
});

describe('metrics: a dead or stalled Collector never blocks the agent', () => {
  const servers: Server[] = [];
  afterAll(() => {
    for (const server of servers) server.close();
  });

  /**
   * Records like a busy agent (a reply's worth of every instrument every 5 ms) for `ms` while the
   * reader exports every 200 ms to `endpoint`; returns the event loop's delay and what the exporter did.
   */
  async function busyAgentAgainst(endpoint: string, ms: number) {
    const vt = setupVoiceTrace({ ...quiet, metrics: { endpoint, exportIntervalMillis: 200, exportTimeoutMillis: 200 } });
    const view = new SessionMetrics({ meter: vt.metrics!.meter, environment: 'stall' });
    const histogram = monitorEventLoopDelay({ resolution: 10 });
    histogram.enable();
    const started = Date.now();
    let recorded = 0;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        for (let i = 0; i < 20; i++) {
          view.onUsage({ kind: 'llm', at: Date.now() / 1000, provider: 'openai', model: `gpt-${i % 4}`, cancelled: false, inputTokens: 500, outputTokens: 30, cachedInputTokens: 0, cacheCreationTokens: 0 }, true, 0.001);
          recorded++;
        }
        if (Date.now() - started > ms) {
          clearInterval(timer);
          resolve();
        }
      }, 5);
    });
    histogram.disable();
    const during = vt.metrics!.stats();
    const shutdownStarted = Date.now();
    await vt.shutdown();
    return { p99Ms: histogram.percentile(99) / 1e6, maxMs: histogram.max / 1e6, recorded, during, after: vt.metrics!.stats(), shutdownMs: Date.now() - shutdownStarted };
  }

  it('a dead port: exports fail fast and are counted; the event loop stays responsive', async () => {
    const port = await deadPort();
    const r = await busyAgentAgainst(`http://127.0.0.1:${port}`, 2_000);
    console.log(`[metrics] dead port: event loop p99 ${r.p99Ms.toFixed(1)} ms (max ${r.maxMs.toFixed(1)} ms), ${r.recorded} recordings, ${r.after.failedExports} failed exports, shutdown ${r.shutdownMs} ms`);
    expect(r.during.failedExports).toBeGreaterThan(0);
    expect(r.after.exports).toBe(0);
    expect(r.after.lastFailure).toBeTruthy();
    expect(r.p99Ms).toBeLessThan(50);
    expect(r.shutdownMs).toBeLessThan(2_000);
  });

  it('a server that accepts and never answers: exports time out and are counted; the event loop stays responsive; shutdown is bounded', async () => {
    const stall = await stallingServer();
    servers.push(stall.server);
    const r = await busyAgentAgainst(`http://127.0.0.1:${stall.port}`, 2_000);
    console.log(`[metrics] stalled server: event loop p99 ${r.p99Ms.toFixed(1)} ms (max ${r.maxMs.toFixed(1)} ms), ${stall.sockets.length} connections held, ${r.after.failedExports} failed exports, shutdown ${r.shutdownMs} ms`);
    expect(stall.sockets.length).toBeGreaterThan(0);
    expect(r.during.failedExports).toBeGreaterThan(0);
    expect(r.after.exports).toBe(0);
    expect(r.p99Ms).toBeLessThan(50);
    expect(r.shutdownMs).toBeLessThan(2_000);
    for (const socket of stall.sockets) socket.destroy();
  });

  it('an in-memory exporter gets the cumulative series (the wiring without a network)', async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const vt = setupVoiceTrace({ ...quiet, metrics: { exporter, exportIntervalMillis: 60_000 } });
    new SessionMetrics({ meter: vt.metrics!.meter });
    await vt.metrics!.forceFlush();
    const names = exporter.getMetrics().flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics.map((m) => m.descriptor.name)));
    expect(names).toEqual(expect.arrayContaining([METRIC.SESSIONS_STARTED, METRIC.SESSIONS_ACTIVE, METRIC.DROPPED_INPUTS]));
    expect(vt.metrics!.stats()).toMatchObject({ exports: 1, failedExports: 0 });
    await vt.shutdown();
  });
});
