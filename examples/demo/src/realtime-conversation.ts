import { voice } from '@livekit/agents';
import {
  EnergyVAD,
  ScriptedRealtimeModel,
  ScriptedUser,
  SimulatedAudioOutput,
  type ScriptedReply,
} from '@voicetrace/scripted-plugins';
import { NO_PAUSE, nextAgentState, REPLIES } from './conversation.js';

/**
 * What the speech-to-speech model answers: the replies of the pipeline demo, plus a
 * greeting asked for by instructions (a realtime model has no TTS for `say()`).
 */
export const REALTIME_REPLIES: ScriptedReply[] = [
  { when: 'instructions:greet', text: 'Hello, thanks for calling Acme. How can I help you today?' },
  ...REPLIES,
];

/** The scripted model's server VAD: the end of speech is declared after this much silence (seconds). */
export const REALTIME_SERVER_SILENCE_S = 0.4;

/** Options of {@link createRealtimePlugins}. */
export interface RealtimePluginsOptions {
  seed?: number;
  /**
   * `server` (default): the model detects the user's turns in the audio (OpenAI `server_vad`).
   * `vad`: the session's VAD detects them and the SDK commits the audio and asks for replies.
   */
  turnDetection?: 'server' | 'vad';
  /** Playback speed of the simulated speaker (default 4: the call runs four times faster). */
  playbackSpeed?: number;
}

/** What {@link createRealtimePlugins} returns. */
export interface RealtimePlugins {
  model: ScriptedRealtimeModel;
  /** Only in `vad` turn detection; pass `vad: null` to the session otherwise (no default Silero). */
  vad: EnergyVAD | null;
  user: ScriptedUser;
  audioOutput: SimulatedAudioOutput;
}

/** The demo's scripted speech-to-speech model (priced as `openai/gpt-4o-realtime-preview`) and its caller. */
export function createRealtimePlugins(options: RealtimePluginsOptions = {}): RealtimePlugins {
  const seed = options.seed ?? 42;
  const server = (options.turnDetection ?? 'server') === 'server';
  const model = new ScriptedRealtimeModel({
    replies: REALTIME_REPLIES,
    seed: seed + 5,
    turnDetection: server ? 'server_vad' : null,
    serverVad: { silenceDurationMs: REALTIME_SERVER_SILENCE_S * 1000 },
  });
  return {
    model,
    vad: server ? null : new EnergyVAD(),
    user: new ScriptedUser({ stt: model.transcriber }),
    audioOutput: new SimulatedAudioOutput(options.playbackSpeed ?? 4),
  };
}

/** An `AgentSession` wired to the realtime plugins (no STT, no TTS: the model hears and speaks). */
export function createRealtimeSession(plugins: RealtimePlugins): voice.AgentSession {
  // with the session's VAD, turn on plain VAD turn detection: the default TurnDetector model
  // refuses a VAD with less than 250 ms of minimum silence and needs LiveKit's inference; without
  // one, the model's server-side detection (left unset, the SDK tries its TurnDetector and warns)
  const session = new voice.AgentSession({
    llm: plugins.model,
    vad: plugins.vad,
    turnHandling: { turnDetection: plugins.vad ? 'vad' : 'realtime_llm', interruption: NO_PAUSE },
  });
  session.input.audio = plugins.user.audioInput;
  session.output.audio = plugins.audioOutput;
  return session;
}

/** Resolves when the agent has spoken a reply and gone back to listening. */
function nextReply(session: voice.AgentSession): Promise<void> {
  return nextAgentState(session, 'speaking').then(() => nextAgentState(session, 'listening'));
}

/**
 * The demo call through the realtime model: a greeting (`generateReply` with
 * instructions), a tool call, a long answer, the same long answer cut off by the
 * caller, a handoff to billing, a billing answer and a goodbye.
 */
export async function runRealtimeConversation(session: voice.AgentSession, user: ScriptedUser): Promise<void> {
  await session.generateReply({ instructions: 'Greet the caller and offer help.' }).waitForPlayout();
  for (const text of ['Hi, what is the weather like in Paris today?', 'Great, and what are your opening hours?']) {
    const reply = nextReply(session);
    await user.say(text);
    await reply;
  }
  // the third answer is long: the user cuts in while the agent speaks
  const speaking = nextAgentState(session, 'speaking');
  await user.say('And on Sundays, what are your opening hours?');
  await speaking;
  await new Promise((resolve) => setTimeout(resolve, 600));
  const interrupted = nextAgentState(session, 'listening');
  await user.say('Sorry, actually I have a question about my bill.');
  await interrupted;
  await nextReply(session);
  for (const text of ['Why was I charged twice this month?', 'Okay thanks, that is all.']) {
    const reply = nextReply(session);
    await user.say(text);
    await reply;
  }
}
