import { DEFAULT_SIGNAL_THRESHOLDS, type SignalName, type SignalThresholds } from '@voicetrace/conventions';
import type { ReplyRecord, SignalRecord, SignalTotals, TurnRecord } from './types.js';

/**
 * At most this many signal records are kept (those of the retained turns; older ones stay in the
 * totals): the session span carries them, so the report rebuilt from traces has every retained turn's.
 */
export const MAX_SIGNAL_RECORDS = 2_000;

/** Longer texts are not compared (a 1 MB transcript is bad input, not an utterance): the check is skipped and counted. */
export const MAX_COMPARED_CHARACTERS = 4_000;

/** An earlier text a new one is compared with (a user's request, or the agent's reply), and its turn. */
export interface EarlierText {
  text: string;
  turnIndex: number;
}

/**
 * The conversation quality signals of one call (SIGNALS in `@voicetrace/conventions`), detected
 * from what the session model already holds: timestamps, waits, transcripts and reply texts.
 * The model calls it at the moments a signal becomes known and keeps what it returns on the
 * turn; the views only read the records and the totals.
 */
export class SignalDetector {
  readonly thresholds: SignalThresholds;
  private readonly totals = new Map<SignalName, SignalTotals>();
  private readonly log: SignalRecord[] = [];
  /** The last texts compared, normalized (see wordsOf). */
  private readonly recentWords = new Map<string, string>();

  constructor(thresholds: Partial<SignalThresholds> = {}, private readonly onImplausible: (what: string) => void = () => {}) {
    this.thresholds = { ...DEFAULT_SIGNAL_THRESHOLDS, ...defined(thresholds) };
  }

  /** A reply played to its end or was cut off: its wait and the speech over it. */
  replyEnded(reply: ReplyRecord, turn: TurnRecord): SignalRecord[] {
    const out: SignalRecord[] = [];
    const e2e = reply.latency?.e2e;
    if (e2e !== undefined && Number.isFinite(e2e)) {
      if (e2e > this.thresholds.deadAirSeconds) out.push(this.record('dead_air', turn, reply.firstAudioAt ?? reply.startedAt, reply.speechId, e2e - this.thresholds.deadAirSeconds, undefined, 'wait'));
      if (e2e > this.thresholds.latencyTargetSeconds) out.push(this.record('slow_turn', turn, reply.firstAudioAt ?? reply.startedAt, reply.speechId));
    }
    const overlap = reply.interruptions.reduce((n, i) => n + (i.overlap !== undefined && Number.isFinite(i.overlap) ? i.overlap : 0), 0);
    if (overlap > 0) out.push(this.record('talk_over_user', turn, reply.interruptions[0]!.start, reply.speechId, overlap));
    for (const i of reply.interruptions) if (!i.stoppedAgent) out.push(this.record('backchannel', turn, i.start, reply.speechId));
    return out;
  }

  /** The agent's audio stopped for `seconds` from `at`, inside `reply` (its output ran dry): the whole stop is dead air past the threshold. */
  playoutGap(reply: ReplyRecord, turn: TurnRecord, at: number, seconds: number): SignalRecord[] {
    return Number.isFinite(seconds) && seconds > this.thresholds.playoutGapSeconds ? [this.record('dead_air', turn, at, reply.speechId, seconds, undefined, 'reply')] : [];
  }

  /** The reply's words are known: nearly the same as one of the agent's last replies? */
  replyText(reply: ReplyRecord, turn: TurnRecord, earlier: readonly EarlierText[]): SignalRecord[] {
    const match = this.similarTo(reply.text, earlier);
    return match === undefined ? [] : [this.record('agent_repetition', turn, reply.startedAt, reply.speechId, undefined, match)];
  }

  /** A user turn ended: was their speech heard, and is it a repeat of a recent request? */
  userTurnEnded(turn: TurnRecord, earlier: readonly EarlierText[]): SignalRecord[] {
    const user = turn.user;
    if (!user) return [];
    const out: SignalRecord[] = [];
    const heard = user.speechStart !== undefined || user.speechEnd !== undefined;
    if (heard && !user.transcript?.trim() && !turn.signals?.some((s) => s.name === 'missed_speech')) out.push(this.record('missed_speech', turn, user.speechEnd ?? user.startedAt));
    const match = this.similarTo(user.transcript, earlier);
    if (match !== undefined) out.push(this.record('repeated_user_request', turn, user.speechStart ?? user.startedAt, undefined, undefined, match));
    return out;
  }

  /** A stretch of the user's speech from `at` got no words (the STT dropped it): missed speech, once per turn. */
  unheardSpeech(turn: TurnRecord, at: number): SignalRecord[] {
    return turn.signals?.some((s) => s.name === 'missed_speech') ? [] : [this.record('missed_speech', turn, at)];
  }

  /** The agent started speaking over the user: from then to the user's end of speech. */
  agentOverUser(turn: TurnRecord, agentStart: number, userEnd: number): SignalRecord[] {
    const seconds = userEnd - agentStart;
    return seconds > 0 && Number.isFinite(seconds) ? [this.record('talk_over_agent', turn, agentStart, undefined, seconds)] : [];
  }

  /** The user spoke again `after` seconds past the end-of-turn decision of `turn`, before its reply finished. */
  cutOff(turn: TurnRecord, at: number, after: number): SignalRecord[] {
    return after >= 0 && after <= this.thresholds.cutOffWindowSeconds ? [this.record('cut_off', turn, at)] : [];
  }

  /** A provider error or failed tool in the turn (once per turn). */
  error(turn: TurnRecord, at: number): SignalRecord[] {
    return turn.signals?.some((s) => s.name === 'error_turn') ? [] : [this.record('error_turn', turn, at)];
  }

  /** The call ended with the user waiting or the agent speaking. */
  abandoned(turn: TurnRecord, at: number): SignalRecord[] {
    return [this.record('abandonment', turn, at)];
  }

  /** Drops the records of turns before `turnIndex` (no longer retained by the model). */
  forgetBefore(turnIndex: number): void {
    let drop = 0;
    while (drop < this.log.length && this.log[drop]!.turnIndex < turnIndex) drop++;
    if (drop) this.log.splice(0, drop);
  }

  /** The records of the retained turns (at most MAX_SIGNAL_RECORDS), oldest first. */
  recent(): SignalRecord[] {
    return this.log.map((r) => ({ ...r }));
  }

  /** Per signal over the whole call (counting turns no longer retained). */
  snapshot(): Partial<Record<SignalName, SignalTotals>> {
    const out: Partial<Record<SignalName, SignalTotals>> = {};
    for (const [name, totals] of this.totals) out[name] = { ...totals };
    return out;
  }

  private record(name: SignalName, turn: TurnRecord, at: number, speechId?: string, seconds?: number, repeatsTurn?: number, where?: SignalRecord['where']): SignalRecord {
    const totals = this.totals.get(name) ?? { count: 0 };
    totals.count += 1;
    if (seconds !== undefined) totals.seconds = (totals.seconds ?? 0) + seconds;
    this.totals.set(name, totals);
    const record = signalRecord(name, turn.index, at, speechId, seconds, repeatsTurn, where);
    (turn.signals ??= []).push(record);
    this.log.push(record);
    if (this.log.length > MAX_SIGNAL_RECORDS) this.log.shift();
    return record;
  }

  /** The most recent of the last `repeatLookback` texts nearly the same as `text`: its turn index. */
  private similarTo(text: string | undefined, earlier: readonly EarlierText[]): number | undefined {
    if (!text?.trim()) return undefined;
    if (text.length > MAX_COMPARED_CHARACTERS) {
      this.onImplausible(`signal repetition: a ${text.length}-character text is not compared`);
      return undefined;
    }
    const words = this.wordsOf(text);
    if (!words.length) return undefined;
    const recent = earlier.filter((e) => e.text?.trim()).slice(-this.thresholds.repeatLookback);
    for (let i = recent.length - 1; i >= 0; i--) {
      const other = recent[i]!.text!;
      if (other.length > MAX_COMPARED_CHARACTERS) continue;
      const otherWords = this.wordsOf(other);
      // the edit distance is at least the difference in length: too different in length cannot reach the threshold
      if (Math.min(words.length, otherWords.length) < this.thresholds.repeatSimilarity * Math.max(words.length, otherWords.length)) continue;
      if (wordSimilarity(words, otherWords) >= this.thresholds.repeatSimilarity) return recent[i]!.turnIndex;
    }
    return undefined;
  }

  /**
   * A text's words. Each text is compared with the next `repeatLookback` ones of its kind, so the
   * last few are kept normalized (keyed by the text itself, which the model keeps anyway): as one
   * string, split again when compared (a microsecond), since an array of word strings took about
   * ten times the bytes.
   */
  private wordsOf(text: string): readonly string[] {
    let normalized = this.recentWords.get(text);
    if (normalized === undefined) {
      normalized = normalizedWords(text).join(' ');
      this.recentWords.set(text, normalized);
      // each kind (the user's, the agent's) is compared with its last `repeatLookback`: both kinds' fit in twice that and one more each
      if (this.recentWords.size > 2 * (this.thresholds.repeatLookback + 1)) this.recentWords.delete(this.recentWords.keys().next().value as string);
    }
    return normalized === '' ? [] : normalized.split(' ');
  }
}

/**
 * A record with the fields it has (none undefined), made as one literal per shape the detector
 * makes: fields added to an object one by one go to a property array of their own, about 40 bytes
 * more a record.
 */
export function signalRecord(name: SignalName, turnIndex: number, at: number, speechId?: string, seconds?: number, repeatsTurn?: number, where?: SignalRecord['where']): SignalRecord {
  const shape = (speechId !== undefined ? 1 : 0) | (seconds !== undefined ? 2 : 0) | (repeatsTurn !== undefined ? 4 : 0) | (where !== undefined ? 8 : 0);
  switch (shape) {
    case 0:
      return { name, turnIndex, at };
    case 1:
      return { name, turnIndex, at, speechId: speechId! };
    case 2:
      return { name, turnIndex, at, seconds: seconds! };
    case 3:
      return { name, turnIndex, at, speechId: speechId!, seconds: seconds! };
    case 4:
      return { name, turnIndex, at, repeatsTurn: repeatsTurn! };
    case 5:
      return { name, turnIndex, at, speechId: speechId!, repeatsTurn: repeatsTurn! };
    case 11:
      return { name, turnIndex, at, speechId: speechId!, seconds: seconds!, where: where! };
    default: {
      const record: SignalRecord = { name, turnIndex, at };
      if (speechId !== undefined) record.speechId = speechId;
      if (seconds !== undefined) record.seconds = seconds;
      if (repeatsTurn !== undefined) record.repeatsTurn = repeatsTurn;
      if (where !== undefined) record.where = where;
      return record;
    }
  }
}

/** Lower-case words without punctuation: what two utterances are compared on. */
export function normalizedWords(text: string): string[] {
  return text.toLowerCase().replace(/[^\p{L}\p{N}\s']/gu, ' ').split(/\s+/).filter(Boolean);
}

/** 1 - word-level edit distance / the longer length: 1 for the same words, 0 for nothing in common. */
export function wordSimilarity(a: readonly string[], b: readonly string[]): number {
  const longer = Math.max(a.length, b.length);
  if (longer === 0) return 1;
  // two rows of the edit-distance table, reused
  let previous = new Int32Array(b.length + 1);
  let current = new Int32Array(b.length + 1);
  for (let j = 0; j <= b.length; j++) previous[j] = j;
  for (let i = 1; i <= a.length; i++) {
    current[0] = i;
    const word = a[i - 1];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (word === b[j - 1] ? 0 : 1));
    [previous, current] = [current, previous];
  }
  return 1 - previous[b.length]! / longer;
}

function defined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && Number.isFinite(v))) as Partial<T>;
}
