import { LATENCY_STAGES, SIGNAL_NAMES, STAGES, WAIT_CONTRIBUTIONS } from '@voicetrace/conventions';
import { knownStrings, packRecord, unpackRecord, type PackedRecord } from '../packed-record.js';
import type { SpeechOfTurn } from './stt-usage.js';
import type { TurnRecord } from './types.js';

// the names every turn repeats: its wait slices' keys and owners, its steps' kinds, its signals
knownStrings([...WAIT_CONTRIBUTIONS.flatMap((c) => [c.key, c.owner]), ...LATENCY_STAGES.map((s) => s.key), ...STAGES, ...SIGNAL_NAMES]);

/**
 * A settled turn, packed (see {@link packRecord}), with what the model still asks of every turn
 * beside it: its index, and its user's speech for the STT usage reports that may reach back to it
 * (see SessionModel.addSttReport).
 */
export class PackedTurn implements SpeechOfTurn {
  readonly index: number;
  /** Its user's side as an STT report reads it (undefined: the turn has no user side). */
  readonly user: SpeechOfTurn['user'];
  /**
   * The user's words and the replies' words (not blank; undefined when none), kept beside the packing:
   * the repetition signals compare each new text with the last few, and reading them must not unpack
   * the turn (it did, for every reply's words: 2.5% of voicetrace's CPU in the bench).
   */
  readonly userText: string | undefined;
  readonly replyTexts: ReadonlyArray<{ text: string; startedAt: number }> | undefined;

  /**
   * The turn's signal records, kept by reference beside the packing: the model's signal log holds
   * the same records, and a packed copy of them doubled what a call keeps of its signals.
   */
  readonly signals: TurnRecord['signals'];

  constructor(turn: TurnRecord, readonly record: PackedRecord) {
    this.index = turn.index;
    this.signals = turn.signals;
    const user = turn.user;
    this.user = user && { startedAt: user.startedAt, speechStart: user.speechStart, speechEnd: user.speechEnd, endedAt: user.endedAt, sttSettled: user.sttSettled };
    this.userText = user?.transcript?.trim() ? user.transcript : undefined;
    const replyTexts = turn.replies.filter((reply) => reply.text?.trim()).map((reply) => ({ text: reply.text!, startedAt: reply.startedAt }));
    this.replyTexts = replyTexts.length ? replyTexts : undefined;
  }

  /** A new copy of the turn: nothing done to it reaches the packing or the signal log. */
  unpack(): TurnRecord {
    const turn = unpackRecord(this.record) as TurnRecord;
    if (this.signals) turn.signals = this.signals.map((signal) => ({ ...signal }));
    return turn;
  }
}

/**
 * The model's retained turns, oldest first. The newest ones are live objects the model changes as
 * facts arrive; the older, settled ones are packed, about a third of their size as objects (a call
 * keeps its turns to its end). A packed turn is unpacked in place when the model reaches for it to
 * change it (a late report), and packed again at the next {@link pack}.
 */
export class TurnHistory {
  private readonly entries: Array<TurnRecord | PackedTurn> = [];
  /** Turns that hold something other than plain data: never tried again (made at the first). */
  private unpackable: WeakSet<TurnRecord> | undefined;

  get length(): number {
    return this.entries.length;
  }

  /** The index of the oldest retained turn. */
  get firstIndex(): number | undefined {
    return this.entries[0]?.index;
  }

  /** The turn at `position` (0: the oldest retained), live: unpacked in place when packed. */
  at(position: number): TurnRecord | undefined {
    const entry = this.entries[position];
    if (!(entry instanceof PackedTurn)) return entry;
    const turn = entry.unpack();
    this.entries[position] = turn;
    return turn;
  }

  /** The turn at `position` as it is held: live, or packed (its words and speech readable without unpacking). */
  held(position: number): TurnRecord | PackedTurn | undefined {
    return this.entries[position];
  }

  /**
   * The newest turn `wanted` picks from its user's speech (a packed turn's is read from what is kept
   * beside it, without decoding), live.
   */
  findLast(wanted: (turn: SpeechOfTurn) => boolean): TurnRecord | undefined {
    for (let i = this.entries.length - 1; i >= 0; i--) if (wanted(this.entries[i]!)) return this.at(i);
    return undefined;
  }

  last(): TurnRecord | undefined {
    return this.at(this.entries.length - 1);
  }

  /** The turn with `index`, live, when retained. */
  find(index: number): TurnRecord | undefined {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const entry = this.entries[i]!;
      if (entry.index === index) return this.at(i);
      if (entry.index < index) return undefined;
    }
    return undefined;
  }

  /** The live record of an entry of {@link all}: a packed turn is unpacked in place. */
  liveOf(entry: TurnRecord | PackedTurn): TurnRecord {
    return entry instanceof PackedTurn ? this.find(entry.index)! : entry;
  }

  push(turn: TurnRecord): void {
    this.entries.push(turn);
  }

  pop(): void {
    this.entries.pop();
  }

  shift(): void {
    this.entries.shift();
  }

  /** Every turn as it is held (live or packed), oldest first. */
  all(): Array<TurnRecord | PackedTurn> {
    return this.entries.slice();
  }

  /** The live turns, oldest first. */
  live(): TurnRecord[] {
    return this.entries.filter((entry): entry is TurnRecord => !(entry instanceof PackedTurn));
  }

  /**
   * Packs the live turns older than the newest `keepLive` that `settle` says are settled (it may
   * bring a turn's figures up to date first: they are frozen in the packing).
   */
  pack(keepLive: number, settle: (turn: TurnRecord) => boolean): void {
    for (let i = 0; i < this.entries.length - keepLive; i++) {
      const entry = this.entries[i]!;
      if (entry instanceof PackedTurn || this.unpackable?.has(entry) || !settle(entry)) continue;
      // the signals are kept beside the packing (PackedTurn.signals); their key keeps its place, as undefined
      const signals = entry.signals;
      if (signals) entry.signals = undefined;
      const record = packRecord(entry);
      if (signals) entry.signals = signals;
      if (record) this.entries[i] = new PackedTurn(entry, record);
      else (this.unpackable ??= new WeakSet()).add(entry);
    }
  }

  /** Copies of every turn, oldest first, for a snapshot: nothing the caller does reaches the model. */
  copies(): TurnRecord[] {
    return this.entries.map((entry) => (entry instanceof PackedTurn ? entry.unpack() : structuredClone(entry)));
  }
}
