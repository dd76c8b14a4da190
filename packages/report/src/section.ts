import { LATENCY_STAGES } from '@voicetrace/conventions';
import type { LatencyBreakdown, ReplyRecord, SessionSnapshot, TurnRecord, UserTurnRecord } from '@voicetrace/core';
import type {
  LatencyFigures,
  ReportRecording,
  ReportReply,
  ReportTurn,
  ReportUserTurn,
  TraceRef,
  VoicetraceSection,
} from './types.js';

/** The version written in `voicetrace.generator`. */
export const REPORT_GENERATOR = 'voicetrace 0.1.0';

/** What the section needs beyond the session model. */
export interface SectionOptions {
  /** Content (transcripts, replies, tool arguments and outputs) is written only when true. */
  allowPii: boolean;
  serviceName?: string | undefined;
  environment?: string | undefined;
  traceMode?: 'session' | 'turn' | undefined;
  /** The exported session span. */
  sessionTrace?: TraceRef | undefined;
  /**
   * Link templates by backend name; `{trace_id}` and `{session_id}` are filled in.
   * E.g. `{ jaeger: 'http://localhost:16686/trace/{trace_id}' }`.
   */
  linkTemplates?: Record<string, string> | undefined;
  recording?: ReportRecording | undefined;
  eventLog?: { kept: number; dropped: number } | undefined;
}

/**
 * The `voicetrace` section of the session report: a view of the session
 * model (the same figures the spans carry), with content only when PII is allowed.
 */
export function buildVoicetraceSection(snapshot: SessionSnapshot, options: SectionOptions): VoicetraceSection {
  const recordingStart = options.recording?.started_at;
  const offset = (at: number | undefined) => (at !== undefined && recordingStart !== undefined ? Math.max(0, at - recordingStart) : undefined);
  const traceId = options.sessionTrace?.trace_id;
  const links: Record<string, string> = {};
  for (const [name, template] of Object.entries(options.linkTemplates ?? {})) {
    if (traceId || !template.includes('{trace_id}')) links[name] = fillTemplate(template, { trace_id: traceId ?? '', session_id: snapshot.sessionId });
  }
  return clean({
    schema_version: 1,
    generator: REPORT_GENERATOR,
    session_id: snapshot.sessionId,
    service_name: options.serviceName,
    environment: options.environment,
    started_at: snapshot.startedAt,
    ended_at: snapshot.endedAt,
    duration: snapshot.startedAt !== undefined && snapshot.endedAt !== undefined ? snapshot.endedAt - snapshot.startedAt : undefined,
    pii_included: options.allowPii,
    trace: { mode: options.traceMode ?? 'session', trace_id: traceId, session_span_id: options.sessionTrace?.span_id, links },
    recording: options.recording,
    turns: snapshot.turns.map((turn) => reportTurn(turn, options, offset)),
    turns_dropped: snapshot.turnsDropped,
    user_turns: snapshot.userTurns,
    replies: snapshot.replyCount,
    interruptions: snapshot.interruptions,
    cancelled_replies: snapshot.cancelledReplies,
    errors: snapshot.errors,
    handoffs: snapshot.handoffs.map((h) => ({ at: h.at, turn_index: h.turnIndex, from_agent: h.fromAgent, to_agent: h.toAgent })),
    usage: snapshot.usage.map((usage) => snakeCase(usage) as VoicetraceSection['usage'][number]),
    cost: snapshot.totalCost,
    latency: { ...snapshot.latency },
    wait: { ...snapshot.wait } as VoicetraceSection['wait'],
    drops: snapshot.drops as Record<string, number>,
    usage_check: snapshot.usageCheck?.length ? snapshot.usageCheck.map((d) => ({ ...d })) : undefined,
    signals: { ...snapshot.signals },
    event_log: options.eventLog ?? { kept: 0, dropped: 0 },
  });
}

/** The latency figures of a breakdown, under the report's names. */
export function latencyFigures(latency: LatencyBreakdown): LatencyFigures {
  const figures: LatencyFigures = {};
  for (const { key, field } of LATENCY_STAGES) figures[key] = latency[field];
  figures.anchor_shift = latency.anchorShift;
  return figures;
}

function reportTurn(turn: TurnRecord, options: SectionOptions, offset: (at: number | undefined) => number | undefined): ReportTurn {
  return {
    index: turn.index,
    cost: turn.cost,
    user: turn.user ? reportUser(turn.user, options.allowPii, offset) : undefined,
    replies: turn.replies.map((reply) => reportReply(reply, options.allowPii, offset)),
    handoffs: turn.handoffs.map((h) => ({ at: h.at, from_agent: h.fromAgent, to_agent: h.toAgent })),
    errors: turn.errors.map((e) => ({ at: e.at, source: e.source, message: options.allowPii ? e.message : e.message.slice(0, 200), recoverable: e.recoverable })),
    logs: turn.logs.map((l) => ({ at: l.at, level: l.level, message: options.allowPii ? l.message : l.message.slice(0, 200), trace_id: l.traceId, span_id: l.spanId })),
    signals: turn.signals?.length ? turn.signals.map((x) => ({ name: x.name, at: x.at, speech_id: x.speechId, seconds: x.seconds, repeats_turn: x.repeatsTurn, where: x.where })) : undefined,
  };
}

function reportUser(user: UserTurnRecord, allowPii: boolean, offset: (at: number | undefined) => number | undefined): ReportUserTurn {
  const vad = user.vad.length
    ? {
        inference_count: user.vad.reduce((n, m) => n + m.inferenceCount, 0),
        inference_time_total: sumDefined(user.vad.map((m) => m.inferenceTimeTotal)),
        idle_time: user.vad[user.vad.length - 1]!.idleTime,
      }
    : undefined;
  const eou = user.eou;
  const eouStart = eou ? (eou.lastSpeakingTime ?? eou.at - (eou.eouDelay ?? 0)) : undefined;
  return {
    started_at: user.startedAt,
    ended_at: user.endedAt,
    speech_start: user.speechStart,
    speech_end: user.speechEnd,
    speech_stopped_at: user.speechStoppedAt,
    final_transcript_at: user.finalTranscriptAt,
    transcription_delay: user.transcriptionDelay,
    end_of_turn_delay: user.endOfTurnDelay,
    anchor_shift: user.anchorShift,
    transcript: allowPii ? user.transcript : undefined,
    confidence: user.confidence,
    vad,
    stt: user.stt.map((step) => ({
      provider: step.metric.provider,
      model: step.metric.model,
      start: step.start,
      end: step.end,
      latency: step.latency,
      audio_duration: step.metric.audioDuration,
      cost: step.cost,
      reports: step.reports,
    })),
    eou:
      eou && eouStart !== undefined
        ? { start: eouStart, end: eouStart + (eou.eouDelay ?? 0), delay: eou.eouDelay, transcription_delay: eou.transcriptionDelay, on_user_turn_completed_delay: eou.onUserTurnCompletedDelay }
        : undefined,
    trace: user.span ? { trace_id: user.span.traceId, span_id: user.span.spanId } : undefined,
    recording_offset: offset(user.speechStart),
  };
}

function reportReply(reply: ReplyRecord, allowPii: boolean, offset: (at: number | undefined) => number | undefined): ReportReply {
  return {
    speech_id: reply.speechId,
    agent: reply.agent,
    started_at: reply.startedAt,
    ended_at: reply.endedAt,
    first_audio_at: reply.firstAudioAt,
    interrupted: reply.interrupted,
    text: allowPii ? reply.text : undefined,
    latency: reply.latency ? latencyFigures(reply.latency) : undefined,
    wait: reply.latency?.wait.map((w) => ({ key: w.key, owner: w.owner, seconds: w.seconds })) ?? [],
    cost: reply.cost,
    data_incomplete: reply.dataIncomplete,
    llm: reply.llm.map((s) => ({
      provider: s.metric.provider,
      model: s.metric.model,
      start: s.spanStart,
      end: s.spanEnd,
      request_start: s.requestStart,
      first_token_at: s.firstTokenAt,
      ttft: s.metric.ttft,
      duration: s.metric.duration,
      input_tokens: s.metric.inputTokens,
      cached_input_tokens: s.metric.cachedInputTokens,
      output_tokens: s.metric.outputTokens,
      speakable: s.speakable,
      cancelled: s.metric.cancelled,
      cost: s.cost,
    })),
    tts: reply.tts.map((s) => ({
      provider: s.metric.provider,
      model: s.metric.model,
      start: s.spanStart,
      end: s.spanEnd,
      text_sent_at: s.textSentAt,
      first_audio_at: s.firstAudioAt,
      ttfb: s.metric.ttfb,
      characters: s.metric.characters,
      audio_duration: s.metric.audioDuration,
      cancelled: s.metric.cancelled,
      duplicate: s.duplicate,
      cost: s.cost,
    })),
    tools: reply.tools.map((t) => ({
      name: t.name,
      start: t.start,
      end: t.end,
      is_error: t.isError,
      arguments: allowPii ? t.arguments : undefined,
      output: allowPii ? t.output : undefined,
    })),
    realtime: reply.realtime.map((s) => ({
      provider: s.metric.provider,
      model: s.metric.model,
      start: s.start,
      end: s.end,
      ttft: s.metric.ttft,
      duration: s.metric.duration,
      cancelled: s.metric.cancelled,
      input_tokens: s.metric.inputTokens,
      output_tokens: s.metric.outputTokens,
      input_audio_tokens: s.metric.inputAudioTokens,
      input_text_tokens: s.metric.inputTextTokens,
      input_cached_tokens: s.metric.inputCachedTokens,
      output_audio_tokens: s.metric.outputAudioTokens,
      output_text_tokens: s.metric.outputTextTokens,
      session_duration: s.metric.sessionDuration,
      cost: s.cost,
    })),
    interruptions: reply.interruptions.map((i) => ({
      start: i.start,
      end: i.end,
      overlap: i.overlap,
      stopped_agent: i.stoppedAgent,
      detection_delay: i.metric?.detectionDelay,
      prediction_time: i.metric?.predictionTime,
      round_trip: i.metric?.roundTrip,
    })),
    trace: reply.span ? { trace_id: reply.span.traceId, span_id: reply.span.spanId } : undefined,
    recording_offset: offset(reply.firstAudioAt),
  };
}

/** Fills `{name}` placeholders. */
export function fillTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => values[name] ?? whole);
}

function sumDefined(values: Array<number | undefined>): number | undefined {
  const present = values.filter((v): v is number => v !== undefined);
  return present.length ? present.reduce((a, b) => a + b, 0) : undefined;
}

function snakeCase(value: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), v]));
}

/** Drops undefined properties (deeply), so the JSON has no `null` where a value is merely unknown. */
function clean<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
