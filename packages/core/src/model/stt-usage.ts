import type { SttMetric } from '../events.js';
import { sharedName } from '../names.js';
import type { SttStep, TurnRecord, UserTurnRecord } from './types.js';

/** What a report reads of a turn: its user's speech (a packed turn keeps it beside its packing). */
export interface SpeechOfTurn {
  user?: Pick<UserTurnRecord, 'startedAt' | 'speechStart' | 'speechEnd' | 'endedAt' | 'sttSettled'> | undefined;
}

/**
 * Splits STT usage reports over the user turns whose audio they measured.
 *
 * STT plugins report usage on their own rhythm: per request (a non-streaming STT, after each
 * utterance), periodically (Deepgram: every 5 s of audio sent), or at close. A report measures the
 * audio sent since the previous report of the same provider/model: its window. Its audio is split
 * over the turns whose user speech falls in that window, in proportion to the seconds of speech
 * each turn had there; a window with no user speech at all (background sound past the plugin's
 * energy filter) goes to the turn nearest in time. Each turn keeps one step per provider/model:
 * the sum of its shares, so every turn's audio and cost add up to the session's exactly.
 *
 * A turn is settled for a provider once a report's window reaches past its end of speech: no
 * later window can hold its speech.
 */
export class SttApportioner {
  /** Where the previous report of each provider/model ended (epoch seconds). */
  private readonly windowStart = new Map<string, number>();

  constructor(private readonly cost: (metric: SttMetric) => number | undefined) {}

  /**
   * Splits one report over `turns` (retained turns with user speech, oldest first; `live` gives the
   * record to change for one, a packed turn being read from what is kept beside it). Returns the
   * turns it touched; a report with no turn to go to returns none (the caller keeps it session-only).
   */
  apportion<T extends SpeechOfTurn>(metric: SttMetric, turns: readonly T[], sessionStart: number | undefined, live: (turn: T) => TurnRecord): TurnRecord[] {
    const key = sharedName(`${metric.provider}|${metric.model}`);
    const end = metric.at;
    const start = Math.min(this.windowStart.get(key) ?? sessionStart ?? end - metric.audioDuration, end);
    this.windowStart.set(key, end);
    const speaking = turns.filter((turn) => turn.user?.speechStart !== undefined);
    const weights = speaking.map((turn) => overlap(turn, start, end));
    const total = weights.reduce((sum, w) => sum + w, 0);
    const shares: Array<[T, number]> = total > 0
      ? speaking.map((turn, i): [T, number] => [turn, weights[i]! / total]).filter(([, share]) => share > 0)
      : nearest(speaking.length ? speaking : turns.filter((t) => t.user), start, end);
    const cost = this.cost(metric);
    const touched = shares.map(([turn, share]) => {
      const record = live(turn);
      this.add(record, metric, share, cost, key);
      return record;
    });
    // a window that reached past a turn's end of speech holds all of that turn's speech
    for (const turn of speaking) {
      const user = turn.user!;
      if (user.speechEnd === undefined || user.speechEnd > end || user.sttSettled?.includes(key)) continue;
      const record = live(turn).user!;
      // a new array of exact size (concat; a push or a spread reserves spare slots): a turn keeps it to the call's end (see fitted in session-model.ts)
      record.sttSettled = (record.sttSettled ?? []).concat(key);
    }
    return touched;
  }

  /** Whether every STT provider that reported in this session has settled `turn`. */
  settled(turn: TurnRecord): boolean {
    const keys = [...this.windowStart.keys()];
    return keys.length > 0 && keys.every((key) => turn.user?.sttSettled?.includes(key));
  }

  private add(turn: TurnRecord, metric: SttMetric, share: number, cost: number | undefined, key: string): void {
    const user = turn.user!;
    let step = user.stt.find((s) => `${s.metric.provider}|${s.metric.model}` === key);
    if (!step) {
      step = {
        // a literal, not a spread plus keys: one hidden class for every step
        metric: {
          kind: 'stt', at: metric.at, quality: undefined, provider: metric.provider, model: metric.model,
          requestId: metric.requestId, duration: undefined, audioDuration: 0, streamed: metric.streamed, inputTokens: 0, outputTokens: 0,
        },
        // the report's audio until the user's speech is known (fitSttStep)
        start: metric.at - metric.audioDuration,
        end: metric.at,
        reports: 0,
      };
      fitSttStep(step, user);
      user.stt = user.stt.concat(step);
    }
    step.metric.audioDuration += metric.audioDuration * share;
    step.metric.inputTokens += metric.inputTokens * share;
    step.metric.outputTokens += metric.outputTokens * share;
    // a non-streaming request's own duration, when one report was the whole turn's
    if (share === 1 && metric.duration !== undefined) step.metric.duration = (step.metric.duration ?? 0) + metric.duration;
    if (cost !== undefined) step.cost = (step.cost ?? 0) + cost * share;
    step.reports += 1;
  }
}

/** Seconds of the turn's speech inside [start, end]. */
function overlap(turn: SpeechOfTurn, start: number, end: number): number {
  const user = turn.user!;
  const speechStart = user.speechStart!;
  const speechEnd = user.speechEnd ?? user.endedAt ?? end;
  return Math.max(0, Math.min(end, speechEnd) - Math.max(start, speechStart));
}

/** The turn nearest in time to [start, end], whole. */
function nearest<T extends SpeechOfTurn>(turns: readonly T[], start: number, end: number): Array<[T, number]> {
  let best: T | undefined;
  let bestGap = Infinity;
  for (const turn of turns) {
    const user = turn.user!;
    const from = user.speechStart ?? user.startedAt;
    const to = user.speechEnd ?? user.endedAt ?? from;
    const gap = Math.max(0, from - end, start - to);
    if (gap <= bestGap) {
      best = turn;
      bestGap = gap;
    }
  }
  return best ? [[best, 1]] : [];
}

/**
 * An STT step spans the user's speech start to their final transcript, as those become known (a step
 * is made at its provider's first report, often before either; SessionModel calls this again as they
 * come): the span view and the report read these extents, never the user's record.
 */
export function fitSttStep(step: SttStep, user: UserTurnRecord): void {
  step.start = user.speechStart ?? step.start;
  step.end = Math.max(step.start, user.finalTranscriptAt ?? user.speechStart ?? step.end);
}
