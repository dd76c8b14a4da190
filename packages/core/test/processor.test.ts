import { ROOT_CONTEXT, trace, type Attributes } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR } from '@voicetrace/conventions';
import { describe, expect, it } from 'vitest';
import { SessionEngine } from '../src/session-engine.js';
import { VoiceTraceSpanProcessor } from '../src/processor.js';
import type { SpanFactsReader } from '../src/span-facts.js';

const facts: SpanFactsReader = {
  atStart: ({ name, attributes }) => ({
    stage: ({ agent_session: 'session', user_turn: 'user_turn', agent_turn: 'agent_turn' } as const)[name as 'agent_session'],
    speechId: attributes['lk.speech_id'] as string | undefined,
  }),
  atEnd: () => ({}),
};

function setup(traceMode: 'session' | 'turn' = 'session', remoteParent?: { traceId: string; spanId: string }) {
  const exporter = new InMemorySpanExporter();
  const processor = new VoiceTraceSpanProcessor({ next: [new SimpleSpanProcessor(exporter)], traceMode });
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  const tracer = provider.getTracer('livekit-agents');
  const engine = new SessionEngine({ sessionId: 's1', allowPii: false, tracer: provider.getTracer('voicetrace'), facts });
  processor.attach(engine, remoteParent ? { remoteParent: { ...remoteParent, traceFlags: 1, isRemote: true } } : {});
  const child = (name: string, parent: ReturnType<typeof tracer.startSpan>, attributes: Attributes = {}) =>
    tracer.startSpan(name, { attributes }, trace.setSpan(ROOT_CONTEXT, parent));
  return { exporter, processor, tracer, engine, child };
}

const named = (spans: ReadableSpan[], name: string) => spans.filter((s) => s.name === name);

describe('VoiceTraceSpanProcessor', () => {
  it('stamps the session id and stage on every span of the session, and leaves other traces alone', () => {
    const { exporter, tracer, child } = setup();
    const session = tracer.startSpan('agent_session');
    const turn = child('user_turn', session);
    turn.end();
    session.end();
    tracer.startSpan('unrelated').end();
    const spans = exporter.getFinishedSpans();
    expect(named(spans, 'user_turn')[0]!.attributes[ATTR.SESSION_ID]).toBe('s1');
    expect(named(spans, 'user_turn')[0]!.attributes[ATTR.STAGE]).toBe('user_turn');
    expect(named(spans, 'unrelated')[0]!.attributes[ATTR.SESSION_ID]).toBeUndefined();
  });

  it('ends spans still open at shutdown, flagged, so a killed agent keeps its session root', async () => {
    const ended: ReadableSpan[] = [];
    const recorder: SpanProcessor = { onStart: () => {}, onEnd: (span) => void ended.push(span), forceFlush: async () => {}, shutdown: async () => {} };
    const processor = new VoiceTraceSpanProcessor({ next: [recorder] });
    const provider = new BasicTracerProvider({ spanProcessors: [processor] });
    const tracer = provider.getTracer('livekit-agents');
    processor.attach(new SessionEngine({ sessionId: 's1', allowPii: false, tracer: provider.getTracer('voicetrace'), facts }));
    const session = tracer.startSpan('agent_session');
    tracer.startSpan('agent_turn', {}, trace.setSpan(ROOT_CONTEXT, session));
    await processor.shutdown();
    const spans = ended;
    expect(spans.map((s) => s.name).sort()).toEqual(['agent_session', 'agent_turn']);
    expect(spans.every((s) => s.attributes[ATTR.FORCE_ENDED] === true)).toBe(true);
    // events and spans after shutdown are dropped and counted, never thrown
    tracer.startSpan('late').end();
    expect(processor.counters.get('after_shutdown')).toBeGreaterThan(0);
  });

  it('trace-per-turn: each user turn is its own trace, linked to the session, replies moved under it', () => {
    const { exporter, tracer, child } = setup('turn');
    const session = tracer.startSpan('agent_session');
    for (let i = 0; i < 2; i++) {
      const user = child('user_turn', session);
      user.end();
      const reply = child('agent_turn', session, { 'lk.speech_id': `sp${i}` });
      child('llm_request', reply).end();
      reply.end();
    }
    session.end();
    const spans = exporter.getFinishedSpans();
    const sessionSpan = named(spans, 'agent_session')[0]!;
    const users = named(spans, 'user_turn');
    expect(new Set(users.map((u) => u.spanContext().traceId)).size).toBe(2);
    for (const user of users) {
      expect(user.spanContext().traceId).not.toBe(sessionSpan.spanContext().traceId);
      expect(user.parentSpanContext).toBeUndefined();
      expect(user.links[0]!.context.spanId).toBe(sessionSpan.spanContext().spanId);
    }
    const replies = named(spans, 'agent_turn');
    replies.forEach((reply, i) => {
      expect(reply.spanContext().traceId).toBe(users[i]!.spanContext().traceId);
      expect(reply.parentSpanContext?.spanId).toBe(users[i]!.spanContext().spanId);
    });
    const llm = named(spans, 'llm_request');
    llm.forEach((request, i) => expect(request.spanContext().traceId).toBe(users[i]!.spanContext().traceId));
  });

  it('a W3C parent handed in becomes the parent of the session: one trace from the app to the agent', () => {
    const remote = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' };
    const { exporter, tracer, child } = setup('session', remote);
    const session = tracer.startSpan('agent_session');
    child('user_turn', session).end();
    session.end();
    const spans = exporter.getFinishedSpans();
    expect(spans.every((s) => s.spanContext().traceId === remote.traceId)).toBe(true);
    expect(named(spans, 'agent_session')[0]!.parentSpanContext?.spanId).toBe(remote.spanId);
  });

  it('a throwing downstream processor is contained and counted', () => {
    const broken: SpanProcessor = {
      onStart: () => {
        throw new Error('boom');
      },
      onEnd: () => {
        throw new Error('boom');
      },
      forceFlush: async () => {},
      shutdown: async () => {},
    };
    const processor = new VoiceTraceSpanProcessor({ next: [broken] });
    const provider = new BasicTracerProvider({ spanProcessors: [processor] });
    expect(() => provider.getTracer('x').startSpan('a').end()).not.toThrow();
    expect(processor.counters.get('internal_error')).toBe(2);
  });

  it('largeTrace: told once per session when its trace passes the limit, in session mode only', () => {
    for (const traceMode of ['session', 'turn'] as const) {
      let told = 0;
      const processor = new VoiceTraceSpanProcessor({ next: [], traceMode, largeTrace: { spans: 3, exceeded: () => void told++ } });
      const provider = new BasicTracerProvider({ spanProcessors: [processor] });
      const tracer = provider.getTracer('livekit-agents');
      processor.attach(new SessionEngine({ sessionId: 's1', allowPii: false, tracer: provider.getTracer('voicetrace'), facts }));
      const session = tracer.startSpan('agent_session');
      const spans = () => tracer.startSpan('user_turn', {}, trace.setSpan(ROOT_CONTEXT, session)).end();
      spans();
      spans();
      // three spans (the session's own included): at the limit, not past it
      expect(told, traceMode).toBe(0);
      for (let i = 0; i < 5; i++) spans();
      expect(told, traceMode).toBe(traceMode === 'session' ? 1 : 0);
      // a span of another trace is not the session's
      tracer.startSpan('unrelated').end();
      session.end();
    }
  });
});
