import { voice, type llm } from '@livekit/agents';
import type { SessionEngine, VoiceEvent } from '@voicetrace/core';
import { FieldValidator } from '@voicetrace/core/internal';
import { normalizeMetrics } from './normalize.js';
import type { SessionShape } from './session-shape.js';

const E = voice.AgentSessionEventTypes;

/**
 * Subscribes to one `AgentSession`'s public events and feeds them, normalized,
 * to its engine. Observes only: it never calls into or patches the SDK.
 * Returns a function that unsubscribes.
 */
export function observeSession(session: voice.AgentSession, engine: SessionEngine, shape: SessionShape): () => void {
  const counters = engine.counters;
  const record = (event: VoiceEvent | undefined): void => {
    if (event) engine.record(event);
  };
  const playout = new PlayoutObserver((event) => record(event), counters);
  const listeners: Array<[string, (ev: never) => void]> = [
    [E.MetricsCollected, (ev: voice.MetricsCollectedEvent) => record(normalizeMetrics(ev?.metrics, counters, undefined, shape.metricsContext()))],
    [E.UserStateChanged, (ev: voice.UserStateChangedEvent) =>
      record({ kind: 'user_speech', at: eventTime(ev), speaking: ev.newState === 'speaking' })],
    [E.AgentStateChanged, (ev: voice.AgentStateChangedEvent) => {
      // the audio output exists once the session started (a room's is made in start()): follow it from its first speech
      if (ev.newState === 'speaking') playout.follow(session.output?.audio);
      record({ kind: 'agent_state', at: eventTime(ev), state: ev.newState });
    }],
    [E.UserInputTranscribed, (ev: voice.UserInputTranscribedEvent) =>
      record({ kind: 'transcript', at: eventTime(ev), final: ev.isFinal, text: new FieldValidator(counters).text('transcript', ev.transcript) ?? '' })],
    [E.ConversationItemAdded, (ev: voice.ConversationItemAddedEvent) => record(fromItem(ev.item, engine))],
    [E.FunctionToolsExecuted, (ev: voice.FunctionToolsExecutedEvent) =>
      record({
        kind: 'tools',
        at: eventTime(ev),
        calls: ev.functionCalls.map((call, i) => ({
          name: call.name,
          arguments: call.args,
          output: ev.functionCallOutputs[i]?.output,
          isError: ev.functionCallOutputs[i]?.isError ?? false,
        })),
      })],
    [E.Error, (ev: voice.ErrorEvent) => record(fromError(ev, counters))],
    [E.Close, (ev: voice.CloseEvent) => {
      playout.follow(null);
      record({ kind: 'close', at: eventTime(ev), reason: String(ev.reason), error: ev.error ? String(ev.error) : undefined });
    }],
  ];
  for (const [name, listener] of listeners) session.on(name as never, listener as never);
  return () => {
    for (const [name, listener] of listeners) session.off(name as never, listener as never);
    playout.follow(null);
  };
}

/**
 * Listens to the played stretches of the session's audio output (`playbackProgressed`: LiveKit's
 * room output reports one per run of audio without a stop; chained outputs such as the recorder
 * forward them). Where the agent's audio stopped inside a reply, the model sees the gap.
 */
class PlayoutObserver {
  private output: voice.AudioOutput | null = null;
  private readonly listener = (ev: { startedAt?: unknown; offset?: unknown; duration?: unknown }): void => {
    const v = new FieldValidator(this.counters);
    const startedAt = v.timestamp('playout_started_at', ev?.startedAt, 'ms');
    const offset = v.duration('playout_offset', ev?.offset, 'ms');
    const duration = v.duration('playout_duration', ev?.duration, 'ms');
    if (startedAt === undefined || offset === undefined || duration === undefined) return;
    this.record({ kind: 'playout', at: Date.now() / 1000, startedAt, offset, duration });
  };

  constructor(
    private readonly record: (event: VoiceEvent) => void,
    private readonly counters: SessionEngine['counters'],
  ) {}

  /** Follows `output` (the session's current audio output), and stops following the one before. */
  follow(output: voice.AudioOutput | null | undefined): void {
    if (output === this.output) return;
    this.output?.off(voice.AudioOutput.EVENT_PLAYBACK_PROGRESSED, this.listener);
    this.output = output ?? null;
    this.output?.on(voice.AudioOutput.EVENT_PLAYBACK_PROGRESSED, this.listener);
  }
}

/**
 * The SDK's error event: `error` is the provider's report (`{ type: 'llm_error', error, recoverable,
 * label }`) wrapping the real `Error`; older shapes pass an `Error` itself.
 */
function fromError(ev: voice.ErrorEvent, counters: SessionEngine['counters']): VoiceEvent {
  const report = ev.error as unknown as { type?: unknown; error?: unknown; recoverable?: unknown; label?: unknown; message?: unknown } | undefined;
  const inner = report?.error instanceof Error ? report.error : report instanceof Error ? report : undefined;
  const message = inner?.message ?? (typeof report?.message === 'string' ? report.message : typeof report === 'string' ? report : 'unknown error');
  const source = typeof report?.label === 'string' ? report.label : String((ev.source as { constructor?: { name?: string } } | undefined)?.constructor?.name ?? 'unknown');
  return {
    kind: 'error',
    at: eventTime(ev),
    type: typeof report?.type === 'string' ? report.type : 'error',
    source,
    message: new FieldValidator(counters).text('error', message) ?? '',
    recoverable: report?.recoverable === true,
  };
}

/** When the SDK says an event happened (epoch seconds); now when it does not say. */
function eventTime(event: { createdAt?: number }): number {
  return (event.createdAt ?? Date.now()) / 1000;
}

function fromItem(item: llm.ChatItem, engine: SessionEngine): VoiceEvent | undefined {
  const at = eventTime(item);
  if (item.type === 'agent_handoff') {
    return { kind: 'handoff', at, fromAgent: item.oldAgentId, toAgent: item.newAgentId };
  }
  if (item.type !== 'message') return undefined;
  const v = new FieldValidator(engine.counters);
  const m = (item.metrics ?? {}) as Record<string, unknown>;
  return {
    kind: 'message',
    at,
    role: item.role as 'user' | 'assistant',
    text: v.text('text', item.textContent ?? '') ?? '',
    interrupted: item.interrupted,
    startedSpeakingAt: v.timestamp('started_speaking_at', m.startedSpeakingAt, 's'),
    stoppedSpeakingAt: v.timestamp('stopped_speaking_at', m.stoppedSpeakingAt, 's'),
    transcriptionDelay: v.duration('transcription_delay', m.transcriptionDelay, 's'),
    endOfTurnDelay: v.duration('end_of_turn_delay', m.endOfTurnDelay, 's'),
    onUserTurnCompletedDelay: v.duration('on_user_turn_completed_delay', m.onUserTurnCompletedDelay, 's'),
    llmTtft: v.duration('llm_ttft', m.llmNodeTtft, 's'),
    ttsTtfb: v.duration('tts_ttfb', m.ttsNodeTtfb, 's'),
    e2eLatency: v.duration('e2e_latency', m.e2eLatency, 's'),
    confidence: typeof item.transcriptConfidence === 'number' ? item.transcriptConfidence : undefined,
  };
}
