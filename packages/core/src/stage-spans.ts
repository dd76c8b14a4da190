import { ROOT_CONTEXT, trace, type Attributes, type SpanContext, type Tracer } from '@opentelemetry/api';
import { ATTR, SPAN_NAME, type Stage } from '@voicetrace/conventions';
import type { DropCounters } from './counters.js';
import type { EouMetric, InputQuality, InterruptionMetric, RealtimeMetric, SttMetric, VadMetric } from './events.js';
import { toHrTime } from './time.js';
import type { UserTurn } from './turn-state.js';
import type { UsageLedger } from './usage.js';

/** What {@link StageSpans} needs from its session. */
export interface StageSpansContext {
  tracer: Tracer;
  counters: DropCounters;
  ledger: UsageLedger;
  allowPii: boolean;
  /** The session span, the fallback parent when no turn can be found. */
  sessionContext: () => SpanContext | undefined;
}

/**
 * Creates the spans of the stages the SDK does not trace (VAD, STT, EOU,
 * interruption, realtime, handoff), with explicit start/end times taken from
 * the metrics, under the turn they belong to.
 */
export class StageSpans {
  constructor(private readonly context: StageSpansContext) {}

  /** The VAD's report, spanning the user's detected speech. */
  vad(metric: VadMetric, turn: UserTurn | undefined): void {
    const end = turn?.speechEnd ?? metric.at;
    const start = Math.min(turn?.speechStart ?? metric.at - (metric.inferenceTimeTotal ?? 0), end);
    this.emit(SPAN_NAME.vad, 'vad', turn?.context, start, end, {
      [ATTR.VAD_IDLE_TIME]: metric.idleTime,
      [ATTR.VAD_INFERENCE_TIME]: metric.inferenceTimeTotal,
      [ATTR.VAD_INFERENCE_COUNT]: metric.inferenceCount,
      [ATTR.VAD_SPEECH_START]: turn?.speechStart,
      [ATTR.VAD_SPEECH_END]: turn?.eou?.lastSpeakingTime ?? turn?.speechEnd,
      [ATTR.TURN_INDEX]: turn?.index,
    }, metric.quality);
  }

  /** One STT request: from the start of speech to the final transcript, with the measured latency. */
  stt(metric: SttMetric, turn: UserTurn | undefined): void {
    const speechEnd = turn?.eou?.lastSpeakingTime ?? turn?.speechEnd;
    const final = turn?.finalTranscriptAt;
    // streaming providers report no duration: measure end of speech -> final transcript
    const measured = speechEnd !== undefined && final !== undefined && final >= speechEnd ? final - speechEnd : undefined;
    const start = turn?.speechStart ?? metric.at - metric.audioDuration;
    const end = Math.max(start, final ?? metric.at);
    const attributes: Record<string, Attributes[string] | undefined> = {
      [ATTR.OPERATION_NAME]: 'speech_to_text',
      [ATTR.PROVIDER_NAME]: metric.provider,
      [ATTR.REQUEST_MODEL]: metric.model,
      [ATTR.STT_AUDIO_DURATION]: metric.audioDuration,
      [ATTR.STT_LATENCY]: measured,
      [ATTR.STREAMED]: metric.streamed,
      [ATTR.USAGE_INPUT_TOKENS]: metric.inputTokens || undefined,
      [ATTR.USAGE_OUTPUT_TOKENS]: metric.outputTokens || undefined,
      [ATTR.COST]: this.context.ledger.costOfMetric(metric),
      [ATTR.TURN_INDEX]: turn?.index,
      [ATTR.DURATION]: metric.duration || undefined,
    };
    if (this.context.allowPii && turn?.transcript) attributes[ATTR.PII_USER_TRANSCRIPT] = turn.transcript;
    this.emit(SPAN_NAME.stt, 'stt', turn?.context, start, end, attributes, metric.quality);
  }

  /** End-of-utterance detection: from the last speech to the end-of-turn decision. */
  eou(turn: UserTurn, eou: EouMetric): void {
    const start = eou.lastSpeakingTime ?? eou.at - (eou.eouDelay ?? 0);
    this.emit(SPAN_NAME.eou, 'eou', turn.context, start, start + (eou.eouDelay ?? 0), { ...eouAttributes(eou), [ATTR.TURN_INDEX]: turn.index });
  }

  /** An interruption-model report, under the reply it interrupted. */
  interruption(metric: InterruptionMetric, parent: SpanContext | undefined, overlapStart: number | undefined): void {
    const start = metric.at - (metric.detectionDelay ?? 0);
    this.emit(SPAN_NAME.interruption, 'interruption', parent, start, metric.at, {
      [ATTR.INTERRUPTION_DETECTION_DELAY]: metric.detectionDelay,
      [ATTR.INTERRUPTION_PREDICTION_TIME]: metric.predictionTime,
      [ATTR.INTERRUPTION_ROUND_TRIP]: metric.roundTrip,
      [ATTR.INTERRUPTION_COUNT]: metric.interruptions,
      [ATTR.INTERRUPTION_BACKCHANNELS]: metric.backchannels,
      [ATTR.INTERRUPTION_REQUESTS]: metric.requests,
      [ATTR.PROVIDER_NAME]: metric.provider,
      [ATTR.REQUEST_MODEL]: metric.model,
      [ATTR.TURN_OVERLAP]: overlapStart !== undefined ? Math.max(0, metric.at - overlapStart) : undefined,
    }, metric.quality);
  }

  /** A realtime (speech-to-speech) response with usage by modality and the user's words (PII). */
  realtime(metric: RealtimeMetric, parent: SpanContext | undefined, transcript: string | undefined, cost: number | undefined): void {
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
      [ATTR.COST]: cost,
    };
    if (this.context.allowPii && transcript) attributes[ATTR.PII_USER_TRANSCRIPT] = transcript;
    const end = metric.createdAt + (metric.duration ?? 0);
    this.emit(SPAN_NAME.realtime, 'realtime', parent, metric.createdAt, end, attributes, metric.quality);
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
    const defined: Attributes = { [ATTR.STAGE]: stage };
    setDefined(defined, attributes);
    if (quality?.implausible.length) defined[ATTR.IMPLAUSIBLE] = quality.implausible;
    if (quality?.truncated.length) defined[ATTR.TRUNCATED] = quality.truncated;
    const span = this.context.tracer.startSpan(name, { startTime: toHrTime(start), attributes: defined }, trace.setSpanContext(ROOT_CONTEXT, context));
    span.end(toHrTime(Math.max(start, end)));
  }
}

/** The EOU metric's attributes (seconds; last speaking time as epoch seconds). */
export function eouAttributes(eou: EouMetric): Attributes {
  const attributes: Attributes = {};
  setDefined(attributes, {
    [ATTR.EOU_DELAY]: eou.eouDelay,
    [ATTR.EOU_TRANSCRIPTION_DELAY]: eou.transcriptionDelay,
    [ATTR.EOU_ON_USER_TURN_COMPLETED]: eou.onUserTurnCompletedDelay,
    [ATTR.EOU_LAST_SPEAKING_TIME]: eou.lastSpeakingTime,
  });
  if (eou.quality?.implausible.length) attributes[ATTR.IMPLAUSIBLE] = eou.quality.implausible;
  return attributes;
}

/** Copies the defined values of `values` into `target`. */
export function setDefined(target: Attributes, values: Record<string, Attributes[string] | undefined>): void {
  for (const [key, value] of Object.entries(values)) if (value !== undefined) target[key] = value;
}
