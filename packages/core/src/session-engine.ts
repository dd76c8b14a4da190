import type { Attributes, Span, SpanContext, Tracer } from '@opentelemetry/api';
import { ATTR, SESSION_LATENCY_METRICS, SPAN_NAME, VOICETRACE_SCOPE, sessionLatencyKey, type Stage } from '@voicetrace/conventions';
import { DropCounters } from './counters.js';
import type { EouMetric, StageMetric, VadMetric, VoiceEvent } from './events.js';
import { computeLatency, quantile, type LatencyBreakdown } from './latency.js';
import { PriceBook } from './prices.js';
import type { SpanFacts, SpanFactsReader } from './span-facts.js';
import { fromHrTime } from './time.js';
import { StageSpans, eouAttributes, setDefined } from './stage-spans.js';
import type { UserTurn } from './turn-state.js';
import { UsageLedger, type ModelUsage } from './usage.js';

/** Options of one instrumented session. */
export interface SessionEngineOptions {
  sessionId: string;
  environment?: string;
  /** Participant identity (exported as user.id only when PII is allowed). */
  userId?: string;
  allowPii: boolean;
  prices?: PriceBook;
  /** Creates the spans of stages the SDK does not trace. */
  tracer: Tracer;
  facts: SpanFactsReader;
  counters?: DropCounters;
  /** Extra attributes for the session span (room, job ...). */
  sessionAttributes?: Attributes;
}

/** One finished agent reply, as the demo's latency table and the session report show it. */
export interface TurnSummary {
  index: number;
  speechId: string;
  agent?: string;
  interrupted: boolean;
  latency: LatencyBreakdown;
  cost: number;
}

/** What one session produced so far. */
export interface SessionSummary {
  sessionId: string;
  turns: TurnSummary[];
  userTurns: number;
  interruptions: number;
  usage: ModelUsage[];
  totalCost: number;
  drops: ReturnType<DropCounters['snapshot']>;
}

interface Speech {
  id: string;
  turnIndex: number;
  userTurn?: UserTurn;
  llm: Array<{ start: number; end: number; ttft?: number; speakable: boolean }>;
  tools: Array<{ start: number; end: number }>;
  tts: Array<{ start: number; ttfb?: number }>;
  cost: number;
  eou?: EouMetric;
}

interface OpenSpan {
  span: Span;
  name: string;
  stage?: Stage;
  start: number;
  speechId?: string;
  turnIndex: number;
  parentId?: string;
  ttsDescendant?: boolean;
}

const AGENT_AUDIO_STATES = new Set(['speaking']);
const RECENT_TURNS = 4;

/**
 * Turns one voice session's SDK spans and events into semantic stage spans:
 * enriches the SDK's spans while they end, creates spans for stages the SDK
 * does not trace (VAD, STT, EOU, interruption, realtime, handoff), keeps usage
 * and cost, and computes each reply's latency breakdown. Never throws: a bad
 * input is dropped or corrected and counted.
 */
export class SessionEngine {
  readonly counters: DropCounters;
  readonly ledger: UsageLedger;
  private readonly open = new Map<string, OpenSpan>();
  private readonly userTurns: UserTurn[] = [];
  private readonly speeches = new Map<string, Speech>();
  private readonly turns: TurnSummary[] = [];
  private readonly seenEvents = new WeakSet<object>();
  private currentAgent: string | undefined;
  private turnIndex = 0;
  private agentSpeaking = false;
  private overlapStart: number | undefined;
  private interruptions = 0;
  private sessionContext: SpanContext | undefined;
  private closed = false;
  private readonly spans: StageSpans;

  constructor(private readonly options: SessionEngineOptions) {
    this.counters = options.counters ?? new DropCounters();
    this.ledger = new UsageLedger(options.prices ?? new PriceBook(), this.counters);
    this.spans = new StageSpans({
      tracer: options.tracer,
      counters: this.counters,
      ledger: this.ledger,
      allowPii: options.allowPii,
      sessionContext: () => this.sessionContext,
    });
  }

  get sessionId(): string {
    return this.options.sessionId;
  }

  /** Records one normalized input. Never throws. */
  record(event: VoiceEvent): void {
    try {
      if (this.closed) return this.counters.count('after_shutdown', event?.kind);
      if (!event || typeof event !== 'object' || typeof event.kind !== 'string' || !Number.isFinite(event.at)) {
        return this.counters.count('malformed_event');
      }
      if (this.seenEvents.has(event)) return this.counters.count('duplicate_event', event.kind);
      this.seenEvents.add(event);
      this.dispatch(event);
    } catch (error) {
      this.counters.count('internal_error', String(error));
    }
  }

  /** Stops accepting inputs (after the session span ended or at shutdown). */
  close(): void {
    this.closed = true;
  }

  /** Spans of this session that started and have not ended yet, oldest first. */
  openSpans(): Span[] {
    return [...this.open.values()].map((info) => info.span);
  }

  /** Turns, usage and cost so far. */
  summary(): SessionSummary {
    return {
      sessionId: this.options.sessionId,
      turns: [...this.turns],
      userTurns: this.turnIndex,
      interruptions: this.interruptions,
      usage: this.ledger.summary(),
      totalCost: this.ledger.totalCost(),
      drops: this.counters.snapshot(),
    };
  }

  // ---- span hooks (called by the processor) ----------------------------------------------

  /** A span of this session started: stamp identity and stage, track its turn. */
  onSpanStart(span: Span & { name?: string; parentSpanContext?: SpanContext; instrumentationScope?: { name: string }; attributes?: Attributes; startTime?: [number, number] }): void {
    try {
      const name = span.name ?? '';
      const scope = span.instrumentationScope?.name ?? '';
      const id = span.spanContext().spanId;
      const parent = span.parentSpanContext ? this.open.get(span.parentSpanContext.spanId) : undefined;
      const ours = scope === VOICETRACE_SCOPE;
      const facts = ours ? {} : this.options.facts.atStart({ name, scope, attributes: span.attributes ?? {} });
      if (facts.agentName && facts.stage === 'agent_turn') this.currentAgent = facts.agentName;
      const stage = facts.stage;
      const start = span.startTime ? fromHrTime(span.startTime) : Date.now() / 1000;
      if (stage === 'session' && !this.sessionContext) this.sessionContext = span.spanContext();
      if (stage === 'user_turn') this.startUserTurn(span.spanContext(), start);
      const speechId = facts.speechId ?? parent?.speechId;
      const turnIndex = speechId
        ? (this.speeches.get(speechId)?.turnIndex ?? this.turnIndex)
        : stage === 'agent_turn' || stage === 'user_turn' ? this.turnIndex : (parent?.turnIndex ?? this.turnIndex);
      if (stage === 'agent_turn' && speechId && !this.speeches.has(speechId)) this.startSpeech(speechId);
      this.open.set(id, { span, name, stage, start, speechId, turnIndex, parentId: span.parentSpanContext?.spanId });

      const identity: Attributes = {
        [ATTR.SESSION_ID]: this.options.sessionId,
        [ATTR.CONVERSATION_ID]: this.options.sessionId,
      };
      if (this.options.environment) identity[ATTR.ENVIRONMENT] = this.options.environment;
      if (this.currentAgent && !span.attributes?.[ATTR.AGENT_NAME]) identity[ATTR.AGENT_NAME] = this.currentAgent;
      // on every span, so per-turn traces are attributed to the caller too (PII: only when allowed)
      if (this.options.allowPii && this.options.userId) identity[ATTR.USER_ID] = this.options.userId;
      if (stage) identity[ATTR.STAGE] = stage;
      if (stage && stage !== 'session') identity[ATTR.TURN_INDEX] = turnIndex;
      span.setAttributes(identity);
    } catch (error) {
      this.counters.count('internal_error', String(error));
    }
  }

  /** A span of this session is ending (still writable): add its stage attributes. */
  onSpanEnding(span: Span & { name?: string; instrumentationScope?: { name: string }; attributes?: Attributes; startTime?: [number, number]; endTime?: [number, number] }): void {
    try {
      const id = span.spanContext().spanId;
      const info = this.open.get(id);
      this.open.delete(id);
      if (!info || span.instrumentationScope?.name === VOICETRACE_SCOPE) return;
      const end = span.endTime ? fromHrTime(span.endTime) : Date.now() / 1000;
      info.speechId = this.resolveSpeechId(info);
      if (info.stage === 'agent_turn' && info.speechId && !this.speeches.has(info.speechId)) this.startSpeech(info.speechId);
      const facts = this.options.facts.atEnd({ name: info.name, scope: span.instrumentationScope?.name ?? '', attributes: span.attributes ?? {} });
      const attributes = this.stageAttributes(info, facts, end);
      const flags = facts.metric?.quality;
      if (flags?.implausible.length) attributes[ATTR.IMPLAUSIBLE] = flags.implausible;
      if (flags?.truncated.length) attributes[ATTR.TRUNCATED] = flags.truncated;
      span.setAttributes(attributes);
      if (info.stage === 'session') this.close();
    } catch (error) {
      this.counters.count('internal_error', String(error));
    }
  }

  // ---- inputs ---------------------------------------------------------------------------

  private dispatch(event: VoiceEvent): void {
    switch (event.kind) {
      case 'llm':
      case 'tts':
      case 'stt':
      case 'realtime':
      case 'interruption':
        return this.placeMetric(event, this.ledger.add(event));
      case 'vad':
        return this.placeVad(event);
      case 'eou':
        return this.placeEou(event);
      case 'user_speech':
        return this.onUserSpeech(event.speaking, event.at);
      case 'agent_state': {
        const speaking = AGENT_AUDIO_STATES.has(event.state);
        if (!speaking && this.agentSpeaking) this.overlapStart = undefined;
        this.agentSpeaking = speaking;
        return;
      }
      case 'transcript': {
        const turn = this.latestUserTurn();
        if (event.final && turn) {
          turn.finalTranscriptAt = event.at;
          turn.transcript = event.text;
        }
        return;
      }
      case 'handoff':
        this.currentAgent = event.toAgent;
        return this.spans.emit(SPAN_NAME.handoff, 'handoff', this.activeAgentTurnContext(), event.at, event.at + 0.001, {
          [ATTR.HANDOFF_FROM]: event.fromAgent ?? '',
          [ATTR.HANDOFF_TO]: event.toAgent,
          [ATTR.AGENT_NAME]: event.toAgent,
        });
      default:
        return;
    }
  }

  private placeMetric(metric: StageMetric, counted: boolean): void {
    if (metric.kind === 'stt') {
      const turn = this.latestUserTurn();
      if (!turn) {
        this.counters.count('unplaced_event', 'stt');
        return this.spans.stt(metric, undefined);
      }
      if (turn.end === undefined) turn.stt.push(metric);
      else this.spans.stt(metric, turn);
      return;
    }
    const cost = this.ledger.costOfMetric(metric);
    if ((metric.kind === 'llm' || metric.kind === 'tts') && metric.speechId) {
      const speech = this.speeches.get(metric.speechId);
      if (speech && cost !== undefined && counted) speech.cost += cost;
    }
    if (metric.kind === 'interruption') this.spans.interruption(metric, this.activeAgentTurnContext(), this.overlapStart);
    if (metric.kind === 'realtime') this.spans.realtime(metric, this.activeAgentTurnContext(), this.latestUserTurn()?.transcript, cost);
  }

  private placeVad(metric: VadMetric): void {
    const turn = this.latestUserTurn();
    if (turn && turn.end === undefined) turn.vad.push(metric);
    else this.spans.vad(metric, turn);
  }

  private placeEou(metric: EouMetric): void {
    const turn = this.latestUserTurn();
    if (turn) turn.eou = metric;
    else this.counters.count('unplaced_event', 'eou');
    // the SDK may emit eou_metrics just after the user turn span ended: place it now
    if (turn && turn.end !== undefined && !turn.hasSdkEou) this.emitEou(turn);
    if (metric.speechId) {
      const speech = this.speeches.get(metric.speechId) ?? this.startSpeech(metric.speechId);
      speech.eou = metric;
      speech.userTurn = turn;
    }
  }

  private onUserSpeech(speaking: boolean, at: number): void {
    const turn = this.latestUserTurn();
    if (speaking) {
      if (turn && turn.end === undefined && turn.speechStart === undefined) turn.speechStart = at;
      if (this.agentSpeaking && this.overlapStart === undefined) this.overlapStart = at;
    } else if (turn) {
      turn.speechEnd = at;
    }
  }

  // ---- stage attributes ------------------------------------------------------------------

  private stageAttributes(info: OpenSpan, facts: SpanFacts, end: number): Attributes {
    const attributes: Attributes = {};
    const metric = facts.metric;
    switch (info.stage) {
      case 'llm':
        if (metric?.kind === 'llm') {
          setDefined(attributes, {
            [ATTR.DURATION]: metric.duration,
            [ATTR.CANCELLED]: metric.cancelled,
            [ATTR.LLM_TOKENS_PER_SECOND]: metric.tokensPerSecond,
            [ATTR.USAGE_CACHE_READ]: metric.cachedInputTokens,
            [ATTR.COST]: this.ledger.costOfMetric(metric),
          });
          const speech = info.speechId ? this.speeches.get(info.speechId) : undefined;
          speech?.llm.push({ start: info.start, end, ttft: metric.ttft, speakable: facts.speakable ?? true });
        }
        break;
      case 'tts':
        if (metric?.kind === 'tts') {
          const duplicate = info.ttsDescendant === true;
          setDefined(attributes, {
            [ATTR.OPERATION_NAME]: 'text_to_speech',
            [ATTR.OUTPUT_TYPE]: 'speech',
            [ATTR.PROVIDER_NAME]: metric.provider,
            [ATTR.REQUEST_MODEL]: metric.model,
            [ATTR.TIME_TO_FIRST_CHUNK]: metric.ttfb,
            [ATTR.TTS_CHARACTERS]: metric.characters,
            [ATTR.TTS_AUDIO_DURATION]: metric.audioDuration,
            [ATTR.DURATION]: metric.duration,
            [ATTR.STREAMED]: metric.streamed,
            [ATTR.CANCELLED]: metric.cancelled,
            [ATTR.COST]: duplicate ? undefined : this.ledger.costOfMetric(metric),
          });
          if (duplicate) attributes[ATTR.USAGE_COUNTED_ELSEWHERE] = true;
          const speech = info.speechId ? this.speeches.get(info.speechId) : undefined;
          if (!duplicate) speech?.tts.push({ start: info.start, ttfb: metric.ttfb });
        }
        this.markTtsAncestors(info);
        break;
      case 'tool': {
        const speech = info.speechId ? this.speeches.get(info.speechId) : undefined;
        speech?.tools.push({ start: info.start, end });
        if (facts.toolError) attributes['error.type'] = 'tool_error';
        break;
      }
      case 'eou': {
        const turn = this.latestUserTurn();
        if (turn) turn.hasSdkEou = true;
        if (turn?.eou) Object.assign(attributes, eouAttributes(turn.eou));
        break;
      }
      case 'user_turn':
        Object.assign(attributes, this.endUserTurn(facts, end));
        break;
      case 'agent_turn':
        Object.assign(attributes, this.endAgentTurn(info, facts, end));
        break;
      case 'session':
        Object.assign(attributes, this.sessionAttributes());
        break;
      default:
        break;
    }
    return attributes;
  }

  private markTtsAncestors(info: OpenSpan): void {
    // a tts_request nested in another is the stream adapter wrapping a non-streaming TTS:
    // the outer one repeats the inner one's usage
    let parent = info.parentId ? this.open.get(info.parentId) : undefined;
    while (parent) {
      if (parent.stage === 'tts') parent.ttsDescendant = true;
      parent = parent.parentId ? this.open.get(parent.parentId) : undefined;
    }
  }

  private endUserTurn(facts: SpanFacts, end: number): Attributes {
    const turn = this.latestUserTurn();
    if (!turn) return {};
    turn.end = end;
    const attributes: Attributes = {};
    setDefined(attributes, {
      [ATTR.LATENCY_EOU_DELAY]: turn.eou?.eouDelay ?? facts.endOfTurnDelay,
      [ATTR.LATENCY_TRANSCRIPTION_DELAY]: turn.eou?.transcriptionDelay ?? facts.transcriptionDelay,
      [ATTR.VAD_SPEECH_START]: turn.speechStart,
      [ATTR.VAD_SPEECH_END]: turn.eou?.lastSpeakingTime ?? turn.speechEnd,
    });
    for (const vad of turn.vad) this.spans.vad(vad, turn);
    for (const stt of turn.stt) this.spans.stt(stt, turn);
    if (!turn.hasSdkEou && turn.eou) this.emitEou(turn);
    return attributes;
  }

  private emitEou(turn: UserTurn): void {
    if (!turn.eou || turn.eouEmitted) return;
    turn.eouEmitted = true;
    this.spans.eou(turn, turn.eou);
  }

  private endAgentTurn(info: OpenSpan, facts: SpanFacts, end: number): Attributes {
    const attributes: Attributes = {};
    if (facts.interrupted !== undefined) attributes[ATTR.TURN_INTERRUPTED] = facts.interrupted;
    const speech = info.speechId ? this.speeches.get(info.speechId) : undefined;
    if (!speech || facts.e2e === undefined) return attributes;
    // the reply that played audio carries the e2e latency: it owns the breakdown
    const eou = speech.eou;
    const latency = computeLatency({
      userSpeechEnd: eou?.lastSpeakingTime ?? speech.userTurn?.speechEnd,
      transcriptionDelay: eou?.transcriptionDelay,
      eouDelay: eou?.eouDelay,
      onUserTurnCompletedDelay: eou?.onUserTurnCompletedDelay,
      llmRequests: speech.llm,
      tools: speech.tools,
      ttsRequests: speech.tts,
      e2e: facts.e2e,
    });
    const sttCost = (speech.userTurn?.stt ?? []).reduce((sum, m) => sum + (this.ledger.costOfMetric(m) ?? 0), 0);
    const cost = speech.cost + sttCost;
    if (facts.interrupted) {
      this.interruptions += 1;
      // the user spoke over the agent from overlapStart until the reply stopped (the span's end)
      if (this.overlapStart !== undefined) attributes[ATTR.TURN_OVERLAP] = Math.max(0, end - this.overlapStart);
    }
    setDefined(attributes, {
      [ATTR.LATENCY_EOU_DELAY]: latency.eouDelay,
      [ATTR.LATENCY_TRANSCRIPTION_DELAY]: latency.transcriptionDelay,
      [ATTR.LATENCY_ON_USER_TURN_COMPLETED]: latency.onUserTurnCompletedDelay,
      [ATTR.LATENCY_LLM_TTFT]: latency.llmTtft,
      [ATTR.LATENCY_TTS_TTFB]: latency.ttsTtfb,
      [ATTR.LATENCY_TOTAL]: latency.total,
      [ATTR.LATENCY_E2E]: latency.e2e,
      [ATTR.TURN_COST]: cost,
    });
    if (latency.wait.length) {
      attributes[ATTR.WAIT_BREAKDOWN] = JSON.stringify(latency.wait);
      for (const slice of latency.wait) attributes[`voicetrace.wait.${slice.key}`] = slice.seconds;
    } else if (eou === undefined && speech.turnIndex > 0) {
      attributes[ATTR.DATA_INCOMPLETE] = true;
    }
    // the reply has played: nothing else will be placed on this speech
    this.speeches.delete(speech.id);
    this.turns.push({ index: speech.turnIndex, speechId: speech.id, agent: this.currentAgent, interrupted: facts.interrupted ?? false, latency, cost });
    return attributes;
  }

  private sessionAttributes(): Attributes {
    const usage = this.ledger.summary();
    const attributes: Attributes = {
      [ATTR.SESSION_TURNS]: this.turnIndex,
      [ATTR.SESSION_AGENT_TURNS]: this.turns.length,
      [ATTR.SESSION_INTERRUPTIONS]: this.interruptions,
      [ATTR.SESSION_USAGE]: JSON.stringify(usage),
      [ATTR.SESSION_COST]: this.ledger.totalCost(),
      [ATTR.SESSION_LLM_INPUT_TOKENS]: sum(usage, (u) => (u.type === 'llm_usage' ? u.inputTokens : 0)),
      [ATTR.SESSION_LLM_OUTPUT_TOKENS]: sum(usage, (u) => (u.type === 'llm_usage' ? u.outputTokens : 0)),
      [ATTR.SESSION_TTS_CHARACTERS]: sum(usage, (u) => (u.type === 'tts_usage' ? u.charactersCount : 0)),
      [ATTR.SESSION_STT_AUDIO_DURATION]: sum(usage, (u) => (u.type === 'stt_usage' ? u.audioDuration : 0)),
      [ATTR.SESSION_DROPS]: this.counters.total(),
      ...this.options.sessionAttributes,
    };
    if (this.options.allowPii && this.options.userId) attributes[ATTR.USER_ID] = this.options.userId;
    const pick: Record<(typeof SESSION_LATENCY_METRICS)[number], (l: LatencyBreakdown) => number | undefined> = {
      e2e: (l) => l.e2e,
      eou_delay: (l) => l.eouDelay,
      transcription_delay: (l) => l.transcriptionDelay,
      llm_ttft: (l) => l.llmTtft,
      tts_ttfb: (l) => l.ttsTtfb,
      total: (l) => l.total,
    };
    for (const metric of SESSION_LATENCY_METRICS) {
      const values = this.turns.map((t) => pick[metric](t.latency)).filter((v): v is number => v !== undefined);
      setDefined(attributes, {
        [sessionLatencyKey(metric, 'p50')]: quantile(values, 0.5),
        [sessionLatencyKey(metric, 'p95')]: quantile(values, 0.95),
      });
    }
    return attributes;
  }

  // ---- helpers ---------------------------------------------------------------------------

  private startUserTurn(context: SpanContext, start: number): void {
    this.turnIndex += 1;
    this.userTurns.push({ index: this.turnIndex, context, start, stt: [], vad: [], hasSdkEou: false });
    // only recent turns can still receive late metrics: keep memory flat on long calls
    if (this.userTurns.length > RECENT_TURNS) this.userTurns.shift();
  }

  private startSpeech(id: string): Speech {
    const speech: Speech = { id, turnIndex: this.turnIndex, userTurn: this.latestUserTurn(), llm: [], tools: [], tts: [], cost: 0 };
    this.speeches.set(id, speech);
    return speech;
  }

  /** The SDK may set the speech id after a span started: look it up on the span and its ancestors. */
  private resolveSpeechId(info: OpenSpan): string | undefined {
    let current: OpenSpan | undefined = info;
    while (current) {
      // remember it on the span, so its other descendants do not read its attributes again
      current.speechId ??= this.options.facts.atStart({ name: current.name, scope: scopeOf(current.span), attributes: attributesOf(current.span) }).speechId;
      if (current.speechId) return current.speechId;
      current = current.parentId ? this.open.get(current.parentId) : undefined;
    }
    return undefined;
  }

  private latestUserTurn(): UserTurn | undefined {
    return this.userTurns[this.userTurns.length - 1];
  }

  private activeAgentTurnContext(): SpanContext | undefined {
    let latest: OpenSpan | undefined;
    for (const info of this.open.values()) if (info.stage === 'agent_turn' && (!latest || info.start >= latest.start)) latest = info;
    return latest?.span.spanContext();
  }
}

function scopeOf(span: Span): string {
  return (span as { instrumentationScope?: { name: string } }).instrumentationScope?.name ?? '';
}

function attributesOf(span: Span): Attributes {
  return (span as { attributes?: Attributes }).attributes ?? {};
}

function sum<T>(items: readonly T[], pick: (item: T) => number): number {
  return items.reduce((total, item) => total + pick(item), 0);
}
