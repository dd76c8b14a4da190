import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR, LEFT_OUT } from '@voicetrace/conventions';
import { DropCounters, SessionEngine, VoiceTraceSpanProcessor } from '@voicetrace/core';
import { encodeTraceRequest, withAttributes } from '@voicetrace/exporters';
import { describe, expect, it } from 'vitest';
import { LiveKitSpanFacts } from '../src/span-facts.js';

// "Sent once": the SDK attributes a span also carries in voicetrace's form are left out of
// voicetrace's exported copy, and only there: the SDK's own processors see the span unchanged.
const llmMetrics = JSON.stringify({ type: 'llm_metrics', timestamp: Date.now(), requestId: 'r1', ttftMs: 380, durationMs: 900, cancelled: false, label: 'llm', completionTokens: 40, promptTokens: 600, promptCachedTokens: 512, cacheCreationTokens: 0, totalTokens: 640, tokensPerSecond: 44, metadata: { modelProvider: 'openai', modelName: 'gpt-4o-mini' } });

function setup() {
  const exported = new InMemorySpanExporter();
  const sdkSide: ReadableSpan[] = [];
  // a processor of the SDK's own (LiveKit Cloud's), beside voicetrace's
  const cloud: SpanProcessor = { onStart: () => {}, onEnd: (span) => void sdkSide.push(span), forceFlush: async () => {}, shutdown: async () => {} };
  const counters = new DropCounters();
  const processor = new VoiceTraceSpanProcessor({ next: [new SimpleSpanProcessor(exported)], counters });
  const provider = new BasicTracerProvider({ spanProcessors: [processor, cloud] });
  const tracer = provider.getTracer('livekit-agents');
  const engine = new SessionEngine({ sessionId: 's1', allowPii: true, tracer: provider.getTracer('voicetrace'), facts: new LiveKitSpanFacts(counters), counters });
  processor.attach(engine);
  return { exported, sdkSide, tracer, engine };
}

describe('sent once', () => {
  it('leaves the metrics JSON, the ms delays and the SDK\'s second names out of the export, not out of the SDK\'s processors', () => {
    const { exported, sdkSide, tracer, engine } = setup();
    const session = tracer.startSpan('agent_session');
    const ctx = trace.setSpan(ROOT_CONTEXT, session);
    const user = tracer.startSpan('user_turn', {}, ctx);
    const now = Date.now() / 1000;
    engine.record({ kind: 'user_speech', at: now - 2, speaking: true });
    engine.record({ kind: 'transcript', at: now - 0.36, final: true, text: 'hello' });
    engine.record({ kind: 'user_speech', at: now - 0.6, speaking: false });
    user.setAttributes({ 'lk.transcription_delay': 240, 'lk.end_of_turn_delay': 300 });
    user.end();
    const agent = tracer.startSpan('agent_turn', {}, ctx);
    agent.setAttributes({ 'lk.speech_id': 'sp1', 'lk.pii.user_input': 'hello', 'lk.pii.response.text': 'hi there' });
    const llm = tracer.startSpan('llm_request', {}, trace.setSpan(ROOT_CONTEXT, agent));
    llm.setAttributes({ 'lk.llm_metrics': llmMetrics, 'gen_ai.usage.cache_read.input_tokens': 512, 'gen_ai.usage.input_cached_tokens': 512 });
    llm.end();
    agent.setAttributes({ 'lk.e2e_latency': 1.2, 'lk.interrupted': false });
    agent.end();
    session.end();
    // what voicetrace's encoder sends: the copies' parts, written as the attributes they stand for
    for (const span of exported.getFinishedSpans()) {
      const sent = Buffer.from(encodeTraceRequest([span]));
      expect(sent.equals(Buffer.from(encodeTraceRequest([withAttributes(span, { ...span.attributes })]))), span.name).toBe(true);
    }
    expect(exported.getFinishedSpans().some((span) => span.name === 'llm_request')).toBe(true);
    const out = (name: string) => exported.getFinishedSpans().find((s) => s.name === name)!.attributes;
    const live = (name: string) => sdkSide.find((s) => s.name === name)!.attributes;
    // the LLM request: parsed, in seconds; the JSON and the SDK's second name of cached tokens left out
    expect(out('llm_request')[ATTR.CANCELLED]).toBe(false);
    expect(out('llm_request')[ATTR.DURATION]).toBe(0.9);
    expect(out('llm_request')).not.toHaveProperty('lk.llm_metrics');
    expect(out('llm_request')).not.toHaveProperty('gen_ai.usage.input_cached_tokens');
    expect(out('llm_request')[ATTR.USAGE_CACHE_READ]).toBe(512);
    expect(live('llm_request')['lk.llm_metrics']).toBe(llmMetrics);
    expect(live('llm_request')['gen_ai.usage.input_cached_tokens']).toBe(512);
    // the user turn's delays in seconds only
    expect(out('user_turn')[ATTR.LATENCY_TRANSCRIPTION_DELAY]).toBeCloseTo(0.24, 3);
    expect(out('user_turn')).not.toHaveProperty('lk.transcription_delay');
    expect(out('user_turn')).not.toHaveProperty('lk.end_of_turn_delay');
    expect(live('user_turn')['lk.end_of_turn_delay']).toBe(300);
    // the agent turn: the interrupted flag once; the SDK's words not repeated under voicetrace's names
    expect(out('agent_turn')[ATTR.TURN_INTERRUPTED]).toBe(false);
    expect(out('agent_turn')).not.toHaveProperty('lk.interrupted');
    expect(live('agent_turn')['lk.interrupted']).toBe(false);
    expect(out('agent_turn')['lk.pii.user_input']).toBe('hello');
    expect(out('agent_turn')).not.toHaveProperty(ATTR.PII_USER_TRANSCRIPT);
    expect(out('agent_turn')).not.toHaveProperty(ATTR.PII_RESPONSE_TEXT);
  });

  it('keeps the SDK\'s form when voicetrace could not write its own (unparsable metrics, no user turn figures)', () => {
    const facts = new LiveKitSpanFacts(new DropCounters());
    expect(facts.sentTwice({ name: 'llm_request', scope: 'livekit-agents', attributes: { 'lk.llm_metrics': '{broken' } })).toEqual([]);
    expect(facts.sentTwice({ name: 'user_turn', scope: 'livekit-agents', attributes: { 'lk.transcription_delay': 240 } })).toEqual([]);
    // voicetrace restated the delay from the VAD's end of speech (voicetrace.latency.anchor_shift): both stay
    expect(facts.sentTwice({ name: 'user_turn', scope: 'livekit-agents', attributes: { 'lk.transcription_delay': 240, [ATTR.LATENCY_TRANSCRIPTION_DELAY]: 0.84 } })).toEqual([]);
    expect(facts.sentTwice({ name: 'agent_turn', scope: 'livekit-agents', attributes: { 'lk.e2e_latency': 0.9, [ATTR.LATENCY_E2E]: 1.5 } })).toEqual([]);
    expect(facts.sentTwice({ name: 'llm_request', scope: 'voicetrace', attributes: { 'lk.llm_metrics': '{}', [ATTR.CANCELLED]: false } })).toEqual([]);
  });

  it('every SDK attribute it leaves out is listed in ATTRIBUTES.md', () => {
    const facts = new LiveKitSpanFacts(new DropCounters());
    const all = { [ATTR.CANCELLED]: false, [ATTR.USAGE_CACHE_READ]: 1, [ATTR.LATENCY_TRANSCRIPTION_DELAY]: 1, [ATTR.LATENCY_EOU_DELAY]: 1, [ATTR.LATENCY_E2E]: 1, [ATTR.TURN_INTERRUPTED]: false };
    const sdk = { 'lk.llm_metrics': '{}', 'lk.tts_metrics': '{}', 'gen_ai.usage.input_cached_tokens': 1, 'lk.transcription_delay': 1000, 'lk.end_of_turn_delay': 1000, 'lk.e2e_latency': 1, 'lk.interrupted': false };
    const left = new Set(['llm_request', 'tts_request', 'user_turn', 'agent_turn', 'realtime_inference'].flatMap((name) => facts.sentTwice({ name, scope: 'livekit-agents', attributes: { ...all, ...sdk } })));
    expect([...left].sort()).toEqual(LEFT_OUT.map((e) => e.sdk).sort());
  });
});
