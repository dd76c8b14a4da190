import type { SpanContext } from '@opentelemetry/api';
import type { DropCounters } from '../counters.js';
import type { InterruptionMetric, ModelRef, SttMetric, VadMetric } from '../events.js';
import type { SessionModel } from '../model/session-model.js';
import type { HandoffRecord, InterruptionRecord, RealtimeStep, ReplyRecord, SessionModelObserver, SttStep, TurnRecord } from '../model/types.js';
import type { StageSpans } from '../stage-spans.js';

/** What the view tracks about a user turn's span while its metrics arrive. */
interface TurnSpans {
  context: SpanContext;
  /** The SDK traced the turn's end of utterance itself: no EOU span of ours. */
  hasSdkEou: boolean;
  eouEmitted: boolean;
  /** The turn's STT span went out (once its usage was complete, or at close). */
  sttEmitted: boolean;
}

/** User turns whose spans can still receive late metrics. */
export const RECENT_TURNS = 4;

/** What the view needs to know of the SDK's spans, which the model does not know (the engine follows them). */
export interface SdkSpanLookup {
  /** The newest open agent_turn span. */
  activeAgentTurn(): SpanContext | undefined;
  /** The live agent_turn span of a recent reply. */
  replyContext(speechId: string): SpanContext | undefined;
}

/** Options of {@link StageSpanView}. */
export interface StageSpanViewOptions {
  model: SessionModel;
  spans: StageSpans;
  counters: DropCounters;
  sdkSpans: SdkSpanLookup;
  /** The stages the session runs in the agent (see SessionEngineOptions.stages). */
  stages?: { vad?: boolean | undefined; stt?: ModelRef | undefined } | undefined;
  /** The cost of an STT report no turn took. */
  costOf: (metric: SttMetric) => number | undefined;
  /** A turn's STT span went out: its usage, and so the turn's cost, is final. */
  onSttSettled: (turn: TurnRecord) => void;
}

/**
 * The span view of the stages the SDK does not trace (VAD, STT, EOU, interruption, handoff, a
 * realtime response with no SDK span): an observer of the session model, like the metrics view,
 * that emits each stage span once what it shows is known. The only facts it takes from elsewhere
 * are about the SDK's own spans (the parents), which the model does not know.
 */
export class StageSpanView implements SessionModelObserver {
  private readonly turnSpans = new Map<number, TurnSpans>();

  constructor(private readonly options: StageSpanViewOptions) {}

  // ---- the SDK's spans (told by the engine) ------------------------------------------------

  /** The SDK opened `turn`'s user_turn span: its stage spans go under it. Only recent turns are followed. */
  userTurnSpan(turn: TurnRecord, context: SpanContext): void {
    this.turnSpans.set(turn.index, { context, hasSdkEou: false, eouEmitted: false, sttEmitted: false });
    // only recent turns can still receive late metrics: keep memory flat on long calls
    // (asked of the model only while its STT span is due: a settled turn is packed, and reading unpacks it)
    const due = this.turnSpans.get(turn.index - RECENT_TURNS);
    const old = due && !due.sttEmitted ? this.options.model.turn(turn.index - RECENT_TURNS) : undefined;
    if (old) this.settleStt(old, true);
    this.turnSpans.delete(turn.index - RECENT_TURNS);
  }

  /** The SDK traced the end of utterance of turn `turnIndex` itself. */
  sdkEouSpan(turnIndex: number): void {
    const spans = this.turnSpans.get(turnIndex);
    if (spans) spans.hasSdkEou = true;
  }

  /** A realtime response no SDK span carried (older SDKs, a report at close): a span of our own. */
  untracedRealtime(step: RealtimeStep, reply: ReplyRecord | undefined): void {
    const { model, spans, sdkSpans } = this.options;
    const transcript = reply ? model.turn(reply.turnIndex)?.user?.transcript : model.latestUserTurn()?.user?.transcript;
    spans.realtime(step, reply ? sdkSpans.replyContext(reply.speechId) : sdkSpans.activeAgentTurn(), transcript);
  }

  /** Whether the STT span of turn `turnIndex` has not gone out (its cost may still grow). */
  sttPending(turnIndex: number): boolean {
    return !this.turnSpans.get(turnIndex)?.sttEmitted;
  }

  // ---- the model --------------------------------------------------------------------------

  onUserTurnComplete(turn: TurnRecord): void {
    const user = turn.user;
    if (!user || user.speechStart === undefined) {
      if (!this.options.model.realtime) this.settleAndEou(turn);
      return;
    }
    const spans = this.turnSpans.get(turn.index);
    // one VAD span per turn the user spoke in, whatever the VAD's metrics rate; a realtime turn ends
    // with the user's speech, not with an SDK span
    if (this.options.model.realtime ? this.options.stages?.vad : this.options.stages?.vad || user.vad.length) this.options.spans.vad(user.vad, user, turn.index, spans?.context);
    if (!this.options.model.realtime) this.settleAndEou(turn);
  }

  onVadOutsideTurn(metric: VadMetric, latest: TurnRecord | undefined): void {
    this.options.spans.vad([metric], latest?.user, latest?.index, latest ? this.turnSpans.get(latest.index)?.context : undefined);
  }

  onEou(turn: TurnRecord): void {
    // the SDK may emit eou_metrics just after the user turn span ended: placed now
    if (turn.user?.endedAt !== undefined) this.emitEou(turn);
  }

  onSttReport(metric: SttMetric, turns: readonly TurnRecord[]): void {
    const { model, counters } = this.options;
    if (!turns.length) {
      counters.count('unplaced_event', 'stt');
      return this.options.spans.stt(sessionSttStep(metric, this.options.costOf(metric)), undefined, undefined, undefined);
    }
    // a share for a turn whose STT span went out already: in the totals and the report, not on its span
    for (const turn of turns) if (this.turnSpans.get(turn.index)?.sttEmitted || turn.index <= model.turnIndex - RECENT_TURNS) counters.count('late_usage', `stt turn ${turn.index}`);
    this.settleAll(false);
  }

  onInterruption(record: InterruptionRecord, reply: ReplyRecord | undefined): void {
    this.options.spans.interruption(record, reply ? this.options.sdkSpans.replyContext(reply.speechId) : undefined);
  }

  onUnmatchedInterruptionReport(metric: InterruptionMetric): void {
    // at the session's end it goes on the session span
    this.options.spans.interruptionReport(metric, this.options.model.ended ? undefined : this.options.sdkSpans.activeAgentTurn());
  }

  onHandoff(handoff: HandoffRecord): void {
    this.options.spans.handoff(handoff, this.options.sdkSpans.activeAgentTurn());
  }

  onSessionEnd(): void {
    // no more STT reports: each turn's STT is what was reported (a plugin may never report its last window)
    this.settleAll(true);
  }

  // ---- emission ---------------------------------------------------------------------------

  private settleAndEou(turn: TurnRecord): void {
    this.settleStt(turn, false);
    this.emitEou(turn);
  }

  private settleAll(closing: boolean): void {
    for (const [index, spans] of [...this.turnSpans]) {
      const turn = spans.sttEmitted ? undefined : this.options.model.turn(index);
      if (turn) this.settleStt(turn, closing);
    }
  }

  /**
   * Once a turn has ended and its STT usage is complete (or the session closed), its STT span goes
   * out and the reply that waited for the turn's cost is released.
   */
  private settleStt(turn: TurnRecord, closing: boolean): void {
    const spans = this.turnSpans.get(turn.index);
    const user = turn.user;
    if (!spans || spans.sttEmitted || !user || user.endedAt === undefined) return;
    if (!closing && !this.options.model.sttSettled(turn)) return;
    spans.sttEmitted = true;
    for (const step of user.stt) this.options.spans.stt(step, user, turn.index, spans.context);
    // the user spoke and the STT transcribed, but its provider never reported this audio (a last window)
    const stt = this.options.stages?.stt;
    if (!user.stt.length && stt && user.transcript !== undefined) this.options.spans.stt(unreportedSttStep(stt, user), user, turn.index, spans.context, true);
    this.options.onSttSettled(turn);
  }

  private emitEou(turn: TurnRecord): void {
    const spans = this.turnSpans.get(turn.index);
    const eou = turn.user?.eou;
    if (!eou || !spans || spans.hasSdkEou || spans.eouEmitted) return;
    spans.eouEmitted = true;
    this.options.spans.eou(eou, turn.index, spans.context);
  }
}

/** The STT of a turn whose audio its provider never reported: no usage, flagged incomplete. */
function unreportedSttStep(model: ModelRef, user: TurnRecord['user'] & object): SttStep {
  const at = user.finalTranscriptAt ?? user.speechEnd ?? user.startedAt;
  return {
    metric: { kind: 'stt', at, provider: model.provider, model: model.model, audioDuration: 0, streamed: true, inputTokens: 0, outputTokens: 0 },
    start: user.speechStart ?? user.startedAt,
    end: at,
    latency: user.transcriptionDelay,
    reports: 0,
  };
}

/** An STT report no user turn can take (before anyone spoke): a step of its own, on the session. */
function sessionSttStep(metric: SttMetric, cost: number | undefined): SttStep {
  return { metric, start: metric.at - metric.audioDuration, end: metric.at, cost, reports: 1 };
}
