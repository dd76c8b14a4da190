// Settled turns are held packed (turn-history.ts, packed-record.ts). Packing must change nothing a
// reader sees: random calls, late facts included (STT reports reaching back over many turns, a new
// STT provider's first report, replies closed many turns later, late usage, logs for old turns),
// are fed to two models, one that packs and one that keeps every turn as objects, and their
// snapshots must be equal after every step.
import fc from 'fast-check';
import { DEFAULT_SIGNAL_THRESHOLDS } from '@voicetrace/conventions';
import { describe, expect, it, vi } from 'vitest';
import { DropCounters } from '../src/counters.js';
import type { LlmMetric, SttMetric, TtsMetric } from '../src/events.js';
import { knownStrings, packRecord, unpackRecord } from '../src/packed-record.js';
import { SessionModel } from '../src/model/session-model.js';
import { PackedTurn, TurnHistory } from '../src/model/turn-history.js';
import { PriceBook } from '../src/prices.js';
import { UsageLedger } from '../src/usage.js';

const T0 = 1_800_000_000;

/** A history that never packs: the reference. */
class ObjectHistory extends TurnHistory {
  override pack(): void {}
}

function model(packing: boolean, maxTurns: number): SessionModel {
  const counters = new DropCounters();
  const m = new SessionModel({ sessionId: 's', ledger: new UsageLedger(new PriceBook(), counters), counters, maxTurns });
  if (!packing) (m as unknown as { turns: TurnHistory }).turns = new ObjectHistory();
  return m;
}

function held(m: SessionModel): Array<unknown> {
  return (m as unknown as { turns: TurnHistory }).turns.all();
}

const WORDS = ['hello', 'what is the weather in Paris', 'what is the weather in Paris', '', '  ', 'book a table for two'];
const STT = [
  { provider: 'deepgram', model: 'nova-3' },
  { provider: 'openai', model: 'whisper-1' },
];

const llm = (at: number, speechId: string | undefined, ttft: number): LlmMetric => ({
  kind: 'llm', at, speechId, provider: 'openai', model: 'gpt-4o-mini', ttft, duration: ttft + 0.4, cancelled: false,
  inputTokens: 600, outputTokens: 40, cachedInputTokens: 0, cacheCreationTokens: 0,
});
const tts = (at: number, speechId: string | undefined, ttfb: number): TtsMetric => ({
  kind: 'tts', at, speechId, provider: 'cartesia', model: 'sonic-2', ttfb, duration: ttfb + 0.3, audioDuration: 2,
  characters: 60, streamed: true, cancelled: false, inputTokens: 0, outputTokens: 0,
});
const stt = (at: number, which: number, audioDuration: number): SttMetric => ({
  kind: 'stt', at, ...STT[which]!, requestId: `stt-${at}`, audioDuration, streamed: which === 0, inputTokens: 0, outputTokens: 0,
});

/** One step of a call. `back` picks an earlier turn or reply (late facts). */
const step = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('turn' as const), words: fc.nat({ max: WORDS.length - 1 }), reply: fc.boolean(), leaveOpen: fc.boolean(), interrupted: fc.boolean(), text: fc.nat({ max: WORDS.length - 1 }), gap: fc.double({ min: 0.1, max: 5, noNaN: true }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('stt' as const), which: fc.nat({ max: 1 }), audio: fc.double({ min: 0, max: 30, noNaN: true }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('close' as const), back: fc.nat({ max: 12 }), e2e: fc.option(fc.double({ min: 0, max: 3, noNaN: true })) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('usage' as const), back: fc.nat({ max: 12 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('log' as const), back: fc.nat({ max: 12 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('text' as const), words: fc.nat({ max: WORDS.length - 1 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('error' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('handoff' as const) }) },
);
type Step = typeof step extends fc.Arbitrary<infer S> ? S : never;

/** Applies one step to a model; the clock and the ids are the caller's, so both models get the same inputs. */
function apply(m: SessionModel, s: Step, state: { t: number; replies: string[]; turns: number }): void {
  const t = state.t;
  switch (s.op) {
    case 'turn': {
      const speechId = `sp${state.replies.length}`;
      m.beginUserTurn(t);
      m.noteUserSpeech(true, t + 0.1);
      m.noteUserSpeech(false, t + 1.5);
      m.noteTranscript(true, WORDS[s.words]!, t + 1.7);
      m.setEou({ kind: 'eou', at: t + 1.8, speechId, eouDelay: 0.3, transcriptionDelay: 0.2, onUserTurnCompletedDelay: 0, lastSpeakingTime: t + 1.5 });
      m.endUserTurn(t + 1.8, {});
      state.turns += 1;
      if (s.reply) {
        state.replies.push(speechId);
        m.reply(speechId, t + 1.8, 'front_desk');
        m.addLlmStep(speechId, { metric: llm(t + 2.6, speechId, 0.4), spanStart: t + 1.8, spanEnd: t + 2.6, speakable: true });
        m.addTtsStep(speechId, { metric: tts(t + 2.9, speechId, 0.15), spanStart: t + 2.2, spanEnd: t + 2.9, duplicate: false });
        m.noteAgentSpeaking(true, t + 2.4);
        m.noteAssistantText(WORDS[s.text]!);
        if (!s.leaveOpen) {
          m.noteAgentSpeaking(false, t + 3.5);
          m.endAgentTurn(speechId, t + 3.5, { e2e: 0.9, interrupted: s.interrupted });
        }
      }
      state.t = t + 4 + s.gap;
      return;
    }
    case 'stt':
      m.addSttReport(stt(t, s.which, s.audio));
      state.t = t + 0.5;
      return;
    case 'close': {
      const speechId = state.replies[state.replies.length - 1 - s.back];
      if (speechId) m.endAgentTurn(speechId, t, { e2e: s.e2e ?? undefined, interrupted: s.e2e === null });
      state.t = t + 0.1;
      return;
    }
    case 'usage': {
      const speechId = state.replies[state.replies.length - 1 - s.back];
      m.addUsage(llm(t, speechId, 0.3), true);
      m.addUsage(tts(t, speechId, 0.1), true);
      return;
    }
    case 'log':
      m.addLog({ at: t, level: 'warn', message: 'late' }, Math.max(0, state.turns - s.back));
      return;
    case 'text':
      m.noteAssistantText(WORDS[s.words]!);
      return;
    case 'error':
      m.addError(t, 'llm', 'provider 503', true, 'llm_error');
      return;
    case 'handoff':
      m.addHandoff(t, 'front_desk', 'billing');
      return;
  }
}

describe('packed settled turns', () => {
  it('a model that packs its settled turns reads the same as one that keeps them as objects, after every step or at the end', () => {
    let packedRuns = 0;
    fc.assert(
      // reading (a snapshot) after every step, or only at the end (a snapshot brings live turns' costs up to date)
      fc.property(fc.array(step, { minLength: 16, maxLength: 60, size: 'max' }), fc.constantFrom(4, 7, 500), fc.boolean(), (steps, maxTurns, everyStep) => {
        const packing = model(true, maxTurns);
        const reference = model(false, maxTurns);
        const a = { t: T0, replies: [] as string[], turns: 0 };
        const b = { t: T0, replies: [] as string[], turns: 0 };
        let packedSome = false;
        for (const s of steps) {
          apply(packing, s, a);
          apply(reference, s, b);
          packedSome ||= held(packing).some((entry) => entry instanceof PackedTurn);
          if (!everyStep) continue;
          const got = packing.snapshot();
          const want = reference.snapshot();
          expect(got).toStrictEqual(want);
          // the same keys in the same order (report.json is written from the snapshot)
          expect(JSON.stringify(got)).toBe(JSON.stringify(want));
        }
        expect(JSON.stringify(packing.snapshot())).toBe(JSON.stringify(reference.snapshot()));
        if (packedSome) packedRuns += 1;
        expect(packing.endSession(a.t + 1)).toStrictEqual(reference.endSession(b.t + 1));
        expect(packing.snapshot()).toStrictEqual(reference.snapshot());
      }),
      { numRuns: 150 },
    );
    // the comparison is worth something only if turns were packed
    // (about 95 of 150 runs pack some turn: the others leave replies open or stop early)
    expect(packedRuns).toBeGreaterThan(50);
  });

  it('packs all but the newest turns of a plain call, and a late STT report reaching back unpacks only the turns it covers', () => {
    const m = model(true, 500);
    const state = { t: T0, replies: [] as string[], turns: 0 };
    // a streaming STT reports as the call goes (each report covers the audio since the previous one)
    for (let i = 0; i < 10; i++) {
      apply(m, { op: 'turn', words: 1, reply: true, leaveOpen: false, interrupted: false, text: 0, gap: 1 }, state);
      apply(m, { op: 'stt', which: 0, audio: 5 }, state);
    }
    const packed = () => held(m).map((entry) => entry instanceof PackedTurn);
    // turns 1-7 packed, the newest 3 (where late facts land) live
    expect(packed()).toEqual([true, true, true, true, true, true, true, false, false, false]);
    // the next report covers the time since the last one: no packed turn's speech
    const before = m.snapshot();
    m.addSttReport(stt(state.t + 1, 0, 1));
    expect(packed()).toEqual([true, true, true, true, true, true, true, false, false, false]);
    // a new provider's first report covers the whole call: every turn gets its share
    m.addSttReport(stt(state.t + 2, 1, 60));
    expect(packed()).toEqual(Array(10).fill(false));
    const after = m.snapshot();
    for (const [i, turn] of after.turns.entries()) {
      expect(turn.user!.stt.map((s) => s.metric.provider)).toContain('openai');
      expect(before.turns[i]!.user!.stt.map((s) => s.metric.provider)).not.toContain('openai');
    }
    // packed again at the next turn
    apply(m, { op: 'turn', words: 1, reply: true, leaveOpen: false, interrupted: false, text: 0, gap: 1 }, state);
    expect(packed().filter(Boolean)).toHaveLength(8);
  });

  it('settled turns share one empty list, and a late item on one of them stays on that turn alone', () => {
    const m = model(false, 500);
    const state = { t: T0, replies: [] as string[], turns: 0 };
    for (let i = 0; i < 4; i++) apply(m, { op: 'turn', words: 1, reply: true, leaveOpen: false, interrupted: false, text: 0, gap: 1 }, state);
    const turns = held(m) as Array<{ index: number; logs: unknown[] }>;
    // turns 1-3 are settled: their empty lists are one frozen array
    expect(turns[0]!.logs).toBe(turns[1]!.logs);
    expect(Object.isFrozen(turns[0]!.logs)).toBe(true);
    m.addLog({ at: T0 + 1, level: 'error', message: 'late line' }, 1);
    m.addLog({ at: T0 + 2, level: 'error', message: 'later line' }, 1);
    expect(turns.map((t) => t.logs.length)).toEqual([2, 0, 0, 0]);
    expect(m.snapshot().turns[0]!.logs.map((l) => l.message)).toEqual(['late line', 'later line']);
  });

  it('compares new words with a packed turn\'s words without unpacking it', () => {
    const counters = new DropCounters();
    const m = new SessionModel({ sessionId: 's', ledger: new UsageLedger(new PriceBook(), counters), counters, signalThresholds: { ...DEFAULT_SIGNAL_THRESHOLDS, repeatLookback: 10 } });
    const state = { t: T0, replies: [] as string[], turns: 0 };
    // turn 1: "book a table for two", answered "what is the weather in Paris"; then 6 turns of "hello" and blank replies
    apply(m, { op: 'turn', words: 5, reply: true, leaveOpen: false, interrupted: false, text: 1, gap: 1 }, state);
    for (let i = 0; i < 6; i++) apply(m, { op: 'turn', words: 0, reply: true, leaveOpen: false, interrupted: false, text: 3, gap: 1 }, state);
    expect(held(m)[0]).toBeInstanceOf(PackedTurn);
    const unpack = vi.spyOn(PackedTurn.prototype, 'unpack');
    try {
      // turn 8 repeats turn 1's request, and its reply turn 1's reply
      apply(m, { op: 'turn', words: 5, reply: true, leaveOpen: false, interrupted: false, text: 1, gap: 1 }, state);
      expect(unpack).not.toHaveBeenCalled();
    } finally {
      unpack.mockRestore();
    }
    const signals = m.snapshot().signalLog.filter((s) => s.turnIndex === 8).map((s) => [s.name, s.repeatsTurn]);
    expect(signals).toEqual(expect.arrayContaining([['repeated_user_request', 1], ['agent_repetition', 1]]));
  });

  it('keeps a turn live while one of its replies is open', () => {
    const m = model(true, 500);
    const state = { t: T0, replies: [] as string[], turns: 0 };
    apply(m, { op: 'turn', words: 1, reply: true, leaveOpen: true, interrupted: false, text: 0, gap: 1 }, state);
    for (let i = 0; i < 8; i++) apply(m, { op: 'turn', words: 2, reply: true, leaveOpen: false, interrupted: false, text: 1, gap: 1 }, state);
    expect(held(m).map((entry) => entry instanceof PackedTurn)).toEqual([false, true, true, true, true, true, false, false, false]);
  });
});

describe('packRecord', () => {
  const plain = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.double(),
      fc.integer(),
      fc.constantFrom(-0, Number.NaN, Number.POSITIVE_INFINITY, 0),
      fc.string(),
      fc.boolean(),
      fc.constant(undefined),
      fc.constant(null),
      fc.array(tie('value')),
      fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('__proto__', 'toString')), tie('value'), { noNullPrototype: true }),
    ),
  })).value;

  it('gives back an equal record: same keys in the same order, -0, NaN and undefined values kept', () => {
    fc.assert(
      fc.property(plain, (value) => {
        const packed = packRecord(value);
        expect(packed).toBeDefined();
        const back = unpackRecord(packed!);
        expect(back).toStrictEqual(value);
        expect(JSON.stringify(back)).toBe(JSON.stringify(value));
        if (value !== null && typeof value === 'object') expect(back).not.toBe(value);
      }),
      { numRuns: 1000 },
    );
  });

  it('keeps an own key named __proto__ an own key', () => {
    const value = JSON.parse('{"__proto__": {"a": 1}, "b": 2}') as Record<string, unknown>;
    const back = unpackRecord(packRecord(value)!) as Record<string, unknown>;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.keys(back)).toEqual(['__proto__', 'b']);
    expect(back).toStrictEqual(value);
  });

  it('shares one layout between records of one shape, and packs numbers and strings without their keys', () => {
    const a = packRecord({ at: 1.5, kind: 'alpha', steps: [{ x: 1 }, { x: 2.5 }] })!;
    const b = packRecord({ at: 7.25, kind: 'beta', steps: [{ x: 3 }, { x: 4 }] })!;
    expect(a.layout).toBe(b.layout);
    expect(a.numbers).toEqual([1.5, 1, 2.5]);
    expect(b.refs).toEqual(['beta']);
  });

  it('names a known string in the layout instead of holding it', () => {
    knownStrings(['provider:zeta']);
    const packed = packRecord({ owner: 'provider:zeta', other: 'provider:eta' })!;
    expect(packed.refs).toEqual(['provider:eta']);
    expect(unpackRecord(packed)).toStrictEqual({ owner: 'provider:zeta', other: 'provider:eta' });
  });

  it('does not pack what is not plain data (the caller keeps it as it is)', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    for (const value of [{ m: new Map() }, { d: new Date(0) }, [1, , 3], { s: Symbol('x') }, { n: 1n }, { f: () => 1 }, cycle, new (class X {})(), Object.create(null)]) {
      expect(packRecord(value)).toBeUndefined();
    }
  });

  it('with referencesFrom, keeps objects that deep by reference, and copies those above it', () => {
    const inner = { x: 1, list: [2, 3] };
    const record = [{ own: { y: 4 }, inner }, 5];
    const byReference = unpackRecord(packRecord(record, { opaque: true, referencesFrom: 2 })!) as typeof record;
    expect(byReference).toStrictEqual(record);
    expect(byReference[0]).not.toBe(record[0]);
    expect((byReference[0] as { inner: unknown }).inner).toBe(inner);
    expect((byReference[0] as { own: unknown }).own).toBe((record[0] as { own: unknown }).own);
    // without opaque there are no references: copied throughout
    const copied = unpackRecord(packRecord(record, { referencesFrom: 2 })!) as typeof record;
    expect(copied).toStrictEqual(record);
    expect((copied[0] as { inner: unknown }).inner).not.toBe(inner);
  });

  it('reads an object as structuredClone does: an accessor for its value, no symbol keys', () => {
    const value = { get x() { return 1; }, [Symbol('k')]: 2, y: 3 };
    expect(unpackRecord(packRecord(value)!)).toStrictEqual(structuredClone(value));
    expect(unpackRecord(packRecord(value)!)).toStrictEqual({ x: 1, y: 3 });
  });
});
