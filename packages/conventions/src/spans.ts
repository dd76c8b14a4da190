import type { Stage } from './spec.js';

/** The instrumentation scope of the SDK's own spans. */
export const LIVEKIT_SCOPE = 'livekit-agents';
/** The instrumentation scope of the spans voicetrace creates. */
export const VOICETRACE_SCOPE = 'voicetrace';

/** Names of the spans voicetrace creates for stages the SDK does not trace. */
export const SPAN_NAME = {
  vad: 'vad_inference',
  stt: 'stt_request',
  eou: 'eou_detection',
  interruption: 'interruption_detection',
  realtime: 'realtime_response',
  handoff: 'agent_handoff',
} as const;

/** SDK span names that stand for a stage (their wrappers, e.g. llm_node, carry no stage). */
export const SDK_SPAN_STAGE: Readonly<Record<string, Stage>> = {
  agent_session: 'session',
  user_turn: 'user_turn',
  eou_detection: 'eou',
  agent_turn: 'agent_turn',
  llm_request: 'llm',
  tts_request: 'tts',
  function_tool: 'tool',
  realtime_inference: 'realtime',
};
