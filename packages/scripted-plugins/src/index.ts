/**
 * Offline plugins for a real `AgentSession` of `@livekit/agents`: no LiveKit
 * server, no network, no API keys. They behave like real providers (streaming,
 * seeded realistic latencies, usage reported) so the SDK's own spans and
 * metrics events are genuine.
 */
export { ScriptedAudioInput, SimulatedAudioOutput, makeFrame, toneFrame, frameRms, SAMPLE_RATE, FRAME_MS } from './audio.js';
export { EnergyVAD, type EnergyVADOptions } from './vad.js';
export { ScriptedSTT, type ScriptedSTTOptions, type ScriptedUtterance } from './stt.js';
export { ScriptedLLM, countTokens, type ScriptedLLMOptions, type ScriptedReply } from './llm.js';
export { ScriptedTTS, type ScriptedTTSOptions } from './tts.js';
export { ScriptedUser, type ScriptedUserOptions } from './user.js';
export { SeededRandom, type LatencyRange } from './random.js';
export {
  ScriptedRealtimeModel,
  ScriptedRealtimeSession,
  type ScriptedRealtimeModelOptions,
  type ServerVadOptions,
  type InputTranscriptionOptions,
  type ScriptedRealtimeResponse,
  type ScriptedTruncation,
} from './realtime.js';
