import type { Attributes, Span, SpanContext, Tracer } from '@opentelemetry/api';
import { ATTR, ATTRIBUTE_SPECS, VOICETRACE_SCOPE, type Stage, type SignalThresholds } from '@voicetrace/conventions';
import { DropCounters } from './counters.js';
import type { ModelRef, RealtimeMetric, SttMetric, StageMetric, VoiceEvent } from './events.js';
import { SessionModel } from './model/session-model.js';
import type { LogRecord, ReplyRecord, SessionModelObserver, SessionSnapshot, TurnRecord } from './model/types.js';
import { PriceBook } from './prices.js';
import type { SpanFacts, SpanFactsReader } from './span-facts.js';
import { StageSpans } from './stage-spans.js';
import { fromHrTime } from './time.js';
import { UsageLedger, type ModelUsage, type UsageDisagreement } from './usage.js';
import { RecentSpans } from './recent-spans.js';
import {
  agentTurnSpanAttributes,
  defined,
  eouAttributes,
  llmSpanAttributes,
  qualityAttributes,
  sessionSpanAttributes,
  ttsSpanAttributes,
  userTurnSpanAttributes,
} from './views/span-attributes.js';
import { LateFactHold } from './views/late-fact-hold.js';
import { StageSpanView } from './views/stage-span-view.js';

/** Options of one instrumented session. */
export interface SessionEngineOptions {
  sessionId: string;
  environment?: string | undefined;
  /** Participant identity (exported as user.id only when PII is allowed). */
  userId?: string | undefined;
  allowPii: boolean;
  prices?: PriceBook | undefined;
  /** Creates the spans of stages the SDK does not trace. */
  tracer: Tracer;
  facts: SpanFactsReader;
  counters?: DropCounters | undefined;
  /** Extra attributes for the session span (room, job ...). */
  sessionAttributes?: Attributes | undefined;
  /** Turns kept in full in the session model (default 500); older ones are folded into statistics. */
  maxTurns?: number | undefined;
  /** Thresholds of the quality signals (DEFAULT_SIGNAL_THRESHOLDS of @voicetrace/conventions where unset). */
  signalThresholds?: Partial<SignalThresholds> | undefined;
  /**
   * A realtime (speech-to-speech) session from the start (the binding knows the session's model):
   * user turns come from the user's speech. Detected anyway at the first realtime response.
   * `serverSilence`: the model's end-of-speech silence window in seconds, when known.
   */
  realtime?: { serverSilence?: number | undefined } | undefined;
  /** How long a finished span may wait for a fact that comes late (a realtime transcript), in ms (default 5000). */
  lateFactsMs?: number | undefined;
  /** The call's recording, when one is being made: turn spans then carry their offset into it. */
  recording?: (() => RecordingInfo | undefined) | undefined;
  /**
   * The stages the session runs in the agent: with a VAD every user turn gets a VAD span (the SDK
   * reports VAD metrics only every ~31 speech starts); with an STT an agent turn waits (up to
   * `lateFactsMs`) for the STT usage of its user turn, which periodic reporters send late.
   */
  stages?: { vad?: boolean | undefined; stt?: ModelRef | undefined } | undefined;
  /**
   * The SDK's own usage (its `session.usage`, in voicetrace's units), read once when the session
   * ends: voicetrace's usage is checked against it and each disagreement named (see `UsageLedger.compare`).
   */
  sdkUsage?: (() => readonly ModelUsage[] | undefined) | undefined;
}

/** Where the call's audio recording is, and when it started (epoch seconds). */
export interface RecordingInfo {
  path?: string | undefined;
  startedAt?: number | undefined;
  /** Where a turn's clip will be once cut and uploaded (a fixed key): written on its turn spans. */
  clipUrl?: ((turn: number, side: 'user' | 'agent') => string | undefined) | undefined;
}

/** A span of this session that has started and not ended yet. */
interface OpenSpan {
  span: Span;
  name: string;
  stage?: Stage;
  start: number;
  speechId?: string;
  /** `speechId` is a stand-in (the agent turn's span id) until the SDK names the speech. */
  provisional?: boolean;
  turnIndex: number;
  parentId?: string;
  ttsDescendant?: boolean;
  /** The SDK's user_speaking span: its start and end are the user's speech anchors. */
  userSpeaking?: boolean;
}

type LiveSpan = Span & { name?: string; parentSpanContext?: SpanContext; instrumentationScope?: { name: string }; attributes?: Attributes; startTime?: [number, number]; endTime?: [number, number] };

/** Stages whose spans are GenAI operations (invoke_workflow, invoke_agent, chat, execute_tool, speech): they carry `gen_ai.conversation.id`, as its spec says. */
const GENAI_STAGES: ReadonlySet<Stage | 'all'> = new Set(ATTRIBUTE_SPECS.find((spec) => spec.key === ATTR.CONVERSATION_ID)?.stages ?? []);

/**
 * Recently started spans whose turn is remembered (for the log lines written in them, and the speech
 * of ended parents): some five turns' worth. A line written later in an older span's context finds its
 * session by trace and lands on the turn in progress. 64 slots of {@link RecentSpans} hold about
 * 2 KiB per call (half of it the ids, as numbers), where maps of 512 took up to 57 KiB in a long call.
 */
const RECENT_SPANS = 64;

/**
 * Inputs remembered to tell a duplicate: the same event object recorded again, right after (the
 * LiveKit observer makes a new object per SDK event, so only a caller of `record` can pass one
 * twice). Each kept input pins its metric objects: 32 held 4.4 KiB per call.
 */
const RECENT_EVENTS = 4;

/** How long an STT report waits for the speech it may have caught the start of (ms): a VAD recognises speech within a few hundred ms. */
const STT_SPLIT_GRACE_MS = 1_000;

/**
 * Turns one voice session's SDK spans and events into the session model: fills the
 * {@link SessionModel} from events and span facts, stamps identity on every span and writes each
 * stage's attributes (read from the model) while the span ends. The views follow the model: the
 * spans of stages the SDK does not trace come from the {@link StageSpanView}, and the SDK's ended
 * spans that wait for a later fact are held by the {@link LateFactHold}; the engine tells each only
 * about the SDK's spans (their parents, what an ended span lacks). Never throws: a bad input is
 * dropped or corrected and counted.
 */
export class SessionEngine {
  readonly counters: DropCounters;
  readonly ledger: UsageLedger;
  /** The session model every view reads. */
  readonly model: SessionModel;
  private readonly open = new Map<string, OpenSpan>();
  /** Realtime metrics by response id, until the SDK's realtime_inference span for them ends. */
  /** Made at the first such report: an empty map's table is 0.15 KiB a call, and most calls never need it. */
  private untracedRealtime: Map<string, RealtimeMetric> | undefined;
  /** STT reports waiting for the speech around them to be known (see placeStt). */
  private readonly pendingStt: SttMetric[] = [];
  private sttTimer: NodeJS.Timeout | undefined;
  /** voicetrace's usage checked against the SDK's, once the session ended. */
  private usageCheck: UsageDisagreement[] | undefined;
  /** The SDK traces the user's speech (user_speaking spans): its anchors win over the state events. */
  private speechFromSpans = false;
  /** The live agent_turn span of each recent reply, the parent of its interruption spans. */
  private readonly replyContexts = new Map<string, SpanContext>();
  /**
   * The turn of recently started spans, so a log line written in a span finds its turn, and the
   * speech of recently ended ones, for their children that end after them.
   */
  private readonly recentSpans = new RecentSpans(RECENT_SPANS);
  /**
   * The newest inputs, to tell one recorded twice (two listeners of one event): a short ring, not a
   * WeakSet of every input, whose entries the garbage collector must trace for the whole call.
   */
  private readonly recentEvents: object[] = new Array(RECENT_EVENTS);
  private recentEventsNext = 0;
  private sessionContext: SpanContext | undefined;
  private closed = false;
  /** The spans of the stages the SDK does not trace: an observer of the model. */
  private readonly stageSpans: StageSpanView;
  /** The SDK's ended spans that wait for a fact to come (realtime words, a turn's late STT usage): an observer of the model. */
  private readonly heldSpans: LateFactHold;
  /** The trace id a span is exported under (the processor's trace layout may move it). */
  private exportedTraceId: (span: SpanContext) => string | undefined = () => undefined;

  constructor(private readonly options: SessionEngineOptions) {
    this.counters = options.counters ?? new DropCounters();
    this.ledger = new UsageLedger(options.prices ?? new PriceBook(), this.counters);
    this.model = new SessionModel({ sessionId: options.sessionId, ledger: this.ledger, counters: this.counters, maxTurns: options.maxTurns, signalThresholds: options.signalThresholds });
    this.stageSpans = new StageSpanView({
      model: this.model,
      spans: new StageSpans({ tracer: options.tracer, counters: this.counters, allowPii: options.allowPii, sessionContext: () => this.sessionContext }),
      counters: this.counters,
      sdkSpans: { activeAgentTurn: () => this.activeAgentTurnContext(), replyContext: (speechId) => this.replyContexts.get(speechId) },
      stages: options.stages,
      costOf: (metric) => this.ledger.costOfMetric(metric),
      onSttSettled: (turn) => this.heldSpans.sttSettled(turn),
    });
    this.heldSpans = new LateFactHold({ model: this.model, allowPii: options.allowPii === true });
    this.model.subscribe(this.stageSpans);
    this.model.subscribe(this.heldSpans);
    if (options.realtime) this.model.useEventTurns(options.realtime.serverSilence);
  }

  get sessionId(): string {
    return this.options.sessionId;
  }

  /**
   * Tells the engine who exports spans it held for a late fact: `release` gets their ids and the
   * attributes the fact adds (the processor's hold, see {@link SessionEngine.holds}).
   */
  onLateFacts(release: (spanIds: readonly string[], attributes: Attributes) => void): void {
    this.heldSpans.onRelease(release);
  }

  /** Whether the processor should hold this ended span for a fact still to come. */
  holds(spanId: string): boolean {
    return this.heldSpans.holds(spanId);
  }

  /** A held span waited long enough: stop waiting; returns what it gathered meanwhile. */
  expireHeld(spanId: string): Attributes {
    return this.heldSpans.expire(spanId);
  }

  /** How long a held span waits before it is exported without the fact (ms). */
  get lateFactsMs(): number {
    return this.options.lateFactsMs ?? 5_000;
  }

  /** Tells the engine where spans are exported (the processor's trace layout). */
  locateTraces(exportedTraceId: (span: SpanContext) => string | undefined): void {
    this.exportedTraceId = exportedTraceId;
  }

  /** The live session span's context (to parent spans voicetrace adds after the call). */
  liveSessionContext(): SpanContext | undefined {
    return this.sessionContext;
  }

  /** The session span as exported, once it started. */
  sessionSpan(): { traceId: string; spanId: string } | undefined {
    return this.sessionContext ? this.spanRef(this.sessionContext) : undefined;
  }

  /** The turn a span of this session belongs to, if it started recently. */
  turnOfSpan(spanId: string): number | undefined {
    return this.recentSpans.turnOf(spanId);
  }

  /** A warning or error the agent logged (in `spanId`'s turn when known). Never throws. */
  recordLog(record: LogRecord): void {
    try {
      this.model.addLog(record, record.spanId ? this.turnOfSpan(record.spanId) : undefined);
    } catch (error) {
      this.counters.count('internal_error', String(error));
    }
  }

  /** Adds a view (metrics, logs) that follows the session model. */
  observe(observer: SessionModelObserver): void {
    this.model.subscribe(observer);
  }

  /** Records one normalized input. Never throws. */
  record(event: VoiceEvent): void {
    try {
      if (!event || typeof event !== 'object' || typeof event.kind !== 'string' || !Number.isFinite(event.at)) {
        return this.counters.count('malformed_event');
      }
      // the SDK's close event follows the session span's end on every healthy call: not a drop
      if (this.closed) return event.kind === 'close' ? undefined : this.counters.count('after_shutdown', event.kind);
      if (this.recentEvents.includes(event)) return this.counters.count('duplicate_event', event.kind);
      this.recentEvents[this.recentEventsNext] = event;
      this.recentEventsNext = (this.recentEventsNext + 1) % RECENT_EVENTS;
      this.dispatch(event);
    } catch (error) {
      this.counters.count('internal_error', String(error));
    }
  }

  /** Stops accepting inputs (after the session span ended or at shutdown). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.splitPendingStt();
    this.checkUsage();
    // the stage span view settles each turn's STT as it is (a plugin may never report its last window)
    this.model.endSession(Date.now() / 1000);
    for (const metric of this.untracedRealtime?.values() ?? []) this.emitUntracedRealtime(metric);
    this.untracedRealtime = undefined;
    // nothing more will come: export what waited, with what it got
    this.heldSpans.releaseAll();
  }

  /** Spans of this session that started and have not ended yet, oldest first. */
  openSpans(): Span[] {
    return [...this.open.values()].map((info) => info.span);
  }

  /** The session model now: turns, replies, latency, usage and cost. */
  summary(): SessionSnapshot {
    return this.model.snapshot();
  }

  // ---- span hooks (called by the processor) ----------------------------------------------

  /** A span of this session started: stamp identity and stage, track its turn. */
  onSpanStart(span: LiveSpan): void {
    try {
      const name = span.name ?? '';
      const scope = span.instrumentationScope?.name ?? '';
      const context = span.spanContext();
      const parent = span.parentSpanContext ? this.open.get(span.parentSpanContext.spanId) : undefined;
      const facts = scope === VOICETRACE_SCOPE ? {} : this.options.facts.atStart({ name, scope, attributes: span.attributes ?? {} });
      const stage = facts.stage;
      const start = span.startTime ? fromHrTime(span.startTime) : Date.now() / 1000;
      if (facts.agentName && stage === 'agent_turn') this.model.currentAgent = facts.agentName;
      if (stage === 'session') {
        this.sessionContext ??= context;
        this.model.beginSession(start);
      }
      if (stage === 'realtime' && !this.model.realtime) this.model.useEventTurns(this.options.realtime?.serverSilence);
      if (stage === 'agent_turn') this.model.noteReplyBegan(start);
      // a realtime agent with a VAD of its own: the SDK's user turn span runs the whole call, the
      // user's speech makes the turns (see SessionModel.useEventTurns)
      if (stage === 'user_turn' && !this.model.realtime) this.beginUserTurn(context, start);
      if (facts.userSpeaking) {
        this.speechFromSpans = true;
        this.model.noteUserSpeech(true, start);
        // the speech around the STT reports that waited is known now
        if (this.pendingStt.length) this.splitPendingStt();
      }
      let speechId = facts.speechId ?? parent?.speechId;
      // a realtime turn span names its speech only later: open the reply now, under its span id
      let provisional = !facts.speechId && parent?.provisional === true;
      if (stage === 'agent_turn' && !speechId && this.model.realtime) {
        speechId = `turn:${context.spanId}`;
        provisional = true;
      }
      if (stage === 'agent_turn' && speechId) {
        this.model.reply(speechId, start, facts.agentName);
        this.rememberReplyContext(speechId, context);
      }
      const turnIndex = speechId
        ? (this.model.openReply(speechId)?.turnIndex ?? this.model.turnIndex)
        : stage === 'agent_turn' || stage === 'user_turn' ? this.model.turnIndex : (parent?.turnIndex ?? this.model.turnIndex);
      this.open.set(context.spanId, { span, name, stage, start, speechId, provisional, turnIndex, parentId: span.parentSpanContext?.spanId, userSpeaking: facts.userSpeaking });
      this.recentSpans.noteTurn(context.spanId, turnIndex);
      span.setAttributes(this.identity(span, stage, turnIndex));
    } catch (error) {
      this.counters.count('internal_error', String(error));
    }
  }

  /**
   * The SDK attributes of an ended span that it also carries in voicetrace's form (see
   * `SpanFactsReader.sentTwice`): the processor leaves them out of the exported copy. Never throws.
   */
  sentTwice(span: { name: string; attributes: Attributes; instrumentationScope: { name: string } }): readonly string[] | undefined {
    try {
      return this.options.facts.sentTwice?.({ name: span.name, scope: span.instrumentationScope.name, attributes: span.attributes });
    } catch (error) {
      this.counters.count('internal_error', String(error));
      return undefined;
    }
  }

  /** A span of this session is ending (still writable): add its stage attributes from the model. */
  onSpanEnding(span: LiveSpan): void {
    try {
      const id = span.spanContext().spanId;
      const info = this.open.get(id);
      this.open.delete(id);
      if (!info || span.instrumentationScope?.name === VOICETRACE_SCOPE) return;
      const end = span.endTime ? fromHrTime(span.endTime) : Date.now() / 1000;
      if (info.userSpeaking) return this.model.noteUserSpeech(false, end);
      info.speechId = this.resolveSpeechId(info);
      // a child may end after its parent (the SDK's tts_request outlives its tts_node): it asks here
      if (info.speechId) this.rememberEndedSpeech(id, info.speechId);
      const facts = this.options.facts.atEnd({ name: info.name, scope: span.instrumentationScope?.name ?? '', attributes: span.attributes ?? {} });
      // plumbing spans (no stage) get nothing: no attribute objects made for them
      if (info.stage) span.setAttributes(this.stageAttributes(info, facts, end));
      if (facts.model) span.setAttributes({ [ATTR.PROVIDER_NAME]: facts.model.provider, [ATTR.REQUEST_MODEL]: facts.model.model });
      const quality = facts.metric?.quality;
      if (quality && (quality.implausible.length || quality.truncated.length)) span.setAttributes(qualityAttributes(quality));
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
        // on the open user turn, whose VAD span goes out when it ends; else a span of its own (the stage span view's)
        return void this.model.addVad(event);
      case 'eou':
        return this.placeEou(event);
      case 'user_speech':
        // the SDK's user_speaking span carries the same change, anchored where the user spoke
        return this.speechFromSpans ? undefined : this.model.noteUserSpeech(event.speaking, event.at);
      case 'agent_state':
        return this.model.noteAgentSpeaking(event.state === 'speaking', event.at);
      case 'playout':
        return this.model.notePlayout(event.startedAt, event.offset, event.duration);
      case 'transcript':
        return void this.model.noteTranscript(event.final, event.text, event.at);
      case 'message':
        if (event.role === 'assistant') this.model.noteAssistantText(event.text);
        else if (event.role === 'user' && event.confidence !== undefined) this.model.noteUserConfidence(event.confidence);
        return;
      case 'tools':
        return this.model.noteToolCalls(event.calls);
      case 'handoff':
        return void this.model.addHandoff(event.at, event.fromAgent, event.toAgent);
      case 'error':
        return this.model.addError(event.at, event.source, event.message, event.recoverable, event.type);
      default:
        return;
    }
  }

  private placeMetric(metric: StageMetric, counted: boolean): void {
    this.model.addUsage(metric, counted);
    switch (metric.kind) {
      case 'stt':
        return this.placeStt(metric);
      case 'interruption':
        return this.model.addInterruptionMetric(metric);
      case 'realtime':
        // the SDK's realtime_inference span carries this response: enriched there, unless it never comes
        if (metric.requestId) (this.untracedRealtime ??= new Map()).set(metric.requestId, metric);
        else this.emitUntracedRealtime(metric);
        return;
      default:
        return;
    }
  }

  /**
   * An STT usage report: split over the turns whose speech it measured, once that speech is known.
   * A periodic reporter's report often lands on the first sound of the next utterance, which the
   * VAD recognises (and the SDK backdates) only a moment later: a report waits for the next speech
   * start or {@link STT_SPLIT_GRACE_MS}, whichever comes first.
   */
  private placeStt(metric: SttMetric): void {
    this.pendingStt.push(metric);
    if (!this.sttTimer) {
      this.sttTimer = setTimeout(() => this.splitPendingStt(), STT_SPLIT_GRACE_MS);
      this.sttTimer.unref?.();
    }
  }

  /** Splits the STT reports that waited (at a speech start, after the grace, or at close). Never throws. */
  private splitPendingStt(): void {
    try {
      if (this.sttTimer) clearTimeout(this.sttTimer);
      this.sttTimer = undefined;
      // the model splits each over the turns it measured; the stage span view places the STT spans of those it completed
      for (const metric of this.pendingStt.splice(0)) this.model.addSttReport(metric);
    } catch (error) {
      this.counters.count('internal_error', String(error));
    }
  }

  private placeEou(metric: Parameters<SessionModel['setEou']>[0]): void {
    if (!this.model.setEou(metric)) this.counters.count('unplaced_event', 'eou');
  }

  // ---- stage attributes ------------------------------------------------------------------

  private stageAttributes(info: OpenSpan, facts: SpanFacts, end: number): Attributes {
    const metric = facts.metric;
    switch (info.stage) {
      case 'llm':
        if (metric?.kind !== 'llm') return {};
        return llmSpanAttributes(this.model.addLlmStep(info.speechId, { metric, spanStart: info.start, spanEnd: end, speakable: facts.speakable ?? true }));
      case 'tts': {
        this.markTtsAncestors(info);
        if (metric?.kind !== 'tts') return {};
        return ttsSpanAttributes(this.model.addTtsStep(info.speechId, { metric, spanStart: info.start, spanEnd: end, duplicate: info.ttsDescendant === true || metric.streamAdapterReport === true }));
      }
      case 'realtime':
        return this.endRealtimeResponse(info, facts);
      case 'tool':
        this.model.addToolStep(info.speechId, { name: facts.toolName, start: info.start, end, isError: facts.toolError === true, arguments: facts.toolArguments });
        return facts.toolError ? { 'error.type': 'tool_error' } : {};
      case 'eou': {
        const turn = this.model.latestUserTurn();
        if (turn) this.stageSpans.sdkEouSpan(turn.index);
        return turn?.user?.eou ? eouAttributes(turn.user.eou) : {};
      }
      case 'user_turn': {
        if (this.model.realtime) return {};
        const attributes = this.endUserTurn(facts, end);
        const turn = this.model.latestUserTurn();
        return { ...attributes, ...this.recordingOffset(turn?.user?.speechStart, turn?.index, 'user') };
      }
      case 'agent_turn': {
        const attributes = this.endAgentTurn(info, facts, end);
        const reply = this.model.lastCompletedReply();
        return attributes[ATTR.LATENCY_E2E] !== undefined ? { ...attributes, ...this.recordingOffset(reply?.firstAudioAt, reply?.turnIndex, 'agent') } : attributes;
      }
      case 'session': {
        const recording = this.recordingInfo();
        const check = this.checkUsage();
        const attributes: Attributes = {
          ...sessionSpanAttributes(this.model.totals()),
          ...(check.length ? { [ATTR.SESSION_USAGE_CHECK]: JSON.stringify(check) } : {}),
          ...defined({ [ATTR.RECORDING_PATH]: recording?.path, [ATTR.RECORDING_STARTED_AT]: recording?.startedAt }),
          ...this.options.sessionAttributes,
        };
        if (this.options.allowPii && this.options.userId) attributes[ATTR.USER_ID] = this.options.userId;
        return attributes;
      }
      default:
        return {};
    }
  }

  /** voicetrace's usage against the SDK's, once (at the session span's end, else at close). */
  private checkUsage(): UsageDisagreement[] {
    if (this.usageCheck) return this.usageCheck;
    let sdk: readonly ModelUsage[] | undefined;
    try {
      sdk = this.options.sdkUsage?.();
    } catch (error) {
      this.counters.count('internal_error', `sdk usage: ${String(error)}`);
    }
    this.usageCheck = sdk ? this.ledger.compare(sdk) : [];
    for (const d of this.usageCheck) if (d.cause === 'unexplained') this.counters.count('usage_disagreement', `${d.type} ${d.provider}/${d.model} ${d.figure}: voicetrace ${d.voicetrace}, SDK ${d.sdk}`);
    this.model.usageCheck = this.usageCheck;
    return this.usageCheck;
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
    // the stage span view emits the turn's VAD, STT and EOU spans as the model completes it
    const turn = this.model.endUserTurn(end, { transcriptionDelay: facts.transcriptionDelay, endOfTurnDelay: facts.endOfTurnDelay });
    return turn?.user ? userTurnSpanAttributes(turn.user) : {};
  }

  private endAgentTurn(info: OpenSpan, facts: SpanFacts, end: number): Attributes {
    const attributes: Attributes = {};
    if (facts.interrupted !== undefined) attributes[ATTR.TURN_INTERRUPTED] = facts.interrupted;
    const reply: ReplyRecord | undefined = this.model.endAgentTurn(info.speechId, end, { e2e: facts.e2e, interrupted: facts.interrupted }, this.spanRef(info.span.spanContext()));
    // a realtime turn span does not say it was cut off; its cancelled response does
    if (reply?.interrupted) attributes[ATTR.TURN_INTERRUPTED] = true;
    // the reply that played audio carries the e2e latency (the SDK's, or ours for a realtime reply): it owns the breakdown
    const ended = reply?.complete === true && reply.span?.spanId === info.span.spanContext().spanId;
    const played = ended && reply?.latency !== undefined;
    const turn = reply ? this.model.turn(reply.turnIndex) : undefined;
    if (ended) Object.assign(attributes, agentTurnSpanAttributes(reply!, turn ? this.model.turnCost(turn) : reply!.cost, turn?.user, turn?.signals));
    if (reply) this.heldSpans.hold(info.span.spanContext().spanId, reply, { transcript: !attributes[ATTR.PII_USER_TRANSCRIPT], text: false, stt: played === true && this.awaitsStt(turn) });
    // every agent turn reads whole: the user's words in, the reply (or, for a tool step, its calls) out
    if (this.options.allowPii && reply) Object.assign(attributes, this.turnContent(reply, facts.e2e === undefined && !reply.complete, facts));
    return attributes;
  }

  /** The turn's words, unless the SDK wrote the same words on the span already (sent once). */
  private turnContent(reply: ReplyRecord, toolStep: boolean, facts: SpanFacts): Attributes {
    const content: Attributes = {};
    const transcript = this.model.turn(reply.turnIndex)?.user?.transcript;
    if (transcript && transcript !== facts.userText) content[ATTR.PII_USER_TRANSCRIPT] = transcript;
    if (reply.text && reply.text !== facts.responseText) content[ATTR.PII_RESPONSE_TEXT] = reply.text;
    if (toolStep && reply.tools.length) {
      content[ATTR.PII_TOOL_CALLS] = JSON.stringify(reply.tools.map((t) => ({ name: t.name, arguments: parseJson(t.arguments) })));
    }
    return content;
  }

  // ---- helpers ---------------------------------------------------------------------------

  private identity(span: LiveSpan, stage: Stage | undefined, turnIndex: number): Attributes {
    const identity: Attributes = { [ATTR.SESSION_ID]: this.options.sessionId };
    // the same id under the GenAI name, for GenAI-aware backends: on the GenAI operations' spans only
    const genAiStage = stage ?? (span.attributes?.[ATTR.STAGE] as Stage | undefined);
    if (GENAI_STAGES.has('all') || (genAiStage && GENAI_STAGES.has(genAiStage))) identity[ATTR.CONVERSATION_ID] = this.options.sessionId;
    if (this.options.environment) identity[ATTR.ENVIRONMENT] = this.options.environment;
    const agent = this.model.currentAgent;
    if (agent && !span.attributes?.[ATTR.AGENT_NAME]) identity[ATTR.AGENT_NAME] = agent;
    // on every span, so per-turn traces are attributed to the caller too (PII: only when allowed)
    if (this.options.allowPii && this.options.userId) identity[ATTR.USER_ID] = this.options.userId;
    if (stage) identity[ATTR.STAGE] = stage;
    if (stage && stage !== 'session') identity[ATTR.TURN_INDEX] = turnIndex;
    return identity;
  }

  private beginUserTurn(context: SpanContext, start: number): void {
    this.stageSpans.userTurnSpan(this.model.beginUserTurn(start, this.spanRef(context)), context);
  }

  private recordingInfo(): RecordingInfo | undefined {
    try {
      return this.options.recording?.();
    } catch {
      return undefined;
    }
  }

  /** Seconds into the recording of `at`, and the turn's clip URL when clips are uploaded, as attributes (none without a recording). */
  private recordingOffset(at: number | undefined, turn: number | undefined, side: 'user' | 'agent'): Attributes {
    const recording = this.recordingInfo();
    const startedAt = recording?.startedAt;
    if (at === undefined || startedAt === undefined) return {};
    let url: string | undefined;
    try {
      url = turn !== undefined ? recording?.clipUrl?.(turn, side) : undefined;
    } catch {
      url = undefined; // a link is never worth an exception into the agent
    }
    return { [ATTR.RECORDING_OFFSET]: Math.max(0, at - startedAt), ...(url ? { [ATTR.CLIP_URL]: url } : {}) };
  }

  /** The SDK's realtime_inference span ended: its response (metrics on the span) joins the reply; enrich the span. */
  private endRealtimeResponse(info: OpenSpan, facts: SpanFacts): Attributes {
    const metric = facts.metric;
    if (metric?.kind !== 'realtime') return {};
    if (metric.requestId) this.untracedRealtime?.delete(metric.requestId);
    const { step, reply } = this.model.addRealtime(metric, info.speechId);
    const attributes: Attributes = defined({
      // the SDK writes the model's own names, `unknown` for plugins that have none: the metric's, as everywhere
      [ATTR.PROVIDER_NAME]: metric.provider,
      [ATTR.REQUEST_MODEL]: metric.model,
      [ATTR.COST]: step.cost,
      [ATTR.DURATION]: metric.duration,
      [ATTR.CANCELLED]: metric.cancelled,
      [ATTR.REALTIME_SESSION_DURATION]: metric.sessionDuration,
      [ATTR.LLM_TOKENS_PER_SECOND]: metric.tokensPerSecond,
    });
    if (reply && this.options.allowPii) {
      const transcript = this.model.turn(reply.turnIndex)?.user?.transcript;
      if (transcript) attributes[ATTR.PII_USER_TRANSCRIPT] = transcript;
      const text = reply.text ?? facts.responseText;
      if (text) attributes[ATTR.PII_RESPONSE_TEXT] = text;
    }
    // a response that only called tools says nothing: there is no text to wait for
    const spoke = metric.ttft !== undefined && metric.outputAudioTokens > 0;
    if (reply) this.heldSpans.hold(info.span.spanContext().spanId, reply, { transcript: !attributes[ATTR.PII_USER_TRANSCRIPT], text: spoke && !attributes[ATTR.PII_RESPONSE_TEXT] });
    return attributes;
  }

  /** A realtime response no SDK span carried (older SDKs, a report at close): a span of our own. */
  private emitUntracedRealtime(metric: RealtimeMetric): void {
    const { step, reply } = this.model.addRealtime(metric);
    this.stageSpans.untracedRealtime(step, reply);
  }

  /** The turn's cost still lacks STT usage its provider has yet to report (a periodic reporter). */
  private awaitsStt(turn: TurnRecord | undefined): boolean {
    if (!turn?.user || !this.options.stages?.stt || this.model.realtime) return false;
    return this.stageSpans.sttPending(turn.index);
  }

  private rememberReplyContext(speechId: string, context: SpanContext): void {
    this.replyContexts.set(speechId, context);
    if (this.replyContexts.size > 32) this.replyContexts.delete(this.replyContexts.keys().next().value as string);
  }

  private spanRef(context: SpanContext): { traceId: string; spanId: string } {
    return { traceId: this.exportedTraceId(context) ?? context.traceId, spanId: context.spanId };
  }

  /** The SDK may set the speech id after a span started: look it up on the span and its ancestors. */
  private resolveSpeechId(info: OpenSpan): string | undefined {
    let current: OpenSpan | undefined = info;
    while (current) {
      if (current.provisional) {
        // the SDK may have named the speech since: the provisional reply takes its id
        const named = this.options.facts.atStart({ name: current.name, scope: scopeOf(current.span), attributes: attributesOf(current.span) }).speechId;
        if (named && current.speechId) {
          this.model.renameReply(current.speechId, named);
          current.speechId = named;
          current.provisional = false;
        }
      }
      // remember it on the span, so its other descendants do not read its attributes again
      current.speechId ??= this.options.facts.atStart({ name: current.name, scope: scopeOf(current.span), attributes: attributesOf(current.span) }).speechId;
      if (current.speechId) {
        if (current.stage === 'agent_turn') {
          this.model.reply(current.speechId, current.start);
          this.rememberReplyContext(current.speechId, current.span.spanContext());
        }
        return current.speechId;
      }
      if (current.parentId && !this.open.has(current.parentId)) return this.recentSpans.speechOf(current.parentId);
      current = current.parentId ? this.open.get(current.parentId) : undefined;
    }
    return undefined;
  }

  private rememberEndedSpeech(spanId: string, speechId: string): void {
    this.recentSpans.noteSpeech(spanId, speechId);
  }

  private activeAgentTurnContext(): SpanContext | undefined {
    let latest: OpenSpan | undefined;
    for (const info of this.open.values()) if (info.stage === 'agent_turn' && (!latest || info.start >= latest.start)) latest = info;
    return latest?.span.spanContext();
  }
}

/** A JSON value as an object when it parses, else as given. */
function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function scopeOf(span: Span): string {
  return (span as { instrumentationScope?: { name: string } }).instrumentationScope?.name ?? '';
}

function attributesOf(span: Span): Attributes {
  return (span as { attributes?: Attributes }).attributes ?? {};
}
