import type { DropCounters, SpanFacts, SpanFactsReader, SpanView } from '@voicetrace/core';
import { FieldValidator } from '@voicetrace/core/internal';
import { ATTR, LIVEKIT_SCOPE, SDK_SPAN_STAGE } from '@voicetrace/conventions';
import { normalizeMetrics, providerName, type MetricsContext } from './normalize.js';

/** The SDK attributes we read (the SDK's own names, left untouched on its spans). */
const LK = {
  speechId: 'lk.speech_id',
  e2eLatency: 'lk.e2e_latency',
  interrupted: 'lk.interrupted',
  transcriptionDelay: 'lk.transcription_delay',
  endOfTurnDelay: 'lk.end_of_turn_delay',
  toolIsError: 'lk.function_tool.is_error',
  toolName: 'gen_ai.tool.name',
  toolArguments: 'gen_ai.tool.call.arguments',
  llmMetrics: 'lk.llm_metrics',
  ttsMetrics: 'lk.tts_metrics',
  realtimeMetrics: 'lk.realtime_model_metrics',
  finishReasons: 'gen_ai.response.finish_reasons',
  agentName: 'gen_ai.agent.name',
  userInput: 'lk.pii.user_input',
  responseText: 'lk.pii.response.text',
  cachedTokens: 'gen_ai.usage.input_cached_tokens',
  providerName: 'gen_ai.provider.name',
  requestModel: 'gen_ai.request.model',
} as const;

const NONE: readonly string[] = [];

/**
 * Reads voicetrace's span facts off `@livekit/agents` 1.9 spans. The units are
 * the SDK's: user_turn delays in ms, agent_turn e2e in seconds, metrics JSON in ms.
 */
export class LiveKitSpanFacts implements SpanFactsReader {
  constructor(
    private readonly counters: DropCounters,
    /** What the session knows when a span's metrics JSON is read (fallback model, an adapted TTS), and its STT. */
    private readonly session?: { metricsContext(): MetricsContext; sttModel(): { provider: string; model: string } | undefined; llmRef(): { provider: string; model: string } | undefined },
  ) {}

  atStart(span: SpanView): SpanFacts {
    if (span.scope !== LIVEKIT_SCOPE) return {};
    const attrs = span.attributes;
    return {
      stage: SDK_SPAN_STAGE[span.name],
      speechId: typeof attrs[LK.speechId] === 'string' ? (attrs[LK.speechId] as string) : undefined,
      agentName: typeof attrs[LK.agentName] === 'string' ? (attrs[LK.agentName] as string) : undefined,
      userSpeaking: span.name === 'user_speaking' || undefined,
    };
  }

  atEnd(span: SpanView): SpanFacts {
    if (span.scope !== LIVEKIT_SCOPE) return {};
    const attrs = span.attributes;
    const v = new FieldValidator(this.counters);
    switch (span.name) {
      case 'llm_request': {
        const reasons = attrs[LK.finishReasons];
        const onlyTools = Array.isArray(reasons) && reasons.length > 0 && reasons.every((r) => r === 'tool_call' || r === 'tool_calls');
        return { metric: this.metricFrom(attrs[LK.llmMetrics]), speakable: !onlyTools };
      }
      case 'tts_request':
        return { metric: this.metricFrom(attrs[LK.ttsMetrics]) };
      case 'realtime_inference': {
        const metric = this.metricFrom(attrs[LK.realtimeMetrics]);
        // a response that reported no metrics (a tool call's, with Gemini Live) still names its model as the others do
        return { metric, model: metric ? undefined : this.session?.llmRef() };
      }
      case 'agent_turn':
        return {
          e2e: v.duration('e2e_latency', attrs[LK.e2eLatency], 's'),
          interrupted: attrs[LK.interrupted] === true,
          userText: typeof attrs[LK.userInput] === 'string' ? (attrs[LK.userInput] as string) : undefined,
          responseText: typeof attrs[LK.responseText] === 'string' ? (attrs[LK.responseText] as string) : undefined,
        };
      case 'user_turn':
        return {
          transcriptionDelay: v.duration('transcription_delay', attrs[LK.transcriptionDelay], 'ms'),
          endOfTurnDelay: v.duration('end_of_turn_delay', attrs[LK.endOfTurnDelay], 'ms'),
          // the SDK names the STT's label here (`deepgram.STT`): the STT's provider and model, as its own spans say
          model: this.session?.sttModel(),
        };
      case 'tts_node':
      case 'llm_node':
        return { model: this.normalizedModel(attrs) };
      case 'function_tool':
        return {
          toolError: attrs[LK.toolIsError] === true,
          toolName: typeof attrs[LK.toolName] === 'string' ? (attrs[LK.toolName] as string) : undefined,
          toolArguments: typeof attrs[LK.toolArguments] === 'string' ? (attrs[LK.toolArguments] as string) : undefined,
        };
      default:
        return {};
    }
  }

  /**
   * The SDK attributes a span also carries in voicetrace's form, once voicetrace wrote it: the
   * metrics JSON of LLM and TTS requests (every field is on the span parsed, in seconds:
   * time to first chunk, duration, cancelled, tokens, characters, audio), the user turn's delays in
   * ms, the agent turn's e2e latency and interrupted flag, and the SDK's second name for cached
   * input tokens. ATTRIBUTES.md lists them ("Sent once").
   */
  sentTwice(span: SpanView): readonly string[] {
    if (span.scope !== LIVEKIT_SCOPE) return NONE;
    const a = span.attributes;
    const both = (sdk: string, ours: string): boolean => a[sdk] !== undefined && a[ours] !== undefined;
    // the SDK's value (in its unit: `perSecond` of them make a second) equals voicetrace's seconds, within 1 ms
    const same = (sdk: string, ours: string, perSecond: number): boolean =>
      typeof a[sdk] === 'number' && typeof a[ours] === 'number' && Math.abs((a[sdk] as number) / perSecond - (a[ours] as number)) <= 0.001;
    const out: string[] = [];
    switch (span.name) {
      case 'llm_request':
        if (both(LK.llmMetrics, ATTR.CANCELLED)) out.push(LK.llmMetrics);
        if (a[LK.cachedTokens] !== undefined && a[LK.cachedTokens] === a[ATTR.USAGE_CACHE_READ]) out.push(LK.cachedTokens);
        break;
      case 'tts_request':
        if (both(LK.ttsMetrics, ATTR.CANCELLED)) out.push(LK.ttsMetrics);
        break;
      case 'user_turn':
        // the same seconds only: where voicetrace restated a delay (see voicetrace.latency.anchor_shift), both stay
        if (same(LK.transcriptionDelay, ATTR.LATENCY_TRANSCRIPTION_DELAY, 1000)) out.push(LK.transcriptionDelay);
        if (same(LK.endOfTurnDelay, ATTR.LATENCY_EOU_DELAY, 1000)) out.push(LK.endOfTurnDelay);
        break;
      case 'agent_turn':
        if (same(LK.e2eLatency, ATTR.LATENCY_E2E, 1)) out.push(LK.e2eLatency);
        if (both(LK.interrupted, ATTR.TURN_INTERRUPTED) && a[LK.interrupted] === a[ATTR.TURN_INTERRUPTED]) out.push(LK.interrupted);
        break;
      default:
        break;
    }
    return out.length ? out : NONE;
  }

  /** The span's provider under voicetrace's name (`api.openai.com` -> `openai`), when the SDK wrote one. */
  private normalizedModel(attrs: SpanView['attributes']): SpanFacts['model'] {
    const provider = attrs[LK.providerName];
    const model = attrs[LK.requestModel];
    return typeof provider === 'string' && typeof model === 'string' && providerName(provider) !== provider ? { provider: providerName(provider), model } : undefined;
  }

  private metricFrom(json: unknown): SpanFacts['metric'] {
    if (typeof json !== 'string') return undefined;
    try {
      return normalizeMetrics(JSON.parse(json), this.counters, undefined, this.session?.metricsContext());
    } catch {
      this.counters.count('malformed_event', 'span metrics JSON');
      return undefined;
    }
  }
}
