/**
 * The demo call through a speech-to-speech model (ScriptedRealtimeModel, server-side
 * turn detection) in a real `voice.AgentSession`, captured raw: the SDK's own spans on a
 * registered NodeTracerProvider wired through `telemetry.setTracerProvider` (no voicetrace
 * processing), and the session's events with their arrival times. Set
 * `REALTIME_CAPTURE_DUMP=<file>` to write the capture as JSON (REALTIME-NOTES.md was written
 * from it).
 */
import { initializeLogger, telemetry, voice, type RealtimeModelMetrics } from '@livekit/agents';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { writeFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAgents } from '../src/conversation.js';
import { createRealtimePlugins, createRealtimeSession, runRealtimeConversation } from '../src/realtime-conversation.js';

interface CapturedEvent {
  t: number;
  type: string;
  [key: string]: unknown;
}

interface Capture {
  seconds: number;
  events: CapturedEvent[];
  spans: ReadableSpan[];
  metrics: RealtimeModelMetrics[];
  plugins: ReturnType<typeof createRealtimePlugins>;
  history: unknown;
  usage: unknown;
}

const hrToMs = (hr: [number, number]): number => hr[0] * 1000 + hr[1] / 1e6;

async function captureRealtimeCall(): Promise<Capture> {
  initializeLogger({ pretty: false, level: 'error' });
  const exporter = new InMemorySpanExporter();
  const fanout = new telemetry.FanoutSpanProcessor();
  fanout.add(new SimpleSpanProcessor(exporter));
  const provider = new NodeTracerProvider({ spanProcessors: [fanout] });
  provider.register();
  telemetry.setTracerProvider(provider, { registerSpanProcessor: (p) => fanout.add(p) });

  const plugins = createRealtimePlugins({ seed: 42 });
  const { frontDesk } = createAgents();
  const session = createRealtimeSession(plugins);
  const events: CapturedEvent[] = [];
  const metrics: RealtimeModelMetrics[] = [];
  const T = voice.AgentSessionEventTypes;
  session.on(T.UserStateChanged, (ev) => events.push({ t: Date.now(), type: ev.type, state: ev.newState }));
  session.on(T.AgentStateChanged, (ev) => events.push({ t: Date.now(), type: ev.type, state: ev.newState }));
  session.on(T.UserInputTranscribed, (ev) => events.push({ t: Date.now(), type: ev.type, transcript: ev.transcript, isFinal: ev.isFinal, itemId: ev.itemId }));
  session.on(T.SpeechCreated, (ev) => events.push({ t: Date.now(), type: ev.type, source: ev.source, userInitiated: ev.userInitiated, speechId: ev.speechHandle.id }));
  session.on(T.FunctionToolsExecuted, (ev) => events.push({ t: Date.now(), type: ev.type, calls: ev.functionCalls.map((c) => c.name) }));
  session.on(T.ConversationItemAdded, (ev) => {
    const item = ev.item;
    if (item.type === 'message') {
      events.push({ t: Date.now(), type: ev.type, role: item.role, id: item.id, text: item.textContent, interrupted: item.interrupted, createdAt: item.createdAt, metrics: { ...item.metrics } });
    } else {
      events.push({ t: Date.now(), type: ev.type, itemType: item.type, item: item.toJSON() });
    }
  });
  session.on(T.MetricsCollected, (ev) => {
    const m = ev.metrics;
    events.push({ t: Date.now(), type: ev.type, metricsType: m.type, metrics: { ...m } });
    if (m.type === 'realtime_model_metrics') metrics.push(m);
  });

  const started = Date.now();
  plugins.user.start();
  try {
    await session.start({ agent: frontDesk });
    await runRealtimeConversation(session, plugins.user);
    // let the last late transcript and metrics arrive
    await new Promise((resolve) => setTimeout(resolve, 1200));
  } finally {
    await session.close();
    await plugins.user.stop();
    await provider.forceFlush();
  }
  const capture: Capture = {
    seconds: (Date.now() - started) / 1000,
    events,
    spans: exporter.getFinishedSpans(),
    metrics,
    plugins,
    history: session.history.toJSON(),
    usage: session.usage,
  };
  await provider.shutdown();
  return capture;
}

function dump(capture: Capture, path: string): void {
  const t0 = capture.events[0]?.t ?? 0;
  const spans = capture.spans.map((span) => ({
    name: span.name,
    spanId: span.spanContext().spanId,
    parent: capture.spans.find((p) => p.spanContext().spanId === span.parentSpanContext?.spanId)?.name ?? (span.parentSpanContext ? '(unknown)' : null),
    start: Math.round(hrToMs(span.startTime) - t0),
    durationMs: Math.round(hrToMs(span.duration)),
    attributes: span.attributes,
  }));
  const out = {
    seconds: capture.seconds,
    events: capture.events.map((ev) => ({ ...ev, t: ev.t - t0 })),
    spans,
    responses: capture.plugins.model.responses.map((r) => ({ ...r, createdAt: r.createdAt - t0, firstContentAt: r.firstContentAt && r.firstContentAt - t0, doneAt: r.doneAt && r.doneAt - t0 })),
    truncations: capture.plugins.model.truncations.map((t) => ({ ...t, at: t.at - t0 })),
    history: capture.history,
    usage: capture.usage,
  };
  writeFileSync(path, JSON.stringify(out, null, 2));
}

describe('the demo call through a realtime model (server-side turn detection)', () => {
  let capture: Capture;
  beforeAll(async () => {
    capture = await captureRealtimeCall();
    if (process.env.REALTIME_CAPTURE_DUMP) dump(capture, process.env.REALTIME_CAPTURE_DUMP);
  }, 90_000);

  const finals = () => capture.events.filter((e) => e.type === 'user_input_transcribed' && e.isFinal);

  it('runs the whole call in well under 40 s', () => {
    expect(capture.seconds).toBeLessThan(40);
    const said = finals().map((e) => e.transcript);
    expect(said).toEqual([
      'Hi, what is the weather like in Paris today?',
      'Great, and what are your opening hours?',
      'And on Sundays, what are your opening hours?',
      'Sorry, actually I have a question about my bill.',
      'Why was I charged twice this month?',
      'Okay thanks, that is all.',
    ]);
  });

  it('delivers each user transcript late: after the reply to that turn started', () => {
    for (const final of finals()) {
      const itemIndex = capture.events.indexOf(final);
      const before = capture.events.slice(0, itemIndex);
      // the user's turn ended (server VAD) before the transcript came
      const stopped = before.findLast((e) => e.type === 'user_state_changed' && e.state === 'listening');
      expect(stopped).toBeDefined();
      // and the model had already created the reply that answers it
      const reply = before.findLast((e) => e.type === 'speech_created');
      expect(reply!.t).toBeGreaterThanOrEqual(stopped!.t);
    }
    // for spoken replies the agent is already talking when the transcript arrives
    const lateAfterSpeaking = finals().filter((final) => {
      const before = capture.events.slice(0, capture.events.indexOf(final));
      const stopped = before.findLast((e) => e.type === 'user_state_changed' && e.state === 'listening')!;
      return before.some((e) => e.t >= stopped.t && e.type === 'agent_state_changed' && e.state === 'speaking');
    });
    expect(lateAfterSpeaking.length).toBeGreaterThanOrEqual(3);
  });

  it('emits one realtime_model_metrics per response, attached to its realtime_inference span', () => {
    const responses = capture.plugins.model.responses;
    expect(capture.metrics.map((m) => m.requestId)).toEqual(responses.map((r) => r.responseId));
    expect(new Set(capture.metrics.map((m) => m.requestId)).size).toBe(capture.metrics.length);
    const inference = capture.spans.filter((s) => s.name === 'realtime_inference');
    const withMetrics = inference.filter((s) => typeof s.attributes['lk.realtime_model_metrics'] === 'string');
    const orphans = capture.spans.filter((s) => s.name === 'realtime_metrics');
    expect(withMetrics.length + orphans.length).toBe(capture.metrics.length);
    for (const m of capture.metrics) {
      expect(m.label).toBe('voicetrace.ScriptedRealtimeModel');
      expect(m.metadata).toEqual({ modelProvider: 'openai', modelName: 'gpt-4o-realtime-preview' });
      expect(m.durationMs).toBeGreaterThan(0);
    }
  });

  it('reports per-modality token details, with a prompt cache that grows across turns', () => {
    const spoken = capture.metrics.filter((m) => m.outputTokenDetails.audioTokens > 0);
    expect(spoken.length).toBeGreaterThanOrEqual(6);
    for (const m of capture.metrics) {
      const d = m.inputTokenDetails;
      expect(m.inputTokens).toBe(d.audioTokens + d.textTokens);
      expect(m.outputTokens).toBe(m.outputTokenDetails.audioTokens + m.outputTokenDetails.textTokens);
      expect(m.totalTokens).toBe(m.inputTokens + m.outputTokens);
      expect(d.textTokens).toBeGreaterThan(0);
      expect(d.cachedTokens).toBe((d.cachedTokensDetails?.audioTokens ?? 0) + (d.cachedTokensDetails?.textTokens ?? 0));
    }
    // user audio enters the conversation as audio tokens from the first user turn on
    expect(capture.metrics.slice(1).every((m) => m.inputTokenDetails.audioTokens > 0)).toBe(true);
    const cached = capture.metrics.map((m) => m.inputTokenDetails.cachedTokens);
    expect(cached[0]).toBe(0);
    expect(Math.max(...cached)).toBeGreaterThan(cached[1]!);
    // before the handoff rewrites the instructions, the cache never shrinks
    const handoffAt = capture.plugins.model.responses.findIndex((r) => r.toolCalls.includes('transfer_to_billing'));
    const beforeHandoff = cached.slice(0, handoffAt + 1);
    expect(beforeHandoff).toEqual([...beforeHandoff].sort((a, b) => a - b));
  });

  it('reports a ttftMs of -1 for the tool-call-only responses', () => {
    const toolOnly = capture.plugins.model.responses.filter((r) => r.toolCalls.length > 0 && !r.text);
    expect(toolOnly.map((r) => r.toolCalls[0])).toEqual(['get_weather', 'transfer_to_billing']);
    for (const r of toolOnly) {
      expect(r.metrics!.ttftMs).toBe(-1);
      expect(r.metrics!.outputTokenDetails.audioTokens).toBe(0);
      expect(r.metrics!.outputTokenDetails.textTokens).toBeGreaterThan(0);
    }
    const spoken = capture.metrics.filter((m) => m.outputTokenDetails.audioTokens > 0);
    expect(spoken.every((m) => m.ttftMs > 0)).toBe(true);
  });

  it('cancels the response the caller barges in on, and truncates what was not heard', () => {
    const cancelled = capture.metrics.filter((m) => m.cancelled);
    expect(cancelled).toHaveLength(1);
    const responses = capture.plugins.model.responses;
    const response = responses.find((r) => r.responseId === cancelled[0]!.requestId)!;
    // the same long answer, once heard in full and once cut off
    const full = responses.find((r) => r.status === 'completed' && r.text.startsWith('Our stores open'))!;
    expect(response.text.length).toBeGreaterThan(0);
    expect(response.audioMs).toBeLessThan(full.audioMs);
    expect(cancelled[0]!.outputTokenDetails.audioTokens).toBeLessThan(full.metrics!.outputTokenDetails.audioTokens);
    // the SDK truncates the item at the playback position: at most what was generated
    const truncation = capture.plugins.model.truncations.at(-1)!;
    expect(truncation.audioEndMs).toBeGreaterThan(0);
    expect(truncation.audioEndMs).toBeLessThanOrEqual(response.audioMs);
    const interrupted = capture.events.filter((e) => e.type === 'conversation_item_added' && e.role === 'assistant' && e.interrupted);
    expect(interrupted).toHaveLength(1);
    expect(interrupted[0]!.id).toBe(truncation.messageId);
  });

  it('traces each response as agent_turn > realtime_inference with gen_ai usage by modality', () => {
    const byId = new Map(capture.spans.map((s) => [s.spanContext().spanId, s]));
    const inference = capture.spans.filter((s) => s.name === 'realtime_inference');
    expect(inference.length).toBe(capture.metrics.length);
    for (const span of inference) {
      expect(byId.get(span.parentSpanContext!.spanId)?.name).toBe('agent_turn');
      expect(span.attributes['gen_ai.provider.name']).toBe('openai');
      expect(span.attributes['gen_ai.request.model']).toBe('gpt-4o-realtime-preview');
    }
    const withUsage = inference.filter((s) => s.attributes['gen_ai.usage.input_tokens'] !== undefined);
    expect(withUsage.length).toBeGreaterThan(0);
    expect(capture.spans.some((s) => s.name === 'function_tool' && s.attributes['gen_ai.tool.name'] === 'get_weather')).toBe(true);
  });
});
