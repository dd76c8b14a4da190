// The metrics view of the session model (packages/core/src/views/metrics.ts), through the real
// OTel metrics SDK with a reader collected in process: the instruments of METRICS.md, their
// attributes, the wait breakdown, usage counted once, implausible values kept out of histograms,
// and bounded cardinality (50 sessions make exactly the series 5 do).
import type { Meter } from '@opentelemetry/api';
import { DataPointType, MeterProvider, type DataPoint, type Histogram as HistogramPoint, type MetricData } from '@opentelemetry/sdk-metrics';
import { DROP_REASONS, FORBIDDEN_METRIC_ATTRIBUTES, METRIC, METRIC_SPECS, VOICE_LATENCY_BUCKETS, WAIT_CONTRIBUTIONS, metricSpec, waitMetricName } from '@voicetrace/conventions';
import { describe, expect, it } from 'vitest';
import { DropCounters } from '../src/counters.js';
import type { EouMetric, LlmMetric, SttMetric, TtsMetric } from '../src/events.js';
import type { LatencyBreakdown } from '../src/latency.js';
import { SessionModel } from '../src/model/session-model.js';
import type { ReplyRecord, TurnRecord } from '../src/model/types.js';
import { PriceBook } from '../src/prices.js';
import { UsageLedger } from '../src/usage.js';
import { SessionMetrics, observeVoiceTraceCounters } from '../src/views/metrics.js';
import { CollectingReader } from './support.js';

const T0 = 1_800_000_000;

function setup() {
  const reader = new CollectingReader();
  const provider = new MeterProvider({ readers: [reader] });
  return { reader, provider, meter: provider.getMeter('voicetrace') };
}

const llm = (at: number, o: Partial<LlmMetric> = {}): LlmMetric => ({
  kind: 'llm', at, provider: 'openai', model: 'gpt-4o-mini', ttft: 0.4, duration: 0.9, cancelled: false,
  inputTokens: 600, outputTokens: 40, cachedInputTokens: 128, cacheCreationTokens: 0, ...o,
});
const tts = (at: number, o: Partial<TtsMetric> = {}): TtsMetric => ({
  kind: 'tts', at, provider: 'cartesia', model: 'sonic-2', ttfb: 0.15, duration: 0.6, audioDuration: 3,
  characters: 60, streamed: true, cancelled: false, inputTokens: 0, outputTokens: 0, ...o,
});
const stt = (at: number, o: Partial<SttMetric> = {}): SttMetric => ({
  kind: 'stt', at, provider: 'deepgram', model: 'nova-3', audioDuration: 1.4, streamed: true, inputTokens: 0, outputTokens: 0, ...o,
});

interface Call {
  model: SessionModel;
  ledger: UsageLedger;
  counters: DropCounters;
  metrics: SessionMetrics;
}

/** A session model with its metrics view, fed the way the engine feeds it. */
function call(meter: Meter, sessionId: string, environment = 'test'): Call {
  const counters = new DropCounters();
  const ledger = new UsageLedger(new PriceBook(), counters);
  const model = new SessionModel({ sessionId, ledger, counters });
  const metrics = new SessionMetrics({ meter, environment, currentAgent: () => model.currentAgent });
  model.subscribe(metrics);
  model.beginSession(T0);
  return { model, ledger, counters, metrics };
}

/** One user turn and its reply (with a tool step when asked); usage goes through the ledger like the engine's. */
function turn(c: Call, t: number, speechId: string, options: { tool?: boolean; interrupted?: boolean; agent?: string; eou?: Partial<EouMetric>; llm?: Partial<LlmMetric> } = {}): ReplyRecord | undefined {
  const { model: m } = c;
  const usage = (metric: LlmMetric | TtsMetric | SttMetric): void => void m.addUsage(metric, c.ledger.add(metric));
  m.currentAgent = options.agent ?? 'front_desk';
  m.beginUserTurn(t);
  m.noteUserSpeech(true, t + 0.1);
  m.noteUserSpeech(false, t + 1.5);
  m.noteTranscript(true, 'hello', t + 1.7);
  const sttMetric = stt(t + 1.75);
  usage(sttMetric);
  m.addSttReport(sttMetric);
  m.setEou({ kind: 'eou', at: t + 1.8, speechId, eouDelay: 0.3, transcriptionDelay: 0.2, onUserTurnCompletedDelay: 0.01, lastSpeakingTime: t + 1.5, ...options.eou });
  m.endUserTurn(t + 1.8, {});
  m.reply(speechId, t + 1.8, options.agent ?? 'front_desk');
  if (options.tool) {
    const toolLlm = llm(t + 2.3, { duration: 0.5, speechId });
    usage(toolLlm);
    m.addLlmStep(speechId, { metric: toolLlm, spanStart: t + 1.81, spanEnd: t + 2.3, speakable: false });
    m.addToolStep(speechId, { name: 'get_weather', start: t + 2.3, end: t + 2.45, isError: false });
    m.endAgentTurn(speechId, t + 2.45, {});
  }
  const s = options.tool ? t + 2.45 : t + 1.81;
  const spoken = llm(s + 0.9, { speechId, ...options.llm });
  usage(spoken);
  m.addLlmStep(speechId, { metric: spoken, spanStart: s, spanEnd: s + 0.9, speakable: true });
  const audio = tts(s + 1.2, { duration: 0.75, speechId });
  usage(audio);
  // the SDK's stream adapter reports the same audio twice: the ledger counts it once
  usage(tts(s + 1.21, { duration: 0.75, speechId, streamed: false }));
  m.addTtsStep(speechId, { metric: audio, spanStart: s + 0.41, spanEnd: s + 1.2, duplicate: false });
  if (options.interrupted) {
    m.noteAgentSpeaking(true, s + 0.9);
    m.noteUserSpeech(true, s + 1.5);
    m.noteAgentSpeaking(false, s + 1.9);
  }
  return m.endAgentTurn(speechId, s + 3, { e2e: s + 0.8 - (t + 1.5), interrupted: options.interrupted });
}

const points = (metric: MetricData | undefined): DataPoint<unknown>[] => (metric?.dataPoints ?? []) as DataPoint<unknown>[];
const histogramPoints = (metric: MetricData | undefined) => points(metric) as DataPoint<HistogramPoint>[];
const sum = (metric: MetricData | undefined, where: (a: Record<string, unknown>) => boolean = () => true): number =>
  points(metric).filter((p) => where(p.attributes)).reduce((total, p) => total + (p.value as number), 0);
const seriesCount = (metrics: Map<string, MetricData>): number => [...metrics.values()].reduce((n, m) => n + m.dataPoints.length, 0);

describe('SessionMetrics (the metrics view of the session model)', () => {
  it('records the six lk.agents.turn.* histograms per played reply, in seconds, with the latency buckets and LiveKit\'s attributes', async () => {
    const { reader, meter } = setup();
    const c = call(meter, 's1');
    const replies = [turn(c, T0, 'sp1', { tool: true })!, turn(c, T0 + 10, 'sp2')!, turn(c, T0 + 20, 'sp3', { agent: 'billing' })!];
    const metrics = await reader.metrics();
    const e2e = metrics.get(METRIC.TURN_E2E_LATENCY)!;
    expect(e2e.dataPointType).toBe(DataPointType.HISTOGRAM);
    expect(e2e.descriptor.unit).toBe('s');
    const points = histogramPoints(e2e);
    expect(points.map((p) => p.attributes).sort((a, b) => String(a['gen_ai.agent.name']).localeCompare(String(b['gen_ai.agent.name'])))).toEqual([
      { model_provider: 'openai', model_name: 'gpt-4o-mini', 'gen_ai.agent.name': 'billing', 'deployment.environment.name': 'test' },
      { model_provider: 'openai', model_name: 'gpt-4o-mini', 'gen_ai.agent.name': 'front_desk', 'deployment.environment.name': 'test' },
    ]);
    for (const p of points) expect(p.value.buckets.boundaries).toEqual([...VOICE_LATENCY_BUCKETS]);
    expect(points.reduce((n, p) => n + p.value.count, 0)).toBe(3);
    expect(points.reduce((n, p) => n + (p.value.sum ?? 0), 0)).toBeCloseTo(replies.reduce((n, r) => n + r.latency!.e2e!, 0), 9);
    // each figure attributed as LiveKit does: TTS TTFB to the TTS, the user-side delays to the STT
    expect(histogramPoints(metrics.get(METRIC.TURN_TTS_TTFB))[0]!.attributes).toMatchObject({ model_provider: 'cartesia', model_name: 'sonic-2' });
    for (const name of [METRIC.TURN_TRANSCRIPTION_DELAY, METRIC.TURN_END_OF_TURN_DELAY, METRIC.TURN_ON_USER_TURN_COMPLETED_DELAY]) {
      const hist = histogramPoints(metrics.get(name));
      expect(hist[0]!.attributes, name).toMatchObject({ model_provider: 'deepgram', model_name: 'nova-3' });
      expect(hist.reduce((n, p) => n + p.value.count, 0), name).toBe(3);
    }
    expect(histogramPoints(metrics.get(METRIC.TURN_END_OF_TURN_DELAY)).reduce((n, p) => n + (p.value.sum ?? 0), 0)).toBeCloseTo(0.9, 9);
    expect(histogramPoints(metrics.get(METRIC.TURN_LLM_TTFT)).reduce((n, p) => n + (p.value.sum ?? 0), 0)).toBeCloseTo(1.2, 9);
  });

  it('records every voicetrace.wait.<key> on every reply with a breakdown (0 when absent), so the means stack up to the mean e2e', async () => {
    const { reader, meter } = setup();
    const c = call(meter, 's1');
    const replies = [turn(c, T0, 'sp1', { tool: true })!, turn(c, T0 + 10, 'sp2')!];
    expect(replies[1]!.latency!.wait.map((w) => w.key)).not.toContain('tool_execution');
    const metrics = await reader.metrics();
    let stacked = 0;
    for (const contribution of WAIT_CONTRIBUTIONS) {
      const hist = histogramPoints(metrics.get(waitMetricName(contribution.key)));
      expect(hist.reduce((n, p) => n + p.value.count, 0), contribution.key).toBe(2);
      const total = hist.reduce((n, p) => n + (p.value.sum ?? 0), 0);
      const expected = replies.reduce((n, r) => n + (r.latency!.wait.find((w) => w.key === contribution.key)?.seconds ?? 0), 0);
      expect(total, contribution.key).toBeCloseTo(expected, 9);
      stacked += total / 2;
      const keys = Object.keys(hist[0]!.attributes).sort();
      // provider-owned slices name the provider even on a turn where the slice did not occur
      if (contribution.owner.startsWith('provider:')) expect(keys, contribution.key).toEqual(['deployment.environment.name', 'gen_ai.agent.name', 'gen_ai.provider.name', 'gen_ai.request.model']);
      else expect(keys, contribution.key).toEqual(['deployment.environment.name', 'gen_ai.agent.name']);
    }
    const meanE2e = replies.reduce((n, r) => n + r.latency!.e2e!, 0) / 2;
    expect(stacked).toBeCloseTo(meanE2e, 9);
    expect(histogramPoints(metrics.get(waitMetricName('tts_ttfb')))[0]!.attributes).toMatchObject({ 'gen_ai.provider.name': 'cartesia' });
    expect(histogramPoints(metrics.get(waitMetricName('stt_final_transcript')))[0]!.attributes).toMatchObject({ 'gen_ai.provider.name': 'deepgram' });
  });

  it('counts usage once (not the stream adapter\'s duplicate TTS report), requests and cost per stage, equal to the ledger', async () => {
    const { reader, meter } = setup();
    const c = call(meter, 's1');
    turn(c, T0, 'sp1', { tool: true });
    turn(c, T0 + 10, 'sp2');
    const metrics = await reader.metrics();
    const usage = c.ledger.summary();
    const llmUsage = usage.find((u) => u.type === 'llm_usage')!;
    const ttsUsage = usage.find((u) => u.type === 'tts_usage')!;
    const sttUsage = usage.find((u) => u.type === 'stt_usage')!;
    if (llmUsage.type !== 'llm_usage' || ttsUsage.type !== 'tts_usage' || sttUsage.type !== 'stt_usage') throw new Error('usage types');
    expect(sum(metrics.get(METRIC.USAGE_LLM_INPUT_TOKENS))).toBe(llmUsage.inputTokens);
    expect(sum(metrics.get(METRIC.USAGE_LLM_INPUT_CACHED_TOKENS))).toBe(llmUsage.inputCachedTokens);
    expect(sum(metrics.get(METRIC.USAGE_LLM_OUTPUT_TOKENS))).toBe(llmUsage.outputTokens);
    expect(sum(metrics.get(METRIC.USAGE_TTS_CHARACTERS))).toBe(ttsUsage.charactersCount);
    expect(ttsUsage.charactersCount).toBe(120); // two utterances of 60, the duplicate reports not counted
    expect(sum(metrics.get(METRIC.USAGE_TTS_AUDIO_DURATION))).toBeCloseTo(ttsUsage.audioDuration, 9);
    expect(sum(metrics.get(METRIC.USAGE_STT_AUDIO_DURATION))).toBeCloseTo(sttUsage.audioDuration, 9);
    const requests = metrics.get(METRIC.REQUESTS);
    expect(sum(requests, (a) => a['voicetrace.stage'] === 'llm')).toBe(llmUsage.requests);
    expect(sum(requests, (a) => a['voicetrace.stage'] === 'tts')).toBe(ttsUsage.requests);
    expect(sum(requests, (a) => a['voicetrace.stage'] === 'stt')).toBe(sttUsage.requests);
    expect(sum(metrics.get(METRIC.COST))).toBeCloseTo(c.ledger.totalCost(), 12);
    expect(sum(metrics.get(METRIC.COST), (a) => a['voicetrace.stage'] === 'tts')).toBeCloseTo(ttsUsage.cost!, 12);
    // every series of a provider has its error counter, at 0 until an error happens
    expect(points(metrics.get(METRIC.ERRORS)).map((p) => [p.attributes['voicetrace.stage'], p.value]).sort()).toEqual([['llm', 0], ['stt', 0], ['tts', 0]]);
    expect(points(metrics.get(METRIC.USAGE_LLM_INPUT_TOKENS))[0]!.attributes).toEqual({
      model_provider: 'openai', model_name: 'gpt-4o-mini', 'gen_ai.agent.name': 'front_desk', 'deployment.environment.name': 'test',
    });
  });

  it('counts a reply once by its speech id and start: a copy of it (its turn unpacked) is the same reply, a new reply under a reused id is another', async () => {
    const { reader, meter } = setup();
    const c = call(meter, 's1');
    const reply = turn(c, T0, 'sp1')!;
    // a barge-in reported on a copy of the closed reply (the model unpacks a packed turn as new objects)
    const copy = structuredClone(reply);
    c.metrics.onInterruption({ start: T0 + 4, end: T0 + 4.2, stoppedAgent: true }, copy);
    let metrics = await reader.metrics();
    expect(sum(metrics.get(METRIC.TURNS))).toBe(1);
    // the same speech id at another start is another reply
    c.metrics.onInterruption({ start: T0 + 9, end: T0 + 9.2, stoppedAgent: true }, { ...copy, startedAt: copy.startedAt + 6 });
    metrics = await reader.metrics();
    expect(sum(metrics.get(METRIC.TURNS))).toBe(2);
  });

  it('counts turns and barge-ins (never more interruptions than turns), errors by stage and model, and sessions started/active', async () => {
    const { reader, meter } = setup();
    const c = call(meter, 's1');
    turn(c, T0, 'sp1');
    turn(c, T0 + 10, 'sp2', { interrupted: true });
    // a reply the user cut off before it played: a turn and an interruption, no latency
    c.model.beginUserTurn(T0 + 20);
    c.model.reply('sp3', T0 + 21, 'front_desk');
    c.model.noteAgentSpeaking(true, T0 + 21.5);
    c.model.noteUserSpeech(true, T0 + 21.6);
    c.model.noteAgentSpeaking(false, T0 + 21.8);
    c.model.endAgentTurn('sp3', T0 + 21.9, { interrupted: true });
    c.model.addError(T0 + 22, 'ScriptedLLM', 'upstream 503: secret detail', true);
    let metrics = await reader.metrics();
    expect(sum(metrics.get(METRIC.TURNS))).toBe(3);
    expect(sum(metrics.get(METRIC.INTERRUPTIONS))).toBe(2);
    expect(c.model.snapshot().interruptions).toBe(2);
    const errors = points(metrics.get(METRIC.ERRORS)).filter((p) => p.value === 1);
    expect(errors.map((p) => p.attributes)).toEqual([
      { 'voicetrace.stage': 'llm', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.agent.name': 'front_desk', 'deployment.environment.name': 'test' },
    ]);
    expect(JSON.stringify([...metrics.values()])).not.toContain('secret detail');
    expect(sum(metrics.get(METRIC.SESSIONS_STARTED))).toBe(1);
    expect(sum(metrics.get(METRIC.SESSIONS_ACTIVE))).toBe(1);
    c.model.endSession(T0 + 30);
    c.metrics.close(); // idempotent after the session's end
    metrics = await reader.metrics();
    expect(sum(metrics.get(METRIC.SESSIONS_ACTIVE))).toBe(0);
  });

  it('keeps implausible values (NaN, -1, a timestamp passed as a delay) out of every histogram and counts them by field and reason', async () => {
    const { reader, meter } = setup();
    const c = call(meter, 's1');
    // as normalized from the SDK: the bad fields are left out and named in quality
    turn(c, T0, 'sp1', {
      llm: { ttft: undefined, quality: { implausible: ['ttft'], truncated: [], reasons: { ttft: 'sentinel_value' } } },
      eou: { eouDelay: undefined, quality: { implausible: ['eou_delay'], truncated: [], reasons: { eou_delay: 'implausible_value' } } },
    });
    // and values that were never validated (a view must not trust its inputs): NaN, -1, epoch seconds
    const turnRecord: TurnRecord = c.model.turn(1)!;
    const bad = (e2e: number, llmTtft: number, eouDelay: number): ReplyRecord => ({
      ...turnRecord.replies[0]!,
      latency: { e2e, llmTtft, eouDelay, wait: [{ key: 'llm_ttft', owner: 'provider:llm', seconds: Number.NaN }] } as LatencyBreakdown,
    });
    c.metrics.onReplyComplete(bad(Number.NaN, -1, 1_795_000_000), turnRecord);
    const metrics = await reader.metrics();
    const allHistogramValues = [...metrics.values()]
      .filter((m) => m.dataPointType === DataPointType.HISTOGRAM)
      .flatMap((m) => histogramPoints(m).map((p) => ({ name: m.descriptor.name, min: p.value.min, max: p.value.max, sum: p.value.sum })));
    for (const h of allHistogramValues) {
      expect(Number.isFinite(h.sum) && h.min! >= 0 && h.max! <= 600, JSON.stringify(h)).toBe(true);
    }
    // the sentinel TTFT and the timestamp EOU delay never reached a histogram: one valid reply each
    expect(histogramPoints(metrics.get(METRIC.TURN_LLM_TTFT)).reduce((n, p) => n + p.value.count, 0)).toBe(0);
    expect(histogramPoints(metrics.get(METRIC.TURN_END_OF_TURN_DELAY)).reduce((n, p) => n + p.value.count, 0)).toBe(0);
    expect(histogramPoints(metrics.get(METRIC.TURN_E2E_LATENCY)).reduce((n, p) => n + p.value.count, 0)).toBe(1);
    const implausible = points(metrics.get(METRIC.IMPLAUSIBLE_VALUES)).map((p) => [p.attributes['voicetrace.field'], p.attributes['voicetrace.drop.reason'], p.attributes['voicetrace.stage'] ?? '', p.value]);
    expect(implausible.sort()).toEqual([
      ['e2e_latency', 'non_finite_value', '', 1],
      ['end_of_turn_delay', 'implausible_value', '', 1],
      ['eou_delay', 'implausible_value', 'eou', 1],
      ['llm_ttft', 'negative_value', '', 1],
      ['ttft', 'sentinel_value', 'llm', 1],
      ['wait.llm_ttft', 'non_finite_value', '', 1],
    ]);
    const ttft = points(metrics.get(METRIC.IMPLAUSIBLE_VALUES)).find((p) => p.attributes['voicetrace.field'] === 'ttft')!;
    expect(ttft.attributes).toMatchObject({ 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-mini' });
  });

  it('sets only the attributes METRICS.md allows on each instrument, never an id', async () => {
    const { reader, meter } = setup();
    const c = call(meter, 'sess_secret_id');
    turn(c, T0, 'speech_secret', { tool: true, interrupted: true });
    c.model.addError(T0 + 5, 'OpenAITTS', 'x', false);
    const counters = new DropCounters();
    counters.count('duplicate_usage');
    observeVoiceTraceCounters({ meter, counters, environment: 'test', exporterDrops: () => [{ exporter: 'otlp', reason: 'export_failed', spans: 3 }] });
    const metrics = await reader.metrics();
    for (const [name, metric] of metrics) {
      const allowed = new Set(metricSpec(name)!.attributes);
      for (const p of points(metric)) {
        for (const key of Object.keys(p.attributes)) {
          expect(allowed.has(key), `${name}: ${key}`).toBe(true);
          expect(FORBIDDEN_METRIC_ATTRIBUTES as readonly string[]).not.toContain(key);
        }
        expect(JSON.stringify(p.attributes), name).not.toMatch(/secret/);
      }
    }
    // every instrument of METRICS.md was recorded but the realtime and interruption-model ones (and no value was implausible)
    const notHere = [METRIC.IMPLAUSIBLE_VALUES, METRIC.USAGE_LLM_INPUT_AUDIO_TOKENS, METRIC.USAGE_LLM_INPUT_TEXT_TOKENS, METRIC.USAGE_LLM_OUTPUT_AUDIO_TOKENS, METRIC.USAGE_LLM_OUTPUT_TEXT_TOKENS, METRIC.USAGE_LLM_SESSION_DURATION, METRIC.USAGE_INTERRUPTION_NUM_REQUESTS];
    expect([...metrics.keys()].sort()).toEqual(METRIC_SPECS.map((s) => s.name).filter((n) => !(notHere as readonly string[]).includes(n)).sort());
  });

  it('reports the drop counters (every reason, from 0) and exporter losses as observable counters', async () => {
    const { reader, meter } = setup();
    const counters = new DropCounters();
    counters.count('internal_error');
    counters.count('duplicate_usage');
    counters.count('duplicate_usage');
    let failed = 2;
    const stop = observeVoiceTraceCounters({ meter, counters, environment: 'prod', exporterDrops: () => [{ exporter: 'otlp', reason: 'export_failed', spans: failed }, { exporter: 'otlp', reason: 'oversized', spans: 0 }] });
    let metrics = await reader.metrics();
    const dropped = points(metrics.get(METRIC.DROPPED_INPUTS));
    expect(dropped).toHaveLength(DROP_REASONS.length);
    expect(Object.fromEntries(dropped.map((p) => [p.attributes['voicetrace.drop.reason'], p.value]))).toMatchObject({ internal_error: 1, duplicate_usage: 2, malformed_event: 0 });
    expect(points(metrics.get(METRIC.EXPORTER_DROPPED_SPANS)).map((p) => [p.attributes['voicetrace.exporter'], p.attributes['voicetrace.drop.reason'], p.value])).toEqual([['otlp', 'export_failed', 2], ['otlp', 'oversized', 0]]);
    failed = 5;
    counters.count('internal_error');
    metrics = await reader.metrics();
    expect(sum(metrics.get(METRIC.DROPPED_INPUTS), (a) => a['voicetrace.drop.reason'] === 'internal_error')).toBe(2);
    expect(sum(metrics.get(METRIC.EXPORTER_DROPPED_SPANS), (a) => a['voicetrace.drop.reason'] === 'export_failed')).toBe(5);
    stop();
  });

  it('creates each instrument once per meter, however many sessions record through it', () => {
    const { meter } = setup();
    const created: string[] = [];
    const spy = new Proxy(meter, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (typeof value === 'function' && String(prop).startsWith('create')) {
          return (name: string, ...rest: unknown[]) => {
            created.push(name);
            return (value as (...a: unknown[]) => unknown).call(target, name, ...rest);
          };
        }
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    for (let i = 0; i < 10; i++) turn(call(spy, `s${i}`), T0 + i * 100, `sp${i}`);
    expect(created.length).toBe(METRIC_SPECS.length);
    expect(new Set(created).size).toBe(created.length);
  });

  it('keeps each series apart while it reuses attribute sets, also past the reuse cache\'s bound (300 models in one call)', async () => {
    const { reader, meter } = setup();
    const c = call(meter, 's1');
    const models = 300;
    // model i is used i % 3 + 1 times, interleaved with other models and agents
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < models; i++) {
        if (i % 3 < round) continue;
        turn(c, T0 + (round * models + i) * 10, `sp_${round}_${i}`, { agent: i % 2 ? 'billing' : 'front_desk', llm: { model: `m${i}`, inputTokens: 1000 + i } });
      }
    }
    const metrics = await reader.metrics();
    const inputTokens = points(metrics.get(METRIC.USAGE_LLM_INPUT_TOKENS));
    for (const i of [0, 1, 2, 150, 299]) {
      const series = inputTokens.filter((p) => p.attributes['model_name'] === `m${i}`);
      expect(series, `m${i}`).toHaveLength(1);
      expect(series[0]!.attributes['gen_ai.agent.name']).toBe(i % 2 ? 'billing' : 'front_desk');
      expect(series[0]!.value, `m${i}`).toBe((1000 + i) * (i % 3 + 1));
    }
    // the six turn histograms: one series per (model, agent) of the spoken LLM
    const ttft = histogramPoints(metrics.get(METRIC.TURN_LLM_TTFT));
    expect(ttft.filter((p) => p.attributes['model_name'] === 'm2')[0]!.value.count).toBe(3);
    expect(sum(metrics.get(METRIC.TURNS))).toBe(models * 2);
  });

  it('bounded cardinality: 50 sessions make exactly the series 5 sessions make', async () => {
    const agents = ['front_desk', 'billing', 'support'];
    const run = async (sessions: number) => {
      const { reader, meter } = setup();
      for (let i = 0; i < sessions; i++) {
        const c = call(meter, `sess_${i}_${Math.random()}`);
        for (let t = 0; t < 4; t++) turn(c, T0 + i * 1000 + t * 10, `speech_${i}_${t}`, { agent: agents[(i + t) % agents.length], tool: t % 2 === 0, interrupted: t === 3 });
        c.model.endSession(T0 + i * 1000 + 100);
      }
      const metrics = await reader.metrics();
      return { series: seriesCount(metrics), perMetric: Object.fromEntries([...metrics].map(([n, m]) => [n, m.dataPoints.length])), turns: sum(metrics.get(METRIC.TURNS)) };
    };
    const five = await run(5);
    const fifty = await run(50);
    expect(five.turns).toBe(20);
    expect(fifty.turns).toBe(200);
    expect(fifty.perMetric).toEqual(five.perMetric);
    expect(fifty.series).toBe(five.series);
    console.log(`[metrics-view] ${five.series} series for 5 sessions, ${fifty.series} for 50 (3 agents, 3 models)`);
  });
});
