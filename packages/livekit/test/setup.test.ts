import { telemetry } from '@livekit/agents';
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { setupVoiceTrace } from '../src/setup.js';

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
    const agentSession = new voice.AgentSession({});
    const traced = vt.instrument(agentSession, { sessionId: 'mine' });
    const tracer = provider.getTracer('livekit-agents');
    await tracer.startActiveSpan('agent_session', async (session) => {
      const turn = tracer.startSpan('user_turn');
      // the user said something (a user turn where nobody spoke is not counted)
      agentSession.emit(voice.AgentSessionEventTypes.UserInputTranscribed, { type: 'user_input_transcribed', transcript: 'hello', isFinal: true, language: 'en', createdAt: Date.now(), speakerId: null } as never);
      turn.end();
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
