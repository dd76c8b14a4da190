/**
 * Normalized voice-pipeline inputs. Units are already seconds; timestamps are
 * epoch seconds; every numeric field was validated (a missing field means the
 * source gave none or it was rejected, see `quality`). The engine consumes
 * these; bindings (LiveKit today) produce them from their SDK's events.
 */

/** Fields left out or cut while normalizing one input. */
export interface InputQuality {
  implausible: string[];
  truncated: string[];
  /** Why each implausible field was left out (e.g. `sentinel_value` for a -1 "none"). */
  reasons?: Record<string, 'non_finite_value' | 'negative_value' | 'sentinel_value' | 'implausible_value'>;
}

interface Base {
  /** When the source emitted the input (epoch seconds). */
  at: number;
  quality?: InputQuality;
}

/** Provider and model of a metered request. */
export interface ModelRef {
  provider: string;
  model: string;
}

export interface LlmMetric extends Base, ModelRef {
  kind: 'llm';
  speechId?: string;
  requestId?: string;
  ttft?: number;
  duration?: number;
  cancelled: boolean;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  cacheCreationTokens: number;
  tokensPerSecond?: number;
}

export interface TtsMetric extends Base, ModelRef {
  kind: 'tts';
  speechId?: string;
  requestId?: string;
  ttfb?: number;
  duration?: number;
  audioDuration: number;
  characters: number;
  streamed: boolean;
  cancelled: boolean;
  inputTokens: number;
  outputTokens: number;
  /**
   * The SDK's stream adapter's own report around a non-streaming TTS: it repeats the usage its
   * per-sentence requests report (the whole reply's characters, the first sentence's audio), so it
   * is shown, never counted. Undefined when the binding cannot tell.
   */
  streamAdapterReport?: boolean;
}

export interface SttMetric extends Base, ModelRef {
  kind: 'stt';
  requestId?: string;
  /** Provider-reported request duration; streaming providers report none (0). */
  duration?: number;
  audioDuration: number;
  streamed: boolean;
  inputTokens: number;
  outputTokens: number;
}

export interface VadMetric extends Base {
  kind: 'vad';
  label: string;
  idleTime?: number;
  inferenceTimeTotal?: number;
  inferenceCount: number;
}

export interface EouMetric extends Base {
  kind: 'eou';
  speechId?: string;
  eouDelay?: number;
  transcriptionDelay?: number;
  onUserTurnCompletedDelay?: number;
  lastSpeakingTime?: number;
}

export interface InterruptionMetric extends Base, Partial<ModelRef> {
  kind: 'interruption';
  detectionDelay?: number;
  predictionTime?: number;
  roundTrip?: number;
  interruptions: number;
  backchannels: number;
  requests: number;
}

export interface RealtimeMetric extends Base, ModelRef {
  kind: 'realtime';
  requestId?: string;
  /** When the response was created (epoch seconds). */
  createdAt: number;
  ttft?: number;
  duration?: number;
  sessionDuration?: number;
  cancelled: boolean;
  inputTokens: number;
  outputTokens: number;
  tokensPerSecond?: number;
  inputAudioTokens: number;
  inputTextTokens: number;
  inputCachedTokens: number;
  outputAudioTokens: number;
  outputTextTokens: number;
}

/** The user started or stopped speaking (VAD or STT decided). */
export interface UserSpeechEvent extends Base {
  kind: 'user_speech';
  speaking: boolean;
}

/** The agent's state machine moved (listening, thinking, speaking, ...). */
export interface AgentStateEvent extends Base {
  kind: 'agent_state';
  state: string;
}

/**
 * A stretch of the agent's audio that played without a stop (the audio output's
 * `playbackProgressed`, reported once it can no longer be discarded). Two stretches of one reply
 * with time between them mean the output ran dry: the agent went silent mid-reply.
 */
export interface PlayoutEvent extends Base {
  kind: 'playout';
  /** When the stretch began to play (epoch seconds); `at` is when it was reported. */
  startedAt: number;
  /** Where it starts in the audio of the current segment (seconds). */
  offset: number;
  /** How long it played (seconds). */
  duration: number;
}

/** A transcript from the STT (interim or final). */
export interface TranscriptEvent extends Base {
  kind: 'transcript';
  final: boolean;
  text: string;
}

/** A message committed to the conversation, with the SDK's per-message metrics (seconds). */
export interface MessageEvent extends Base {
  kind: 'message';
  role: 'user' | 'assistant' | 'system' | 'developer';
  text: string;
  interrupted: boolean;
  startedSpeakingAt?: number;
  stoppedSpeakingAt?: number;
  transcriptionDelay?: number;
  endOfTurnDelay?: number;
  onUserTurnCompletedDelay?: number;
  llmTtft?: number;
  ttsTtfb?: number;
  e2eLatency?: number;
  confidence?: number;
}

/** Control moved from one agent to another. */
export interface HandoffEvent extends Base {
  kind: 'handoff';
  fromAgent?: string;
  toAgent: string;
}

/** Tools ran. */
export interface ToolsEvent extends Base {
  kind: 'tools';
  calls: Array<{ name: string; arguments?: string; output?: string; isError: boolean }>;
}

/** The session closed. */
export interface CloseEvent extends Base {
  kind: 'close';
  reason: string;
  error?: string;
}

/** An error the SDK reported (recoverable or not). */
export interface ErrorEvent extends Base {
  kind: 'error';
  /** What failed: `llm_error`, `stt_error`, `tts_error`, `realtime_model_error` ... */
  type?: string;
  source: string;
  message: string;
  recoverable: boolean;
}

/** Provider metrics: the inputs that carry usage. */
export type StageMetric = LlmMetric | TtsMetric | SttMetric | VadMetric | EouMetric | InterruptionMetric | RealtimeMetric;

/** Everything the engine consumes. */
export type VoiceEvent =
  | StageMetric
  | UserSpeechEvent
  | AgentStateEvent
  | PlayoutEvent
  | TranscriptEvent
  | MessageEvent
  | HandoffEvent
  | ToolsEvent
  | CloseEvent
  | ErrorEvent;
