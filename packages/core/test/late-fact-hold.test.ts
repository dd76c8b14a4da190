import type { Attributes } from '@opentelemetry/api';
import { ATTR } from '@voicetrace/conventions';
import { describe, expect, it } from 'vitest';
import { DropCounters } from '../src/counters.js';
import { SessionModel } from '../src/model/session-model.js';
import { PriceBook } from '../src/prices.js';
import { UsageLedger } from '../src/usage.js';
import { LateFactHold } from '../src/views/late-fact-hold.js';

const T0 = 1_800_000_000;

/** A realtime session (turns from the user's speech) with the hold subscribed, and what it released. */
function realtimeSession(allowPii = true) {
  const counters = new DropCounters();
  const model = new SessionModel({ sessionId: 's', ledger: new UsageLedger(new PriceBook(), counters), counters });
  model.useEventTurns();
  const hold = new LateFactHold({ model, allowPii });
  model.subscribe(hold);
  const released: Array<[string, Attributes]> = [];
  hold.onRelease((ids, attributes) => ids.forEach((id) => released.push([id, { ...attributes }])));
  // the user speaks, the model answers: the reply's span ends before the user's words or its text are known
  model.noteUserSpeech(true, T0);
  model.noteUserSpeech(false, T0 + 1);
  const reply = model.reply('speech_1', T0 + 1.2);
  return { model, hold, released, reply };
}

describe('LateFactHold: ended spans wait for the facts that come after them', () => {
  it('a realtime reply span waits for the user\'s words and its own text, and leaves with both once both came', () => {
    const { model, hold, released, reply } = realtimeSession();
    hold.hold('span_a', reply, { transcript: true, text: true });
    expect(hold.holds('span_a')).toBe(true);
    model.noteTranscript(true, 'what is the weather', T0 + 2);
    // still waiting for the text
    expect(released).toEqual([]);
    model.noteAssistantText('sunny all day');
    expect(released).toEqual([['span_a', { [ATTR.PII_USER_TRANSCRIPT]: 'what is the weather', [ATTR.PII_RESPONSE_TEXT]: 'sunny all day' }]]);
    expect(hold.holds('span_a')).toBe(false);
  });

  it('waits for no words without content allowed, nor in a pipeline session', () => {
    const noPii = realtimeSession(false);
    noPii.hold.hold('span_a', noPii.reply, { transcript: true, text: true });
    expect(noPii.hold.holds('span_a')).toBe(false);

    const counters = new DropCounters();
    const model = new SessionModel({ sessionId: 's', ledger: new UsageLedger(new PriceBook(), counters), counters });
    const hold = new LateFactHold({ model, allowPii: true });
    model.beginUserTurn(T0);
    hold.hold('span_b', model.reply('speech_1', T0 + 1), { transcript: true, text: true });
    expect(hold.holds('span_b')).toBe(false);
  });

  it('a span that waits for its turn\'s STT usage gets the turn cost when the turn settles, and only that turn\'s', () => {
    const { model, hold, released, reply } = realtimeSession();
    hold.hold('span_a', reply, { transcript: false, text: false, stt: true });
    const other = model.turn(reply.turnIndex + 1);
    expect(other).toBeUndefined();
    hold.sttSettled({ ...model.turn(reply.turnIndex)!, index: reply.turnIndex + 1 });
    expect(released).toEqual([]);
    hold.sttSettled(model.turn(reply.turnIndex)!);
    expect(released).toEqual([['span_a', { [ATTR.TURN_COST]: model.turnCost(model.turn(reply.turnIndex)!) }]]);
  });

  it('a span the processor stopped waiting for goes with what came meanwhile; the session end releases the rest', () => {
    const { model, hold, released, reply } = realtimeSession();
    hold.hold('span_a', reply, { transcript: true, text: true });
    hold.hold('span_b', reply, { transcript: true, text: true });
    model.noteTranscript(true, 'hello', T0 + 2);
    expect(hold.expire('span_a')).toEqual({ [ATTR.PII_USER_TRANSCRIPT]: 'hello' });
    expect(hold.holds('span_a')).toBe(false);
    hold.releaseAll();
    expect(released).toEqual([['span_b', { [ATTR.PII_USER_TRANSCRIPT]: 'hello' }]]);
    expect(hold.holds('span_b')).toBe(false);
  });
});
