import type { Attributes } from '@opentelemetry/api';
import { ATTR } from '@voicetrace/conventions';
import type { SessionModel } from '../model/session-model.js';
import type { ReplyRecord, SessionModelObserver, TurnRecord } from '../model/types.js';

/** A fact an ended SDK span may still wait for. */
type LateFact = 'transcript' | 'text' | 'stt';

interface HeldSpan {
  turnIndex: number;
  reply: ReplyRecord;
  needs: Set<LateFact>;
  /** The attributes the facts that came added, for the export. */
  attributes: Attributes;
}

/** What an ended span of a reply lacks: the user's words, the reply's text, its turn's STT usage. */
export interface Lacking {
  transcript: boolean;
  text: boolean;
  stt?: boolean | undefined;
}

/** Options of {@link LateFactHold}. */
export interface LateFactHoldOptions {
  model: SessionModel;
  /** Content may be exported (the words are only waited for then). */
  allowPii: boolean;
}

/**
 * The SDK's spans held for facts that come after they end, an observer of the session model: in
 * realtime mode the user's words and the reply's text arrive after the reply's spans ended, and a
 * periodic STT reporter sends a turn's usage late. The engine says which ended span lacks what
 * ({@link hold}); the model announces the words and the text, the stage span view a turn's settled
 * STT ({@link sttSettled}). A span is released (to the processor that holds its export) once it
 * needs nothing more, when the processor gives up waiting ({@link expire}), or when the session ends.
 */
export class LateFactHold implements SessionModelObserver {
  private readonly held = new Map<string, HeldSpan>();
  private release: (spanIds: readonly string[], attributes: Attributes) => void = () => {};

  constructor(private readonly options: LateFactHoldOptions) {}

  /** Who exports the spans held here: `release` gets their ids and what the facts added. */
  onRelease(release: (spanIds: readonly string[], attributes: Attributes) => void): void {
    this.release = release;
  }

  /**
   * An ended span of `reply` lacks these facts. Words are waited for in realtime mode only, with
   * content allowed (a greeting has no user words to wait for); STT usage whenever asked.
   */
  hold(spanId: string, reply: ReplyRecord, lacking: Lacking): void {
    const model = this.options.model;
    const needs = new Set<LateFact>();
    if (model.realtime && this.options.allowPii) {
      if (lacking.transcript && reply.turnIndex > 0 && model.turn(reply.turnIndex)?.user?.transcript === undefined) needs.add('transcript');
      if (lacking.text && reply.text === undefined) needs.add('text');
    }
    if (lacking.stt) needs.add('stt');
    if (needs.size) this.held.set(spanId, { turnIndex: reply.turnIndex, reply, needs, attributes: {} });
  }

  /** Whether the span waits for a fact. */
  holds(spanId: string): boolean {
    return this.held.has(spanId);
  }

  /** The processor stopped waiting for this span: what it gathered meanwhile. */
  expire(spanId: string): Attributes {
    const held = this.held.get(spanId);
    this.held.delete(spanId);
    return held?.attributes ?? {};
  }

  /** Nothing more will come: every held span goes with what it got. */
  releaseAll(): void {
    for (const [spanId, held] of [...this.held]) this.releaseHeld(spanId, held.attributes);
  }

  /** The turn's STT usage is complete: the agent turn that waited for its turn's cost gets it. */
  sttSettled(turn: TurnRecord): void {
    this.fact((held) => held.turnIndex === turn.index, 'stt', { [ATTR.TURN_COST]: this.options.model.turnCost(turn) });
  }

  onUserWords(turn: TurnRecord): void {
    const transcript = turn.user?.transcript;
    if (transcript) this.fact((held) => held.turnIndex === turn.index, 'transcript', { [ATTR.PII_USER_TRANSCRIPT]: transcript });
  }

  onReplyText(reply: ReplyRecord): void {
    if (reply.text) this.fact((held) => held.reply === reply, 'text', { [ATTR.PII_RESPONSE_TEXT]: reply.text });
  }

  /** A fact some held spans waited for: add it; release those that need nothing more. */
  private fact(matches: (held: HeldSpan) => boolean, fact: LateFact, attributes: Attributes): void {
    if (!this.held.size) return;
    for (const [spanId, held] of [...this.held]) {
      if (!held.needs.has(fact) || !matches(held)) continue;
      held.needs.delete(fact);
      Object.assign(held.attributes, attributes);
      if (!held.needs.size) this.releaseHeld(spanId, held.attributes);
    }
  }

  private releaseHeld(spanId: string, attributes: Attributes): void {
    this.held.delete(spanId);
    this.release([spanId], attributes);
  }
}
