// The conversation quality signals (SIGNALS in @voicetrace/conventions): each case injects one cause
// on one turn of an otherwise clean call and checks that exactly its signal fires, on that turn, with
// the injected size; the session span and the snapshot totals read the same records.
import { ATTR, METRIC, METRIC_ATTR, SIGNALS, type SignalName } from '@voicetrace/conventions';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { DropCounters } from '../src/counters.js';
import { SessionModel } from '../src/model/session-model.js';
import { normalizedWords, signalRecord, wordSimilarity } from '../src/model/signals.js';
import { PriceBook } from '../src/prices.js';
import { UsageLedger } from '../src/usage.js';
import { sessionSpanAttributes } from '../src/views/span-attributes.js';
import { SessionMetrics } from '../src/views/metrics.js';
import { CollectingReader } from './support.js';

const T0 = 1_800_000_000;
const QUESTIONS = ['what is the weather in paris', 'when do your stores open on sunday', 'i was charged twice this month', 'can you send me the invoice', 'thank you that is all'];
const ANSWERS = ['It is sunny in Paris.', 'Ten until six on Sundays.', 'The second charge is a pending authorization.', 'I have sent it to your email.', 'Goodbye!'];

interface TurnOptions {
  e2e?: number;
  transcript?: string;
  answer?: string;
  /** The user speaks over the reply from +start for `seconds`; `stops` the agent or not. */
  overlap?: { seconds: number; stops: boolean };
  /** The agent starts speaking `seconds` before the user's end of speech. */
  agentEarly?: number;
  toolFails?: boolean;
  /** The reply's audio stops `after` seconds in, for `seconds` (its output ran dry), then plays on. */
  gap?: { after: number; seconds: number };
}

function call() {
  const counters = new DropCounters();
  const model = new SessionModel({ sessionId: 's', ledger: new UsageLedger(new PriceBook(), counters), counters });
  model.beginSession(T0);
  return { model, counters };
}

/** User turn `i` (1-based) at T0 + 10 i: speech 0.1..1.5 s, end of turn at 1.8 s, the reply plays after `e2e` (default 1 s) for 2 s. */
function turn(m: SessionModel, i: number, o: TurnOptions = {}): void {
  const t = T0 + 10 * i;
  const speechId = `sp${i}`;
  m.beginUserTurn(t);
  m.noteUserSpeech(true, t + 0.1);
  const userEnd = t + 1.5;
  const e2e = o.e2e ?? 1;
  if (o.agentEarly !== undefined) m.noteAgentSpeaking(true, userEnd - o.agentEarly);
  m.noteUserSpeech(false, userEnd);
  if (o.agentEarly !== undefined) m.noteAgentSpeaking(false, userEnd);
  m.noteTranscript(true, o.transcript ?? QUESTIONS[(i - 1) % QUESTIONS.length]!, t + 1.7);
  m.setEou({ kind: 'eou', at: t + 1.8, speechId, eouDelay: 0.3, transcriptionDelay: 0.2, onUserTurnCompletedDelay: 0, lastSpeakingTime: userEnd });
  m.endUserTurn(t + 1.8, {});
  m.reply(speechId, t + 1.8, 'front_desk');
  if (o.toolFails) m.addToolStep(speechId, { name: 'get_weather', start: t + 1.9, end: t + 2, isError: true });
  const audio = userEnd + e2e;
  m.noteAgentSpeaking(true, audio);
  let end = audio + 2;
  // the audio output's played stretches: one, or two around a stop
  if (o.gap) {
    m.notePlayout(audio, 0, o.gap.after);
    end += o.gap.seconds;
    m.notePlayout(audio + o.gap.after + o.gap.seconds, o.gap.after, 2 - o.gap.after);
  } else if (!o.overlap) m.notePlayout(audio, 0, 2);
  if (o.overlap) {
    m.noteUserSpeech(true, audio + 0.5);
    if (o.overlap.stops) end = audio + 0.5 + o.overlap.seconds;
    else m.noteUserSpeech(false, audio + 0.5 + o.overlap.seconds);
  }
  m.noteAgentSpeaking(false, end);
  if (o.overlap?.stops) m.noteUserSpeech(false, end + 0.2);
  m.endAgentTurn(speechId, end, { e2e, interrupted: o.overlap?.stops || undefined });
  m.noteAssistantText(o.answer ?? ANSWERS[(i - 1) % ANSWERS.length]!);
}

/** Five turns, `inject` on turn `at`; the signals as (turn, name, seconds, repeats). */
function signalsOf(inject: TurnOptions, at: number, after?: (m: SessionModel) => void) {
  const { model, counters } = call();
  for (let i = 1; i <= 5; i++) turn(model, i, i === at ? inject : {});
  after?.(model);
  model.endSession(T0 + 100);
  const snapshot = model.snapshot();
  const records = snapshot.turns.flatMap((t) => (t.signals ?? []).map((s) => [t.index, s.name, s.seconds === undefined ? undefined : Number(s.seconds.toFixed(5)), s.repeatsTurn] as const));
  return { records, snapshot, counters };
}

describe('quality signals: one cause, exactly its signal, on its turn, at its size', () => {
  it('a clean call raises none', () => {
    const { records, snapshot } = signalsOf({}, 0);
    expect(records).toEqual([]);
    expect(snapshot.signals).toEqual({});
  });

  it('dead air: a 3.5 s wait is 1.5 s of dead air past the 2 s threshold, and a slow turn (comes with it)', () => {
    expect(signalsOf({ e2e: 3.5 }, 3).records).toEqual([
      [3, 'dead_air', 1.5, undefined],
      [3, 'slow_turn', undefined, undefined],
    ]);
  });

  it('dead air inside a reply: its audio stops 0.8 s after 0.6 s of it (the next audio came late); the whole stop is its size', () => {
    const { records, snapshot } = signalsOf({ gap: { after: 0.6, seconds: 0.8 } }, 2);
    expect(records).toEqual([[2, 'dead_air', 0.8, undefined]]);
    const [signal] = snapshot.turns.find((t) => t.index === 2)!.signals!;
    expect(signal).toMatchObject({ where: 'reply', at: T0 + 20 + 1.5 + 1 + 0.6, speechId: 'sp2' });
    expect(snapshot.signals.dead_air).toEqual({ count: 1, seconds: expect.closeTo(0.8, 6) });
  });

  it('dead air inside a reply: a 0.4 s stop is under the 0.5 s threshold; a stop while the user spoke (a paused reply) is none', () => {
    expect(signalsOf({ gap: { after: 0.6, seconds: 0.4 } }, 2).records).toEqual([]);
    const { model } = call();
    turn(model, 1);
    const t = T0 + 20;
    model.beginUserTurn(t);
    model.noteUserSpeech(true, t + 0.1);
    model.noteUserSpeech(false, t + 1.5);
    model.noteTranscript(true, QUESTIONS[1]!, t + 1.7);
    model.endUserTurn(t + 1.8, {});
    model.reply('sp2', t + 1.8, 'front_desk');
    model.noteAgentSpeaking(true, t + 2.5);
    model.notePlayout(t + 2.5, 0, 0.5);
    // the user says "uh-huh" for 0.6 s: the SDK pauses the reply, then resumes it past what it discarded
    model.noteUserSpeech(true, t + 3);
    model.noteUserSpeech(false, t + 3.6);
    model.notePlayout(t + 3.9, 0.5, 1.5);
    model.noteAgentSpeaking(false, t + 5.4);
    model.endAgentTurn('sp2', t + 5.4, { e2e: 1 });
    expect(model.snapshot().turns.flatMap((x) => (x.signals ?? []).map((s) => s.name))).not.toContain('dead_air');
  });

  it('a reply the call ended under is no interruption (nobody spoke over it); a barge-in is one', () => {
    const { model } = call();
    turn(model, 1);
    turn(model, 2, { overlap: { seconds: 0.4, stops: true } });
    expect(model.snapshot().interruptions).toBe(1);
    const t = T0 + 30;
    model.beginUserTurn(t);
    model.noteUserSpeech(true, t + 0.1);
    model.noteUserSpeech(false, t + 1.5);
    model.noteTranscript(true, QUESTIONS[2]!, t + 1.7);
    model.endUserTurn(t + 1.8, {});
    model.reply('sp3', t + 1.8, 'front_desk');
    model.noteAgentSpeaking(true, t + 2.5);
    // the caller hangs up 0.3 s into the answer: the SDK stops the speech and marks it interrupted
    model.noteAgentSpeaking(false, t + 2.8);
    model.endAgentTurn('sp3', t + 2.8, { e2e: 1, interrupted: true });
    model.endSession(t + 2.9);
    const snapshot = model.snapshot();
    expect(snapshot.interruptions).toBe(1);
    expect(snapshot.replyCount).toBe(3);
    expect(snapshot.turns.flatMap((x) => (x.signals ?? []).map((s) => `${x.index}:${s.name}`))).toEqual(['2:talk_over_user', '3:abandonment']);
  });

  it('slow turn: a 1.8 s wait is past the 1.5 s target but not dead air', () => {
    expect(signalsOf({ e2e: 1.8 }, 2).records).toEqual([[2, 'slow_turn', undefined, undefined]]);
  });

  it('talk-over, user over agent: a barge-in with 0.4 s of overlap', () => {
    expect(signalsOf({ overlap: { seconds: 0.4, stops: true } }, 2).records).toEqual([[2, 'talk_over_user', 0.4, undefined]]);
  });

  it('backchannel: 0.3 s of user speech that did not stop the agent (its overlap is talk-over too)', () => {
    expect(signalsOf({ overlap: { seconds: 0.3, stops: false } }, 4).records).toEqual([
      [4, 'talk_over_user', 0.3, undefined],
      [4, 'backchannel', undefined, undefined],
    ]);
  });

  it('talk-over, agent over user: the agent started 0.25 s before the user stopped', () => {
    expect(signalsOf({ agentEarly: 0.25 }, 3).records).toEqual([[3, 'talk_over_agent', 0.25, undefined]]);
  });

  it('repeated user request: turn 4 says turn 2\'s words again (punctuation and case aside)', () => {
    expect(signalsOf({ transcript: 'When do your stores open on Sunday?' }, 4).records).toEqual([[4, 'repeated_user_request', undefined, 2]]);
  });

  it('agent repetition: reply 3 says reply 1 again', () => {
    expect(signalsOf({ answer: 'It is sunny in Paris!' }, 3).records).toEqual([[3, 'agent_repetition', undefined, 1]]);
  });

  it('missed speech: the user spoke and the transcript came back empty', () => {
    expect(signalsOf({ transcript: ' ' }, 2).records).toEqual([[2, 'missed_speech', undefined, undefined]]);
  });

  it('missed speech: a mumble the STT made nothing of, 3 s before the words it did hear, in the same turn', () => {
    const { model } = call();
    turn(model, 1);
    const t = T0 + 20;
    model.beginUserTurn(t);
    model.noteUserSpeech(true, t + 0.1);
    model.noteUserSpeech(false, t + 0.9);
    model.noteUserSpeech(true, t + 3.9);
    model.noteTranscript(false, 'when do your', t + 4.2);
    model.noteUserSpeech(false, t + 5.5);
    model.noteTranscript(true, QUESTIONS[1]!, t + 5.7);
    model.endUserTurn(t + 5.8, {});
    model.endSession(t + 10);
    // (the call ends with the caller waiting for an answer: abandonment too, not asserted here)
    expect(model.snapshot().turns.flatMap((x) => (x.signals ?? []).filter((s) => s.name === 'missed_speech').map((s) => [x.index, s.name, s.at]))).toEqual([[2, 'missed_speech', t + 0.1]]);
  });

  it('missed speech: words that come within 2 s of the end of speech (a slow final) are no missed speech', () => {
    const { model } = call();
    turn(model, 1);
    const t = T0 + 20;
    model.beginUserTurn(t);
    model.noteUserSpeech(true, t + 0.1);
    model.noteUserSpeech(false, t + 0.9);
    model.noteTranscript(true, 'yes', t + 2.7);
    model.endUserTurn(t + 2.8, {});
    model.endSession(t + 10);
    expect(model.snapshot().turns.flatMap((x) => (x.signals ?? []).map((s) => s.name)).filter((name) => name !== 'abandonment')).toEqual([]);
  });

  it('error turn: a failed tool call', () => {
    expect(signalsOf({ toolFails: true }, 2).records).toEqual([[2, 'error_turn', undefined, undefined]]);
  });

  it('cut-off: the user speaks again 0.4 s after the end-of-turn decision, while the reply is still coming', () => {
    const { model } = call();
    for (let i = 1; i <= 2; i++) turn(model, i);
    const t = T0 + 30;
    model.beginUserTurn(t);
    model.noteUserSpeech(true, t + 0.1);
    model.noteUserSpeech(false, t + 1.5);
    model.noteTranscript(true, 'i have a question about', t + 1.7);
    model.endUserTurn(t + 1.8, {});
    model.reply('sp3', t + 1.8, 'front_desk');
    model.noteUserSpeech(true, t + 2.2);
    model.endAgentTurn('sp3', t + 2.3, { interrupted: true });
    expect(model.snapshot().turns.flatMap((x) => (x.signals ?? []).map((s) => [x.index, s.name, s.at]))).toEqual([[3, 'cut_off', t + 2.2]]);
    expect(model.snapshot().cancelledReplies).toBe(1);
  });

  it('abandonment: the call ends while the agent is speaking', () => {
    const { model } = call();
    for (let i = 1; i <= 2; i++) turn(model, i);
    model.noteAgentSpeaking(true, T0 + 40);
    model.endSession(T0 + 41);
    expect(model.snapshot().turns.flatMap((x) => (x.signals ?? []).map((s) => [x.index, s.name]))).toEqual([[2, 'abandonment']]);
  });

  it('abandonment: the call ends while the user waits for a reply', () => {
    const { model } = call();
    turn(model, 1);
    const t = T0 + 20;
    model.beginUserTurn(t);
    model.noteUserSpeech(true, t + 0.1);
    model.noteUserSpeech(false, t + 1.5);
    model.noteTranscript(true, 'are you still there', t + 1.7);
    model.endUserTurn(t + 1.8, {});
    model.endSession(t + 6);
    expect(model.snapshot().turns.flatMap((x) => (x.signals ?? []).map((s) => [x.index, s.name]))).toEqual([[2, 'abandonment']]);
  });
});

describe('quality signals: a realtime model\'s turns', () => {
  it('the user\'s words, transcribed after their turn ended, are no missed speech; a turn that never got words is', () => {
    const { model } = call();
    model.useEventTurns(0.4);
    const t = T0 + 10;
    // turn 1: speech, the reply begins, then the model's transcription of the user arrives
    model.noteUserSpeech(true, t);
    model.noteUserSpeech(false, t + 1.5);
    model.reply('r1', t + 2, 'front_desk');
    model.noteTranscript(true, 'what is the weather in paris', t + 2.5);
    model.noteAgentSpeaking(true, t + 2.2);
    model.noteAgentSpeaking(false, t + 4);
    model.endAgentTurn('r1', t + 4, {});
    // turn 2: speech that never got a transcript
    model.noteUserSpeech(true, t + 10);
    model.noteUserSpeech(false, t + 11);
    model.endSession(t + 20);
    expect(model.snapshot().turns.flatMap((x) => (x.signals ?? []).map((s) => [x.index, s.name]))).toEqual([[2, 'missed_speech']]);
  });
});

describe('quality signals: a realtime turn is checked once', () => {
  it('a repeated request is one signal, though an empty turn after it was opened, dropped and opened again', () => {
    const { model } = call();
    model.useEventTurns(0.4);
    const t = T0 + 10;
    for (const [n, start] of [[1, t], [2, t + 10]] as const) {
      model.noteUserSpeech(true, start);
      model.noteUserSpeech(false, start + 1.5);
      model.reply(`r${n}`, start + 2, 'front_desk');
      model.noteTranscript(true, 'what is the weather in paris', start + 2.5);
      model.noteAgentSpeaking(true, start + 2.2);
      model.noteAgentSpeaking(false, start + 4);
      model.endAgentTurn(`r${n}`, start + 4, {});
    }
    // the SDK opens a turn and closes it empty (no speech, no words): it is no turn, and turn 2 is the latest again
    model.beginUserTurn(t + 20);
    model.endUserTurn(t + 20.5, {});
    model.beginUserTurn(t + 30);
    model.endSession(t + 40);
    const signals = model.snapshot().turns.flatMap((x) => (x.signals ?? []).map((s) => [x.index, s.name]));
    expect(signals.filter(([, name]) => name === 'repeated_user_request')).toEqual([[2, 'repeated_user_request']]);
  });
});

describe('quality signals: one set of records, read by the views', () => {
  it('the snapshot totals and the session span carry the same counts and seconds as the turns', () => {
    const { model } = call();
    turn(model, 1, { e2e: 2.6 });
    turn(model, 2, { overlap: { seconds: 0.4, stops: true } });
    turn(model, 3, { e2e: 4 });
    model.endSession(T0 + 60);
    const snapshot = model.snapshot();
    expect(snapshot.signals).toEqual({ dead_air: { count: 2, seconds: expect.closeTo(2.6, 6) }, slow_turn: { count: 2 }, talk_over_user: { count: 1, seconds: expect.closeTo(0.4, 6) } });
    const span = JSON.parse(sessionSpanAttributes(snapshot)[ATTR.SESSION_SIGNALS] as string) as { totals: unknown; records: Array<{ name: SignalName; turnIndex: number }> };
    expect(span.totals).toEqual(JSON.parse(JSON.stringify(snapshot.signals)));
    expect(span.records.map((r) => [r.turnIndex, r.name])).toEqual(snapshot.turns.flatMap((t) => (t.signals ?? []).map((s) => [t.index, s.name])));
  });

  it('the metrics: every signal\'s series starts at 0 for the agent, then counts each record and its seconds', async () => {
    const reader = new CollectingReader();
    const { model } = call();
    model.subscribe(new SessionMetrics({ meter: new MeterProvider({ readers: [reader] }).getMeter('voicetrace'), environment: 'test', currentAgent: () => 'front_desk' }));
    turn(model, 1);
    const points = async (name: string) =>
      Object.fromEntries(((await reader.metrics()).get(name)?.dataPoints ?? []).map((p) => [p.attributes[METRIC_ATTR.SIGNAL] as string, p.value as number]));
    // a clean reply: every series exists, at 0 (rate() then counts the first signal)
    expect(await points(METRIC.SIGNALS)).toEqual(Object.fromEntries(SIGNALS.map((x) => [x.name, 0])));
    turn(model, 2, { e2e: 3.25 });
    expect(await points(METRIC.SIGNALS)).toMatchObject({ dead_air: 1, slow_turn: 1, cut_off: 0 });
    expect((await points(METRIC.SIGNAL_SECONDS)).dead_air).toBeCloseTo(1.25, 5);
  });

  it('every signal of the model is defined in conventions', () => {
    const defined = new Set(SIGNALS.map((s) => s.name));
    const { model } = call();
    turn(model, 1, { e2e: 3, overlap: { seconds: 0.3, stops: false } });
    model.endSession(T0 + 30);
    for (const name of Object.keys(model.snapshot().signals)) expect(defined.has(name as SignalName), name).toBe(true);
  });
});

describe('quality signals: bad input leaves the signal unset, never a throw', () => {
  it('a 1 MB transcript is not compared: no repetition signal, counted as implausible', () => {
    const huge = 'word '.repeat(200_000);
    const { records, counters } = signalsOf({ transcript: huge }, 3, (m) => turn(m, 6, { transcript: huge }));
    expect(records.filter(([, name]) => name === 'repeated_user_request')).toEqual([]);
    expect(counters.snapshot().implausible_value).toBeGreaterThanOrEqual(1);
  });

  it('a NaN wait raises no dead air or slow turn', () => {
    expect(signalsOf({ e2e: Number.NaN }, 2).records.filter(([, name]) => name === 'dead_air' || name === 'slow_turn')).toEqual([]);
  });

  it('word similarity: the same words 1, nothing shared 0, one slip in ten words 0.9', () => {
    expect(wordSimilarity(normalizedWords('Hello, there!'), normalizedWords('hello there'))).toBe(1);
    expect(wordSimilarity(normalizedWords('a b'), normalizedWords('c d'))).toBe(0);
    expect(wordSimilarity('a b c d e f g h i j'.split(' '), 'a b c d e f g h i x'.split(' '))).toBeCloseTo(0.9, 12);
  });

  it('word similarity is the edit-distance ratio, never above the shorter/longer length ratio the detector skips on', () => {
    // the textbook table, written out in full, against the two-row one the detector runs
    const reference = (a: string[], b: string[]): number => {
      const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
      for (let i = 1; i <= a.length; i++) for (let j = 1; j <= b.length; j++) d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      return Math.max(a.length, b.length) === 0 ? 1 : 1 - d[a.length]![b.length]! / Math.max(a.length, b.length);
    };
    let seed = 7;
    const random = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    const words = (): string[] => Array.from({ length: random(14) }, () => 'abcdef'[random(6)]!);
    for (let k = 0; k < 2_000; k++) {
      const a = words();
      const b = random(3) === 0 ? [...a.slice(0, random(a.length + 1)), ...words().slice(0, 2)] : words();
      const similarity = wordSimilarity(a, b);
      expect(similarity).toBeCloseTo(reference(a, b), 12);
      if (a.length && b.length) expect(similarity).toBeLessThanOrEqual(Math.min(a.length, b.length) / Math.max(a.length, b.length) + 1e-12);
    }
  });
});

describe('signalRecord', () => {
  it('has the fields given, in the same order, and none undefined, for every shape', () => {
    for (let shape = 0; shape < 16; shape++) {
      const speechId = shape & 1 ? 'sp' : undefined;
      const seconds = shape & 2 ? 1.5 : undefined;
      const repeatsTurn = shape & 4 ? 3 : undefined;
      const where = shape & 8 ? ('wait' as const) : undefined;
      const expected: Record<string, unknown> = { name: 'dead_air', turnIndex: 2, at: 10 };
      if (speechId !== undefined) expected.speechId = speechId;
      if (seconds !== undefined) expected.seconds = seconds;
      if (repeatsTurn !== undefined) expected.repeatsTurn = repeatsTurn;
      if (where !== undefined) expected.where = where;
      const record = signalRecord('dead_air', 2, 10, speechId, seconds, repeatsTurn, where);
      expect(record, `shape ${shape}`).toStrictEqual(expected);
      expect(Object.keys(record), `shape ${shape}`).toEqual(Object.keys(expected));
    }
  });
});
