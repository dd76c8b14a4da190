/**
 * A scripted caller: the person on the phone, as a LiveKit participant. It
 * creates the room, dispatches the agent explicitly with job metadata that
 * carries a W3C `traceparent` from its own span, joins, speaks real audio turn
 * by turn (one turn cutting in while the agent speaks), listens to the
 * agent's audio, and leaves.
 */
import { AudioFrame, AudioSource, AudioStream, LocalAudioTrack, Room, RoomEvent, TrackKind, TrackPublishOptions, TrackSource, type RemoteParticipant, type RemoteTrack } from '@livekit/rtc-node';
import { context, propagation, trace, type Tracer } from '@opentelemetry/api';
import { AccessToken, AgentDispatchClient, RoomServiceClient } from 'livekit-server-sdk';
import { CALLER_SCRIPT_TOPIC } from './script-topic.js';

/** Mono 16-bit PCM of one utterance. */
export interface Speech {
  samples: Int16Array;
  sampleRate: number;
}

/** One thing the caller says. */
export interface CallerTurn {
  text: string;
  /** Speak while the agent is still answering the previous turn (a barge-in), this long after it started. */
  bargeInAfterMs?: number;
}

/** Options of {@link runCall}. */
export interface CallOptions {
  /** ws(s):// URL of the LiveKit server, and its API key and secret. */
  url: string;
  apiKey: string;
  apiSecret: string;
  agentName: string;
  roomName: string;
  turns: CallerTurn[];
  /** Turns text into speech (e.g. espeak-ng). */
  synthesize: (text: string) => Promise<Speech>;
  /** The caller's own tracer: its span's traceparent goes to the agent in the job metadata. */
  tracer?: Tracer | undefined;
  /** Leave this long after the agent started its last reply, instead of waiting for it to finish. */
  hangUpAfterMs?: number | undefined;
  /** Called with the agent's state changes (for tests that act mid-call). */
  onAgentState?: ((state: string) => void) | undefined;
  /** How long the room lives after the caller leaves (the job ends then, LiveKit's default is 20 s). */
  departureTimeoutSeconds?: number | undefined;
  /** How long to wait for each agent state (default 30 s: a busy 2-core machine is slow). */
  stepTimeoutMs?: number | undefined;
}

/** What the caller observed. */
export interface CallResult {
  roomName: string;
  /** The caller span's traceparent, which the agent's trace continues. */
  traceparent: string;
  traceId: string;
  /** Seconds of agent audio received, and how much of it was above silence. */
  agentAudioSeconds: number;
  agentVoicedSeconds: number;
  /** When each utterance started and ended (epoch seconds). */
  spoke: Array<{ text: string; start: number; end: number }>;
  agentStates: Array<{ state: string; at: number }>;
}

const FRAME_MS = 20;

/** Runs one call end to end; resolves when the caller has left. */
export async function runCall(options: CallOptions): Promise<CallResult> {
  const tracer = options.tracer ?? trace.getTracer('voicetrace-caller');
  return tracer.startActiveSpan('caller.call', async (span) => {
    try {
      span.setAttribute('caller.room', options.roomName);
      const carrier: Record<string, string> = {};
      propagation.inject(context.active(), carrier);
      const traceparent = carrier.traceparent ?? `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`;
      return await call(options, traceparent, span.spanContext().traceId);
    } finally {
      span.end();
    }
  });
}

async function call(options: CallOptions, traceparent: string, traceId: string): Promise<CallResult> {
  const httpUrl = options.url.replace(/^ws/, 'http');
  const stepTimeout = options.stepTimeoutMs ?? 30_000;
  await new RoomServiceClient(httpUrl, options.apiKey, options.apiSecret).createRoom({ name: options.roomName, emptyTimeout: 30, departureTimeout: options.departureTimeoutSeconds ?? 20 });
  await new AgentDispatchClient(httpUrl, options.apiKey, options.apiSecret).createDispatch(options.roomName, options.agentName, {
    metadata: JSON.stringify({ traceparent }),
  });

  const room = new Room();
  const states = new AgentStates(options.onAgentState);
  const listener = new AgentAudio();
  // the agent may publish its first state before the caller learns of it: read it on arrival too
  room.on(RoomEvent.ParticipantConnected, (participant: RemoteParticipant) => {
    const state = participant.attributes['lk.agent.state'];
    if (state) states.push(state);
  });
  room.on(RoomEvent.ParticipantAttributesChanged, (changed: Record<string, string>, participant) => {
    const state = changed['lk.agent.state'];
    if (state && (participant as RemoteParticipant).identity !== 'caller') states.push(state);
  });
  room.on(RoomEvent.TrackSubscribed, (track: RemoteTrack) => {
    if (track.kind === TrackKind.KIND_AUDIO) listener.listen(track);
  });
  const token = new AccessToken(options.apiKey, options.apiSecret, { identity: 'caller', ttl: '30m' });
  token.addGrant({ roomJoin: true, room: options.roomName, canPublish: true, canSubscribe: true, canPublishData: true });
  await room.connect(options.url, await token.toJwt(), { autoSubscribe: true, dynacast: false });
  for (const participant of room.remoteParticipants.values()) {
    const state = participant.attributes['lk.agent.state'];
    if (state) states.push(state);
  }

  const microphone = new Microphone();
  // the agent hears the caller only once it has subscribed to the microphone: on a loaded machine that can
  // come after the agent says it is listening, and speech before it is lost (the agent would never answer)
  const agentListens = new Promise<void>((resolve) => room.once(RoomEvent.LocalTrackSubscribed, () => resolve()));
  await room.localParticipant!.publishTrack(LocalAudioTrack.createAudioTrack('microphone', microphone.source), new TrackPublishOptions({ source: TrackSource.SOURCE_MICROPHONE }));
  microphone.start();
  const spoke: CallResult['spoke'] = [];
  try {
    await states.waitFor('listening', stepTimeout);
    await withTimeout(agentListens, stepTimeout, 'the agent did not subscribe to the caller\'s microphone');
    for (const [i, turn] of options.turns.entries()) {
      if (turn.bargeInAfterMs !== undefined) await delay(turn.bargeInAfterMs);
      const speech = await options.synthesize(turn.text);
      // the agent's scripted STT transcribes what the caller announces (a real STT needs no such hint)
      await room.localParticipant!.sendText(turn.text, { topic: CALLER_SCRIPT_TOPIC });
      const start = Date.now() / 1000;
      await microphone.say(speech);
      spoke.push({ text: turn.text, start, end: Date.now() / 1000 });
      const next = options.turns[i + 1];
      const last = i === options.turns.length - 1;
      await states.waitFor('speaking', stepTimeout);
      if (last && options.hangUpAfterMs !== undefined) {
        await delay(options.hangUpAfterMs);
        break;
      }
      // a barge-in comes while the agent speaks; any other turn waits for the reply to end
      if (next?.bargeInAfterMs === undefined) await states.waitFor('listening', stepTimeout);
    }
  } finally {
    microphone.stop();
    await room.disconnect();
    await microphone.source.close().catch(() => undefined);
  }
  return {
    roomName: options.roomName,
    traceparent,
    traceId,
    agentAudioSeconds: listener.seconds,
    agentVoicedSeconds: listener.voicedSeconds,
    spoke,
    agentStates: states.history,
  };
}

/** The agent's state as it publishes it (participant attribute `lk.agent.state`). */
class AgentStates {
  readonly history: Array<{ state: string; at: number }> = [];
  private waiters: Array<{ state: string; resolve: () => void }> = [];
  private seen = 0;

  constructor(private readonly onState?: (state: string) => void) {}

  push(state: string): void {
    this.history.push({ state, at: Date.now() / 1000 });
    this.onState?.(state);
    this.waiters = this.waiters.filter((w) => (w.state === state ? (w.resolve(), false) : true));
  }

  /** Resolves at the next time the agent enters `state` after the last wait (or now, if it did since). */
  waitFor(state: string, timeoutMs: number): Promise<void> {
    const since = this.history.slice(this.seen);
    const hit = since.findIndex((h) => h.state === state);
    if (hit >= 0) {
      this.seen += hit + 1;
      return Promise.resolve();
    }
    this.seen = this.history.length;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the agent did not become ${state} within ${timeoutMs} ms (states so far: ${this.history.map((h) => h.state).join(', ')})`)), timeoutMs);
      this.waiters.push({
        state,
        resolve: () => {
          clearTimeout(timer);
          this.seen = this.history.length;
          resolve();
        },
      });
    });
  }
}

/** The caller's microphone: silence between utterances, real frames while speaking, in real time. */
class Microphone {
  readonly source = new AudioSource(48_000, 1);
  private queue: Int16Array[] = [];
  private running = false;
  private drained: (() => void) | undefined;

  start(): void {
    this.running = true;
    void this.pump();
  }

  stop(): void {
    this.running = false;
  }

  /** Plays `speech`; resolves when it has been sent. */
  say(speech: Speech): Promise<void> {
    const samples = speech.sampleRate === 48_000 ? speech.samples : resample(speech.samples, speech.sampleRate, 48_000);
    const frame = (48_000 * FRAME_MS) / 1000;
    for (let offset = 0; offset < samples.length; offset += frame) {
      const chunk = new Int16Array(frame);
      chunk.set(samples.subarray(offset, Math.min(samples.length, offset + frame)));
      this.queue.push(chunk);
    }
    return new Promise((resolve) => (this.drained = resolve));
  }

  private async pump(): Promise<void> {
    const samples = (48_000 * FRAME_MS) / 1000;
    let next = Date.now();
    while (this.running) {
      const data = this.queue.shift() ?? new Int16Array(samples);
      if (this.queue.length === 0 && this.drained) {
        const done = this.drained;
        this.drained = undefined;
        setTimeout(done, FRAME_MS);
      }
      await this.source.captureFrame(new AudioFrame(data, 48_000, 1, samples)).catch(() => undefined);
      next += FRAME_MS;
      await delay(Math.max(0, next - Date.now()));
    }
  }
}

/** Listens to the agent's audio: how much arrived, and how much of it was speech (not silence). */
class AgentAudio {
  seconds = 0;
  voicedSeconds = 0;

  listen(track: RemoteTrack): void {
    const stream = new AudioStream(track, 48_000, 1);
    void (async () => {
      for await (const frame of stream) {
        const duration = frame.samplesPerChannel / frame.sampleRate;
        this.seconds += duration;
        let sum = 0;
        for (const s of frame.data) sum += (s / 32768) ** 2;
        if (Math.sqrt(sum / Math.max(1, frame.data.length)) > 0.01) this.voicedSeconds += duration;
      }
    })().catch(() => undefined);
  }
}

/** Linear resampling, enough for a test caller's speech. */
function resample(input: Int16Array, from: number, to: number): Int16Array {
  const out = new Int16Array(Math.floor((input.length * to) / from));
  for (let i = 0; i < out.length; i++) {
    const x = (i * from) / to;
    const j = Math.floor(x);
    const a = input[j] ?? 0;
    const b = input[j + 1] ?? a;
    out[i] = Math.round(a + (b - a) * (x - j));
  }
  return out;
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
