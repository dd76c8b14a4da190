import { ROOT_CONTEXT, trace, type Attributes, type SpanContext, type Tracer } from '@opentelemetry/api';
import { ATTR, SPAN_NAME, type Stage } from '@voicetrace/conventions';
import type { DropCounters } from './counters.js';
import type { EouMetric, InputQuality, InterruptionMetric, VadMetric } from './events.js';
import type { HandoffRecord, InterruptionRecord, RealtimeStep, SttStep, UserTurnRecord } from './model/types.js';
import { toHrTime } from './time.js';
import { defined, eouAttributes, qualityAttributes } from './views/span-attributes.js';

function sumOf<T>(items: readonly T[], pick: (item: T) => number): number {
  let total = 0;
  for (const item of items) total += pick(item);
  return total;
}

/** What validation left out of or cut from any of `metrics`. */
function mergedQuality(metrics: readonly VadMetric[]): InputQuality | undefined {
  const implausible = [...new Set(metrics.flatMap((m) => m.quality?.implausible ?? []))];
  const truncated = [...new Set(metrics.flatMap((m) => m.quality?.truncated ?? []))];
  return implausible.length || truncated.length ? { implausible, truncated } : undefined;
}

/** What {@link StageSpans} needs from its session. */
export interface StageSpansContext {
  tracer: Tracer;
  counters: DropCounters;
  allowPii: boolean;
  /** The session span, the fallback parent when no turn can be found. */
  sessionContext: () => SpanContext | undefined;
}

/**
 * Creates the spans of the stages the SDK does not trace (VAD, STT, EOU,
 * interruption, realtime, handoff) from the session model's records, with
 * explicit start/end times, under the turn they belong to.
 */
export class StageSpans {
  constructor(private readonly context: StageSpansContext) {}

  /**
   * The VAD of one user turn: from when the user started to when they stopped speaking (the SDK's
   * anchors), with the VAD's reports that fell in the turn (often none: the SDK reports VAD metrics
   * once per ~31 speech starts with Silero).
   */
  vad(metrics: readonly VadMetric[], user: UserTurnRecord | undefined, turnIndex: number | undefined, parent: SpanContext | undefined): void {
    const last = metrics[metrics.length - 1];
    const end = user?.speechEnd ?? user?.speechStoppedAt ?? last?.at;
    const start = user?.speechStart ?? (last ? last.at - (last.inferenceTimeTotal ?? 0) : undefined);
    if (start === undefined || end === undefined) return;
    const reported = metrics.length > 0;
    this.emit(SPAN_NAME.vad, 'vad', parent, start, Math.max(start, end), {
      [ATTR.VAD_IDLE_TIME]: last?.idleTime,
      [ATTR.VAD_INFERENCE_TIME]: reported ? sumOf(metrics, (m) => m.inferenceTimeTotal ?? 0) : undefined,
      [ATTR.VAD_INFERENCE_COUNT]: reported ? sumOf(metrics, (m) => m.inferenceCount) : undefined,
      [ATTR.VAD_SPEECH_START]: user?.speechStart,
      [ATTR.VAD_SPEECH_END]: user?.speechEnd,
      [ATTR.TURN_INDEX]: turnIndex,
    }, mergedQuality(metrics));
  }

  /**
   * The STT of one user turn (its share of the provider's usage reports): from the start of speech
   * to the final transcript, with the turn's transcription delay as its latency.
   */
  stt(step: SttStep, user: UserTurnRecord | undefined, turnIndex: number | undefined, parent: SpanContext | undefined, unreported = false): void {
    const metric = step.metric;
    // the model's extents (speech start to final transcript), as the report draws them
    const start = step.start;
    const end = step.end;
    const attributes: Record<string, Attributes[string] | undefined> = {
      [ATTR.OPERATION_NAME]: 'speech_to_text',
      [ATTR.PROVIDER_NAME]: metric.provider,
      [ATTR.REQUEST_MODEL]: metric.model,
      [ATTR.STT_AUDIO_DURATION]: metric.audioDuration,
      [ATTR.STT_LATENCY]: user?.transcriptionDelay ?? step.latency,
      [ATTR.STREAMED]: metric.streamed,
      [ATTR.USAGE_INPUT_TOKENS]: metric.inputTokens || undefined,
      [ATTR.USAGE_OUTPUT_TOKENS]: metric.outputTokens || undefined,
      [ATTR.COST]: step.cost,
      [ATTR.TURN_INDEX]: turnIndex,
      [ATTR.DURATION]: metric.duration || undefined,
    };
    if (this.context.allowPii && user?.transcript) attributes[ATTR.PII_USER_TRANSCRIPT] = user.transcript;
    // its provider never reported this turn's audio: the usage is unknown, not zero
    if (unreported) attributes[ATTR.DATA_INCOMPLETE] = true;
    this.emit(SPAN_NAME.stt, 'stt', parent, start, end, attributes, metric.quality);
  }

  /** End-of-utterance detection: from the last speech to the end-of-turn decision. */
  eou(eou: EouMetric, turnIndex: number, parent: SpanContext | undefined): void {
    const start = eou.lastSpeakingTime ?? eou.at - (eou.eouDelay ?? 0);
    this.emit(SPAN_NAME.eou, 'eou', parent, start, start + (eou.eouDelay ?? 0), { ...eouAttributes(eou), [ATTR.TURN_INDEX]: turnIndex });
  }

  /**
   * The user spoke over the agent: a barge-in (from the user's first sound to the agent
   * stopping) or a sound that did not stop it, with the interruption model's figures when it ran.
   */
  interruption(record: InterruptionRecord, parent: SpanContext | undefined): void {
    const metric = record.metric;
    this.emit(SPAN_NAME.interruption, 'interruption', parent, record.start, record.end, {
      [ATTR.INTERRUPTION_STOPPED_AGENT]: record.stoppedAgent,
      [ATTR.TURN_OVERLAP]: record.overlap,
      ...(metric ? this.interruptionMetricAttributes(metric) : {}),
    }, metric?.quality);
  }

  /** An interruption-model report that matched no barge-in (e.g. it judged a sound a backchannel). */
  interruptionReport(metric: InterruptionMetric, parent: SpanContext | undefined): void {
    const start = metric.at - (metric.detectionDelay ?? 0);
    this.emit(SPAN_NAME.interruption, 'interruption', parent, start, metric.at, {
      [ATTR.INTERRUPTION_STOPPED_AGENT]: false,
      ...this.interruptionMetricAttributes(metric),
    }, metric.quality);
  }

  private interruptionMetricAttributes(metric: InterruptionMetric): Record<string, Attributes[string] | undefined> {
    return {
      [ATTR.INTERRUPTION_DETECTION_DELAY]: metric.detectionDelay,
      [ATTR.INTERRUPTION_PREDICTION_TIME]: metric.predictionTime,
      [ATTR.INTERRUPTION_ROUND_TRIP]: metric.roundTrip,
      [ATTR.INTERRUPTION_COUNT]: metric.interruptions,
      [ATTR.INTERRUPTION_BACKCHANNELS]: metric.backchannels,
      [ATTR.INTERRUPTION_REQUESTS]: metric.requests,
      [ATTR.PROVIDER_NAME]: metric.provider,
      [ATTR.REQUEST_MODEL]: metric.model,
    };
  }

  /** A realtime (speech-to-speech) response with usage by modality and the user's words (PII). */
  realtime(step: RealtimeStep, parent: SpanContext | undefined, transcript: string | undefined): void {
    const metric = step.metric;
    const attributes: Record<string, Attributes[string] | undefined> = {
      [ATTR.OPERATION_NAME]: 'realtime',
      [ATTR.OUTPUT_TYPE]: 'speech',
      [ATTR.PROVIDER_NAME]: metric.provider,
      [ATTR.REQUEST_MODEL]: metric.model,
      [ATTR.TIME_TO_FIRST_CHUNK]: metric.ttft,
      [ATTR.DURATION]: metric.duration,
      [ATTR.CANCELLED]: metric.cancelled,
      [ATTR.USAGE_INPUT_TOKENS]: metric.inputTokens,
      [ATTR.USAGE_OUTPUT_TOKENS]: metric.outputTokens,
      [ATTR.USAGE_CACHE_READ]: metric.inputCachedTokens,
      [ATTR.USAGE_AUDIO_INPUT]: metric.inputAudioTokens,
      [ATTR.USAGE_AUDIO_OUTPUT]: metric.outputAudioTokens,
      [ATTR.USAGE_TEXT_INPUT]: metric.inputTextTokens,
      [ATTR.USAGE_TEXT_OUTPUT]: metric.outputTextTokens,
      [ATTR.LLM_TOKENS_PER_SECOND]: metric.tokensPerSecond,
      [ATTR.REALTIME_SESSION_DURATION]: metric.sessionDuration,
      [ATTR.COST]: step.cost,
    };
    if (this.context.allowPii && transcript) attributes[ATTR.PII_USER_TRANSCRIPT] = transcript;
    this.emit(SPAN_NAME.realtime, 'realtime', parent, step.start, step.end, attributes, metric.quality);
  }

  /** Control moved to another agent. */
  handoff(handoff: HandoffRecord, parent: SpanContext | undefined): void {
    this.emit(SPAN_NAME.handoff, 'handoff', parent, handoff.at, handoff.at + 0.001, {
      [ATTR.HANDOFF_FROM]: handoff.fromAgent ?? '',
      [ATTR.HANDOFF_TO]: handoff.toAgent,
      [ATTR.AGENT_NAME]: handoff.toAgent,
    });
  }

  /** Creates one stage span with explicit times; undefined attributes are left out. */
  emit(
    name: string,
    stage: Stage,
    parent: SpanContext | undefined,
    start: number,
    end: number,
    attributes: Record<string, Attributes[string] | undefined>,
    quality?: InputQuality,
  ): void {
    const context = parent ?? this.context.sessionContext();
    if (!context) return this.context.counters.count('unplaced_event', name);
    const all: Attributes = { [ATTR.STAGE]: stage, ...defined(attributes), ...qualityAttributes(quality) };
    const span = this.context.tracer.startSpan(name, { startTime: toHrTime(start), attributes: all }, trace.setSpanContext(ROOT_CONTEXT, context));
    span.end(toHrTime(Math.max(start, end)));
  }
}
