import { ATTR, LATENCY_STAGES, SDK_ATTR, SDK_SPAN_STAGE } from '@voicetrace/conventions';
import type {
  ErrorRecord,
  HandoffRecord,
  InterruptionRecord,
  LatencyBreakdown,
  LlmStep,
  ModelUsage,
  PercentileSummary,
  RealtimeStep,
  ReplyRecord,
  SessionSnapshot,
  SignalRecord,
  SignalTotals,
  SttStep,
  ToolStep,
  TtsStep,
  TurnRecord,
  UsageDisagreement,
  UserTurnRecord,
} from '@voicetrace/core';
import type { SectionOptions } from '../section.js';
import { isObject, type AttributeValue, type FlatSpan } from './otlp.js';

/**
 * The span view decoded back into the session model it was written from: the `SessionSnapshot`
 * the live model produced, read figure by figure from the attributes the span view wrote
 * (`@voicetrace/core` views/span-attributes and stage spans). No figure is computed here: what
 * a trace does not carry (an older voicetrace, a lost span) is named in `notInTraces` and left out.
 */
export interface DecodedSession {
  snapshot: SessionSnapshot;
  /** How the section is written: content only if the trace has it, the trace's layout and ids. */
  section: Omit<SectionOptions, 'linkTemplates'>;
  /** The SDK's report fields the session span carries. */
  sdk: { jobId?: string | undefined; roomId?: string | undefined; room?: string | undefined };
  /** Figures the report shows that these traces do not carry (named, never re-derived). */
  notInTraces: string[];
}

/** Timestamps outside 2001..2100 are not epoch seconds (a zeroed clock, a ms value): left out. */
const EPOCH_MIN = 978307200;
const EPOCH_MAX = 4102444800;

interface ReplySpans {
  key: string;
  turnIndex: number;
  agentTurns: FlatSpan[];
  llm: FlatSpan[];
  tts: FlatSpan[];
  tools: FlatSpan[];
  realtime: FlatSpan[];
  interruptions: FlatSpan[];
}

interface TurnSpans {
  index: number;
  userTurn?: FlatSpan;
  vad: FlatSpan[];
  stt: FlatSpan[];
  eou: FlatSpan[];
  replies: Map<string, ReplySpans>;
  handoffs: FlatSpan[];
  failed: FlatSpan[];
}

/** One session's spans (any order, any trace layout) as the session model that wrote them. */
export function decodeSession(sessionId: string, all: readonly FlatSpan[]): DecodedSession {
  const spans = all.filter((s) => s.start >= EPOCH_MIN && s.start <= EPOCH_MAX).sort((a, b) => a.start - b.start || a.end - b.end);
  const missing = new Set<string>();
  const session = spans.find((s) => stageOf(s) === 'session');
  // a request span the model made a step of carries its start (voicetrace.request.started_at); one it did
  // not (a failed attempt, a request cancelled before the SDK's metrics) is not a step in the report.
  // Older traces carry no start on any: there every request span is read as a step.
  const stepsMarked = spans.some((s) => s.attributes[ATTR.REQUEST_STARTED_AT] !== undefined);
  const turns = placeSpans(spans, stepsMarked);
  const decodedTurns = [...turns.values()].sort((a, b) => a.index - b.index).map((t) => decodeTurn(t, missing));

  const sa = session?.attributes ?? {};
  if (!session) missing.add('the session span (counts, usage, cost, latency statistics)');
  const stats = jsonValue(sa[ATTR.SESSION_STATS]);
  if (session && !isObject(stats)) missing.add('latency and wait statistics (voicetrace.session.stats)');
  const signals = jsonValue(sa[ATTR.SESSION_SIGNALS]);
  const signalLog = isObject(signals) && Array.isArray(signals.records) ? (signals.records.filter((r) => isObject(r) && typeof r.name === 'string' && count(r.turnIndex as AttributeValue) !== undefined) as unknown as SignalRecord[]) : [];
  if (session && !isObject(signals)) missing.add('conversation quality signals (voicetrace.session.signals)');
  for (const record of signalLog) {
    const turn = decodedTurns.find((t) => t.index === record.turnIndex);
    if (turn) (turn.signals ??= []).push(record);
  }
  const traceIds = new Set(spans.map((s) => s.traceId));
  const dropped = count(sa[ATTR.SESSION_DROPS]);
  const snapshot: SessionSnapshot = {
    sessionId,
    startedAt: session?.start ?? spans[0]?.start,
    endedAt: session?.end ?? max(spans.map((s) => s.end)),
    userTurns: count(sa[ATTR.SESSION_TURNS]) ?? 0,
    replyCount: count(sa[ATTR.SESSION_AGENT_TURNS]) ?? 0,
    interruptions: count(sa[ATTR.SESSION_INTERRUPTIONS]) ?? 0,
    cancelledReplies: count(sa[ATTR.SESSION_CANCELLED_REPLIES]) ?? 0,
    turns: decodedTurns,
    turnsDropped: 0,
    handoffs: decodedTurns.flatMap((t) => t.handoffs),
    errors: count(sa[ATTR.SESSION_ERRORS]) ?? 0,
    usage: usageOf(sa[ATTR.SESSION_USAGE]),
    totalCost: usd(sa[ATTR.SESSION_COST]) ?? 0,
    latency: summaries(isObject(stats) ? stats.latency : undefined) as SessionSnapshot['latency'],
    wait: summaries(isObject(stats) ? stats.wait : undefined),
    drops: (dropped ? { dropped_inputs: dropped } : {}) as SessionSnapshot['drops'],
    usageCheck: arrayOf<UsageDisagreement>(sa[ATTR.SESSION_USAGE_CHECK]),
    signals: (isObject(signals) && isObject(signals.totals) ? signals.totals : {}) as Partial<Record<SignalRecord['name'], SignalTotals>>,
    signalLog,
  };
  if (session && sa[ATTR.SESSION_CANCELLED_REPLIES] === undefined) missing.add('cancelled replies');
  return {
    snapshot,
    section: {
      allowPii: spans.some((s) => Object.keys(s.attributes).some((k) => k.startsWith('lk.pii.') || k.startsWith('voicetrace.pii.'))),
      serviceName: spans.find((s) => s.serviceName)?.serviceName,
      environment: str(sa[ATTR.ENVIRONMENT]) ?? spans.map((s) => str(s.attributes[ATTR.ENVIRONMENT])).find(Boolean),
      traceMode: traceIds.size > 1 || spans.some((s) => s.attributes[ATTR.REPARENTED] === true) ? 'turn' : 'session',
      sessionTrace: session ? { trace_id: session.traceId, span_id: session.spanId } : undefined,
    },
    sdk: { jobId: str(sa[SDK_ATTR.JOB_ID]), roomId: str(sa[SDK_ATTR.ROOM_ID]), room: str(sa[SDK_ATTR.PII_ROOM_NAME]) ?? str(sa[SDK_ATTR.ROOM_NAME]) },
    notInTraces: [...missing],
  };
}

/** A span's stage: voicetrace's attribute, else the SDK span's name. */
function stageOf(s: FlatSpan): string | undefined {
  return str(s.attributes[ATTR.STAGE]) ?? SDK_SPAN_STAGE[s.name];
}

/**
 * Puts each span under its turn and reply: by the turn index and speech id the spans carry, the
 * agent turn above it, else by time (an older trace, a span whose parent was lost).
 */
function placeSpans(spans: readonly FlatSpan[], stepsMarked: boolean): Map<number, TurnSpans> {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const turns = new Map<number, TurnSpans>();
  const turn = (index: number): TurnSpans => {
    let t = turns.get(index);
    if (!t) turns.set(index, (t = { index, vad: [], stt: [], eou: [], replies: new Map(), handoffs: [], failed: [] }));
    return t;
  };
  const turnIndexOf = (s: FlatSpan) => count(s.attributes[ATTR.TURN_INDEX]);

  // user turns and agent turns first: the other stages are placed under them
  let userOrder = 0;
  for (const s of spans) {
    const stage = stageOf(s);
    if (stage === 'user_turn') {
      const t = turn(turnIndexOf(s) ?? ++userOrder);
      userOrder = Math.max(userOrder, t.index);
      t.userTurn ??= s;
    } else if (stage === 'agent_turn') {
      const index = turnIndexOf(s) ?? userOrder;
      const key = str(s.attributes[SDK_ATTR.SPEECH_ID]) ?? s.spanId;
      const t = turn(index);
      let reply = t.replies.get(key);
      if (!reply) t.replies.set(key, (reply = { key, turnIndex: index, agentTurns: [], llm: [], tts: [], tools: [], realtime: [], interruptions: [] }));
      reply.agentTurns.push(s);
    }
  }
  const replyOfSpan = new Map<string, ReplySpans>();
  for (const t of turns.values()) for (const r of t.replies.values()) for (const a of r.agentTurns) replyOfSpan.set(a.spanId, r);
  const replyFor = (s: FlatSpan): ReplySpans | undefined => {
    let parent = s.parentSpanId ? byId.get(s.parentSpanId) : undefined;
    for (let depth = 0; parent && depth < 32; depth++) {
      const r = replyOfSpan.get(parent.spanId);
      if (r) return r;
      parent = parent.parentSpanId ? byId.get(parent.parentSpanId) : undefined;
    }
    const index = turnIndexOf(s);
    const candidates = index !== undefined ? [...(turns.get(index)?.replies.values() ?? [])] : [];
    if (!candidates.length) return undefined;
    const within = candidates.find((r) => r.agentTurns.some((a) => s.start >= a.start && s.start <= a.end));
    return within ?? candidates.filter((r) => r.agentTurns[0]!.start <= s.start).pop() ?? candidates[0];
  };
  const turnStart = (t: TurnSpans): number | undefined =>
    min([t.userTurn?.start, ...t.vad.map((s) => s.start), ...[...t.replies.values()].flatMap((r) => r.agentTurns.map((a) => a.start))]);
  const turnAt = (at: number): number => {
    let best = 0;
    let bestStart = -Infinity;
    for (const t of turns.values()) {
      const start = turnStart(t);
      if (start !== undefined && start <= at && start >= bestStart) {
        best = t.index;
        bestStart = start;
      }
    }
    return best;
  };

  for (const s of spans) {
    const stage = stageOf(s);
    const index = turnIndexOf(s);
    switch (stage) {
      case 'vad':
      case 'stt':
      case 'eou':
        turn(index ?? turnAt(s.start))[stage].push(s);
        break;
      case 'llm':
      case 'tts':
      case 'tool':
      case 'realtime':
      case 'interruption': {
        if (stepsMarked && (stage === 'llm' || stage === 'tts') && s.attributes[ATTR.REQUEST_STARTED_AT] === undefined) break;
        const r = replyFor(s);
        if (!r) break; // e.g. the greeting's TTS before any reply: its usage is in the session's
        (stage === 'tool' ? r.tools : stage === 'interruption' ? r.interruptions : r[stage]).push(s);
        break;
      }
      case 'handoff':
        turn(index ?? turnAt(s.start)).handoffs.push(s);
        break;
    }
    if (s.statusCode === 2) turn(index ?? turnAt(s.start)).failed.push(s);
  }
  return turns;
}

function decodeTurn(t: TurnSpans, missing: Set<string>): TurnRecord {
  const replySpans = [...t.replies.values()];
  // a realtime model's user turn has no span: its speech bounds are on the agent turn that answered it
  const spokenOn = replySpans.flatMap((r) => r.agentTurns).find((a) => a.attributes[ATTR.VAD_SPEECH_END] !== undefined);
  const user = t.userTurn || spokenOn || t.vad.length || t.stt.length || t.eou.length ? decodeUser(t, spokenOn, missing) : undefined;
  const replies = replySpans.map((r) => decodeReply(r, missing)).sort((a, b) => a.startedAt - b.startedAt);
  const costOn = replySpans.flatMap((r) => r.agentTurns).find((a) => usd(a.attributes[ATTR.TURN_COST]) !== undefined);
  return {
    index: t.index,
    user,
    cost: usd(costOn?.attributes[ATTR.TURN_COST]) ?? 0,
    otherCost: 0,
    replies,
    handoffs: t.handoffs
      .filter((s) => str(s.attributes[ATTR.HANDOFF_TO]))
      .map((s): HandoffRecord => ({ at: s.start, turnIndex: t.index, fromAgent: str(s.attributes[ATTR.HANDOFF_FROM]) || undefined, toAgent: str(s.attributes[ATTR.HANDOFF_TO])! })),
    errors: t.failed.map((s): ErrorRecord => ({ at: s.end, turnIndex: t.index, source: s.name, message: s.statusMessage ?? `${s.name} failed`, recoverable: stageOf(s) !== 'session' })),
    logs: [],
  };
}

function decodeUser(t: TurnSpans, spokenOn: FlatSpan | undefined, missing: Set<string>): UserTurnRecord {
  const u = t.userTurn?.attributes ?? {};
  const spoken = spokenOn?.attributes ?? {};
  const vadSpan = t.vad[t.vad.length - 1];
  const speechStart = epoch(u[ATTR.VAD_SPEECH_START]) ?? epoch(spoken[ATTR.VAD_SPEECH_START]) ?? epoch(vadSpan?.attributes[ATTR.VAD_SPEECH_START]);
  const speechEnd = epoch(u[ATTR.VAD_SPEECH_END]) ?? epoch(spoken[ATTR.VAD_SPEECH_END]) ?? epoch(vadSpan?.attributes[ATTR.VAD_SPEECH_END]);
  if (speechStart === undefined && speechEnd === undefined && (t.userTurn || t.vad.length)) missing.add('the user\'s speech bounds (voicetrace.vad.speech_start/end)');
  const eou = t.eou[0];
  const confidence = num(u[SDK_ATTR.TRANSCRIPT_CONFIDENCE]);
  const reported = t.vad.filter((s) => s.attributes[ATTR.VAD_INFERENCE_COUNT] !== undefined);
  return {
    startedAt: t.userTurn?.start ?? min([...t.vad, ...t.stt, ...t.eou].map((s) => s.start)) ?? speechStart!,
    endedAt: t.userTurn?.end,
    speechStart,
    speechEnd,
    speechStoppedAt: epoch(u[ATTR.USER_SPEECH_STOPPED_AT]),
    transcript:
      str(u[SDK_ATTR.PII_USER_TRANSCRIPT]) ?? t.stt.map((s) => str(s.attributes[ATTR.PII_USER_TRANSCRIPT])).find(Boolean) ?? str(spoken[ATTR.PII_USER_TRANSCRIPT]),
    confidence: confidence !== undefined && confidence >= 0 && confidence <= 1 ? confidence : undefined,
    finalTranscriptAt: max(t.stt.map((s) => s.end)),
    transcriptionDelay: seconds(u[ATTR.LATENCY_TRANSCRIPTION_DELAY]),
    endOfTurnDelay: seconds(u[ATTR.LATENCY_EOU_DELAY]),
    anchorShift: num(u[ATTR.LATENCY_ANCHOR_SHIFT]),
    vad: reported.map((s) => ({
      kind: 'vad' as const,
      at: s.end,
      label: '',
      idleTime: seconds(s.attributes[ATTR.VAD_IDLE_TIME]),
      inferenceTimeTotal: seconds(s.attributes[ATTR.VAD_INFERENCE_TIME]),
      inferenceCount: count(s.attributes[ATTR.VAD_INFERENCE_COUNT]) ?? 0,
    })),
    stt: t.stt.map(
      (s): SttStep =>
        ({
          metric: {
            kind: 'stt',
            at: s.end,
            provider: str(s.attributes[ATTR.PROVIDER_NAME]) ?? 'unknown',
            model: str(s.attributes[ATTR.REQUEST_MODEL]) ?? 'unknown',
            duration: seconds(s.attributes[ATTR.DURATION]),
            audioDuration: seconds(s.attributes[ATTR.STT_AUDIO_DURATION]) ?? 0,
            streamed: s.attributes[ATTR.STREAMED] === true,
            inputTokens: count(s.attributes[ATTR.USAGE_INPUT_TOKENS]) ?? 0,
            outputTokens: count(s.attributes[ATTR.USAGE_OUTPUT_TOKENS]) ?? 0,
          },
          start: s.start,
          end: s.end,
          latency: seconds(s.attributes[ATTR.STT_LATENCY]),
          cost: usd(s.attributes[ATTR.COST]),
          // how many provider reports made the share is the live model's bookkeeping, not on the span
          reports: undefined as unknown as number,
        }),
    ),
    eou: eou
      ? {
          kind: 'eou',
          at: eou.end,
          eouDelay: seconds(eou.attributes[ATTR.EOU_DELAY]),
          transcriptionDelay: seconds(eou.attributes[ATTR.EOU_TRANSCRIPTION_DELAY]),
          onUserTurnCompletedDelay: seconds(eou.attributes[ATTR.EOU_ON_USER_TURN_COMPLETED]),
          lastSpeakingTime: epoch(eou.attributes[ATTR.EOU_LAST_SPEAKING_TIME]) ?? eou.start,
        }
      : undefined,
    span: t.userTurn ? { traceId: t.userTurn.traceId, spanId: t.userTurn.spanId } : undefined,
  };
}

function decodeReply(r: ReplySpans, missing: Set<string>): ReplyRecord {
  // the agent_turn span that carries the reply's figures (the last step of a tool-calling reply)
  const primary = r.agentTurns.find((s) => s.attributes[ATTR.LATENCY_E2E] !== undefined) ?? r.agentTurns.find((s) => s.attributes[ATTR.REPLY_COST] !== undefined) ?? r.agentTurns[r.agentTurns.length - 1]!;
  const pa = primary.attributes;
  const e2e = seconds(pa[ATTR.LATENCY_E2E]);
  const latency: LatencyBreakdown | undefined =
    e2e !== undefined
      ? {
          // every per-reply figure from its attribute, as conventions' table pairs them
          ...(Object.fromEntries(LATENCY_STAGES.map((stage) => [stage.field, seconds(pa[stage.attribute])])) as Partial<LatencyBreakdown>),
          e2e,
          anchorShift: num(pa[ATTR.LATENCY_ANCHOR_SHIFT]),
          wait: waitSlices(pa[ATTR.WAIT_BREAKDOWN]),
        }
      : undefined;
  const firstAudioAt = min(r.agentTurns.map((s) => epoch(s.attributes[ATTR.REPLY_FIRST_AUDIO_AT])));
  if (e2e !== undefined && firstAudioAt === undefined) missing.add('the reply\'s first audio (voicetrace.reply.first_audio_at)');
  const cost = usd(pa[ATTR.REPLY_COST]);
  if (cost === undefined) missing.add('the reply\'s own cost (voicetrace.reply.cost)');
  const text = r.agentTurns.map((s) => str(s.attributes[SDK_ATTR.PII_RESPONSE_TEXT])).filter(Boolean).pop() ?? (r.tts.map((s) => str(s.attributes[ATTR.PII_RESPONSE_TEXT])).filter(Boolean).join(' ') || undefined);
  return {
    speechId: str(pa[SDK_ATTR.SPEECH_ID]) ?? r.key,
    turnIndex: r.turnIndex,
    agent: str(pa[ATTR.AGENT_NAME]),
    startedAt: min(r.agentTurns.map((s) => s.start))!,
    endedAt: max(r.agentTurns.map((s) => s.end)),
    firstAudioAt,
    interrupted: r.agentTurns.some((s) => s.attributes[ATTR.TURN_INTERRUPTED] === true),
    llm: r.llm.map((s) => llmStep(s, missing)),
    tts: r.tts.map((s) => ttsStep(s, missing)),
    tools: r.tools.map(
      (s): ToolStep => ({
        name: str(s.attributes[SDK_ATTR.TOOL_NAME]) ?? str(s.attributes[SDK_ATTR.FUNCTION_TOOL_NAME]),
        start: s.start,
        end: s.end,
        isError: s.attributes[SDK_ATTR.TOOL_IS_ERROR] === true || s.statusCode === 2,
        arguments: str(s.attributes[SDK_ATTR.PII_TOOL_ARGUMENTS]),
        output: str(s.attributes[SDK_ATTR.PII_TOOL_OUTPUT]),
      }),
    ),
    realtime: r.realtime.map(realtimeStep),
    interruptions: r.interruptions.map(
      (s): InterruptionRecord => ({
        start: s.start,
        end: s.end,
        overlap: seconds(s.attributes[ATTR.TURN_OVERLAP]),
        stoppedAgent: s.attributes[ATTR.INTERRUPTION_STOPPED_AGENT] === true,
        metric:
          s.attributes[ATTR.INTERRUPTION_DETECTION_DELAY] !== undefined || s.attributes[ATTR.INTERRUPTION_REQUESTS] !== undefined
            ? {
                kind: 'interruption',
                at: s.end,
                detectionDelay: seconds(s.attributes[ATTR.INTERRUPTION_DETECTION_DELAY]),
                predictionTime: seconds(s.attributes[ATTR.INTERRUPTION_PREDICTION_TIME]),
                roundTrip: seconds(s.attributes[ATTR.INTERRUPTION_ROUND_TRIP]),
                interruptions: count(s.attributes[ATTR.INTERRUPTION_COUNT]) ?? 0,
                backchannels: count(s.attributes[ATTR.INTERRUPTION_BACKCHANNELS]) ?? 0,
                requests: count(s.attributes[ATTR.INTERRUPTION_REQUESTS]) ?? 0,
              }
            : undefined,
      }),
    ),
    latency,
    cost: cost ?? 0,
    text,
    complete: true,
    dataIncomplete: r.agentTurns.some((s) => s.attributes[ATTR.DATA_INCOMPLETE] === true) || undefined,
    span: { traceId: primary.traceId, spanId: primary.spanId },
  };
}

/** When the provider request started, as the model measured it (`voicetrace.request.started_at`). */
function requestStart(s: FlatSpan, missing: Set<string>): number {
  const at = epoch(s.attributes[ATTR.REQUEST_STARTED_AT]);
  if (at === undefined) missing.add('request start times (voicetrace.request.started_at): the span start is shown');
  return at ?? s.start;
}

function llmStep(s: FlatSpan, missing: Set<string>): LlmStep {
  const a = s.attributes;
  const ttft = seconds(a[ATTR.TIME_TO_FIRST_CHUNK]);
  const start = requestStart(s, missing);
  const finish = a[SDK_ATTR.FINISH_REASONS];
  const reasons = Array.isArray(finish) ? finish.map(String) : typeof finish === 'string' ? [finish] : [];
  return {
    metric: {
      kind: 'llm',
      at: s.end,
      provider: str(a[ATTR.PROVIDER_NAME]) ?? 'unknown',
      model: str(a[ATTR.REQUEST_MODEL]) ?? str(a[SDK_ATTR.RESPONSE_MODEL]) ?? 'unknown',
      ttft,
      duration: seconds(a[ATTR.DURATION]),
      cancelled: a[ATTR.CANCELLED] === true,
      inputTokens: count(a[ATTR.USAGE_INPUT_TOKENS]) ?? 0,
      outputTokens: count(a[ATTR.USAGE_OUTPUT_TOKENS]) ?? 0,
      cachedInputTokens: count(a[ATTR.USAGE_CACHE_READ]) ?? 0,
      cacheCreationTokens: 0,
      tokensPerSecond: num(a[ATTR.LLM_TOKENS_PER_SECOND]),
    },
    spanStart: s.start,
    spanEnd: s.end,
    requestStart: start,
    // the model's definition of the first token: request start + TTFT (LlmStep.firstTokenAt)
    firstTokenAt: ttft !== undefined ? start + ttft : undefined,
    speakable: !reasons.some((reason) => /tool/.test(reason)),
    cost: usd(a[ATTR.COST]),
  };
}

function ttsStep(s: FlatSpan, missing: Set<string>): TtsStep {
  const a = s.attributes;
  const ttfb = seconds(a[ATTR.TIME_TO_FIRST_CHUNK]);
  const textSentAt = requestStart(s, missing);
  return {
    metric: {
      kind: 'tts',
      at: s.end,
      provider: str(a[ATTR.PROVIDER_NAME]) ?? 'unknown',
      model: str(a[ATTR.REQUEST_MODEL]) ?? 'unknown',
      ttfb,
      duration: seconds(a[ATTR.DURATION]),
      audioDuration: seconds(a[ATTR.TTS_AUDIO_DURATION]) ?? 0,
      characters: count(a[ATTR.TTS_CHARACTERS]) ?? 0,
      streamed: a[ATTR.STREAMED] === true,
      cancelled: a[ATTR.CANCELLED] === true,
      inputTokens: 0,
      outputTokens: 0,
    },
    spanStart: s.start,
    spanEnd: s.end,
    textSentAt,
    // the model's definition of the first audio: text sent + TTFB (TtsStep.firstAudioAt)
    firstAudioAt: ttfb !== undefined ? textSentAt + ttfb : undefined,
    duplicate: a[ATTR.USAGE_COUNTED_ELSEWHERE] === true,
    cost: usd(a[ATTR.COST]),
  };
}

function realtimeStep(s: FlatSpan): RealtimeStep {
  const a = s.attributes;
  return {
    metric: {
      kind: 'realtime',
      at: s.end,
      createdAt: s.start,
      provider: str(a[ATTR.PROVIDER_NAME]) ?? 'unknown',
      model: str(a[ATTR.REQUEST_MODEL]) ?? 'unknown',
      ttft: seconds(a[ATTR.TIME_TO_FIRST_CHUNK]),
      duration: seconds(a[ATTR.DURATION]),
      sessionDuration: seconds(a[ATTR.REALTIME_SESSION_DURATION]),
      cancelled: a[ATTR.CANCELLED] === true,
      inputTokens: count(a[ATTR.USAGE_INPUT_TOKENS]) ?? 0,
      outputTokens: count(a[ATTR.USAGE_OUTPUT_TOKENS]) ?? 0,
      tokensPerSecond: num(a[ATTR.LLM_TOKENS_PER_SECOND]),
      inputAudioTokens: count(a[ATTR.USAGE_AUDIO_INPUT]) ?? 0,
      inputTextTokens: count(a[ATTR.USAGE_TEXT_INPUT]) ?? 0,
      inputCachedTokens: count(a[ATTR.USAGE_CACHE_READ]) ?? 0,
      outputAudioTokens: count(a[ATTR.USAGE_AUDIO_OUTPUT]) ?? 0,
      outputTextTokens: count(a[ATTR.USAGE_TEXT_OUTPUT]) ?? 0,
    },
    start: s.start,
    end: s.end,
    cost: usd(a[ATTR.COST]),
  };
}

/** The reply's wait slices as the breakdown JSON carries them; none when it is absent or malformed. */
function waitSlices(raw: AttributeValue | undefined): LatencyBreakdown['wait'] {
  const parsed = jsonValue(raw);
  if (!Array.isArray(parsed)) return [];
  const slices = parsed.filter(
    (s): s is { key: string; owner: string; seconds: number } =>
      isObject(s) && typeof s.key === 'string' && typeof s.owner === 'string' && typeof s.seconds === 'number' && Number.isFinite(s.seconds) && s.seconds >= 0,
  );
  return slices.length === parsed.length ? (slices.map((s) => ({ key: s.key, owner: s.owner, seconds: s.seconds })) as LatencyBreakdown['wait']) : [];
}

/** The session's statistics JSON (`{ e2e: { count, p50, ... } }`), summaries with a finite count only. */
function summaries(raw: unknown): Record<string, PercentileSummary> {
  const out: Record<string, PercentileSummary> = {};
  if (!isObject(raw)) return out;
  for (const [key, value] of Object.entries(raw)) {
    if (!isObject(value) || count(value.count as AttributeValue) === undefined) continue;
    const summary: PercentileSummary = { count: value.count as number };
    for (const q of ['p50', 'p95', 'p99', 'max', 'mean'] as const) {
      const v = num(value[q] as AttributeValue);
      if (v !== undefined) summary[q] = v;
    }
    out[key] = summary;
  }
  return out;
}

/** The session span's usage JSON (the model's ModelUsage entries, camelCase). */
function usageOf(raw: AttributeValue | undefined): ModelUsage[] {
  return arrayOf<ModelUsage>(raw).filter(
    (u) => isObject(u) && typeof u.provider === 'string' && typeof u.model === 'string' && ['llm_usage', 'tts_usage', 'stt_usage', 'interruption_usage'].includes(u.type),
  );
}

// ---- value guards: what the model's types accept, else undefined ------------------------------

function jsonValue(v: AttributeValue | undefined): unknown {
  if (typeof v !== 'string') return undefined;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return undefined;
  }
}
function arrayOf<T>(v: AttributeValue | undefined): T[] {
  const parsed = jsonValue(v);
  return Array.isArray(parsed) ? (parsed as T[]) : [];
}
function str(v: AttributeValue | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
function num(v: AttributeValue | undefined): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
function seconds(v: AttributeValue | undefined): number | undefined {
  const n = num(v);
  return n !== undefined && n >= 0 ? n : undefined;
}
function usd(v: AttributeValue | undefined): number | undefined {
  return seconds(v);
}
function count(v: AttributeValue | undefined): number | undefined {
  const n = num(v);
  return n !== undefined && n >= 0 && Number.isInteger(n) ? n : undefined;
}
function epoch(v: AttributeValue | undefined): number | undefined {
  const n = num(v);
  return n !== undefined && n >= EPOCH_MIN && n <= EPOCH_MAX ? n : undefined;
}
function min(values: Array<number | undefined>): number | undefined {
  let out: number | undefined;
  for (const v of values) if (v !== undefined && (out === undefined || v < out)) out = v;
  return out;
}
function max(values: Array<number | undefined>): number | undefined {
  let out: number | undefined;
  for (const v of values) if (v !== undefined && (out === undefined || v > out)) out = v;
  return out;
}
