import type { LatencyStage, SignalName, WaitKey } from '@voicetrace/conventions';
import type { DropReason } from '../counters.js';
import type { EouMetric, InterruptionMetric, LlmMetric, RealtimeMetric, SttMetric, TtsMetric, VadMetric } from '../events.js';
import type { LatencyBreakdown } from '../latency.js';
import type { ModelUsage, UsageDisagreement } from '../usage.js';

/**
 * The session model: what one voice call was, turn by turn, in seconds and
 * epoch seconds. The engine fills it from the SDK's events and spans; span
 * attributes, metrics, the session report and its HTML are views of it, so a
 * figure is computed once and every view shows the same number.
 *
 * Content (transcripts, reply text, tool arguments/outputs) is kept here
 * whatever the PII switch says: views decide what leaves the process.
 */

/** Where a record sits in the exported traces (ids as exported, after any trace layout). */
export interface SpanRef {
  traceId: string;
  spanId: string;
}

/**
 * The STT of a user turn, one per provider/model: its share of the provider's usage reports (a
 * report covers the audio sent since the previous one; see `SttApportioner`), so the turns' audio
 * and cost add up to the session's whatever the plugin's reporting rhythm.
 */
export interface SttStep {
  /** The turn's usage: the reports' provider, model and streaming flag, with this turn's shares of audio and tokens. */
  metric: SttMetric;
  /** When the user's speech began (else the first report's time minus its audio); the model moves it as the speech start becomes known. */
  start: number;
  /** When the final transcript arrived (else the user's speech start), never before `start`; moved as the final transcript comes. */
  end: number;
  /** End of speech to final transcript: the turn's transcription delay, the one figure every view shows. */
  latency?: number;
  cost?: number;
  /** Provider reports that contributed a share. */
  reports: number;
}

/** The user's side of a turn: speech, transcript, and the stages that listened. */
export interface UserTurnRecord {
  /** When the SDK opened the user turn. */
  startedAt: number;
  endedAt?: number;
  /** When the user started speaking: the SDK's anchor (its user_speaking span, backdated past the VAD's detection). */
  speechStart?: number;
  /** When the user stopped speaking: the SDK's VAD anchor (its user_speaking span's end); the latency is measured from here. */
  speechEnd?: number;
  /** When the SDK declared the user stopped speaking (after its silence threshold). */
  speechStoppedAt?: number;
  transcript?: string;
  confidence?: number;
  finalTranscriptAt?: number;
  /** End of speech to final transcript (seconds). */
  transcriptionDelay?: number;
  /** End of speech to the end-of-turn decision (seconds). */
  endOfTurnDelay?: number;
  /**
   * How much later than the VAD the SDK placed the end of speech (seconds; set when it did): its
   * delays were measured from there and are restated from `speechEnd`.
   */
  anchorShift?: number;
  /** The VAD's reports that fell in this turn (Silero's SDK wrapper reports once per ~31 speech starts: often none). */
  vad: VadMetric[];
  stt: SttStep[];
  /** STT providers (`provider|model`) whose reports have covered this turn's end of speech: its STT usage is complete. */
  sttSettled?: string[];
  eou?: EouMetric;
  /** The user turn's span. */
  span?: SpanRef;
}

/** One LLM request of a reply. */
export interface LlmStep {
  metric: LlmMetric;
  /** The request span's start and end. */
  spanStart: number;
  spanEnd: number;
  /**
   * When the provider request started, as the SDK's metrics measured it (their
   * time minus their duration): TTFT is measured from here, not from the span.
   */
  requestStart: number;
  /** requestStart + TTFT, when a token came. */
  firstTokenAt?: number;
  /** The request produced speakable text (not only tool calls). */
  speakable: boolean;
  cost?: number;
}

/** One TTS request of a reply. */
export interface TtsStep {
  metric: TtsMetric;
  spanStart: number;
  spanEnd: number;
  /**
   * When text first reached the provider: the SDK anchors TTFB there
   * (`SynthesizeStream.markStarted`), which is the metric's time minus its duration.
   */
  textSentAt: number;
  /** textSentAt + TTFB, when audio came. */
  firstAudioAt?: number;
  /** This request repeats another's usage (the SDK's stream adapter): shown, not counted. */
  duplicate: boolean;
  cost?: number;
}

/** One tool execution of a reply. */
export interface ToolStep {
  name?: string;
  start: number;
  end: number;
  isError: boolean;
  /** Arguments and output as the SDK reported them (content: PII). */
  arguments?: string;
  output?: string;
}

/** One realtime (speech-to-speech) model response. */
export interface RealtimeStep {
  metric: RealtimeMetric;
  start: number;
  end: number;
  cost?: number;
}

/** The user speaking while the agent spoke: a barge-in, or a sound that did not stop the agent. */
export interface InterruptionRecord {
  /** When the user started speaking over the agent. */
  start: number;
  /** When the agent stopped (interruption) or the overlap ended (backchannel). */
  end: number;
  /** Seconds of overlapping speech (undefined when the user's start over the agent was not observed). */
  overlap?: number;
  /** The agent stopped speaking because of it. */
  stoppedAgent: boolean;
  /** The interruption model's report, when one ran. */
  metric?: InterruptionMetric;
}

/** Control moved from one agent to another. */
export interface HandoffRecord {
  at: number;
  turnIndex: number;
  fromAgent?: string;
  toAgent: string;
}

/** An error the SDK reported. */
export interface ErrorRecord {
  at: number;
  turnIndex: number;
  /** What failed: `llm_error`, `stt_error`, `tts_error` ... */
  type?: string;
  source: string;
  message: string;
  recoverable: boolean;
}

/** One agent reply (one speech of the SDK): its LLM, tool and TTS steps and the wait it caused. */
export interface ReplyRecord {
  speechId: string;
  turnIndex: number;
  agent?: string;
  startedAt: number;
  endedAt?: number;
  /** When the user first heard it (user speech end + e2e). */
  firstAudioAt?: number;
  /** When the agent started speaking it (the SDK's agent state), the playout start realtime replies are timed by. */
  playoutStartedAt?: number;
  interrupted: boolean;
  llm: LlmStep[];
  tts: TtsStep[];
  tools: ToolStep[];
  realtime: RealtimeStep[];
  interruptions: InterruptionRecord[];
  /** The latency breakdown, once the reply played (it carries the SDK's e2e). */
  latency?: LatencyBreakdown;
  /** Estimated cost of the reply's own requests (LLM, TTS, realtime); its turn's STT is on the turn. */
  cost: number;
  /** What the agent said (content: PII). */
  text?: string;
  /** The reply ended (played, interrupted, or the session closed). */
  complete: boolean;
  /** The reply played but a figure its breakdown needs never arrived. */
  dataIncomplete?: boolean;
  /** The agent turn span that completed the reply. */
  span?: SpanRef;
}

/** A warning or error the agent logged during a turn. */
export interface LogRecord {
  at: number;
  /** `warn`, `error`, `fatal` ... */
  level: string;
  message: string;
  traceId?: string;
  spanId?: string;
}

/** A conversation quality signal (SIGNALS in @voicetrace/conventions) on one turn. */
export interface SignalRecord {
  name: SignalName;
  turnIndex: number;
  /** When it happened (epoch seconds). */
  at: number;
  /** The reply it concerns, if one. */
  speechId?: string;
  /** Its size, for signals measured in seconds (dead air, talk-over). */
  seconds?: number;
  /** For a repetition: the turn it repeats. */
  repeatsTurn?: number;
  /** For dead air: in the wait before the reply's first audio, or inside the reply (its audio stopped). */
  where?: 'wait' | 'reply';
}

/** One signal over a whole call. */
export interface SignalTotals {
  count: number;
  /** Summed size, for signals measured in seconds. */
  seconds?: number;
}

/** One conversation turn: what the user said and the agent's replies to it. Turn 0 is before the first user turn. */
export interface TurnRecord {
  index: number;
  user?: UserTurnRecord;
  /** Estimated cost of the turn: its STT shares and its replies' requests. The turns' costs add up to the session's. */
  cost: number;
  /** Cost of the turn's requests no reply owns (e.g. a `say()` the SDK traced without an agent turn). */
  otherCost: number;
  replies: ReplyRecord[];
  handoffs: HandoffRecord[];
  errors: ErrorRecord[];
  /** The agent's warnings and errors logged during the turn (at most 50). */
  logs: LogRecord[];
  /** The quality signals of the turn, in the order they became known. */
  signals?: SignalRecord[];
}

/** A percentile summary of one latency figure over a session's turns (seconds). */
export interface PercentileSummary {
  count: number;
  p50?: number;
  p95?: number;
  p99?: number;
  max?: number;
  mean?: number;
}

/** Latency figures summarized per session: the keys of LATENCY_STAGES in @voicetrace/conventions. */
export type { LatencyStage };

/** A read-only copy of the session model at one moment. */
export interface SessionSnapshot {
  sessionId: string;
  startedAt?: number;
  endedAt?: number;
  /** User turns so far (also counts turns no longer retained). */
  userTurns: number;
  /** Replies that played, so far. */
  replyCount: number;
  /** Replies the user stopped while hearing them (barge-ins); see COUNT_DEFINITIONS in @voicetrace/conventions. */
  interruptions: number;
  /** Replies cut off before their first audio (the user spoke again first): not replies, not interruptions. */
  cancelledReplies: number;
  /** Retained turns, oldest first; older ones are folded into the statistics below. */
  turns: TurnRecord[];
  /** Turns no longer retained (long calls keep memory flat). */
  turnsDropped: number;
  handoffs: HandoffRecord[];
  errors: number;
  usage: ModelUsage[];
  totalCost: number;
  latency: Record<LatencyStage, PercentileSummary>;
  wait: Partial<Record<WaitKey, PercentileSummary>>;
  drops: Partial<Record<DropReason, number>>;
  /** Where the SDK's own usage disagrees with voicetrace's, once the session ended (empty when they agree). */
  usageCheck: UsageDisagreement[];
  /** The quality signals over the whole call (turns no longer retained included). */
  signals: Partial<Record<SignalName, SignalTotals>>;
  /** The signal records of the retained turns (at most 2,000), oldest first: which turn each fired on. */
  signalLog: SignalRecord[];
}

/** Views that follow the model as it fills (metrics, logs). Every method is optional and must not throw. */
export interface SessionModelObserver {
  /** A reply played: its latency breakdown is final. */
  onReplyComplete?(reply: ReplyRecord, turn: TurnRecord): void;
  /** A user turn ended. */
  onUserTurnComplete?(turn: TurnRecord): void;
  /** A metered request was counted (`counted` false: a duplicate report, not counted). */
  onUsage?(metric: LlmMetric | TtsMetric | SttMetric | RealtimeMetric | InterruptionMetric, counted: boolean, cost: number | undefined): void;
  onInterruption?(interruption: InterruptionRecord, reply: ReplyRecord | undefined): void;
  onError?(error: ErrorRecord): void;
  onHandoff?(handoff: HandoffRecord): void;
  /** A quality signal fired on a turn. */
  onSignal?(signal: SignalRecord, turn: TurnRecord): void;
  /** An STT usage report was split over `turns` (none: it came before anyone spoke, and stays on the session). */
  onSttReport?(metric: SttMetric, turns: readonly TurnRecord[]): void;
  /** The end-of-utterance report was placed on `turn`. */
  onEou?(turn: TurnRecord): void;
  /** A VAD report fell outside any open user turn (`latest`: the newest user turn, when there is one). */
  onVadOutsideTurn?(metric: VadMetric, latest: TurnRecord | undefined): void;
  /** An interruption-model report matched no barge-in (another came first, or the session ended). */
  onUnmatchedInterruptionReport?(metric: InterruptionMetric): void;
  /** A user turn's final words arrived (a realtime model's come after the turn's reply). */
  onUserWords?(turn: TurnRecord): void;
  /** The agent's words for a reply arrived. */
  onReplyText?(reply: ReplyRecord): void;
  /** The session ended. */
  onSessionEnd?(snapshot: SessionSnapshot): void;
}
