import { LATENCY_STAGES, WAIT_CONTRIBUTIONS, type SignalThresholds, type WaitKey } from '@voicetrace/conventions';
import type { DropCounters } from '../counters.js';
import type { EouMetric, InterruptionMetric, RealtimeMetric, StageMetric, SttMetric, VadMetric } from '../events.js';
import { computeLatency, type LatencyBreakdown } from '../latency.js';
import type { UsageDisagreement, UsageLedger } from '../usage.js';
import { FigureValues } from './stats.js';
import { SignalDetector, type EarlierText } from './signals.js';
import { SttApportioner, fitSttStep } from './stt-usage.js';
import { PackedTurn, TurnHistory } from './turn-history.js';
import type {
  ErrorRecord,
  HandoffRecord,
  InterruptionRecord,
  LogRecord,
  LlmStep,
  RealtimeStep,
  ReplyRecord,
  SessionModelObserver,
  SessionSnapshot,
  SignalRecord,
  SpanRef,
  ToolStep,
  TtsStep,
  TurnRecord,
  UserTurnRecord,
} from './types.js';

/** Options of {@link SessionModel}. */
export interface SessionModelOptions {
  sessionId: string;
  ledger: UsageLedger;
  counters: DropCounters;
  /** Turns kept in full; older ones are folded into the statistics (default 500). */
  maxTurns?: number | undefined;
  /** Thresholds of the quality signals (DEFAULT_SIGNAL_THRESHOLDS of @voicetrace/conventions where unset). */
  signalThresholds?: Partial<SignalThresholds> | undefined;
}

/**
 * Two anchors of the end of speech this close are one instant the SDK read twice (seconds): it calls
 * Date.now() before and after running its end-of-speech listeners (ours included), so under load the
 * two reads of one instant drift apart by several milliseconds (7.6 ms seen on a loaded 2-core CI run).
 */
const SAME_INSTANT_S = 0.02;

/** A reply stopped this close to the end of the call, with nobody speaking over it, was stopped by the end (seconds). */
const CALL_END_WINDOW_S = 2;

/** A played stretch that starts this close to where the previous one ended continues it (seconds; ms rounding of the output's report). */
const PLAYOUT_CONTIGUOUS_S = 0.005;

/** Beyond this, the SDK's end of speech and the VAD's are not the same speech: no restating (seconds). */
const MAX_ANCHOR_SHIFT_S = 10;

/** The user's delays of one turn, in seconds from their end of speech (see {@link SessionModel.userDelays}). */
export interface UserDelays {
  /** When the user stopped speaking, as the SDK's VAD anchored it (epoch seconds). */
  speechEnd?: number;
  /** How much later the SDK's own end of speech was (negative: earlier; 0 when they agree). */
  anchorShift: number;
  transcriptionDelay?: number;
  eouDelay?: number;
}

/** How long after the agent stopped a barge-in is still attributed to the overlap that stopped it. */
const BARGE_IN_WINDOW_S = 5;

/**
 * Turns searched for a reply that closed before its last metrics came, kept live (older settled
 * turns are packed). 3: a reply's late metrics come within seconds; 4 held 1.5 KiB more a call, 2
 * more again (the last reply and its turn stay live anyway, and a turn reached back to is unpacked).
 */
const RECENT_REPLY_TURNS = 3;

/** The session's percentile figures: the latency stages (their indices in LATENCY_STAGES), then the wait keys. */
const WAIT_FIGURES = new Map<WaitKey, number>(WAIT_CONTRIBUTIONS.map(({ key }, i) => [key, LATENCY_STAGES.length + i]));
const FIGURE_COUNT = LATENCY_STAGES.length + WAIT_CONTRIBUTIONS.length;

/** Replies still open at once before the oldest is closed as incomplete (a reply the SDK never finished). */
const MAX_OPEN_REPLIES = 16;

/**
 * One voice session as data: turns (the user's speech and the agent's
 * replies with their LLM, tool and TTS steps), interruptions, handoffs,
 * usage and cost, and the latency statistics. The engine fills it; views read
 * it. It computes each figure once (a reply's breakdown when the reply
 * played) and tells observers. It knows no SDK and no span.
 */
export class SessionModel {
  readonly sessionId: string;
  /** Retained turns: the newest as objects, the settled ones packed (see packSettled). */
  private readonly turns = new TurnHistory();
  private readonly openReplies = new Map<string, ReplyRecord>();
  private readonly observers: SessionModelObserver[] = [];
  /** Every reply's latency figures, then its wait slices, by FIGURE indices: the session's percentiles. */
  private readonly figures = new FigureValues(FIGURE_COUNT);
  private readonly handoffs: HandoffRecord[] = [];
  private readonly maxTurns: number;
  private turnsDropped = 0;
  private userTurnCount = 0;
  private replyCount = 0;
  private interruptionCount = 0;
  private cancelledReplyCount = 0;
  private errorCount = 0;
  private startedAt: number | undefined;
  private endedAt: number | undefined;
  private agentSpeaking = false;
  private userSpeaking = false;
  /**
   * The newest user turn whose user-side signals were checked: a turn is checked when it is the
   * latest, so the ones before it were (or never will be).
   */
  private userCheckedThrough = -1;
  /** When the agent started speaking while the user still spoke (talk_over_agent), until the user stops. */
  private agentOverUserStart: number | undefined;
  private overlapStart: number | undefined;
  private lastReply: ReplyRecord | undefined;
  private pendingInterruptionMetric: InterruptionMetric | undefined;
  /** Provisional reply ids and the speech ids that replaced them. */
  private readonly aliases = new Map<string, string>();
  /** When the agent's recent playouts began (the SDK's agent state), for replies identified late. */
  private readonly playoutStarts: number[] = [];
  /** When the agent last stopped speaking. */
  private agentStoppedAt: number | undefined;
  /** Where the agent's last played stretch of audio ended (wall clock and offset in its segment, seconds). */
  private lastPlayout: { end: number; offsetEnd: number } | undefined;
  /** The user's latest speech: its start, and its end once they stopped. */
  private userSpeechFrom: number | undefined;
  private userSpeechTo: number | undefined;
  /** When the STT last transcribed words (interim or final). */
  private lastTranscriptAt: number | undefined;
  /** The user's latest stretch of speech while the agent was silent, until words come of it (missed speech otherwise). */
  private unheard: { start: number; end?: number; turn?: TurnRecord } | undefined;
  /** The agent in control (handoffs move it). */
  currentAgent: string | undefined;
  /** voicetrace's usage against the SDK's own, set when the session ends. */
  usageCheck: UsageDisagreement[] = [];
  /**
   * Realtime (speech-to-speech) mode: the SDK opens no user turn span for the user's turns, so a
   * turn begins when the user starts speaking and ends when the agent's reply begins.
   */
  private eventTurns = false;
  /** The server's silence window before it declares the end of speech (realtime), when known. */
  private serverSilence: number | undefined;
  /** STT usage reports, split over the turns whose speech they measured. */
  private readonly stt: SttApportioner;

  constructor(private readonly options: SessionModelOptions) {
    this.sessionId = options.sessionId;
    this.maxTurns = Math.max(4, options.maxTurns ?? 500);
    this.stt = new SttApportioner((metric) => options.ledger.costOfMetric(metric));
    this.signals = new SignalDetector(options.signalThresholds, (what) => options.counters.count('implausible_value', what));
  }

  /** The quality signals of the call (SIGNALS in @voicetrace/conventions): detected here, read by every view. */
  readonly signals: SignalDetector;

  /** Adds a view that follows the model as it fills. */
  subscribe(observer: SessionModelObserver): void {
    this.observers.push(observer);
  }

  // ---- session --------------------------------------------------------------------------

  beginSession(at: number): void {
    this.startedAt ??= at;
  }

  /** The session ended: open replies are closed as they are, observers get the final snapshot. */
  endSession(at: number): SessionSnapshot {
    if (this.endedAt === undefined) {
      this.endedAt = at;
      const last = this.latestUserTurn();
      if (this.eventTurns && last?.user) this.checkUserTurn(last);
      this.checkUnheard(at);
      this.detectAbandonment(at);
      for (const reply of [...this.openReplies.values()]) this.closeReply(reply, at);
      const unmatched = this.pendingInterruptionMetric;
      this.pendingInterruptionMetric = undefined;
      if (unmatched) this.notify((o) => o.onUnmatchedInterruptionReport?.(unmatched));
      const snapshot = this.totals();
      this.notify((o) => o.onSessionEnd?.(snapshot));
      return snapshot;
    }
    return this.totals();
  }

  get ended(): boolean {
    return this.endedAt !== undefined;
  }

  // ---- turns ----------------------------------------------------------------------------

  /** The turn with `index`, when still retained. */
  turn(index: number): TurnRecord | undefined {
    return this.turns.find(index);
  }

  /** The index of the newest user turn (0 before the first). */
  get turnIndex(): number {
    return this.userTurnCount;
  }

  /** The newest turn that has user speech. */
  latestUserTurn(): TurnRecord | undefined {
    const last = this.turns.last();
    return last?.user ? last : undefined;
  }

  /**
   * Realtime mode: user turns come from the user's speech (see {@link SessionModel.eventTurns});
   * `serverSilence` is the model's end-of-speech silence window in seconds, when known (it is part
   * of the user's wait, and the SDK reports the end of speech only once it has passed).
   */
  useEventTurns(serverSilence?: number): void {
    this.eventTurns = true;
    if (serverSilence !== undefined) this.serverSilence = serverSilence;
  }

  get realtime(): boolean {
    return this.eventTurns;
  }

  /** The SDK opened a user turn. */
  beginUserTurn(at: number, span?: SpanRef): TurnRecord {
    // a turn begun from the user's speech moments ago is this one (the span came second)
    const last = this.turns.last();
    if (span && last?.user && !last.user.span && last.user.endedAt === undefined && at - last.user.startedAt < 1) {
      last.user.span = span;
      return last;
    }
    // a realtime model transcribes the user after their turn ended: their words are known once the next turn begins
    if (this.eventTurns && last?.user) this.checkUserTurn(last);
    this.userTurnCount += 1;
    // the turn before the last is settled by now (late STT and replies land in the last one)
    const settled = this.turns.at(this.turns.length - 2);
    if (settled) fitTurnArrays(settled);
    const turn: TurnRecord = {
      index: this.userTurnCount,
      user: newUserTurn(at, span),
      cost: 0,
      otherCost: 0,
      replies: [],
      handoffs: [],
      errors: [],
      logs: [],
    };
    this.turns.push(turn);
    this.retain();
    this.packSettled();
    return turn;
  }

  /** The SDK closed the user turn; `delays` are the SDK's own figures for it (seconds). */
  endUserTurn(at: number, delays: { transcriptionDelay?: number; endOfTurnDelay?: number }): TurnRecord | undefined {
    const turn = this.latestUserTurn();
    if (!turn?.user) return undefined;
    const user = turn.user;
    user.endedAt = at;
    // the SDK closes an empty user turn when the session ends: nobody spoke, it is no turn
    if (user.speechStart === undefined && user.transcript === undefined && !user.stt.length && !user.eou && !turn.replies.length && !this.hasOpenReplyIn(turn.index)) {
      this.turns.pop();
      this.userTurnCount -= 1;
      return undefined;
    }
    this.settleDelays(user, delays);
    if (!this.eventTurns) this.checkUserTurn(turn);
    this.notify((o) => o.onUserTurnComplete?.(turn));
    return turn;
  }

  /**
   * The user started or stopped speaking, at `at`: the SDK's anchor (its user_speaking span, which
   * the SDK backdates past the VAD's own detection delay), or the event time when there is none.
   */
  noteUserSpeech(speaking: boolean, at: number): void {
    if (speaking && this.eventTurns) {
      const open = this.latestUserTurn();
      if (!open?.user || open.user.endedAt !== undefined) this.beginUserTurn(at);
    }
    if (speaking && !this.userSpeaking) this.detectCutOff(at);
    if (!speaking && this.userSpeaking && this.agentOverUserStart !== undefined) {
      const turn = this.latestUserTurn();
      if (turn) this.emitSignals(this.signals.agentOverUser(turn, this.agentOverUserStart, at), turn);
      this.agentOverUserStart = undefined;
    }
    this.checkUnheard(at);
    this.userSpeaking = speaking;
    if (speaking) [this.userSpeechFrom, this.userSpeechTo] = [at, undefined];
    else this.userSpeechTo = at;
    // a realtime model transcribes after the turn (seconds later): its turns are checked once their words are known
    if (speaking && !this.agentSpeaking && !this.eventTurns) {
      const open = this.latestUserTurn();
      this.unheard ??= { start: at, turn: open?.user?.endedAt === undefined ? open : undefined };
    } else if (!speaking && this.unheard && this.unheard.end === undefined) this.unheard.end = at;
    const user = this.latestUserTurn()?.user;
    if (speaking) {
      if (user && user.endedAt === undefined && user.speechStart === undefined) {
        user.speechStart = at;
        fitSttSteps(user);
      }
      if (this.agentSpeaking && this.overlapStart === undefined) this.overlapStart = at;
      return;
    }
    if (user) {
      user.speechStoppedAt = at;
      user.speechEnd = at - (this.eventTurns ? (this.serverSilence ?? 0) : 0);
    }
    // the user stopped while the agent kept speaking: an overlap, a barge-in only if the reply ends interrupted
    if (this.agentSpeaking && this.overlapStart !== undefined) this.recordOverlap(this.overlapStart, at);
  }

  /**
   * The user's speech that no words came of, `transcriptWaitSeconds` after it ended: missed speech
   * on its turn (the one open when it began, else the newest). Checked as later inputs arrive.
   */
  private checkUnheard(now: number): void {
    const speech = this.unheard;
    if (!speech || speech.end === undefined || now - speech.end < this.signals.thresholds.transcriptWaitSeconds) return;
    this.unheard = undefined;
    const turn = speech.turn ?? this.latestUserTurn();
    if (turn) this.emitSignals(this.signals.unheardSpeech(turn, speech.start), turn);
  }

  noteAgentSpeaking(speaking: boolean, at: number): void {
    this.checkUnheard(at);
    if (speaking && !this.agentSpeaking && this.userSpeaking) this.agentOverUserStart = at;
    if (speaking && !this.agentSpeaking) {
      // the reply may not be known yet (its speech id comes late): remember when playout began
      this.playoutStarts.push(at);
      if (this.playoutStarts.length > 8) this.playoutStarts.shift();
    }
    if (!speaking && this.agentSpeaking) {
      this.agentStoppedAt = at;
      // the agent stopped while the user spoke over it
      if (this.overlapStart !== undefined) this.recordOverlap(this.overlapStart, at);
    }
    this.agentSpeaking = speaking;
  }

  /**
   * A stretch of the agent's audio played. A stop since the previous stretch of the same segment
   * (it goes on where that one ended) means the output ran dry mid-reply: dead air past the
   * threshold, unless the user spoke meanwhile (the SDK pauses a reply the user talks over).
   */
  notePlayout(startedAt: number, offset: number, duration: number): void {
    const previous = this.lastPlayout;
    this.lastPlayout = { end: startedAt + duration, offsetEnd: offset + duration };
    // a segment's first stretch, or one resumed past audio a pause discarded: no stop to measure
    if (!previous || offset === 0 || Math.abs(offset - previous.offsetEnd) > PLAYOUT_CONTIGUOUS_S) return;
    const gap = startedAt - previous.end;
    if (!(gap > 0) || this.userSpokeBetween(previous.end, startedAt)) return;
    const reply = this.newestOpenReply();
    const turn = reply && (this.turn(reply.turnIndex) ?? (reply.turnIndex === 0 ? this.currentTurn() : undefined));
    if (reply && turn) this.emitSignals(this.signals.playoutGap(reply, turn, previous.end, gap), turn);
  }

  /** Whether the user spoke (speech, a transcript, the interruption model's report) between the reply's start and `at`. */
  private userSpokeDuring(reply: ReplyRecord, at: number): boolean {
    if (this.userSpeaking || this.overlapStart !== undefined || reply.interruptions.length || this.pendingInterruptionMetric) return true;
    const from = reply.startedAt - SAME_INSTANT_S;
    // the words of the turn the reply answers are not speech over it: the reply starts ~20 ms after them,
    // inside SAME_INSTANT_S (a hang-up read as a barge-in in about one real-room run in two)
    const ownWords = this.turn(reply.turnIndex)?.user?.finalTranscriptAt;
    const newWords = this.lastTranscriptAt !== undefined && this.lastTranscriptAt >= from && (ownWords === undefined || this.lastTranscriptAt > ownWords);
    return this.userSpokeBetween(from, at + SAME_INSTANT_S) || newWords;
  }

  private userSpokeBetween(from: number, to: number): boolean {
    return this.userSpeechFrom !== undefined && this.userSpeechFrom < to && (this.userSpeechTo === undefined || this.userSpeechTo > from);
  }

  /** When the user started speaking over the agent, if they are doing so now. */
  get overlapStartedAt(): number | undefined {
    return this.overlapStart;
  }

  noteTranscript(final: boolean, text: string, at: number, confidence?: number): TurnRecord | undefined {
    this.checkUnheard(at);
    if (text.trim()) {
      this.lastTranscriptAt = at;
      // words came: the speech was heard
      this.unheard = undefined;
    }
    if (!final) return undefined;
    const turn = this.turnAwaitingTranscript();
    const user = turn?.user;
    if (!user) return undefined;
    user.finalTranscriptAt = at;
    fitSttSteps(user);
    user.transcript = text;
    if (confidence !== undefined) user.confidence = confidence;
    this.notify((o) => o.onUserWords?.(turn));
    return turn;
  }

  /** The newest user turn, or in realtime mode the newest whose words have not arrived yet. */
  private turnAwaitingTranscript(): TurnRecord | undefined {
    const latest = this.latestUserTurn();
    if (!this.eventTurns || latest?.user?.transcript === undefined) return latest;
    for (let i = this.turns.length - 2; i >= 0 && i >= this.turns.length - 4; i--) {
      const turn = this.turns.at(i)!;
      if (turn.user && turn.user.transcript === undefined) return turn;
    }
    return latest;
  }

  /** The STT's confidence in the user's words (the committed user message's). */
  noteUserConfidence(confidence: number): void {
    const user = this.latestUserTurn()?.user;
    if (user) user.confidence = confidence;
  }

  /** A VAD report, placed on the open user turn; returns that turn, or undefined when none is open. */
  addVad(metric: VadMetric): TurnRecord | undefined {
    const turn = this.latestUserTurn();
    if (turn?.user && turn.user.endedAt === undefined) {
      turn.user.vad = appended(turn.user.vad, metric);
      return turn;
    }
    this.notify((o) => o.onVadOutsideTurn?.(metric, turn));
    return undefined;
  }

  /**
   * An STT usage report: split over the turns whose speech it measured (see {@link SttApportioner}).
   * Returns the turns it touched; none when no turn has begun (the usage stays on the session).
   */
  addSttReport(metric: SttMetric): TurnRecord[] {
    const touched = this.stt.apportion(metric, this.turns.all(), this.startedAt, (turn) => this.turns.liveOf(turn));
    for (const turn of touched) for (const step of turn.user?.stt ?? []) step.latency = turn.user?.transcriptionDelay;
    // audio before anyone spoke: the current turn (0) owns its cost, so the turns still add up
    if (!touched.length) this.currentTurn().otherCost += this.options.ledger.costOfMetric(metric) ?? 0;
    this.notify((o) => o.onSttReport?.(metric, touched));
    return touched;
  }

  /** Whether every STT provider of the session has reported all of `turn`'s audio. */
  sttSettled(turn: TurnRecord): boolean {
    return this.stt.settled(turn);
  }

  /**
   * The user's delays, derived once: measured from the user's end of speech as the SDK's VAD
   * anchored it. Where the SDK measured from a later end of speech (an STT's own end-of-speech
   * event, e.g. a non-streaming STT behind its VAD adapter), its delays are restated from the VAD
   * anchor by the shift between the two (`anchorShift`).
   */
  userDelays(user: UserTurnRecord, reported: { transcriptionDelay?: number; endOfTurnDelay?: number } = {}): UserDelays {
    const eou = user.eou;
    const speechEnd = user.speechEnd ?? eou?.lastSpeakingTime;
    const sdkAnchor = eou?.lastSpeakingTime ?? speechEnd;
    const raw = speechEnd !== undefined && sdkAnchor !== undefined ? sdkAnchor - speechEnd : 0;
    // the same instant read twice by the SDK differs by a millisecond or so: that is no shift
    const anchorShift = Math.abs(raw) > SAME_INSTANT_S && Math.abs(raw) < MAX_ANCHOR_SHIFT_S ? raw : 0;
    // the SDK's own figure where it measured from the VAD's end of speech; measured from the events
    // where it did not (or reported none), the same way for streaming and non-streaming STT
    const final = user.finalTranscriptAt;
    const sdkTranscription = eou?.transcriptionDelay ?? reported.transcriptionDelay;
    const measured = final !== undefined && speechEnd !== undefined ? Math.max(0, final - speechEnd) : undefined;
    const transcriptionDelay = anchorShift === 0 ? (sdkTranscription ?? measured) : (measured ?? (sdkTranscription !== undefined ? Math.max(0, sdkTranscription + anchorShift) : undefined));
    const sdkEou = eou?.eouDelay ?? reported.endOfTurnDelay;
    return {
      speechEnd,
      anchorShift,
      transcriptionDelay,
      eouDelay: sdkEou !== undefined ? Math.max(0, sdkEou + anchorShift) : undefined,
    };
  }

  private settleDelays(user: UserTurnRecord, reported: { transcriptionDelay?: number; endOfTurnDelay?: number } = {}): void {
    const delays = this.userDelays(user, reported);
    user.transcriptionDelay = delays.transcriptionDelay;
    user.endOfTurnDelay = delays.eouDelay;
    if (delays.anchorShift !== 0) user.anchorShift = delays.anchorShift;
    for (const step of user.stt) step.latency = delays.transcriptionDelay;
  }

  /** The turn's cost: its STT shares and its replies' requests (open ones included). */
  turnCost(turn: TurnRecord): number {
    let cost = turn.otherCost;
    for (const step of turn.user?.stt ?? []) cost += step.cost ?? 0;
    for (const reply of turn.replies) cost += reply.cost;
    for (const reply of this.openReplies.values()) if (reply.turnIndex === turn.index) cost += reply.cost;
    return cost;
  }

  /** The end-of-utterance report: on the newest user turn, and on the reply it started. */
  setEou(metric: EouMetric): TurnRecord | undefined {
    const turn = this.latestUserTurn();
    if (turn?.user) {
      turn.user.eou = metric;
      if (turn.user.endedAt !== undefined) this.settleDelays(turn.user, { transcriptionDelay: turn.user.transcriptionDelay, endOfTurnDelay: turn.user.endOfTurnDelay });
    }
    if (metric.speechId) {
      const reply = this.reply(metric.speechId, metric.at);
      if (turn) reply.turnIndex = turn.index;
    }
    if (turn) this.notify((o) => o.onEou?.(turn));
    return turn;
  }

  // ---- replies --------------------------------------------------------------------------

  /** The open reply of `speechId`, created (in the newest turn) when new. */
  reply(speechId: string, at: number, agent?: string): ReplyRecord {
    let reply = this.openReplies.get(speechId);
    if (!reply) this.noteReplyBegan(at);
    if (!reply) {
      reply = {
        speechId,
        turnIndex: this.userTurnCount,
        agent: agent ?? this.currentAgent,
        startedAt: at,
        endedAt: undefined,
        firstAudioAt: undefined,
        playoutStartedAt: undefined,
        interrupted: false,
        llm: [],
        tts: [],
        tools: [],
        realtime: [],
        interruptions: [],
        latency: undefined,
        cost: 0,
        text: undefined,
        complete: false,
        dataIncomplete: undefined,
        span: undefined,
      };
      this.openReplies.set(speechId, reply);
      if (this.openReplies.size > MAX_OPEN_REPLIES) {
        const oldest = this.openReplies.values().next().value as ReplyRecord;
        this.closeReply(oldest, at);
      }
    }
    if (agent) reply.agent = agent;
    return reply;
  }

  /** An agent reply began (its turn span started): in realtime mode the user's turn, begun by their speech, is over. */
  noteReplyBegan(at: number): void {
    if (!this.eventTurns) return;
    const user = this.latestUserTurn()?.user;
    // the model answering means its server decided the user had finished, even when the agent's own
    // VAD (which waits for its silence threshold) has not said so yet: the stop, when it comes, still lands here
    if (user && user.endedAt === undefined && (user.speechStoppedAt !== undefined || user.speechStart !== undefined)) this.endUserTurn(at, {});
  }

  /** A reply closed moments ago (its last metrics can come after its agent turn ended). */
  private recentReply(speechId: string): ReplyRecord | undefined {
    for (let i = this.turns.length - 1; i >= 0 && i >= this.turns.length - RECENT_REPLY_TURNS; i--) {
      const reply = this.turns.at(i)!.replies.find((r) => r.speechId === speechId);
      if (reply) return reply;
    }
    return undefined;
  }

  /** The reply of `speechId`, open or closed moments ago (a request or usage that ends after its reply). */
  private openOrRecentReply(speechId: string | undefined): ReplyRecord | undefined {
    return this.openReply(speechId) ?? (speechId ? this.recentReply(speechId) : undefined);
  }

  /** The open reply of `speechId` (or of a provisional id it replaced), if any. */
  openReply(speechId: string | undefined): ReplyRecord | undefined {
    if (!speechId) return undefined;
    return this.openReplies.get(speechId) ?? this.openReplies.get(this.aliases.get(speechId) ?? '');
  }

  /**
   * A reply opened under a provisional id (its turn span before the SDK named the speech) gets its
   * speech id; when that reply exists already, the two are one.
   */
  renameReply(from: string, to: string): void {
    const reply = this.openReplies.get(from);
    if (!reply || from === to) return;
    this.openReplies.delete(from);
    this.aliases.set(from, to);
    if (this.aliases.size > 64) this.aliases.delete(this.aliases.keys().next().value as string);
    const existing = this.openReplies.get(to);
    if (!existing) {
      reply.speechId = to;
      this.openReplies.set(to, reply);
      return;
    }
    existing.startedAt = Math.min(existing.startedAt, reply.startedAt);
    existing.llm = existing.llm.concat(reply.llm);
    existing.tts = existing.tts.concat(reply.tts);
    existing.tools = existing.tools.concat(reply.tools);
    existing.realtime = existing.realtime.concat(reply.realtime);
    existing.interruptions = existing.interruptions.concat(reply.interruptions);
    existing.cost += reply.cost;
    existing.playoutStartedAt ??= reply.playoutStartedAt;
  }

  addLlmStep(speechId: string | undefined, step: Omit<LlmStep, 'requestStart' | 'firstTokenAt' | 'cost'>): LlmStep {
    const metric = step.metric;
    // the SDK measures TTFT and duration from when the request started, which can precede the span
    const requestStart = metric.duration !== undefined ? metric.at - metric.duration : step.spanStart;
    // a literal, not a spread: one hidden class for every step (a spread plus keys gives each its own)
    const full: LlmStep = {
      metric: step.metric,
      spanStart: step.spanStart,
      spanEnd: step.spanEnd,
      speakable: step.speakable,
      requestStart,
      firstTokenAt: metric.ttft !== undefined ? requestStart + metric.ttft : undefined,
      cost: this.options.ledger.costOfMetric(metric),
    };
    // a request that ends after its reply (cancelled before its audio) is still the reply's, as its usage is (addUsage)
    const reply = this.openOrRecentReply(speechId);
    if (reply) reply.llm = appended(reply.llm, full);
    return full;
  }

  addTtsStep(speechId: string | undefined, step: Omit<TtsStep, 'textSentAt' | 'firstAudioAt' | 'cost'>): TtsStep {
    const metric = step.metric;
    const textSentAt = metric.duration !== undefined ? metric.at - metric.duration : step.spanStart;
    const full: TtsStep = {
      metric: step.metric,
      spanStart: step.spanStart,
      spanEnd: step.spanEnd,
      duplicate: step.duplicate,
      textSentAt,
      firstAudioAt: metric.ttfb !== undefined ? textSentAt + metric.ttfb : undefined,
      cost: step.duplicate ? undefined : this.options.ledger.costOfMetric(metric),
    };
    const reply = this.openOrRecentReply(speechId);
    if (reply) reply.tts = appended(reply.tts, full);
    return full;
  }

  addToolStep(speechId: string | undefined, step: ToolStep): void {
    const reply = this.openReply(speechId);
    if (!reply) return;
    reply.tools = appended(reply.tools, step);
    if (step.isError) this.toolFailed(step.name ?? 'unknown', step.end);
  }

  /** Tools ran: arguments and outputs for the reply's tool steps, in call order. */
  noteToolCalls(calls: ReadonlyArray<{ name: string; arguments?: string; output?: string; isError: boolean }>): void {
    const reply = this.newestOpenReply();
    if (!reply) return;
    for (const call of calls) {
      const step = reply.tools.find((t) => t.name === call.name && t.output === undefined);
      if (call.isError && !step?.isError) this.toolFailed(call.name, step?.end ?? reply.startedAt);
      if (step) Object.assign(step, { arguments: call.arguments, output: call.output, isError: step.isError || call.isError });
      else reply.tools = appended(reply.tools, { name: call.name, start: reply.startedAt, end: reply.startedAt, isError: call.isError, arguments: call.arguments, output: call.output });
    }
  }

  /** The agent's words for the newest reply that has none yet; returns that reply. */
  noteAssistantText(text: string): ReplyRecord | undefined {
    const open = this.newestOpenReply();
    const reply = open && open.text === undefined ? open : this.lastReply && this.lastReply.text === undefined ? this.lastReply : undefined;
    if (reply && text) {
      reply.text = text;
      const turn = this.turn(reply.turnIndex) ?? (reply.turnIndex === 0 ? this.currentTurn() : undefined);
      if (turn) this.emitSignals(this.signals.replyText(reply, turn, this.earlierReplies(reply)), turn);
      this.notify((o) => o.onReplyText?.(reply));
    }
    return reply;
  }

  /**
   * A realtime response: on `speechId`'s reply when known (the SDK's realtime_inference span),
   * else on the newest open reply. Its cost is the reply's.
   */
  addRealtime(metric: RealtimeMetric, speechId?: string): { step: RealtimeStep; reply?: ReplyRecord } {
    const step: RealtimeStep = { metric, start: metric.createdAt, end: metric.createdAt + (metric.duration ?? 0), cost: this.options.ledger.costOfMetric(metric) };
    const reply = this.openReply(speechId) ?? (speechId ? undefined : this.newestOpenReply());
    if (reply) {
      reply.realtime = appended(reply.realtime, step);
      reply.cost += step.cost ?? 0;
    }
    return { step, reply };
  }

  /**
   * A metered request was counted by the ledger: its cost goes to its reply (open, or closed
   * moments ago), else to the current turn, so that every request's cost is in exactly one turn.
   */
  addUsage(metric: StageMetric, counted: boolean): number | undefined {
    const cost = this.options.ledger.costOfMetric(metric);
    if ((metric.kind === 'llm' || metric.kind === 'tts') && counted && cost !== undefined) {
      const reply = metric.speechId ? (this.openReply(metric.speechId) ?? this.recentReply(metric.speechId)) : undefined;
      if (reply) reply.cost += cost;
      else this.currentTurn().otherCost += cost;
    }
    if (metric.kind === 'llm' || metric.kind === 'tts' || metric.kind === 'stt' || metric.kind === 'realtime' || metric.kind === 'interruption') {
      this.notify((o) => o.onUsage?.(metric, counted, cost));
    }
    return cost;
  }

  /**
   * A reply's agent turn ended. With the SDK's e2e the reply played: its
   * breakdown is computed now, once, and the reply completes. Without, it
   * completes only when it was interrupted (a tool step's turn stays open).
   */
  endAgentTurn(speechId: string | undefined, at: number, facts: { e2e?: number; interrupted?: boolean }, span?: SpanRef): ReplyRecord | undefined {
    const reply = this.openReply(speechId);
    if (!reply) return undefined;
    if (span) reply.span = span;
    // a realtime turn span says nothing of an interruption: its response was cancelled
    const realtime = reply.realtime.length > 0;
    const interrupted = facts.interrupted || (realtime && reply.realtime.some((s) => s.metric.cancelled)) || undefined;
    facts = { ...facts, interrupted };
    if (facts.interrupted) reply.interrupted = true;
    // a realtime reply is one response: it ends with its agent turn, and we time it ourselves
    let e2e = facts.e2e ?? (realtime ? this.realtimeE2e(reply) : undefined);
    // COUNT_DEFINITIONS: an interruption stops a reply the user heard; one cut off before its first audio is a cancelled reply
    const heard = this.heard(reply, e2e, at);
    if (facts.interrupted) {
      if (!heard) this.cancelledReplyCount += 1;
      // stopped with the user silent (the call ended under it, the agent's code stopped it): not a barge-in
      else if (this.userSpokeDuring(reply, at)) this.recordBargeIn(reply, at);
    }
    if (e2e === undefined) {
      // heard and stopped without an e2e (a greeting has no user speech to measure from): a reply all the same
      if (facts.interrupted && heard) this.replyCount += 1;
      if (facts.interrupted || realtime) this.closeReply(reply, at);
      return reply;
    }
    const turn = this.turn(reply.turnIndex);
    const user = turn?.user;
    const eou = user?.eou;
    const delays = user ? this.userDelays(user, { transcriptionDelay: user.transcriptionDelay, endOfTurnDelay: user.endOfTurnDelay }) : { anchorShift: 0 } as UserDelays;
    const userSpeechEnd = delays.speechEnd;
    // the SDK's e2e starts at its own end of speech: restated from the VAD's (see userDelays)
    if (!realtime) e2e += delays.anchorShift;
    reply.latency = realtime ? this.realtimeLatency(reply, turn, userSpeechEnd, e2e) : computeLatency({
      userSpeechEnd,
      transcriptionDelay: delays.transcriptionDelay,
      eouDelay: delays.eouDelay,
      onUserTurnCompletedDelay: eou?.onUserTurnCompletedDelay,
      // anchored where the SDK measured: TTFT from the request's start, TTFB from the text reaching
      // the provider (markStarted), not from the spans' starts
      llmRequests: reply.llm.map((s) => ({ start: s.requestStart, end: Math.max(s.requestStart, s.metric.at), ttft: s.metric.ttft, speakable: s.speakable })),
      tools: reply.tools.map((t) => ({ start: t.start, end: t.end })),
      ttsRequests: reply.tts.filter((t) => !t.duplicate).map((t) => ({ start: t.textSentAt, ttfb: t.metric.ttfb })),
      e2e,
    });
    if (delays.anchorShift !== 0) reply.latency.anchorShift = delays.anchorShift;
    if (userSpeechEnd !== undefined) reply.firstAudioAt = userSpeechEnd + e2e;
    if (!reply.latency.wait.length && eou === undefined && !realtime && reply.turnIndex > 0) reply.dataIncomplete = true;
    this.replyCount += 1;
    for (let figure = 0; figure < LATENCY_STAGES.length; figure++) {
      const value = reply.latency[LATENCY_STAGES[figure]!.field];
      if (value !== undefined) this.figures.add(figure, value);
    }
    for (const slice of reply.latency.wait) {
      const figure = WAIT_FIGURES.get(slice.key);
      if (figure !== undefined) this.figures.add(figure, slice.seconds);
    }
    this.closeReply(reply, at);
    return reply;
  }

  /** A realtime reply's wait: the user's end of speech to the agent's first audio (the SDK measures none). */
  /** Whether the user heard the reply: the SDK measured its e2e (it does once playout begins), or playout began during it. */
  private heard(reply: ReplyRecord, e2e: number | undefined, at: number): boolean {
    if (e2e !== undefined) return true;
    reply.playoutStartedAt ??= this.playoutStarts.find((t) => t >= reply.startedAt - 0.001 && t <= at);
    return reply.playoutStartedAt !== undefined;
  }

  private realtimeE2e(reply: ReplyRecord): number | undefined {
    reply.playoutStartedAt ??= this.playoutStarts.find((t) => t >= reply.startedAt - 0.001);
    const end = this.turn(reply.turnIndex)?.user?.speechEnd;
    if (reply.playoutStartedAt === undefined || end === undefined || reply.turnIndex === 0) return undefined;
    const e2e = reply.playoutStartedAt - end;
    return e2e >= 0 ? e2e : undefined;
  }

  /**
   * A realtime turn's breakdown: the server's silence window (endpointing), each response of the
   * turn (a tool-call-only one counts as the LLM's tool step), the tools, the model's time to first
   * audio, then playout. The model hears and speaks: there is no STT, TTS or text aggregation.
   */
  private realtimeLatency(reply: ReplyRecord, turn: TurnRecord | undefined, userSpeechEnd: number | undefined, e2e: number): LatencyBreakdown {
    const steps = [...(turn?.replies ?? []), reply];
    const latency = computeLatency({
      userSpeechEnd,
      eouDelay: this.serverSilence,
      llmRequests: steps.flatMap((r) => r.realtime.map((s) => ({ start: s.start, end: s.end, ttft: s.metric.ttft, speakable: r === reply && s.metric.ttft !== undefined }))),
      tools: steps.flatMap((r) => r.tools.map((t) => ({ start: t.start, end: t.end }))),
      ttsRequests: [],
      e2e,
    });
    // the docs' total has no meaning without STT and TTS
    latency.total = undefined;
    return latency;
  }

  /**
   * The interruption model reported: its figures go on the next barge-in (the SDK reports before
   * the agent stops). A report still waiting when another arrives (or when the session ends)
   * matched no barge-in: observers are told, to show it on its own.
   */
  addInterruptionMetric(metric: InterruptionMetric): void {
    const unmatched = this.pendingInterruptionMetric;
    this.pendingInterruptionMetric = metric;
    if (unmatched) this.notify((o) => o.onUnmatchedInterruptionReport?.(unmatched));
  }

  addHandoff(at: number, fromAgent: string | undefined, toAgent: string): HandoffRecord {
    const handoff: HandoffRecord = { at, turnIndex: this.userTurnCount, fromAgent, toAgent };
    this.currentAgent = toAgent;
    this.handoffs.push(handoff);
    if (this.handoffs.length > this.maxTurns) this.handoffs.shift();
    const turn = this.currentTurn();
    turn.handoffs = appended(turn.handoffs, handoff);
    this.notify((o) => o.onHandoff?.(handoff));
    return handoff;
  }

  /** COUNT_DEFINITIONS.error: a failed tool call is an error of the call, counted here once like the SDK's error events. */
  private toolFailed(name: string, at: number): void {
    this.addError(at, `tool:${name}`, 'tool call failed', true, 'tool_error');
  }

  addError(at: number, source: string, message: string, recoverable: boolean, type?: string): void {
    const error: ErrorRecord = { at, turnIndex: this.userTurnCount, source, message, recoverable, type };
    this.errorCount += 1;
    const turn = this.currentTurn();
    if (turn.errors.length < 50) turn.errors = appended(turn.errors, error);
    this.notify((o) => o.onError?.(error));
    this.emitSignals(this.signals.error(turn, at), turn);
  }

  /** A warning or error the agent logged, placed on its turn (the newest when unknown). */
  addLog(record: LogRecord, turnIndex?: number): void {
    const turn = (turnIndex !== undefined ? this.turn(turnIndex) : undefined) ?? this.currentTurn();
    if (turn.logs.length < 50) turn.logs = appended(turn.logs, record);
  }

  // ---- reading ----------------------------------------------------------------------------

  /** A copy of the model now. */
  snapshot(): SessionSnapshot {
    return this.copy(false);
  }

  /**
   * The model now, its retained turns copied only when read: for readers that mostly need the
   * totals (the session span's attributes, the end-of-session observers) at the session's end,
   * when the turns no longer change. A call's turns are the model's largest part; copying them
   * for a reader that never looks was most of the cost of ending a session.
   */
  totals(): SessionSnapshot {
    return this.copy(true);
  }

  private copy(lazyTurns: boolean): SessionSnapshot {
    // each turn's cost is derived here, once, for every reader of the snapshot
    // (a packed turn's was derived when it was packed: nothing changes it since)
    for (const turn of this.turns.live()) turn.cost = this.turnCost(turn);
    const latency = {} as SessionSnapshot['latency'];
    const summaries = this.figures.summaries();
    for (const [figure, { key }] of LATENCY_STAGES.entries()) latency[key] = summaries[figure] ?? { count: 0 };
    const wait: SessionSnapshot['wait'] = {};
    for (const { key } of WAIT_CONTRIBUTIONS) {
      const summary = summaries[WAIT_FIGURES.get(key)!];
      if (summary) wait[key] = summary;
    }
    const snapshot: SessionSnapshot = {
      sessionId: this.sessionId,
      startedAt: this.startedAt,
      endedAt: this.endedAt,
      userTurns: this.userTurnCount,
      replyCount: this.replyCount,
      interruptions: this.interruptionCount,
      cancelledReplies: this.cancelledReplyCount,
      turns: lazyTurns ? [] : this.turns.copies(),
      turnsDropped: this.turnsDropped,
      handoffs: [...this.handoffs],
      errors: this.errorCount,
      usage: this.options.ledger.summary(),
      totalCost: this.options.ledger.totalCost(),
      latency,
      wait,
      drops: this.options.counters.snapshot(),
      usageCheck: [...this.usageCheck],
      signals: this.signals.snapshot(),
      signalLog: this.signals.recent(),
    };
    if (lazyTurns) {
      let turns: TurnRecord[] | undefined;
      Object.defineProperty(snapshot, 'turns', {
        enumerable: true,
        configurable: true,
        get: () => (turns ??= this.turns.copies()),
        set: (value: TurnRecord[]) => void (turns = value),
      });
    }
    return snapshot;
  }

  /** The reply completed last, if any. */
  lastCompletedReply(): ReplyRecord | undefined {
    return this.lastReply;
  }

  // ---- internals --------------------------------------------------------------------------

  /** The user spoke over the agent from `start` to `end`: not a barge-in until the reply ends interrupted. */
  private recordOverlap(start: number, end: number): void {
    this.overlapStart = undefined;
    const reply = this.newestOpenReply();
    if (reply && reply.interruptions.length < 50) reply.interruptions = appended(reply.interruptions, { start, end, overlap: Math.max(0, end - start), stoppedAgent: false });
  }

  /** The reply ended interrupted: the overlap that stopped it is the barge-in (from its start to the agent stopping). */
  private recordBargeIn(reply: ReplyRecord, at: number): void {
    if (reply.interruptions.some((i) => i.stoppedAgent)) return;
    const stoppedAt = this.agentStoppedAt !== undefined && at - this.agentStoppedAt < BARGE_IN_WINDOW_S ? this.agentStoppedAt : at;
    if (this.overlapStart !== undefined) this.recordOverlap(this.overlapStart, stoppedAt);
    const last = reply.interruptions[reply.interruptions.length - 1];
    const interruption: InterruptionRecord =
      last && !last.stoppedAgent && stoppedAt - last.end < BARGE_IN_WINDOW_S ? last : { start: stoppedAt, end: stoppedAt, stoppedAgent: true };
    if (interruption !== last) reply.interruptions = appended(reply.interruptions, interruption);
    interruption.stoppedAgent = true;
    interruption.end = Math.max(interruption.end, stoppedAt);
    if (this.pendingInterruptionMetric && stoppedAt - this.pendingInterruptionMetric.at < BARGE_IN_WINDOW_S) {
      interruption.metric = this.pendingInterruptionMetric;
      this.pendingInterruptionMetric = undefined;
    }
    this.interruptionCount += 1;
  }

  private closeReply(reply: ReplyRecord, at: number): void {
    reply.endedAt ??= at;
    reply.complete = true;
    fitReplyArrays(reply);
    this.openReplies.delete(reply.speechId);
    const turn = this.turn(reply.turnIndex) ?? (reply.turnIndex === 0 ? this.currentTurn() : undefined);
    if (turn) turn.replies = appended(turn.replies, reply);
    this.lastReply = reply;
    for (const overlap of reply.interruptions) this.notify((o) => o.onInterruption?.(overlap, reply));
    // signals before the reply's views: its span carries the signals known when it ended
    if (turn) this.emitSignals(this.signals.replyEnded(reply, turn), turn);
    if (turn && reply.latency) this.notify((o) => o.onReplyComplete?.(reply, turn));
  }

  /** The user-side signals of a turn (missed speech, a repeated request), once its words are known; once per turn. */
  private checkUserTurn(turn: TurnRecord): void {
    if (turn.index <= this.userCheckedThrough) return;
    this.userCheckedThrough = turn.index;
    this.emitSignals(this.signals.userTurnEnded(turn, this.earlierUserTurns(turn)), turn);
  }

  private emitSignals(signals: readonly SignalRecord[], turn: TurnRecord): void {
    for (const signal of signals) this.notify((o) => o.onSignal?.(signal, turn));
  }

  /** The user spoke again soon after the end-of-turn decision of their last turn, before its reply's audio: cut off. */
  private detectCutOff(at: number): void {
    const turn = this.lastEndedUserTurn();
    const decidedAt = turn?.user?.endedAt;
    if (!turn || decidedAt === undefined || turn.signals?.some((s) => s.name === 'cut_off')) return;
    // the agent had not begun its answer: the turn was judged over too early (once it speaks, the user's speech is a barge-in)
    const unanswered = !this.agentSpeaking && this.hasOpenReplyIn(turn.index) && !turn.replies.some((r) => r.latency !== undefined);
    if (unanswered) this.emitSignals(this.signals.cutOff(turn, at, at - decidedAt), turn);
  }

  /**
   * The call ended with the user waiting for a reply, or the agent speaking: abandonment. The SDK
   * stops the reply it was playing when the call ends (a participant disconnect closes without
   * draining): a reply stopped moments before the end with nobody speaking over it was cut by the end.
   */
  private detectAbandonment(at: number): void {
    const turn = this.latestUserTurn();
    if (!turn) return;
    const user = turn.user;
    const waiting = user?.endedAt !== undefined && (user.transcript?.trim() ?? '') !== '' && !turn.replies.some((r) => r.latency !== undefined || r.playoutStartedAt !== undefined);
    const last = this.lastReply;
    const cutByTheEnd = last?.interrupted === true && last.endedAt !== undefined && at - last.endedAt <= CALL_END_WINDOW_S && !last.interruptions.some((i) => (i.overlap ?? 0) > 0);
    const where = cutByTheEnd ? (this.turn(last!.turnIndex) ?? turn) : turn;
    if (this.agentSpeaking || waiting || cutByTheEnd) this.emitSignals(this.signals.abandoned(where, at), where);
  }

  /** The newest user turn whose end-of-turn decision was made. */
  private lastEndedUserTurn(): TurnRecord | undefined {
    return this.turns.findLast((turn) => turn.user?.endedAt !== undefined);
  }

  /** The retained user turns before `turn` (the detector keeps the last few it compares with). */
  private earlierUserTurns(turn: TurnRecord): EarlierText[] {
    const out: EarlierText[] = [];
    for (let i = this.turns.length - 1; i >= 0 && out.length < this.signals.thresholds.repeatLookback; i--) {
      const t = this.turns.held(i)!;
      const text = t instanceof PackedTurn ? t.userText : t.user?.transcript;
      if (t !== turn && t.index < turn.index && text?.trim()) out.unshift({ text, turnIndex: t.index });
    }
    return out;
  }

  /** The agent's retained replies with words before `reply`, oldest first, at most the lookback. */
  private earlierReplies(reply: ReplyRecord): EarlierText[] {
    const out: EarlierText[] = [];
    for (let i = this.turns.length - 1; i >= 0 && out.length < this.signals.thresholds.repeatLookback; i--) {
      const t = this.turns.held(i)!;
      // a packed turn's replies are read from the words kept beside its packing (a reply whose words come late may be older than they are)
      const replies = t instanceof PackedTurn ? (t.replyTexts ?? []) : t.replies;
      for (let j = replies.length - 1; j >= 0 && out.length < this.signals.thresholds.repeatLookback; j--) {
        const r = replies[j]!;
        if (r !== reply && r.text?.trim() && r.startedAt < reply.startedAt) out.unshift({ text: r.text, turnIndex: t.index });
      }
    }
    return out;
  }

  private hasOpenReplyIn(turnIndex: number): boolean {
    for (const reply of this.openReplies.values()) if (reply.turnIndex === turnIndex) return true;
    return false;
  }

  private newestOpenReply(): ReplyRecord | undefined {
    let newest: ReplyRecord | undefined;
    for (const reply of this.openReplies.values()) if (!newest || reply.startedAt >= newest.startedAt) newest = reply;
    return newest;
  }

  /** The newest turn; turn 0 (before the first user turn) is created when first needed. */
  private currentTurn(): TurnRecord {
    let last = this.turns.last();
    if (!last) {
      last = { index: 0, cost: 0, otherCost: 0, replies: [], handoffs: [], errors: [], logs: [] };
      this.turns.push(last);
    }
    return last;
  }

  private retain(): void {
    while (this.turns.length > this.maxTurns) {
      this.turns.shift();
      this.turnsDropped += 1;
    }
    // the signal records follow the retained turns (their totals keep counting every turn)
    if (this.turnsDropped) this.signals.forgetBefore(this.turns.firstIndex!);
  }

  /**
   * Packs the settled turns (see {@link TurnHistory}): all but the newest RECENT_REPLY_TURNS, where
   * every late fact the model places lands, except a turn something still points at (an open reply,
   * the reply whose words may still come, speech not yet heard of).
   */
  private packSettled(): void {
    this.turns.pack(RECENT_REPLY_TURNS, (turn) => {
      if (this.hasOpenReplyIn(turn.index) || this.lastReply?.turnIndex === turn.index || this.unheard?.turn === turn) return false;
      turn.cost = this.turnCost(turn);
      return true;
    });
  }

  private notify(call: (observer: SessionModelObserver) => void): void {
    for (const observer of this.observers) {
      try {
        call(observer);
      } catch (error) {
        this.options.counters.count('internal_error', `observer: ${String(error)}`);
      }
    }
  }
}

/** The turn's STT steps, refitted to the user's speech as it becomes known (see fitSttStep). */
function fitSttSteps(user: UserTurnRecord): void {
  for (const step of user.stt) fitSttStep(step, user);
}

/**
 * A user turn with every field it may get, set or not: fields added later go to a separate
 * property array of the object (about 150 bytes more per turn), and each order of adding them
 * makes another hidden class.
 */
function newUserTurn(at: number, span: SpanRef | undefined): UserTurnRecord {
  return {
    startedAt: at,
    endedAt: undefined,
    speechStart: undefined,
    speechEnd: undefined,
    speechStoppedAt: undefined,
    transcript: undefined,
    confidence: undefined,
    finalTranscriptAt: undefined,
    transcriptionDelay: undefined,
    endOfTurnDelay: undefined,
    anchorShift: undefined,
    vad: [],
    stt: [],
    sttSettled: undefined,
    eou: undefined,
    span,
  };
}

/**
 * The one empty list of every settled record: most of a settled turn's and reply's lists (handoffs,
 * errors, logs, tools, interruptions...) stay empty, and each empty array is 32 bytes. Frozen, so a
 * push by mistake throws instead of filling every record's list: items go on with `appended`.
 */
const NONE: never[] = Object.freeze([]) as never[];

/**
 * The same items in an array of their size. A push onto `[]` reserves 17 slots (V8's growth rule),
 * and a call keeps its records' arrays, most of one or two items, to its end: refitted when a record
 * is settled, they hold about 1.3 KiB less per turn. A late item just grows the array again.
 */
function fitted<T>(items: T[]): T[] {
  return items.length ? items.slice() : NONE;
}

/** `items` with `item` added: in place, or a new list where `items` is the shared empty one. */
function appended<T>(items: T[], item: T): T[] {
  if (items === NONE) return [item];
  items.push(item);
  return items;
}

function fitReplyArrays(reply: ReplyRecord): void {
  reply.llm = fitted(reply.llm);
  reply.tts = fitted(reply.tts);
  reply.tools = fitted(reply.tools);
  reply.realtime = fitted(reply.realtime);
  reply.interruptions = fitted(reply.interruptions);
}

function fitTurnArrays(turn: TurnRecord): void {
  turn.replies = fitted(turn.replies);
  turn.handoffs = fitted(turn.handoffs);
  turn.errors = fitted(turn.errors);
  turn.logs = fitted(turn.logs);
  if (turn.signals) turn.signals = fitted(turn.signals);
  // the STT steps and settled providers need none: SttApportioner appends them with concat, at their size
  if (turn.user) turn.user.vad = fitted(turn.user.vad);
}
