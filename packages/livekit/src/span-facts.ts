import { FieldValidator, type DropCounters, type SpanFacts, type SpanFactsReader, type SpanView } from '@voicetrace/core';
import { ATTR, LIVEKIT_SCOPE, SDK_SPAN_STAGE } from '@voicetrace/conventions';
import { normalizeMetrics } from './normalize.js';

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
} as const;

const NONE: readonly string[] = [];

/**
 * Reads voicetrace's span facts off `@livekit/agents` 1.9 spans. The units are
 * the SDK's: user_turn delays in ms, agent_turn e2e in seconds, metrics JSON in ms.
 */
export class LiveKitSpanFacts implements SpanFactsReader {
  constructor(
    private readonly counters: DropCounters,
    /** Provider and model to use when the SDK's metrics name none (its realtime plugins report no metadata). */
    private readonly fallbackModel?: () => { provider?: string | undefined; model?: string | undefined },
  ) {}

  atStart(span: SpanView): SpanFacts {
    if (span.scope !== LIVEKIT_SCOPE) return {};
    const attrs = span.attributes;
    return {
      stage: SDK_SPAN_STAGE[span.name],
      speechId: typeof attrs[LK.speechId] === 'string' ? (attrs[LK.speechId] as string) : undefined,
      agentName: typeof attrs[LK.agentName] === 'string' ? (attrs[LK.agentName] as string) : undefined,
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
      case 'realtime_inference':
        return { metric: this.metricFrom(attrs[LK.realtimeMetrics]) };
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
        };
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
        if (both(LK.transcriptionDelay, ATTR.LATENCY_TRANSCRIPTION_DELAY)) out.push(LK.transcriptionDelay);
        if (both(LK.endOfTurnDelay, ATTR.LATENCY_EOU_DELAY)) out.push(LK.endOfTurnDelay);
        break;
      case 'agent_turn':
        if (both(LK.e2eLatency, ATTR.LATENCY_E2E)) out.push(LK.e2eLatency);
        if (both(LK.interrupted, ATTR.TURN_INTERRUPTED) && a[LK.interrupted] === a[ATTR.TURN_INTERRUPTED]) out.push(LK.interrupted);
        break;
      default:
        break;
    }
    return out.length ? out : NONE;
  }

  private metricFrom(json: unknown): SpanFacts['metric'] {
    if (typeof json !== 'string') return undefined;
    try {
      return normalizeMetrics(JSON.parse(json), this.counters, undefined, this.fallbackModel?.());
    } catch {
      this.counters.count('malformed_event', 'span metrics JSON');
      return undefined;
    }
  }
}
