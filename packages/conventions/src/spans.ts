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

/**
 * The SDK's own span attributes that voicetrace reads (ids, names, content), left untouched on its
 * spans. Figures are never read from these: voicetrace carries each figure in its own attribute.
 */
export const SDK_ATTR = {
  SPEECH_ID: 'lk.speech_id',
  JOB_ID: 'lk.job_id',
  ROOM_ID: 'lk.room_id',
  ROOM_NAME: 'lk.room_name',
  PII_ROOM_NAME: 'lk.pii.room_name',
  TRANSCRIPT_CONFIDENCE: 'lk.transcript_confidence',
  PII_USER_TRANSCRIPT: 'lk.pii.user_transcript',
  PII_RESPONSE_TEXT: 'lk.pii.response.text',
  TOOL_NAME: 'gen_ai.tool.name',
  FUNCTION_TOOL_NAME: 'lk.function_tool.name',
  TOOL_IS_ERROR: 'lk.function_tool.is_error',
  PII_TOOL_ARGUMENTS: 'lk.pii.function_tool.arguments',
  PII_TOOL_OUTPUT: 'lk.pii.function_tool.output',
  FINISH_REASONS: 'gen_ai.response.finish_reasons',
  RESPONSE_MODEL: 'gen_ai.response.model',
} as const;
