// A process that runs many calls (a worker reusing job processes, a server of its own, the demo's
// 100 calls) must not keep each ended call: its AgentSession and voicetrace's model of it (about
// 120 KiB a call). The setup's session set lets a session go once its report is written after the
// call, or a minute after the call when nobody wrote it (written first when shutdown would have);
// the log processor lets it go a minute after the call, whether or not a log line comes. (The span
// processor keeps a session 5 s after its end by design, for its late spans.)
import { voice, initializeLogger } from '@livekit/agents';
import { InMemoryLogRecordExporter } from '@opentelemetry/sdk-logs';
import { MetricReader } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { LIVEKIT_SCOPE } from '@voicetrace/conventions';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { setupVoiceTrace, type VoiceTrace } from '../src/setup.js';

initializeLogger({ pretty: false, level: 'silent' });
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

class CollectingReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

/** One short call (a user turn and a reply); its report written after it when `write`. */
async function call(vt: VoiceTrace, sessionId: string, write: { dir: string } | undefined): Promise<WeakRef<voice.AgentSession>> {
  const agentSession = new voice.AgentSession({});
  const traced = vt.instrument(agentSession, { sessionId });
  const tracer = vt.provider.getTracer(LIVEKIT_SCOPE);
  await tracer.startActiveSpan('agent_session', async (session) => {
    const userTurn = tracer.startSpan('user_turn');
    agentSession.emit(voice.AgentSessionEventTypes.UserInputTranscribed, { type: 'user_input_transcribed', transcript: 'what is the weather', isFinal: true, language: 'en', createdAt: Date.now(), speakerId: null } as never);
    userTurn.end();
    tracer.startSpan('agent_turn', { attributes: { 'lk.speech_id': `speech_${sessionId}` } }).end();
    session.end();
  });
  if (write) {
    const written = await traced.writeReport({ dir: write.dir });
    expect(written.error).toBeUndefined();
  }
  return new WeakRef(agentSession);
}

/** Collects garbage until the refs are gone or a few rounds passed (a reference held by a pending microtask needs a turn). */
async function collected(refs: WeakRef<object>[]): Promise<number> {
  for (let round = 0; round < 5; round++) {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  }
  return refs.filter((ref) => ref.deref() === undefined).length;
}

describe('ended calls are let go', () => {
  let vt: VoiceTrace | undefined;
  afterEach(async () => {
    vi.useRealTimers();
    await vt?.shutdown();
    vt = undefined;
  });

  it('a call whose report was written after it is let go once its late spans are past (metrics on)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'voicetrace-ended-'));
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    vt = setupVoiceTrace({ exporters: [new InMemorySpanExporter()], metrics: { readers: [new CollectingReader()] }, logs: false, handleSignals: false, journal: false, report: { dir, html: false }, warnings: false });
    const refs: WeakRef<object>[] = [];
    for (let i = 0; i < 5; i++) refs.push(await call(vt, `written-${i}`, { dir }));
    // past the span processor's 5 s for late spans, well within the minute an unwritten call is kept
    await vi.advanceTimersByTimeAsync(6_000);
    expect(await collected(refs)).toBe(5);
    // the reports are there, and shutdown has nothing left to write
    for (let i = 0; i < 5; i++) expect(existsSync(join(dir, `written-${i}`, 'report.json'))).toBe(true);
  });

  it('a call nobody wrote is kept a minute for onSessionEnd, then written and let go; the log processor lets it go too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'voicetrace-ended-'));
    // the minute passes on a fake clock; the spans are exported by the test's own flush
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    vt = setupVoiceTrace({ exporters: [new InMemorySpanExporter()], logs: { exporter: new InMemoryLogRecordExporter() }, handleSignals: false, journal: false, report: { dir, html: false }, warnings: false });
    const refs: WeakRef<object>[] = [];
    for (let i = 0; i < 3; i++) refs.push(await call(vt, `unwritten-${i}`, undefined));
    // within the minute the job's onSessionEnd can still write it: kept
    expect(await collected(refs)).toBe(0);
    expect(existsSync(join(dir, 'unwritten-0', 'report.json'))).toBe(false);
    await vi.advanceTimersByTimeAsync(61_000);
    vi.useRealTimers();
    // written as shutdown would have, then let go (the write's own timers are real ones)
    await vi.waitFor(() => expect(existsSync(join(dir, 'unwritten-2', 'report.json'))).toBe(true), { timeout: 5_000 });
    expect(await collected(refs)).toBe(3);
  });
});
