import type { metrics } from '@livekit/agents';
import type { DropCounters, StageMetric } from '@voicetrace/core';
import { FieldValidator, sharedName, type ValueLimits } from '@voicetrace/core/internal';

type AgentMetrics = metrics.AgentMetrics;

/**
 * Provider names the SDK's plugins report (a host such as `api.openai.com`, or a display name such as
 * `Gemini`), as the provider names prices and dashboards use.
 */
const PROVIDER_HOSTS: Readonly<Record<string, string>> = {
  'api.openai.com': 'openai',
  'generativelanguage.googleapis.com': 'gcp.gemini',
  'aiplatform.googleapis.com': 'gcp.vertex_ai',
  'api.x.ai': 'x_ai',
  'api.anthropic.com': 'anthropic',
  // @livekit/agents-plugin-google 1.9 names its LLM's provider `Gemini` or `Vertex AI` (src/llm.ts:112-117),
  // while the SDK writes the OTel registry's `gcp.gemini` on the same request's span
  gemini: 'gcp.gemini',
  'vertex ai': 'gcp.vertex_ai',
};

/** The OTel GenAI registry's `gen_ai.provider.name` values with a dot, kept whole (not read as a host). */
const REGISTRY_PROVIDERS = new Set(['gcp.gemini', 'gcp.vertex_ai', 'gcp.gen_ai', 'azure.ai.openai', 'azure.ai.inference', 'aws.bedrock', 'ibm.watsonx.ai']);

/** Providers a metrics label names when the metrics name none (`google_realtime`, `openai.TTS`), under the registry's name. */
const LABEL_PROVIDERS: Readonly<Record<string, string>> = {
  openai: 'openai', google: 'gcp.gemini', deepgram: 'deepgram', elevenlabs: 'elevenlabs', cartesia: 'cartesia', xai: 'x_ai', anthropic: 'anthropic',
};

/** The provider a plugin's label names (`google_realtime` -> `gcp.gemini`), if it is a known one. */
export function providerOfLabel(label: unknown): string | undefined {
  if (typeof label !== 'string') return undefined;
  return LABEL_PROVIDERS[label.toLowerCase().split(/[._]/)[0] ?? ''];
}

function mapDefined<T, U>(value: T | undefined, map: (value: T) => U): U | undefined {
  return value === undefined ? undefined : map(value);
}

/**
 * A provider name as every stage and price shows it: the OTel GenAI registry's value where it has
 * one (`api.openai.com` -> `openai`, `Gemini` -> `gcp.gemini`), another host's second-level label,
 * else the name in lower case (`Deepgram` -> `deepgram`, as the registry spells provider names).
 */
export function providerName(provider: string): string {
  const lower = provider.toLowerCase();
  if (PROVIDER_HOSTS[lower]) return PROVIDER_HOSTS[lower]!;
  if (REGISTRY_PROVIDERS.has(lower)) return lower;
  if (/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(lower)) {
    const labels = lower.split('.');
    return labels[labels.length - 2] ?? lower;
  }
  return lower;
}

/** What the binding knows of the session when it reads a metrics payload. */
export interface MetricsContext {
  /** Provider and model when the metrics name none (the SDK's realtime plugins report no metadata). */
  fallback?: { provider?: string | undefined; model?: string | undefined } | undefined;
  /** The agent's TTS does not stream: the SDK wraps it in its stream adapter, whose own (streamed) report repeats its sentences'. */
  ttsAdapted?: boolean | undefined;
}

/**
 * Converts one SDK `metrics_collected` payload (milliseconds, epoch ms) into a
 * validated {@link StageMetric} (seconds, epoch seconds). Returns undefined for
 * malformed or unknown metrics (counted).
 */
export function normalizeMetrics(raw: unknown, counters: DropCounters, limits?: ValueLimits, context: MetricsContext = {}): StageMetric | undefined {
  const metric = normalize(raw, counters, limits, context);
  // a clean input shares one quality record: a long call keeps thousands of metrics in its model
  if (metric?.quality && !metric.quality.implausible.length && !metric.quality.truncated.length) metric.quality = CLEAN_QUALITY;
  return metric;
}

/** The quality of an input nothing was left out of or cut from (shared, never changed). */
const CLEAN_QUALITY = Object.freeze({ implausible: Object.freeze([]) as unknown as string[], truncated: Object.freeze([]) as unknown as string[], reasons: Object.freeze({}) });

function normalize(raw: unknown, counters: DropCounters, limits: ValueLimits | undefined, context: MetricsContext): StageMetric | undefined {
  const fallback = context.fallback;
  if (!raw || typeof raw !== 'object' || typeof (raw as { type?: unknown }).type !== 'string') {
    counters.count('malformed_event', 'metrics');
    return undefined;
  }
  const m = raw as AgentMetrics & Record<string, unknown>;
  const v = new FieldValidator(counters, limits);
  const at = v.timestamp('timestamp', m.timestamp, 'ms') ?? Date.now() / 1000;
  const quality = { implausible: v.implausible, truncated: v.truncated, reasons: v.reasons };
  const known = (value: string | undefined): string | undefined => (value && value !== 'unknown' ? value : undefined);
  // provider and model written into each literal, not spread from a pair: one hidden class per kind of metric
  type Meta = { modelProvider?: string; modelName?: string } | undefined;
  // shared: each parse of a metric's JSON makes new strings, and the model keeps each step's to the call's end
  const providerOf = (meta: Meta, label: unknown): string =>
    sharedName(mapDefined(known(meta?.modelProvider) ?? known(fallback?.provider), providerName) ?? providerOfLabel(label) ?? String(label ?? 'unknown'));
  const modelOf = (meta: Meta, label: unknown): string => sharedName(known(meta?.modelName) ?? known(fallback?.model) ?? String(label ?? 'unknown'));
  switch (m.type) {
    case 'llm_metrics':
      return {
        kind: 'llm', at, quality, provider: providerOf(m.metadata, m.label), model: modelOf(m.metadata, m.label),
        speechId: m.speechId, requestId: m.requestId,
        ttft: v.duration('ttft', m.ttftMs, 'ms', { sentinel: true }),
        duration: v.duration('duration', m.durationMs, 'ms'),
        cancelled: m.cancelled === true,
        inputTokens: v.count('input_tokens', m.promptTokens) ?? 0,
        outputTokens: v.count('output_tokens', m.completionTokens) ?? 0,
        cachedInputTokens: v.count('cached_input_tokens', m.promptCachedTokens) ?? 0,
        cacheCreationTokens: v.count('cache_creation_tokens', m.cacheCreationTokens) ?? 0,
        tokensPerSecond: v.rate('tokens_per_second', m.tokensPerSecond),
      };
    case 'tts_metrics':
      return {
        kind: 'tts', at, quality, provider: providerOf(m.metadata, m.label), model: modelOf(m.metadata, m.label),
        speechId: m.speechId, requestId: m.requestId,
        ttfb: v.duration('ttfb', m.ttfbMs, 'ms', { sentinel: true }),
        duration: v.duration('duration', m.durationMs, 'ms'),
        audioDuration: v.duration('audio_duration', m.audioDurationMs, 'ms') ?? 0,
        characters: v.count('characters', m.charactersCount) ?? 0,
        streamed: m.streamed === true,
        cancelled: m.cancelled === true,
        inputTokens: v.count('input_tokens', m.inputTokens) ?? 0,
        outputTokens: v.count('output_tokens', m.outputTokens) ?? 0,
        // the SDK's stream adapter around a non-streaming TTS reports streamed; its sentences do not
        streamAdapterReport: context.ttsAdapted === undefined ? undefined : context.ttsAdapted && m.streamed === true,
      };
    case 'stt_metrics':
      return {
        kind: 'stt', at, quality, provider: providerOf(m.metadata, m.label), model: modelOf(m.metadata, m.label),
        requestId: m.requestId,
        // streaming STT reports 0: that is "not measured", not an instant transcript
        duration: m.durationMs ? v.duration('duration', m.durationMs, 'ms') : undefined,
        audioDuration: v.duration('audio_duration', m.audioDurationMs, 'ms') ?? 0,
        streamed: m.streamed === true,
        inputTokens: v.count('input_tokens', m.inputTokens) ?? 0,
        outputTokens: v.count('output_tokens', m.outputTokens) ?? 0,
      };
    case 'vad_metrics':
      return {
        kind: 'vad', at, quality, label: String(m.label ?? 'vad'),
        idleTime: v.duration('idle_time', m.idleTimeMs, 'ms'),
        inferenceTimeTotal: v.duration('inference_time_total', m.inferenceDurationTotalMs, 'ms'),
        inferenceCount: v.count('inference_count', m.inferenceCount) ?? 0,
      };
    case 'eou_metrics':
      return {
        kind: 'eou', at, quality, speechId: m.speechId,
        eouDelay: v.duration('eou_delay', m.endOfUtteranceDelayMs, 'ms'),
        transcriptionDelay: v.duration('transcription_delay', m.transcriptionDelayMs, 'ms'),
        onUserTurnCompletedDelay: v.duration('on_user_turn_completed_delay', m.onUserTurnCompletedDelayMs, 'ms'),
        // an epoch timestamp in ms, not a duration
        lastSpeakingTime: v.timestamp('last_speaking_time', m.lastSpeakingTimeMs, 'ms'),
      };
    case 'interruption_metrics':
      return {
        kind: 'interruption', at, quality,
        provider: m.metadata?.modelProvider, model: m.metadata?.modelName,
        detectionDelay: v.duration('detection_delay', m.detectionDelay, 'ms'),
        predictionTime: v.duration('prediction_time', m.predictionDuration, 'ms'),
        roundTrip: v.duration('round_trip', m.totalDuration, 'ms'),
        interruptions: v.count('interruptions', m.numInterruptions) ?? 0,
        backchannels: v.count('backchannels', m.numBackchannels) ?? 0,
        requests: v.count('requests', m.numRequests) ?? 0,
      };
    case 'realtime_model_metrics': {
      const input = m.inputTokenDetails;
      const output = m.outputTokenDetails;
      return {
        kind: 'realtime', at, quality, provider: providerOf(m.metadata, m.label), model: modelOf(m.metadata, m.label),
        requestId: m.requestId,
        createdAt: at,
        ttft: v.duration('ttft', m.ttftMs, 'ms', { sentinel: true }),
        duration: v.duration('duration', m.durationMs, 'ms'),
        sessionDuration: v.duration('session_duration', m.sessionDurationMs, 'ms'),
        cancelled: m.cancelled === true,
        inputTokens: v.count('input_tokens', m.inputTokens) ?? 0,
        outputTokens: v.count('output_tokens', m.outputTokens) ?? 0,
        tokensPerSecond: v.rate('tokens_per_second', m.tokensPerSecond),
        inputAudioTokens: v.count('input_audio_tokens', input?.audioTokens) ?? 0,
        inputTextTokens: v.count('input_text_tokens', input?.textTokens) ?? 0,
        inputCachedTokens: v.count('input_cached_tokens', input?.cachedTokens) ?? 0,
        outputAudioTokens: v.count('output_audio_tokens', output?.audioTokens) ?? 0,
        outputTextTokens: v.count('output_text_tokens', output?.textTokens) ?? 0,
      };
    }
    case 'eot_inference_metrics':
    case 'avatar_metrics':
      return undefined;
    default:
      counters.count('unknown_metric_type', String((m as { type: unknown }).type));
      return undefined;
  }
}
