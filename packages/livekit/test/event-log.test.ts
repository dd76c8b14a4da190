// The session's event log fills the report's `events` when the SDK records none. It must not pin
// a speech's handle (its audio and tasks) for the whole call, and must keep every other field.
import { voice } from '@livekit/agents';
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

  it('ignores what is not an event', () => {
    const log = new SessionEventLog();
    log.add(undefined as never);
    log.add('close' as never);
    expect(log.list()).toEqual([]);
    expect(log.dropped).toBe(0);
  });
});
