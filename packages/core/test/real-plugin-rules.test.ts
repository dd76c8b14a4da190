import { describe, expect, it } from 'vitest';
import { DropCounters } from '../src/counters.js';
import type { SttMetric, TtsMetric } from '../src/events.js';
import { SessionModel } from '../src/model/session-model.js';
import { SttApportioner } from '../src/model/stt-usage.js';
import type { TurnRecord } from '../src/model/types.js';
import { PriceBook } from '../src/prices.js';
import { UsageLedger } from '../src/usage.js';

// The rules the real plugins needed (issue 19), each checked by injecting one known cause.

const T0 = 1_800_000_000;
/** The turns are live records: each is its own record to change. */
const same = (turn: TurnRecord): TurnRecord => turn;

const stt = (at: number, audioDuration: number, o: Partial<SttMetric> = {}): SttMetric => ({
  kind: 'stt', at, provider: 'deepgram', model: 'nova-3', audioDuration, streamed: true, inputTokens: 0, outputTokens: 0, ...o,
});
const tts = (at: number, o: Partial<TtsMetric> = {}): TtsMetric => ({
  kind: 'tts', at, provider: 'openai', model: 'tts-1', ttfb: 0.3, duration: 0.6, audioDuration: 2,
  characters: 40, streamed: false, cancelled: false, inputTokens: 0, outputTokens: 0, ...o,
});

function userTurn(index: number, speechStart: number, speechEnd: number): TurnRecord {
  return {
    index, cost: 0, otherCost: 0, replies: [], handoffs: [], errors: [], logs: [],
    user: { startedAt: speechStart, speechStart, speechEnd, endedAt: speechEnd + 0.5, vad: [], stt: [] },
  };
}

describe('SttApportioner: periodic STT reports split by the speech they covered', () => {
  // $0.0001 per reported second, so cost shares are checkable
  const apportioner = () => new SttApportioner((m) => m.audioDuration * 1e-4);

  it('splits a 5 s report whose window held 2 s of one turn and 1 s of the next in proportion 2:1', () => {
    const a = apportioner();
    const turns = [userTurn(0, T0 + 1, T0 + 3), userTurn(1, T0 + 4, T0 + 6)];
    a.apportion(stt(T0, 0), turns, T0, same);
    a.apportion(stt(T0 + 5, 5), turns, T0, same);
    expect(turns[0]!.user!.stt[0]!.metric.audioDuration).toBeCloseTo(5 * 2 / 3, 9);
    expect(turns[1]!.user!.stt[0]!.metric.audioDuration).toBeCloseTo(5 / 3, 9);
    expect(turns[0]!.user!.stt[0]!.cost! + turns[1]!.user!.stt[0]!.cost!).toBeCloseTo(5e-4, 12);
    // the first turn's speech ended inside the window: settled; the second's did not
    expect(a.settled(turns[0]!)).toBe(true);
    expect(a.settled(turns[1]!)).toBe(false);
  });

  it('keeps one step per turn and provider however many reports cover it, and the sum equals the reports', () => {
    const a = apportioner();
    const turns = [userTurn(0, T0 + 1, T0 + 12)];
    for (const at of [5, 10, 15]) a.apportion(stt(T0 + at, 5), turns, T0, same);
    expect(turns[0]!.user!.stt).toHaveLength(1);
    expect(turns[0]!.user!.stt[0]!.metric.audioDuration).toBeCloseTo(15, 9);
    expect(turns[0]!.user!.stt[0]!.reports).toBe(3);
  });

  it('gives a window with no speech (background past the energy filter) whole to the nearest turn', () => {
    const a = apportioner();
    const turns = [userTurn(0, T0 + 1, T0 + 2), userTurn(1, T0 + 20, T0 + 21)];
    a.apportion(stt(T0 + 5, 0), turns, T0, same);
    a.apportion(stt(T0 + 10, 5), turns, T0, same);
    expect(turns[0]!.user!.stt.reduce((s, x) => s + x.metric.audioDuration, 0)).toBeCloseTo(5, 9);
    expect(turns[1]!.user!.stt).toHaveLength(0);
  });

  it('a non-streaming request covering exactly one turn keeps its own duration', () => {
    const a = apportioner();
    const turns = [userTurn(0, T0 + 1, T0 + 3)];
    a.apportion(stt(T0 + 4, 2, { streamed: false, duration: 0.9, provider: 'openai', model: 'whisper-1' }), turns, T0, same);
    expect(turns[0]!.user!.stt[0]!.metric.duration).toBe(0.9);
  });
});

describe('UsageLedger: the TTS stream adapter\'s own report', () => {
  it('is not counted when the binding names it, and the SDK\'s extra count is named, not unexplained', () => {
    const counters = new DropCounters();
    const ledger = new UsageLedger(new PriceBook(), counters);
    // two sentences of one reply, then the adapter's report: the whole reply's text, the first sentence's audio
    ledger.add(tts(T0 + 1, { speechId: 'sp1', characters: 30, audioDuration: 2 }));
    ledger.add(tts(T0 + 2, { speechId: 'sp1', characters: 25, audioDuration: 1.5 }));
    expect(ledger.add(tts(T0 + 2.1, { speechId: 'sp1', characters: 55, audioDuration: 2, streamAdapterReport: true }))).toBe(false);
    const [usage] = ledger.summary();
    expect(usage).toMatchObject({ type: 'tts_usage', charactersCount: 55, audioDuration: 3.5, requests: 2 });
    const sdk = [{ ...usage!, charactersCount: 110, audioDuration: 5.5, requests: 3, cost: undefined }];
    const check = ledger.compare(sdk as never);
    expect(check.map((d) => [d.figure, d.cause])).toEqual([['charactersCount', 'sdk_counts_stream_adapter_report'], ['audioDuration', 'sdk_counts_stream_adapter_report']]);
  });

  it('without the binding, skips a report repeating a counted one\'s figures in the other mode within 10 s, and nothing else', () => {
    const counters = new DropCounters();
    const ledger = new UsageLedger(new PriceBook(), counters);
    expect(ledger.add(tts(T0 + 1, { speechId: 'sp1', characters: 55, audioDuration: 2, streamed: true }))).toBe(true);
    expect(ledger.add(tts(T0 + 1.2, { speechId: 'sp1', characters: 55, audioDuration: 2.0004, streamed: false }))).toBe(false); // same figures to the ms
    expect(ledger.add(tts(T0 + 1.3, { speechId: 'sp1', characters: 55, audioDuration: 2, streamed: true }))).toBe(true); // same mode: a new request
    expect(ledger.add(tts(T0 + 1.4, { speechId: 'sp2', characters: 55, audioDuration: 2, streamed: false }))).toBe(true); // another reply
    expect(ledger.add(tts(T0 + 1.5, { speechId: 'sp1', characters: 54, audioDuration: 2, streamed: false }))).toBe(true);
    expect(ledger.add(tts(T0 + 12, { speechId: 'sp1', characters: 55, audioDuration: 2, streamed: false }))).toBe(true); // too late
    // no speech id: the same as an empty one
    expect(ledger.add(tts(T0 + 20, { characters: 10, audioDuration: 1, streamed: true }))).toBe(true);
    expect(ledger.add(tts(T0 + 20.5, { speechId: '', characters: 10, audioDuration: 1, streamed: false }))).toBe(false);
    expect(counters.snapshot().duplicate_usage).toBe(2);
  });

  it('calls a difference it cannot explain unexplained', () => {
    const ledger = new UsageLedger(new PriceBook(), new DropCounters());
    ledger.add(tts(T0 + 1, { characters: 30 }));
    const [usage] = ledger.summary();
    const check = ledger.compare([{ ...usage!, charactersCount: 31 }] as never);
    expect(check).toEqual([expect.objectContaining({ figure: 'charactersCount', voicetrace: 30, sdk: 31, cause: 'unexplained' })]);
  });
});

describe('SessionModel: the user\'s delays from the VAD\'s end of speech', () => {
  /**
   * A non-streaming STT turn: the VAD says the user stopped at +1.5, the transcript arrives at +2.5, the
   * end of turn is decided at +2.6 and the first audio plays at +3.6. `sdkAnchor` is where the SDK put
   * the end of speech (a non-streaming STT's own end-of-speech event comes late); its delays are
   * measured from there, as the SDK does.
   */
  function run(sdkAnchor: number) {
    const counters = new DropCounters();
    const m = new SessionModel({ sessionId: 's', ledger: new UsageLedger(new PriceBook(), counters), counters });
    m.beginUserTurn(T0);
    m.noteUserSpeech(true, T0 + 0.2);
    m.noteUserSpeech(false, T0 + 1.5);
    m.noteTranscript(true, 'what is the weather', T0 + 2.5);
    const anchor = T0 + sdkAnchor;
    m.setEou({ kind: 'eou', at: T0 + 2.6, speechId: 'sp1', eouDelay: T0 + 2.6 - anchor, transcriptionDelay: Math.max(0, T0 + 2.5 - anchor), onUserTurnCompletedDelay: 0, lastSpeakingTime: anchor });
    m.endUserTurn(T0 + 2.6, {});
    m.reply('sp1', T0 + 2.6);
    return m.endAgentTurn('sp1', T0 + 4, { e2e: T0 + 3.6 - anchor })!;
  }

  it('restates e2e, the EOU and transcription delays from the VAD when the SDK measured from a later end of speech', () => {
    const agreed = run(1.5).latency!;
    const shifted = run(2.4).latency!;
    expect(agreed.anchorShift).toBeUndefined();
    expect(shifted.anchorShift).toBeCloseTo(0.9, 5);
    for (const figure of ['e2e', 'eouDelay', 'transcriptionDelay'] as const) expect(shifted[figure], figure).toBeCloseTo(agreed[figure]!, 5);
    expect(shifted.e2e).toBeCloseTo(2.1, 5);
    expect(shifted.transcriptionDelay).toBeCloseTo(1.0, 5);
  });

  it('takes the SDK\'s figures when its anchor is the VAD\'s (the same instant read twice, under load)', () => {
    const latency = run(1.5076).latency!;
    expect(latency.anchorShift).toBeUndefined();
    expect(latency.e2e).toBeCloseTo(3.6 - 1.5076, 5);
  });
});
