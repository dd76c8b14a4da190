// The session's event log fills the report's `events` when the SDK records none. It must not pin
// a speech's handle (its audio and tasks) for the whole call, and must keep every other field.
import { llm, voice } from '@livekit/agents';
import { describe, expect, it } from 'vitest';
import { SessionEventLog } from '../src/event-log.js';

describe('SessionEventLog', () => {
  it('keeps an event without handles as the SDK made it, and copies one with a handle without it', () => {
    const log = new SessionEventLog();
    const transcribed = voice.createUserInputTranscribedEvent({ transcript: 'hello there', isFinal: true, language: 'en' });
    const handle = { id: 'speech_1', audio: new Float32Array(16) };
    const created = { type: 'speech_created', userInitiated: false, source: 'generate_reply', speechHandle: handle, createdAt: 1 };
    log.add(transcribed);
    log.add(created as unknown as voice.AgentEvent);

    const [first, second] = log.list();
    expect(first).toBe(transcribed);
    expect(second).not.toBe(created);
    expect(second).toEqual({ type: 'speech_created', userInitiated: false, source: 'generate_reply', createdAt: 1 });
    expect('speechHandle' in second!).toBe(false);
    // the SDK's event is left as it was
    expect(created.speechHandle).toBe(handle);
  });

  it('keeps the newest events past its bound and counts the ones it dropped', () => {
    const log = new SessionEventLog({ maxEvents: 2 });
    for (const transcript of ['one', 'two', 'three']) log.add(voice.createUserInputTranscribedEvent({ transcript, isFinal: true }));
    expect(log.list().map((event) => (event as { transcript: string }).transcript)).toEqual(['two', 'three']);
    expect(log.dropped).toBe(1);
  });

  it('gives back equal events from its packed chunks, what they carry by reference, and drops the oldest one at a time', () => {
    const log = new SessionEventLog({ maxEvents: 70 });
    const message = voice.createConversationItemAddedEvent(new llm.ChatMessage({ role: 'user', content: ['hi'] }));
    const made: voice.AgentEvent[] = [];
    for (let i = 0; i < 100; i++) {
      const event = i === 40 ? message : voice.createUserInputTranscribedEvent({ transcript: `words ${i}`, isFinal: i % 2 === 0, speakerId: null, createdAt: 1_800_000_000 + i / 3 });
      made.push(event);
      log.add(event);
      const expected = made.slice(-70);
      if (i % 9 === 0 || i === 99) expect(log.list()).toStrictEqual(expected);
    }
    const list = log.list();
    expect(list).toHaveLength(70);
    expect(log.dropped).toBe(30);
    // the chat message is the SDK's object, not a copy
    expect((list[10] as { item: unknown }).item).toBe((message as { item: unknown }).item);
    // the newest (fewer than a chunk) are the SDK's objects themselves
    expect(list[69]).toBe(made[99]);
  });

  it('keeps what an event points at by reference, plain objects and cycles included', () => {
    const log = new SessionEventLog();
    const cyclic = { type: 'error', createdAt: 1 } as Record<string, unknown>;
    cyclic.self = cyclic;
    // a chat item as a plain object (not the SDK's ChatMessage class): still the SDK's, not copied
    const item = { id: 'item_1', type: 'message', role: 'user', content: ['hi'], metrics: { startedSpeakingAt: 1.5 } };
    const added = { type: 'conversation_item_added', item, createdAt: 2 };
    for (let i = 0; i < 40; i++) log.add((i === 5 ? cyclic : i === 6 ? added : voice.createUserInputTranscribedEvent({ transcript: `${i}`, isFinal: true })) as voice.AgentEvent);
    const list = log.list() as unknown as Array<Record<string, unknown>>;
    expect(list).toHaveLength(40);
    // the first 32 were packed: the events are new objects, what they point at is not
    expect(list[5]).not.toBe(cyclic);
    expect(list[5]!.self).toBe(cyclic);
    expect(list[5]!.createdAt).toBe(1);
    expect(list[6]).not.toBe(added);
    expect(list[6]).toStrictEqual(added);
    expect(list[6]!.item).toBe(item);
  });

  it('ignores what is not an event', () => {
    const log = new SessionEventLog();
    log.add(undefined as never);
    log.add('close' as never);
    expect(log.list()).toEqual([]);
    expect(log.dropped).toBe(0);
  });
});
