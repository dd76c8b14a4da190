import { voice } from '@livekit/agents';
import { ATTR, SPAN_NAME, WAIT_CONTRIBUTIONS } from '@voicetrace/conventions';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runDemo, type DemoResult } from '../src/run-demo.js';
import { readSpans, type FlatSpan } from './otlp-json.js';

// One real AgentSession (the demo's scripted plugins), traced end to end into traces.jsonl.
let result: DemoResult;
let spans: FlatSpan[];
const messages: voice.ConversationItemAddedEvent['item'][] = [];

const byName = (name: string) => spans.filter((s) => s.name === name);
const parentOf = (span: FlatSpan) => spans.find((s) => s.spanId === span.parentSpanId);
const ancestorNamed = (span: FlatSpan, name: string): FlatSpan | undefined => {
  let current = parentOf(span);
  while (current && current.name !== name) current = parentOf(current);
  return current;
};
const num = (span: FlatSpan, key: string) => span.attributes[key] as number;

beforeAll(async () => {
  result = await runDemo({
    out: mkdtempSync(join(tmpdir(), 'voicetrace-contract-')),
    onSession: (session) => {
      session.on(voice.AgentSessionEventTypes.ConversationItemAdded, (ev) => messages.push(ev.item));
      // VAD and interruption models have no offline plugin: emit their metrics from the session's
      // own emitter, as the interruption-detection plugin would when the user cuts in
      session.on(voice.AgentSessionEventTypes.AgentStateChanged, (ev) => {
        if (ev.oldState === 'speaking' && ev.newState === 'listening') {
          session.emit(voice.AgentSessionEventTypes.MetricsCollected, {
            type: 'metrics_collected',
            createdAt: Date.now(),
            metrics: { type: 'interruption_metrics', timestamp: Date.now(), totalDuration: 80, predictionDuration: 30, detectionDelay: 210, numInterruptions: 1, numBackchannels: 0, numRequests: 3, metadata: { modelProvider: 'livekit', modelName: 'interruption' } },
          } as voice.MetricsCollectedEvent);
        }
        if (ev.newState === 'thinking' && !realtimeSent) {
          realtimeSent = true;
          session.emit(voice.AgentSessionEventTypes.MetricsCollected, {
            type: 'metrics_collected',
            createdAt: Date.now(),
            metrics: {
              type: 'realtime_model_metrics', label: 'realtime', requestId: 'resp_1', timestamp: Date.now(), durationMs: 900, ttftMs: 300, cancelled: false,
              inputTokens: 120, outputTokens: 80, totalTokens: 200, tokensPerSecond: 88,
              inputTokenDetails: { audioTokens: 100, textTokens: 20, imageTokens: 0, cachedTokens: 10 },
              outputTokenDetails: { audioTokens: 60, textTokens: 20, imageTokens: 0 },
              metadata: { modelProvider: 'openai', modelName: 'gpt-4o-realtime-preview' },
            },
          } as voice.MetricsCollectedEvent);
        }
      });
    },
  });
  spans = readSpans(result.tracesPath);
}, 120_000);
let realtimeSent = false;

describe('the demo session covers every row of the trace contract', () => {
  it('session: one root with ids, usage per model, cost, turn count and latency percentiles', () => {
    const [session] = byName('agent_session');
    expect(session).toBeDefined();
    expect(session!.parentSpanId).toBe('');
    expect(session!.attributes[ATTR.SESSION_ID]).toBe(result.sessionId);
    expect(session!.attributes['lk.job_id']).toBe('demo-job');
    expect(num(session!, ATTR.SESSION_TURNS)).toBe(6);
    expect(num(session!, ATTR.SESSION_COST)).toBeGreaterThan(0);
    const usage = JSON.parse(session!.attributes[ATTR.SESSION_USAGE] as string) as Array<{ type: string; provider: string }>;
    expect(usage.map((u) => `${u.type}:${u.provider}`).sort()).toEqual(
      ['interruption_usage:livekit', 'llm_usage:openai', 'llm_usage:openai', 'stt_usage:deepgram', 'tts_usage:cartesia'].sort(),
    );
    expect(num(session!, 'voicetrace.session.latency.e2e.p95')).toBeGreaterThanOrEqual(num(session!, 'voicetrace.session.latency.e2e.p50'));
  });

  it('every span carries the session id; every stage span its stage', () => {
    for (const span of spans) expect(span.attributes[ATTR.SESSION_ID], span.name).toBe(result.sessionId);
    const stages = new Set(spans.map((s) => s.attributes[ATTR.STAGE]).filter(Boolean));
    expect([...stages].sort()).toEqual(
      ['session', 'user_turn', 'vad', 'stt', 'eou', 'agent_turn', 'llm', 'realtime', 'tts', 'interruption', 'tool', 'handoff'].sort(),
    );
  });

  it('user turn: transcript and delays in seconds (the SDK writes ms)', () => {
    const turns = byName('user_turn');
    expect(turns).toHaveLength(6);
    for (const turn of turns) {
      expect(parentOf(turn)?.name).toBe('agent_session');
      expect(typeof turn.attributes['lk.pii.user_transcript']).toBe('string');
      const delay = num(turn, ATTR.LATENCY_TRANSCRIPTION_DELAY);
      // sent once: the SDK's ms form is left out of the export (its value is checked against ChatMessage.metrics below)
      expect(turn.attributes['lk.transcription_delay']).toBeUndefined();
      expect(turn.attributes['lk.end_of_turn_delay']).toBeUndefined();
      expect(delay).toBeGreaterThan(0.05);
      expect(delay).toBeLessThan(1);
    }
  });

  it('VAD, STT and EOU spans sit under their user turn, placed by time', () => {
    for (const name of [SPAN_NAME.vad, SPAN_NAME.stt, SPAN_NAME.eou]) {
      const found = byName(name);
      expect(found.length, name).toBeGreaterThanOrEqual(6);
      for (const span of found) {
        const turn = parentOf(span)!;
        expect(turn.name).toBe('user_turn');
        expect(span.start).toBeGreaterThanOrEqual(turn.start - 0.5);
      }
    }
    const stt = byName(SPAN_NAME.stt)[0]!;
    expect(stt.attributes[ATTR.PROVIDER_NAME]).toBe('deepgram');
    expect(num(stt, ATTR.STT_AUDIO_DURATION)).toBeGreaterThan(0.5);
    expect(num(stt, ATTR.STT_LATENCY)).toBeGreaterThan(0.05);
    expect(num(byName(SPAN_NAME.vad)[0]!, ATTR.VAD_INFERENCE_COUNT)).toBeGreaterThan(0);
    const eou = byName(SPAN_NAME.eou)[0]!;
    expect(num(eou, ATTR.EOU_DELAY)).toBeGreaterThan(0.2);
    expect(num(eou, ATTR.EOU_DELAY)).toBeLessThan(5);
  });

  it('agent turn: the docs latency identity and a gapless wait that sums to e2e', () => {
    const replies = byName('agent_turn').filter((s) => s.attributes[ATTR.LATENCY_E2E] !== undefined);
    expect(replies).toHaveLength(6);
    for (const turn of replies) {
      const total = num(turn, ATTR.LATENCY_EOU_DELAY) + num(turn, ATTR.LATENCY_LLM_TTFT) + num(turn, ATTR.LATENCY_TTS_TTFB);
      expect(num(turn, ATTR.LATENCY_TOTAL)).toBeCloseTo(total, 9);
      expect(turn.attributes['lk.e2e_latency'], 'sent once: voicetrace.latency.e2e carries it').toBeUndefined();
      const wait = JSON.parse(turn.attributes[ATTR.WAIT_BREAKDOWN] as string) as Array<{ key: string; seconds: number }>;
      const keys = WAIT_CONTRIBUTIONS.map((c) => c.key as string);
      expect(wait.every((slice) => keys.includes(slice.key) && slice.seconds >= -1e-9)).toBe(true);
      expect(wait.reduce((sum, slice) => sum + slice.seconds, 0)).toBeCloseTo(num(turn, ATTR.LATENCY_E2E), 9);
      expect(num(turn, ATTR.TURN_COST)).toBeGreaterThan(0);
    }
    expect(replies.filter((t) => t.attributes[ATTR.TURN_INTERRUPTED] === true)).toHaveLength(1);
  });

  it('the latency figures equal ChatMessage.metrics of the turn messages (seconds)', () => {
    const replies = byName('agent_turn').filter((s) => s.attributes[ATTR.LATENCY_E2E] !== undefined);
    const assistant = messages.filter((m) => m.type === 'message' && m.role === 'assistant' && m.metrics?.e2eLatency !== undefined);
    expect(assistant).toHaveLength(replies.length);
    replies.forEach((turn, i) => {
      const metrics = (assistant[i] as { metrics: Record<string, number> }).metrics;
      expect(num(turn, ATTR.LATENCY_E2E)).toBeCloseTo(metrics.e2eLatency!, 6);
      // ours is the provider request's TTFT, the SDK's is timed from its llm node: the same wait read a
      // few ms apart (the node starts the request), more on a loaded machine
      expect(Math.abs(num(turn, ATTR.LATENCY_LLM_TTFT)! - metrics.llmNodeTtft!)).toBeLessThan(0.02);
    });
    const users = messages.filter((m) => m.type === 'message' && m.role === 'user');
    const userTurns = byName('user_turn');
    userTurns.forEach((turn, i) => {
      const metrics = (users[i] as { metrics: Record<string, number> }).metrics;
      expect(num(turn, ATTR.LATENCY_TRANSCRIPTION_DELAY)).toBeCloseTo(metrics.transcriptionDelay!, 6);
      expect(num(turn, ATTR.LATENCY_EOU_DELAY)).toBeCloseTo(metrics.endOfTurnDelay!, 6);
    });
  });

  it('LLM and TTS spans carry provider, model, usage, cost and first-chunk times', () => {
    const llm = byName('llm_request');
    expect(llm.length).toBeGreaterThanOrEqual(8);
    for (const span of llm) {
      expect(span.attributes[ATTR.STAGE]).toBe('llm');
      expect(span.attributes[ATTR.REQUEST_MODEL]).toBe('gpt-4o-mini');
      expect(num(span, ATTR.USAGE_INPUT_TOKENS)).toBeGreaterThan(0);
      expect(num(span, ATTR.COST)).toBeGreaterThan(0);
      expect(ancestorNamed(span, 'agent_turn')).toBeDefined();
    }
    const tts = byName('tts_request');
    expect(tts.length).toBeGreaterThanOrEqual(7);
    for (const span of tts) {
      expect(span.attributes[ATTR.PROVIDER_NAME]).toBe('cartesia');
      expect(num(span, ATTR.TIME_TO_FIRST_CHUNK)).toBeGreaterThan(0.05);
      expect(num(span, ATTR.TTS_CHARACTERS)).toBeGreaterThan(0);
    }
  });

  it('realtime, interruption, tool call and handoff', () => {
    const realtime = byName(SPAN_NAME.realtime)[0]!;
    expect(num(realtime, ATTR.USAGE_AUDIO_INPUT)).toBe(100);
    expect(num(realtime, ATTR.USAGE_AUDIO_OUTPUT)).toBe(60);
    expect(num(realtime, ATTR.TIME_TO_FIRST_CHUNK)).toBeCloseTo(0.3, 9);
    // one interruption span per barge-in, under the reply it cut off, with the overlap and the model's figures
    const bargeIns = byName(SPAN_NAME.interruption).filter((s) => s.attributes[ATTR.INTERRUPTION_STOPPED_AGENT] === true);
    expect(bargeIns).toHaveLength(1);
    const [bargeIn] = bargeIns;
    const interrupted = parentOf(bargeIn!)!;
    expect(interrupted.name).toBe('agent_turn');
    expect(interrupted.attributes[ATTR.TURN_INTERRUPTED]).toBe(true);
    expect(num(bargeIn!, ATTR.TURN_OVERLAP)).toBeGreaterThan(0.3);
    expect(num(bargeIn!, ATTR.TURN_OVERLAP)).toBeCloseTo(num(interrupted, ATTR.TURN_OVERLAP), 9);
    expect(bargeIn!.end).toBeLessThanOrEqual(interrupted.end + 0.01);
    expect(num(bargeIn!, ATTR.INTERRUPTION_DETECTION_DELAY)).toBeCloseTo(0.21, 9);
    const tools = byName('function_tool');
    expect(tools.map((t) => t.attributes['gen_ai.tool.name'])).toEqual(expect.arrayContaining(['get_weather', 'transfer_to_billing']));
    expect(tools.every((t) => t.attributes[ATTR.STAGE] === 'tool' && parentOf(t)?.name === 'agent_turn')).toBe(true);
    const [handoff] = byName(SPAN_NAME.handoff).filter((h) => h.attributes[ATTR.HANDOFF_TO] === 'billing');
    expect(handoff?.attributes[ATTR.HANDOFF_FROM]).toBe('front_desk');
    const after = byName('agent_turn').filter((t) => t.start > handoff!.start);
    expect(after.every((t) => t.attributes[ATTR.AGENT_NAME] === 'billing')).toBe(true);
  });

  it('usage is counted once and matches the session totals', () => {
    const tts = result.summary.usage.find((u) => u.type === 'tts_usage');
    const spanCharacters = byName('tts_request').reduce((sum, s) => sum + num(s, ATTR.TTS_CHARACTERS), 0);
    expect(tts && tts.type === 'tts_usage' ? tts.charactersCount : -1).toBe(spanCharacters);
  });
});
