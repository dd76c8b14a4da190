import { telemetry } from '@livekit/agents';
import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ReportingSpanExporter, createOtlpTraceExporter, resolveOtlpTracesUrl } from '../src/export.js';
import { setupVoiceTrace } from '../src/setup.js';

describe('OTLP endpoint rules (spans never vanish over a missing or extra /v1/traces)', () => {
  it('appends /v1/traces to a base endpoint, keeps a full traces URL, uses the traces variable as is', () => {
    expect(resolveOtlpTracesUrl(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' })).toBe('http://c:4318/v1/traces');
    expect(resolveOtlpTracesUrl(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/' })).toBe('http://c:4318/v1/traces');
    expect(resolveOtlpTracesUrl('http://c:4318/v1/traces')).toBe('http://c:4318/v1/traces');
    expect(resolveOtlpTracesUrl(undefined, { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c/custom' })).toBe('http://c/custom');
  });

  it('logs one clear error naming the URL and the HTTP status on the first failed export', async () => {
    const server = createServer((_req, res) => res.writeHead(404).end('not here'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const logged: string[] = [];
    const inner = createOtlpTraceExporter({ endpoint: `http://127.0.0.1:${port}` }, {});
    const exporter = new ReportingSpanExporter((inner as unknown as { inner: never }).inner, `http://127.0.0.1:${port}/v1/traces`, (m) => logged.push(m));
    const memory = new InMemorySpanExporter();
    new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] }).getTracer('t').startSpan('x').end();
    const span = memory.getFinishedSpans()[0]!;
    for (let i = 0; i < 2; i++) await new Promise((resolve) => exporter.export([span], resolve));
    server.close();
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain(`http://127.0.0.1:${port}/v1/traces`);
    expect(logged[0]).toContain('404');
    expect(exporter.failedSpans).toBe(2);
  });
});

describe('setupVoiceTrace', () => {
  it('shares the provider: a processor added later (as the SDK adds LiveKit Cloud\'s) and ours both receive spans, in one tree with user spans', async () => {
    const ours = new InMemorySpanExporter();
    const vt = setupVoiceTrace({ exporters: [ours], handleSignals: false, batch: { scheduledDelayMillis: 10 } });
    expect(telemetry.tracer.getProvider()).toBe(vt.provider);
    const cloud = new InMemorySpanExporter();
    vt.registerSpanProcessor(new SimpleSpanProcessor(cloud));
    const sdkTracer = telemetry.tracer.getTracer();
    await sdkTracer.startActiveSpan('agent_turn', async (turn) => {
      // a user's own span through the global API, e.g. inside a tool
      trace.getTracer('user-code').startSpan('my_db_call').end();
      turn.end();
    });
    await vt.forceFlush();
    for (const exporter of [ours, cloud]) {
      const names = exporter.getFinishedSpans().map((s) => s.name);
      expect(names).toEqual(expect.arrayContaining(['agent_turn', 'my_db_call']));
    }
    const turn = ours.getFinishedSpans().find((s) => s.name === 'agent_turn')!;
    const db = ours.getFinishedSpans().find((s) => s.name === 'my_db_call')!;
    expect(db.parentSpanContext?.spanId).toBe(turn.spanContext().spanId);
    expect(db.spanContext().traceId).toBe(turn.spanContext().traceId);
    await vt.shutdown();
  });
});

describe('createVoiceTraceProcessor (bring your own provider)', () => {
  it('stamps and enriches the spans of an instrumented session on a provider the user built', async () => {
    const { voice, initializeLogger } = await import('@livekit/agents');
    initializeLogger({ pretty: false, level: 'silent' });
    const { NodeTracerProvider } = await import('@opentelemetry/sdk-trace-node');
    const { createVoiceTraceProcessor } = await import('../src/processors.js');
    const exporter = new InMemorySpanExporter();
    const vt = createVoiceTraceProcessor({ next: [new SimpleSpanProcessor(exporter)], environment: 'staging' });
    const provider = new NodeTracerProvider({ spanProcessors: [vt.processor] });
    provider.register();
    const traced = vt.instrument(new voice.AgentSession({}), { sessionId: 'mine' });
    const tracer = provider.getTracer('livekit-agents');
    await tracer.startActiveSpan('agent_session', async (session) => {
      tracer.startSpan('user_turn').end();
      session.end();
    });
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => [s.name, s.attributes['session.id'], s.attributes['deployment.environment.name'], s.attributes['voicetrace.stage']])).toEqual([
      ['user_turn', 'mine', 'staging', 'user_turn'],
      ['agent_session', 'mine', 'staging', 'session'],
    ]);
    expect(traced.summary().userTurns).toBe(1);
    await provider.shutdown();
  });
});
