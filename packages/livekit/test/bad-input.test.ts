import { metrics } from '@livekit/agents';
import { trace } from '@opentelemetry/api';
import { DropCounters, PriceBook, SessionEngine, UsageLedger, type TtsMetric } from '@voicetrace/core';
import { FieldValidator } from '@voicetrace/core/internal';
import { describe, expect, it } from 'vitest';
import { normalizeMetrics } from '../src/normalize.js';
import { LiveKitSpanFacts } from '../src/span-facts.js';

const now = Date.now();
const llm = (over: Record<string, unknown>) => ({
  type: 'llm_metrics', label: 'x', requestId: 'r', timestamp: now, durationMs: 500, ttftMs: 200, cancelled: false,
  completionTokens: 10, promptTokens: 100, promptCachedTokens: 0, totalTokens: 110, tokensPerSecond: 20, ...over,
});

describe('normalizeMetrics: every bad value has a documented outcome and a counter', () => {
  it('converts ms to seconds and keeps good values', () => {
    const counters = new DropCounters();
    const m = normalizeMetrics(llm({}), counters);
    expect(m).toMatchObject({ kind: 'llm', ttft: 0.2, duration: 0.5, inputTokens: 100 });
    expect(counters.total()).toBe(0);
  });

  it('NaN, negative and the -1 "no first token" are left out and flagged, not exported as truth', () => {
    const counters = new DropCounters();
    const m = normalizeMetrics(llm({ ttftMs: -1, durationMs: Number.NaN, completionTokens: -5 }), counters);
    expect(m?.kind === 'llm' && m.ttft).toBe(undefined);
    expect(m?.kind === 'llm' && m.duration).toBe(undefined);
    expect(m?.quality?.implausible.sort()).toEqual(['duration', 'output_tokens', 'ttft']);
    expect(m?.quality?.reasons).toEqual({ ttft: 'sentinel_value', duration: 'non_finite_value', output_tokens: 'negative_value' });
    // -1 is the SDK's "no token came" (a cancelled request): flagged, but not a drop
    expect(counters.snapshot()).toEqual({ non_finite_value: 1, negative_value: 1 });
  });

  it('a TTFT of minutes and an end-of-utterance "delay" that is really a timestamp are implausible', () => {
    const counters = new DropCounters();
    expect(normalizeMetrics(llm({ ttftMs: 45 * 60_000 }), counters)?.quality?.implausible).toEqual(['ttft']);
    const eou = normalizeMetrics({ type: 'eou_metrics', timestamp: now, endOfUtteranceDelayMs: now, transcriptionDelayMs: 100, onUserTurnCompletedDelayMs: 0, lastSpeakingTimeMs: now - 400 }, counters);
    expect(eou?.kind === 'eou' && eou.eouDelay).toBe(undefined);
    expect(eou?.kind === 'eou' && eou.lastSpeakingTime).toBeCloseTo((now - 400) / 1000, 6);
    expect(counters.get('implausible_value')).toBe(2);
  });

  it('malformed payloads and unknown metric types are dropped and counted', () => {
    const counters = new DropCounters();
    expect(normalizeMetrics(undefined, counters)).toBeUndefined();
    expect(normalizeMetrics('llm', counters)).toBeUndefined();
    expect(normalizeMetrics({ type: 'quantum_metrics' }, counters)).toBeUndefined();
    expect(counters.snapshot()).toEqual({ malformed_event: 2, unknown_metric_type: 1 });
  });

  it('span facts survive broken metrics JSON on a span', () => {
    const counters = new DropCounters();
    const facts = new LiveKitSpanFacts(counters).atEnd({ name: 'llm_request', scope: 'livekit-agents', attributes: { 'lk.llm_metrics': '{not json' } });
    expect(facts.metric).toBeUndefined();
    expect(counters.get('malformed_event')).toBe(1);
  });
});

describe('SessionEngine.record never throws', () => {
  const engine = () =>
    new SessionEngine({ sessionId: 's', allowPii: true, tracer: trace.getTracer('t'), facts: new LiveKitSpanFacts(new DropCounters()) });

  it('drops malformed, duplicate, unplaced and post-shutdown inputs with counters', () => {
    const e = engine();
    const eou = { kind: 'eou', at: now / 1000, eouDelay: 0.3 } as const;
    expect(() => {
      e.record(null as never);
      e.record({ kind: 'llm', at: Number.NaN } as never);
      e.record(eou);
      e.record(eou);
      e.close();
      e.record({ kind: 'user_speech', at: now / 1000, speaking: true });
    }).not.toThrow();
    expect(e.counters.snapshot()).toMatchObject({ malformed_event: 2, duplicate_event: 1, unplaced_event: 1, after_shutdown: 1 });
  });

  it('a 1 MB transcript is cut to the cap and flagged', () => {
    const counters = new DropCounters();
    const validator = new FieldValidator(counters);
    const text = validator.text('transcript', 'a'.repeat(1_000_000));
    expect(text?.length).toBe(8193);
    expect(validator.truncated).toEqual(['transcript']);
    expect(counters.get('truncated_string')).toBe(1);
  });
});

describe('TTS usage behind the SDK stream adapter is counted once', () => {
  it('the SDK collector counts the adapter\'s two reports; voicetrace counts one', () => {
    const report = (streamed: boolean): metrics.TTSMetrics => ({
      type: 'tts_metrics', label: 'tts', requestId: 'r1', timestamp: now, ttfbMs: 120, durationMs: 400, audioDurationMs: 1980,
      cancelled: false, charactersCount: 33, streamed, speechId: 'sp1', metadata: { modelProvider: 'cartesia', modelName: 'sonic-2' },
    });
    const sdk = new metrics.ModelUsageCollector();
    sdk.collect(report(false));
    sdk.collect(report(true));
    const sdkTts = sdk.flatten().find((u) => u.type === 'tts_usage') as metrics.TTSModelUsage;
    expect(sdkTts.charactersCount).toBe(66);

    const counters = new DropCounters();
    const ledger = new UsageLedger(new PriceBook(), counters);
    ledger.add(normalizeMetrics(report(false), counters) as TtsMetric);
    ledger.add(normalizeMetrics(report(true), counters) as TtsMetric);
    const ours = ledger.summary().find((u) => u.type === 'tts_usage');
    expect(ours?.type === 'tts_usage' && ours.charactersCount).toBe(33);
    expect(counters.get('duplicate_usage')).toBe(1);
  });

  it('two different utterances of the same length in one speech are both counted', () => {
    const counters = new DropCounters();
    const ledger = new UsageLedger(new PriceBook(), counters);
    const base = { kind: 'tts', at: now / 1000, provider: 'p', model: 'm', speechId: 's', characters: 10, audioDuration: 1, streamed: true, cancelled: false, inputTokens: 0, outputTokens: 0 } as const;
    ledger.add({ ...base });
    ledger.add({ ...base, at: base.at + 1 });
    const usage = ledger.summary()[0];
    expect(usage?.type === 'tts_usage' && usage.charactersCount).toBe(20);
  });
});
