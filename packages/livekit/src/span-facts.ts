import { FieldValidator, type DropCounters, type SpanFacts, type SpanFactsReader, type SpanView } from '@voicetrace/core';
import { LIVEKIT_SCOPE, SDK_SPAN_STAGE } from '@voicetrace/conventions';
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
} as const;

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
