// COUNT_DEFINITIONS (@voicetrace/conventions): the model counts once; the session span and the
// metrics view read its counts. Each case injects one cause and checks that exactly its count moves.
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { ATTR, METRIC } from '@voicetrace/conventions';
import { describe, expect, it } from 'vitest';
import { DropCounters } from '../src/counters.js';
import { computeLatency } from '../src/latency.js';
import { SessionModel } from '../src/model/session-model.js';
import { PriceBook } from '../src/prices.js';
import { UsageLedger } from '../src/usage.js';
import { SessionMetrics } from '../src/views/metrics.js';
import { sessionSpanAttributes } from '../src/views/span-attributes.js';
import { CollectingReader, userTurnToReply } from './support.js';

const T0 = 1_800_000_000;

function call() {
  const reader = new CollectingReader();
  const meter = new MeterProvider({ readers: [reader] }).getMeter('voicetrace');
  const counters = new DropCounters();
  const model = new SessionModel({ sessionId: 's', ledger: new UsageLedger(new PriceBook(), counters), counters });
  model.subscribe(new SessionMetrics({ meter, environment: 'test', currentAgent: () => 'front_desk' }));
  model.beginSession(T0);
  return { model, reader };
}

/** A user turn, then a reply: heard (its audio began) or cut off before its first audio. */
function turn(m: SessionModel, t: number, speechId: string, reply: 'played' | 'played_then_interrupted' | 'cut_off_before_audio', tool?: { isError: boolean }) {
  userTurnToReply(m, t, speechId);
  if (tool) m.addToolStep(speechId, { name: 'get_weather', start: t + 1.9, end: t + 2, isError: tool.isError });
  if (reply === 'cut_off_before_audio') {
    m.noteUserSpeech(true, t + 2.2);
    return m.endAgentTurn(speechId, t + 2.3, { interrupted: true });
  }
  m.noteAgentSpeaking(true, t + 2.5);
  if (reply === 'played_then_interrupted') {
    m.noteUserSpeech(true, t + 3);
    m.noteAgentSpeaking(false, t + 3.4);
  } else m.noteAgentSpeaking(false, t + 5);
  return m.endAgentTurn(speechId, t + 5, { e2e: 1, interrupted: reply === 'played_then_interrupted' || undefined });
}

async function counts(c: ReturnType<typeof call>) {
  const snapshot = c.model.snapshot();
  const span = sessionSpanAttributes(snapshot);
  return {
    replies: [snapshot.replyCount, span[ATTR.SESSION_AGENT_TURNS], await c.reader.sum(METRIC.TURNS)],
    interruptions: [snapshot.interruptions, span[ATTR.SESSION_INTERRUPTIONS], await c.reader.sum(METRIC.INTERRUPTIONS)],
    cancelled: [snapshot.cancelledReplies, span[ATTR.SESSION_CANCELLED_REPLIES]],
    errors: [snapshot.errors, span[ATTR.SESSION_ERRORS], await c.reader.sum(METRIC.ERRORS)],
  };
}

describe('counts: one definition, the same number on the session span and in the metrics', () => {
  it('two played replies: 2 replies, nothing else', async () => {
    const c = call();
    turn(c.model, T0, 'sp1', 'played');
    turn(c.model, T0 + 10, 'sp2', 'played');
    expect(await counts(c)).toEqual({ replies: [2, 2, 2], interruptions: [0, 0, 0], cancelled: [0, 0], errors: [0, 0, 0] });
  });

  it('a reply cut off before its first audio is a cancelled reply: not a reply, not an interruption', async () => {
    const c = call();
    turn(c.model, T0, 'sp1', 'played');
    turn(c.model, T0 + 10, 'sp2', 'cut_off_before_audio');
    turn(c.model, T0 + 20, 'sp3', 'played');
    expect(await counts(c)).toEqual({ replies: [2, 2, 2], interruptions: [0, 0, 0], cancelled: [1, 1], errors: [0, 0, 0] });
  });

  it('a reply the user stopped while hearing it is a reply and an interruption', async () => {
    const c = call();
    turn(c.model, T0, 'sp1', 'played');
    turn(c.model, T0 + 10, 'sp2', 'played_then_interrupted');
    expect(await counts(c)).toEqual({ replies: [2, 2, 2], interruptions: [1, 1, 1], cancelled: [0, 0], errors: [0, 0, 0] });
  });

  it('a failed tool call and an SDK error event are two errors, everywhere', async () => {
    const c = call();
    turn(c.model, T0, 'sp1', 'played', { isError: true });
    c.model.addError(T0 + 6, 'openai.LLM', 'upstream 503', true, 'llm_error');
    expect(await counts(c)).toEqual({ replies: [1, 1, 1], interruptions: [0, 0, 0], cancelled: [0, 0], errors: [2, 2, 2] });
    // the tool's failure is on its turn, like the error events
    expect(c.model.snapshot().turns[0]!.errors.map((e) => e.type)).toEqual(['tool_error', 'llm_error']);
  });

  it('a tool that succeeds adds no error', async () => {
    const c = call();
    turn(c.model, T0, 'sp1', 'played', { isError: false });
    expect((await counts(c)).errors).toEqual([0, 0, 0]);
  });
});

describe('wait slices are clamped where they are made', () => {
  const timeline = (e2e: number) => ({
    userSpeechEnd: T0, transcriptionDelay: 0.2, eouDelay: 0.5, llmRequests: [{ start: T0 + 0.5, end: T0 + 1.5, ttft: 0.4, speakable: true }],
    tools: [], ttsRequests: [{ start: T0 + 0.9, ttfb: 0.3 }], e2e,
  });

  it('a last slice within float noise of 0 is never negative, and the slices still sum to e2e', () => {
    // the marks end at e2e: the playout slice is a float residue of epoch seconds, either sign
    let negativeBefore = 0;
    for (let k = 0; k < 64; k++) {
      const e2e = 1.2 - k * 1e-8;
      const wait = computeLatency(timeline(e2e)).wait;
      const last = wait[wait.length - 1]!;
      if (last.seconds === 0) negativeBefore++;
      expect(wait.every((w) => w.seconds >= 0), `e2e ${e2e}`).toBe(true);
      expect(Math.abs(last.seconds)).toBeLessThan(1e-6);
      expect(wait.reduce((s, w) => s + w.seconds, 0)).toBeCloseTo(e2e, 12);
    }
    // some of these residues were negative (now 0): the case is exercised
    expect(negativeBefore).toBeGreaterThan(0);
  });

  it('a real last slice (a millisecond of playout) is kept', () => {
    const wait = computeLatency(timeline(1.201)).wait;
    expect(wait.find((w) => w.key === 'playout_start')!.seconds).toBeCloseTo(0.001, 6);
    expect(wait.reduce((s, w) => s + w.seconds, 0)).toBeCloseTo(1.201, 12);
  });
});
