import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ATTR, WAIT_CONTRIBUTIONS } from '@voicetrace/conventions';
import type { LlmUsage, ModelUsage, SttUsage, TtsUsage } from '@voicetrace/core';
import type { CallResult } from './call.js';
import { spanTimes } from './support.js';

/**
 * Reading a traced call the way a user would (its exported spans and its report), to compare each
 * figure with the truth a stand-in injected. Every reader returns plain numbers; tests decide.
 */

const num = (span: ReadableSpan | undefined, key: string): number | undefined => {
  const value = span?.attributes[key];
  return typeof value === 'number' ? value : undefined;
};
const str = (span: ReadableSpan | undefined, key: string): string | undefined => {
  const value = span?.attributes[key];
  return typeof value === 'string' ? value : undefined;
};

export { num as numberAttribute, str as stringAttribute };

/** Spans named `name`, oldest first. */
export function spansNamed(result: CallResult, name: string): ReadableSpan[] {
  return result.spans.filter((s) => s.name === name).sort((a, b) => spanTimes(a).start - spanTimes(b).start);
}

/** The spans of user turn `index` (1-based), by stage. */
export function turnSpans(result: CallResult, index: number) {
  const inTurn = (name: string) => spansNamed(result, name).filter((s) => s.attributes[ATTR.TURN_INDEX] === index);
  const userTurn = inTurn('user_turn')[0];
  const agentTurns = inTurn('agent_turn');
  return {
    userTurn,
    vad: inTurn('vad_inference'),
    stt: inTurn('stt_request'),
    eou: inTurn('eou_detection'),
    /** The agent turn that played the reply: it carries the latency. */
    played: agentTurns.find((s) => s.attributes[ATTR.LATENCY_E2E] !== undefined),
    agentTurns,
    llm: inTurn('llm_request'),
    tts: inTurn('tts_request'),
    interruptions: inTurn('interruption_detection'),
  };
}

/** How many user turns the call had (user_turn spans). */
export function userTurnCount(result: CallResult): number {
  return spansNamed(result, 'user_turn').length;
}

/**
 * The SDK's own speech anchors of user turn `index`: its user_speaking spans (which the SDK starts
 * and ends at its VAD's backdated times) that fall inside the user turn span.
 */
export function sdkSpeechAnchors(result: CallResult, index: number): { start: number; end: number } | undefined {
  const userTurn = turnSpans(result, index).userTurn;
  if (!userTurn) return undefined;
  const bounds = spanTimes(userTurn);
  const speaking = spansNamed(result, 'user_speaking').map(spanTimes).filter((s) => s.start >= bounds.start - 0.002 && s.start <= bounds.end);
  if (!speaking.length) return undefined;
  return { start: speaking[0]!.start, end: speaking[speaking.length - 1]!.end };
}

/** When the SDK's agent began speaking the reply of turn `index` (its agent_speaking span). */
export function sdkPlayoutStart(result: CallResult, index: number): number | undefined {
  const played = turnSpans(result, index).played;
  if (!played) return undefined;
  const speaking = result.spans.find((s) => s.name === 'agent_speaking' && s.parentSpanContext?.spanId === played.spanContext().spanId);
  return speaking ? spanTimes(speaking).start : undefined;
}

/** The report's turns (the `voicetrace` section of report.json). */
export function reportTurns(result: CallResult): Array<Record<string, any>> {
  return ((result.report.voicetrace as Record<string, any> | undefined)?.turns ?? []) as Array<Record<string, any>>;
}

/** The report's session figures. */
export function reportSession(result: CallResult): Record<string, any> {
  return (result.report.voicetrace ?? {}) as Record<string, any>;
}

/** Each played reply's wait slices and e2e: the slices must add up to e2e exactly. */
export function waitSums(result: CallResult): Array<{ turn: number; e2e: number; slices: number }> {
  return spansNamed(result, 'agent_turn')
    .filter((s) => num(s, ATTR.LATENCY_E2E) !== undefined)
    .map((s) => ({
      turn: num(s, ATTR.TURN_INDEX) ?? -1,
      e2e: num(s, ATTR.LATENCY_E2E)!,
      slices: WAIT_CONTRIBUTIONS.reduce((sum, c) => sum + (num(s, c.attribute) ?? 0), 0),
    }));
}

/** Provider and model each stage's spans name (a stage names one pair in a call). */
export function stageModels(result: CallResult): Record<string, string[]> {
  const names: Record<string, Set<string>> = {};
  const add = (stage: string, span: ReadableSpan) => {
    const provider = str(span, ATTR.PROVIDER_NAME);
    const model = str(span, ATTR.REQUEST_MODEL);
    if (provider || model) (names[stage] ??= new Set()).add(`${provider}/${model}`);
  };
  for (const span of result.spans) {
    if (span.name === 'user_turn' || span.name === 'stt_request') add('stt', span);
    if (span.name === 'tts_node' || span.name === 'tts_request') add('tts', span);
    if (span.name === 'llm_node' || span.name === 'llm_request') add('llm', span);
  }
  return Object.fromEntries(Object.entries(names).map(([stage, set]) => [stage, [...set]]));
}

/** Costs: the session's, the turns' in the report, the played agent turns' `voicetrace.turn.cost`. */
export function costs(result: CallResult): { session: number; reportTurns: number[]; spanTurns: Map<number, number> } {
  const spanTurns = new Map<number, number>();
  for (const s of spansNamed(result, 'agent_turn')) {
    const cost = num(s, ATTR.TURN_COST);
    if (cost !== undefined) spanTurns.set(num(s, ATTR.TURN_INDEX) ?? -1, cost);
  }
  return { session: result.summary.totalCost, reportTurns: reportTurns(result).map((t) => Number(t.cost ?? 0)), spanTurns };
}

/** The session's usage entry of `type` (voicetrace's). */
export function usageOf(result: CallResult, type: 'llm_usage'): LlmUsage | undefined;
export function usageOf(result: CallResult, type: 'tts_usage'): TtsUsage | undefined;
export function usageOf(result: CallResult, type: 'stt_usage'): SttUsage | undefined;
export function usageOf(result: CallResult, type: ModelUsage['type']): ModelUsage | undefined {
  return result.summary.usage.find((u) => u.type === type);
}

/** The SDK's `metrics_collected` payloads of `type`. */
export function sdkMetrics(result: CallResult, type: string): Array<Record<string, any>> {
  return result.sdk.metrics.filter((m) => m.metrics.type === type).map((m) => m.metrics);
}

/** What a call's pipeline runs in the agent, for {@link commonFailures}. */
export interface PipelineShape {
  /** User turns the call had (the caller's lines that made one). */
  userTurns: number;
  /** A local VAD: one VAD span per user turn. */
  vad: boolean;
  /** An STT: one STT span per user turn. */
  stt: boolean;
  /** A realtime model: user turns come from the user's speech (the SDK opens no user turn span). */
  realtime?: boolean;
}

/**
 * The rules every call must keep, whatever its plugins, as a list of what broke (empty when none):
 * one VAD and one STT span per user turn; speech anchors on the user turn, the VAD span and in the
 * report equal the SDK's own; every played reply's wait slices add up to its e2e; the turns' costs
 * add up to the session's and each played agent turn shows its turn's; one provider/model name per
 * stage; voicetrace's usage and the SDK's disagree only where a cause is named; nothing inside
 * voicetrace failed.
 */
export function commonFailures(result: CallResult, shape: PipelineShape): string[] {
  const failures: string[] = [];
  const fail = (message: string) => failures.push(message);
  const userTurns = shape.realtime ? result.summary.userTurns : userTurnCount(result);
  if (userTurns !== shape.userTurns) fail(`${userTurns} user turns, expected ${shape.userTurns}`);
  for (let turn = 1; turn <= shape.userTurns && !shape.realtime; turn++) {
    const spans = turnSpans(result, turn);
    if (shape.vad && spans.vad.length !== 1) fail(`turn ${turn}: ${spans.vad.length} VAD spans`);
    if (shape.stt && spans.stt.length !== 1) fail(`turn ${turn}: ${spans.stt.length} STT spans`);
    const anchors = sdkSpeechAnchors(result, turn);
    const report = reportTurns(result).find((t) => t.index === turn)?.user;
    if (anchors && spans.userTurn) {
      for (const [name, span] of [['user turn', spans.userTurn], ['VAD', spans.vad[0]]] as const) {
        if (!span) continue;
        if (Math.abs((num(span, ATTR.VAD_SPEECH_START) ?? NaN) - anchors.start) > 0.001) fail(`turn ${turn}: ${name} speech start ${num(span, ATTR.VAD_SPEECH_START)} is not the SDK's ${anchors.start}`);
        if (Math.abs((num(span, ATTR.VAD_SPEECH_END) ?? NaN) - anchors.end) > 0.001) fail(`turn ${turn}: ${name} speech end ${num(span, ATTR.VAD_SPEECH_END)} is not the SDK's ${anchors.end}`);
      }
      if (report?.speech_start !== num(spans.userTurn, ATTR.VAD_SPEECH_START)) fail(`turn ${turn}: report speech_start ${report?.speech_start} differs from the span's`);
      if (report?.speech_end !== num(spans.userTurn, ATTR.VAD_SPEECH_END)) fail(`turn ${turn}: report speech_end ${report?.speech_end} differs from the span's`);
    }
  }
  for (const { turn, e2e, slices } of waitSums(result)) if (Math.abs(slices - e2e) > 1e-9) fail(`turn ${turn}: wait slices ${slices} do not add up to e2e ${e2e}`);
  const c = costs(result);
  const turnsTotal = c.reportTurns.reduce((a, b) => a + b, 0);
  if (Math.abs(turnsTotal - c.session) > 1e-9) fail(`turn costs add up to ${turnsTotal}, the session's is ${c.session}`);
  for (const turn of reportTurns(result)) {
    const spanCost = c.spanTurns.get(turn.index);
    if (spanCost !== undefined && Math.abs(spanCost - turn.cost) > 1e-9) fail(`turn ${turn.index}: agent turn shows ${spanCost}, the report's turn costs ${turn.cost}`);
  }
  for (const [stage, names] of Object.entries(stageModels(result))) if (names.length !== 1) fail(`stage ${stage} names ${names.join(', ')}`);
  for (const d of result.summary.usageCheck) if (d.cause === 'unexplained') fail(`usage disagrees with the SDK's: ${JSON.stringify(d)}`);
  if (result.counters.internal_error) fail(`${result.counters.internal_error} internal errors`);
  return failures;
}

/** The errors the report shows, each with its turn. */
export function reportErrors(result: CallResult): Array<{ turn: number; source: string; message: string; recoverable: boolean }> {
  return reportTurns(result).flatMap((t) => (t.errors as Array<{ source: string; message: string; recoverable: boolean }>).map((e) => ({ turn: t.index as number, ...e })));
}

/**
 * A streaming TTS's figures as voicetrace shows them, against the SDK's own tts_metrics (one per
 * reply, in order): each played turn's TTFB equals the SDK's, characters and audio are counted once.
 */
export function streamingTtsFailures(result: CallResult, turns: number): string[] {
  const failures: string[] = [];
  const metrics = sdkMetrics(result, 'tts_metrics');
  for (let turn = 1; turn <= turns; turn++) {
    const played = turnSpans(result, turn).played;
    const ttfb = num(played, ATTR.LATENCY_TTS_TTFB);
    const sdk = metrics[turn - 1]?.ttfbMs / 1000;
    if (ttfb === undefined || Math.abs(ttfb - sdk) > 1e-6) failures.push(`turn ${turn}: tts_ttfb ${ttfb}, the SDK measured ${sdk}`);
  }
  const usage = usageOf(result, 'tts_usage');
  const characters = metrics.reduce((n, m) => n + m.charactersCount, 0);
  const audio = metrics.reduce((n, m) => n + m.audioDurationMs / 1000, 0);
  if (usage?.charactersCount !== characters) failures.push(`characters ${usage?.charactersCount}, the SDK reported ${characters}`);
  if (Math.abs((usage?.audioDuration ?? NaN) - audio) > 1e-6) failures.push(`audio ${usage?.audioDuration}, the SDK reported ${audio}`);
  if (usage?.requests !== metrics.length) failures.push(`${usage?.requests} TTS requests counted, the SDK reported ${metrics.length}`);
  return failures;
}
