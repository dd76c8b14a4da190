import type { Attributes } from '@opentelemetry/api';
import { ATTR, LATENCY_STAGES, SESSION_LATENCY_METRICS, WAIT_CONTRIBUTIONS, sessionLatencyKey, type WaitKey } from '@voicetrace/conventions';
import type { EouMetric, InputQuality } from '../events.js';
import type { LlmStep, ReplyRecord, SessionSnapshot, SignalRecord, TtsStep, UserTurnRecord } from '../model/types.js';

/**
 * The span view of the session model: which attributes each stage's span
 * carries. Pure functions of model records, so the spans, the report and the
 * metrics show the same numbers.
 */

/** An LLM request span: the SDK writes gen_ai.* itself; we add what it does not. */
export function llmSpanAttributes(step: LlmStep): Attributes {
  const m = step.metric;
  return defined({
    [ATTR.REQUEST_STARTED_AT]: step.requestStart,
    [ATTR.DURATION]: m.duration,
    [ATTR.CANCELLED]: m.cancelled,
    [ATTR.LLM_TOKENS_PER_SECOND]: m.tokensPerSecond,
    [ATTR.USAGE_CACHE_READ]: m.cachedInputTokens,
    [ATTR.COST]: step.cost,
  });
}

/** A TTS request span, as a `text_to_speech` generation (semconv proposal #390). */
export function ttsSpanAttributes(step: TtsStep): Attributes {
  const m = step.metric;
  const attributes = defined({
    [ATTR.OPERATION_NAME]: 'text_to_speech',
    [ATTR.OUTPUT_TYPE]: 'speech',
    [ATTR.PROVIDER_NAME]: m.provider,
    [ATTR.REQUEST_MODEL]: m.model,
    [ATTR.TIME_TO_FIRST_CHUNK]: m.ttfb,
    [ATTR.REQUEST_STARTED_AT]: step.textSentAt,
    [ATTR.TTS_CHARACTERS]: m.characters,
    [ATTR.TTS_AUDIO_DURATION]: m.audioDuration,
    [ATTR.DURATION]: m.duration,
    [ATTR.STREAMED]: m.streamed,
    [ATTR.CANCELLED]: m.cancelled,
    [ATTR.COST]: step.cost,
  });
  if (step.duplicate) attributes[ATTR.USAGE_COUNTED_ELSEWHERE] = true;
  return attributes;
}

/** The user turn span: the SDK's delays in seconds and the speech bounds. */
export function userTurnSpanAttributes(user: UserTurnRecord): Attributes {
  return defined({
    [ATTR.LATENCY_EOU_DELAY]: user.endOfTurnDelay,
    [ATTR.LATENCY_TRANSCRIPTION_DELAY]: user.transcriptionDelay,
    [ATTR.VAD_SPEECH_START]: user.speechStart,
    [ATTR.VAD_SPEECH_END]: user.speechEnd,
    [ATTR.USER_SPEECH_STOPPED_AT]: user.speechStoppedAt,
    [ATTR.LATENCY_ANCHOR_SHIFT]: user.anchorShift,
  });
}

/**
 * The agent turn span that completed a reply (played, or cancelled before its audio): the reply's
 * own cost and, once it played, latency, wait breakdown, interruption, and the cost of its turn
 * (`turnCost`: the turn's STT and its replies' requests).
 */
export function agentTurnSpanAttributes(reply: ReplyRecord, turnCost: number, user?: UserTurnRecord, signals: readonly SignalRecord[] = []): Attributes {
  const attributes: Attributes = { [ATTR.REPLY_COST]: reply.cost };
  // the turn's quality signals known now (a later one, e.g. a cut-off, is on the session span)
  if (signals.length) attributes[ATTR.TURN_SIGNALS] = [...new Set(signals.map((signal) => signal.name))];
  // the wait's and the stops' inside the reply, summed
  const deadAir = signals.filter((signal) => signal.name === 'dead_air' && signal.speechId === reply.speechId && signal.seconds !== undefined);
  if (deadAir.length) attributes[ATTR.TURN_DEAD_AIR] = deadAir.reduce((sum, signal) => sum + signal.seconds!, 0);
  const latency = reply.latency;
  if (!latency) return attributes;
  // a user turn without a span of its own (a realtime model's): its speech bounds go on the reply that answered it
  if (user && !user.span) Object.assign(attributes, defined({ [ATTR.VAD_SPEECH_START]: user.speechStart, [ATTR.VAD_SPEECH_END]: user.speechEnd }));
  const bargeIn = reply.interruptions.find((i) => i.stoppedAgent);
  // set one by one, not a spread of entries filtered by `defined`: this runs for every reply
  for (const stage of LATENCY_STAGES) setDefined(attributes, stage.attribute, latency[stage.field]);
  setDefined(attributes, ATTR.REPLY_FIRST_AUDIO_AT, reply.firstAudioAt ?? reply.playoutStartedAt);
  attributes[ATTR.TURN_COST] = turnCost;
  setDefined(attributes, ATTR.TURN_OVERLAP, bargeIn?.overlap);
  setDefined(attributes, ATTR.LATENCY_ANCHOR_SHIFT, latency.anchorShift);
  if (latency.wait.length) {
    attributes[ATTR.WAIT_BREAKDOWN] = JSON.stringify(latency.wait);
    for (const slice of latency.wait) attributes[WAIT_ATTRIBUTES[slice.key]] = slice.seconds;
  }
  if (reply.dataIncomplete) attributes[ATTR.DATA_INCOMPLETE] = true;
  return attributes;
}

/** The session span: counts, usage per model, cost, latency percentiles. */
export function sessionSpanAttributes(snapshot: SessionSnapshot): Attributes {
  const usage = snapshot.usage;
  const attributes: Attributes = {
    [ATTR.SESSION_TURNS]: snapshot.userTurns,
    [ATTR.SESSION_AGENT_TURNS]: snapshot.replyCount,
    [ATTR.SESSION_INTERRUPTIONS]: snapshot.interruptions,
    [ATTR.SESSION_CANCELLED_REPLIES]: snapshot.cancelledReplies,
    [ATTR.SESSION_ERRORS]: snapshot.errors,
    [ATTR.SESSION_USAGE]: JSON.stringify(usage),
    [ATTR.SESSION_COST]: snapshot.totalCost,
    [ATTR.SESSION_LLM_INPUT_TOKENS]: sum(usage, (u) => (u.type === 'llm_usage' ? u.inputTokens : 0)),
    [ATTR.SESSION_LLM_OUTPUT_TOKENS]: sum(usage, (u) => (u.type === 'llm_usage' ? u.outputTokens : 0)),
    [ATTR.SESSION_TTS_CHARACTERS]: sum(usage, (u) => (u.type === 'tts_usage' ? u.charactersCount : 0)),
    [ATTR.SESSION_STT_AUDIO_DURATION]: sum(usage, (u) => (u.type === 'stt_usage' ? u.audioDuration : 0)),
    [ATTR.SESSION_DROPS]: sum(Object.values(snapshot.drops), (n) => n ?? 0),
    // every percentile summary as the model computed it: the report rebuilt from traces reads these
    [ATTR.SESSION_STATS]: JSON.stringify({ latency: snapshot.latency, wait: snapshot.wait }),
    [ATTR.SESSION_SIGNALS]: JSON.stringify({ totals: snapshot.signals, records: snapshot.signalLog }),
  };
  for (const metric of SESSION_LATENCY_METRICS) {
    const stats = snapshot.latency[metric];
    Object.assign(attributes, defined({ [sessionLatencyKey(metric, 'p50')]: stats.p50, [sessionLatencyKey(metric, 'p95')]: stats.p95 }));
  }
  return attributes;
}

/** The EOU metric's attributes (seconds; last speaking time as epoch seconds). */
export function eouAttributes(eou: EouMetric): Attributes {
  const attributes = defined({
    [ATTR.EOU_DELAY]: eou.eouDelay,
    [ATTR.EOU_TRANSCRIPTION_DELAY]: eou.transcriptionDelay,
    [ATTR.EOU_ON_USER_TURN_COMPLETED]: eou.onUserTurnCompletedDelay,
    [ATTR.EOU_LAST_SPEAKING_TIME]: eou.lastSpeakingTime,
  });
  if (eou.quality?.implausible.length) attributes[ATTR.IMPLAUSIBLE] = eou.quality.implausible;
  return attributes;
}

/** What validation left out or cut, as span attributes. */
export function qualityAttributes(quality: InputQuality | undefined): Attributes {
  const attributes: Attributes = {};
  if (quality?.implausible.length) attributes[ATTR.IMPLAUSIBLE] = quality.implausible;
  if (quality?.truncated.length) attributes[ATTR.TRUNCATED] = quality.truncated;
  return attributes;
}

/** The attribute of each wait slice, as the conventions name it. */
const WAIT_ATTRIBUTES = Object.fromEntries(WAIT_CONTRIBUTIONS.map((c) => [c.key, c.attribute])) as Record<WaitKey, string>;

function setDefined(attributes: Attributes, key: string, value: Attributes[string] | undefined): void {
  if (value !== undefined) attributes[key] = value;
}

/** The defined values of `values`, as attributes. */
export function defined(values: Record<string, Attributes[string] | undefined>): Attributes {
  const out: Attributes = {};
  for (const key in values) {
    const value = values[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

function sum<T>(items: readonly T[], pick: (item: T) => number): number {
  let total = 0;
  for (const item of items) total += pick(item);
  return total;
}
