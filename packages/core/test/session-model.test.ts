import { describe, expect, it } from 'vitest';
import { DropCounters } from '../src/counters.js';
import type { LlmMetric, TtsMetric } from '../src/events.js';
import { SessionModel } from '../src/model/session-model.js';
import type { ReplyRecord, SessionModelObserver } from '../src/model/types.js';
import { PriceBook } from '../src/prices.js';
import { UsageLedger } from '../src/usage.js';
import { userTurnToReply } from './support.js';

const T0 = 1_800_000_000;

function model(maxTurns?: number) {
  const counters = new DropCounters();
  return new SessionModel({ sessionId: 's', ledger: new UsageLedger(new PriceBook(), counters), counters, maxTurns });
}

const llm = (at: number, o: Partial<LlmMetric> = {}): LlmMetric => ({
  kind: 'llm', at, provider: 'openai', model: 'gpt-4o-mini', ttft: 0.4, duration: 0.9, cancelled: false,
  inputTokens: 600, outputTokens: 40, cachedInputTokens: 0, cacheCreationTokens: 0, ...o,
});
const tts = (at: number, o: Partial<TtsMetric> = {}): TtsMetric => ({
  kind: 'tts', at, provider: 'cartesia', model: 'sonic-2', ttfb: 0.15, duration: 0.6, audioDuration: 3,
  characters: 60, streamed: true, cancelled: false, inputTokens: 0, outputTokens: 0, ...o,
});

/** One user turn and its reply, the way the engine feeds the model. */
function turn(m: SessionModel, t: number, speechId: string, options: { tool?: boolean; interrupted?: boolean; e2e?: number } = {}): ReplyRecord | undefined {
  userTurnToReply(m, t, speechId);
  if (options.tool) {
    m.addLlmStep(speechId, { metric: llm(t + 2.3, { duration: 0.5 }), spanStart: t + 1.81, spanEnd: t + 2.3, speakable: false });
    m.addToolStep(speechId, { name: 'get_weather', start: t + 2.3, end: t + 2.45, isError: false });
    m.endAgentTurn(speechId, t + 2.45, {});
  }
  const s = options.tool ? t + 2.45 : t + 1.81;
  m.addLlmStep(speechId, { metric: llm(s + 0.9), spanStart: s, spanEnd: s + 0.9, speakable: true });
  m.addTtsStep(speechId, { metric: tts(s + 1.2, { duration: 0.75 }), spanStart: s + 0.41, spanEnd: s + 1.2, duplicate: false });
  return m.endAgentTurn(speechId, s + 3, { e2e: options.e2e ?? (s + 0.8 - (t + 1.5)), interrupted: options.interrupted });
}

describe('SessionModel', () => {
  it('keeps one reply per speech across the two agent turns of a tool call, with its steps in order', () => {
    const m = model();
    const reply = turn(m, T0, 'sp1', { tool: true })!;
    expect(reply.complete).toBe(true);
    expect(reply.llm.map((s) => s.speakable)).toEqual([false, true]);
    expect(reply.tools.map((t) => t.name)).toEqual(['get_weather']);
    expect(reply.latency?.wait.map((w) => w.key)).toContain('tool_execution');
    const snapshot = m.snapshot();
    expect(snapshot.turns).toHaveLength(1);
    expect(snapshot.turns[0]!.replies).toHaveLength(1);
    expect(snapshot.replyCount).toBe(1);
  });

  it('anchors LLM and TTS steps where the SDK measured them: metric time minus duration', () => {
    const m = model();
    const reply = turn(m, T0, 'sp1')!;
    const [step] = reply.llm;
    expect(step!.requestStart).toBeCloseTo(step!.metric.at - 0.9, 9);
    expect(step!.firstTokenAt).toBeCloseTo(step!.requestStart + 0.4, 9);
    const [audio] = reply.tts;
    expect(audio!.textSentAt).toBeCloseTo(audio!.metric.at - 0.75, 9);
    expect(audio!.firstAudioAt).toBeCloseTo(audio!.textSentAt + 0.15, 9);
  });

  it('records a barge-in with its overlap, and closes an interrupted reply that never played', () => {
    const m = model();
    m.beginUserTurn(T0);
    m.reply('sp1', T0 + 1);
    m.noteAgentSpeaking(true, T0 + 1.5);
    m.noteUserSpeech(true, T0 + 2);
    m.noteAgentSpeaking(false, T0 + 2.4);
    const reply = m.endAgentTurn('sp1', T0 + 2.45, { interrupted: true })!;
    expect(reply.complete).toBe(true);
    expect(reply.interruptions).toEqual([{ start: T0 + 2, end: T0 + 2.4, overlap: expect.closeTo(0.4, 5), stoppedAgent: true, metric: undefined }]);
  });

  it('makes the overlap a barge-in when the user stopped just before the agent did (the SDK waits for the words)', () => {
    const m = model();
    m.beginUserTurn(T0);
    m.reply('sp1', T0 + 1);
    m.noteAgentSpeaking(true, T0 + 1.5);
    m.noteUserSpeech(true, T0 + 2);
    m.noteUserSpeech(false, T0 + 3.7);
    m.noteAgentSpeaking(false, T0 + 3.85);
    const reply = m.endAgentTurn('sp1', T0 + 3.86, { interrupted: true })!;
    expect(reply.interruptions).toEqual([{ start: T0 + 2, end: T0 + 3.85, overlap: expect.closeTo(1.7, 5), stoppedAgent: true, metric: undefined }]);
    expect(m.snapshot().interruptions).toBe(1);
    expect(m.openReply('sp1')).toBeUndefined();
  });

  it('a reply stopped with the caller silent (a hang-up) is no barge-in, though it began 19 ms after the words it answers; new words during it make one', () => {
    // the real room's timing: the final transcript, then the reply 19 ms later (inside the model's same-instant window)
    const hangUp = (wordsDuringReply: boolean) => {
      const m = model();
      m.beginUserTurn(T0);
      m.noteUserSpeech(true, T0 + 0.1);
      m.noteUserSpeech(false, T0 + 1.5);
      m.noteTranscript(true, 'what are your opening hours', T0 + 2.0);
      m.endUserTurn(T0 + 2.0, {});
      m.reply('sp1', T0 + 2.019);
      m.noteAgentSpeaking(true, T0 + 3);
      if (wordsDuringReply) m.noteTranscript(false, 'wait', T0 + 3.5);
      m.noteAgentSpeaking(false, T0 + 4);
      m.endAgentTurn('sp1', T0 + 4, { interrupted: true, e2e: 1.5 });
      return m.snapshot().interruptions;
    };
    expect(hangUp(false)).toBe(0);
    expect(hangUp(true)).toBe(1);
  });

  it('records a sound over the agent that did not stop it as an overlap that did not stop the agent', () => {
    const m = model();
    m.beginUserTurn(T0);
    m.reply('sp1', T0 + 1);
    m.noteAgentSpeaking(true, T0 + 1.5);
    m.noteUserSpeech(true, T0 + 2);
    m.noteUserSpeech(false, T0 + 2.3);
    m.noteAgentSpeaking(false, T0 + 4);
    const reply = m.endAgentTurn('sp1', T0 + 4, {})!;
    expect(reply.interruptions).toEqual([{ start: T0 + 2, end: T0 + 2.3, overlap: expect.closeTo(0.3, 5), stoppedAgent: false }]);
    expect(m.snapshot().interruptions).toBe(0);
  });

  it('tells observers once per played reply, and never lets an observer throw into it', () => {
    const m = model();
    const seen: string[] = [];
    m.subscribe({ onReplyComplete: (r) => void seen.push(r.speechId), onUserTurnComplete: () => { throw new Error('boom'); } } satisfies SessionModelObserver);
    turn(m, T0, 'sp1', { tool: true });
    turn(m, T0 + 10, 'sp2');
    expect(seen).toEqual(['sp1', 'sp2']);
    expect(m.snapshot().drops.internal_error).toBe(2);
  });

  it('keeps memory flat on long calls: old turns fold into the statistics', () => {
    const m = model(10);
    for (let i = 0; i < 50; i++) turn(m, T0 + i * 10, `sp${i}`, { e2e: 1 + i / 100 });
    const snapshot = m.snapshot();
    expect(snapshot.turns).toHaveLength(10);
    expect(snapshot.turns[0]!.index).toBe(41);
    expect(snapshot.turnsDropped).toBe(40);
    expect(snapshot.userTurns).toBe(50);
    expect(snapshot.latency.e2e.count).toBe(50);
    expect(snapshot.latency.e2e.max).toBeCloseTo(1.49, 9);
  });

  it('closes replies the SDK never finished when the session ends', () => {
    const m = model();
    m.beginUserTurn(T0);
    m.reply('sp1', T0 + 1);
    const snapshot = m.endSession(T0 + 5);
    expect(snapshot.turns[0]!.replies.map((r) => [r.speechId, r.complete, r.latency])).toEqual([['sp1', true, undefined]]);
  });
});
