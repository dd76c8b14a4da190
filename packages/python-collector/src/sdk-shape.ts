import { ATTR, SDK_SPAN_STAGE, type Stage } from '@voicetrace/conventions';

/**
 * The span shape of Python `livekit-agents` that the Collector overlay reads: every fact cites the
 * SDK source it comes from (paths under the venv's `site-packages/livekit/agents/`, at 1.8.9) or
 * the captured fixture (`fixtures/livekit-agents-1.8.9.otlp.json`, made by `scripts/capture-fixtures.mjs`).
 * Supported: the SDK versions whose spans were captured (1.8.9); 1.8.4 is the first with
 * `lk.stt.events` on user_turn, 1.8.2 the first with the latency attributes on agent_turn.
 */

/** The SDK versions whose span shape was captured and checked (test/fixtures.test.ts). */
export const SUPPORTED_SDK_VERSIONS = ['1.8.9'] as const;

/** The SDK's instrumentation scope (telemetry/traces.py:254 `_DynamicTracer("livekit-agents")`). */
export const PYTHON_SCOPE = 'livekit-agents';

/** The resource attribute the OpenTelemetry Python SDK sets on every provider (fixture: resource). */
export const PYTHON_LANGUAGE = { key: 'telemetry.sdk.language', value: 'python' } as const;

/**
 * Span name -> stage. The names both SDKs share come from `SDK_SPAN_STAGE` (conventions); the
 * Python SDK adds two of its own:
 * - `update_agent` is the handoff (voice/agent_session.py:1903-1907: `lk.previous_agent_label` ->
 *   `lk.agent_label`), where the Node path synthesizes `agent_handoff`;
 * - `eou_wait` is the end-of-turn wait, one per user turn (voice/audio_recognition.py:2167-2232,
 *   `lk.eou.wait_duration` in seconds). Its child `eou_detection` (a turn-detector model's inference,
 *   only with such a model) is not a second EOU stage here: one EOU span per turn, as on the Node path.
 */
export const PYTHON_SPAN_STAGE: Readonly<Record<string, Stage>> = (() => {
  const stages: Record<string, Stage> = { ...SDK_SPAN_STAGE, update_agent: 'handoff', eou_wait: 'eou' };
  delete stages.eou_detection;
  return stages;
})();

/** How a JSON field is written as an attribute. */
export type Conversion = 'double' | 'int' | 'bool';

/** One field of the SDK's metrics JSON and the voicetrace attribute it becomes. */
export interface MetricsField {
  /** The field of the pydantic model (metrics/base.py), seconds for durations. */
  readonly field: string;
  readonly attribute: string;
  readonly as: Conversion;
  /** Only when the value is at least this (the SDK writes -1 for "none"). */
  readonly atLeast?: number;
  /** Only when the value is above this (a 0 count is no usage). */
  readonly above?: number;
}

/** A metrics JSON attribute on a request span and its fields. */
export interface MetricsJson {
  readonly span: string;
  readonly attribute: string;
  readonly fields: readonly MetricsField[];
  /** Where the SDK writes it. */
  readonly source: string;
}

/**
 * `llm_request`: `lk.llm_metrics` = `LLMMetrics.model_dump_json()` (llm/llm.py:457-461; fields in
 * metrics/base.py:21-45, seconds; `ttft` is -1 when no token came). The SDK also writes
 * `gen_ai.usage.input_tokens`/`output_tokens` and `gen_ai.response.time_to_first_chunk` itself
 * (llm/llm.py:463-475, telemetry/gen_ai.py:446-476): those are not written again.
 */
export const LLM_METRICS: MetricsJson = {
  span: 'llm_request',
  attribute: 'lk.llm_metrics',
  source: 'llm/llm.py:457-461',
  fields: [
    { field: 'duration', attribute: ATTR.DURATION, as: 'double', atLeast: 0 },
    { field: 'cancelled', attribute: ATTR.CANCELLED, as: 'bool' },
    { field: 'tokens_per_second', attribute: ATTR.LLM_TOKENS_PER_SECOND, as: 'double', atLeast: 0 },
    { field: 'prompt_cached_tokens', attribute: ATTR.USAGE_CACHE_READ, as: 'int', atLeast: 0 },
  ],
};

/**
 * `tts_request`: `lk.tts_metrics` = `TTSMetrics.model_dump_json()` (tts/tts.py:380-383 for a chunked
 * request, 741-744 for a stream; fields in metrics/base.py:95-117, seconds; `ttfb` is -1 when no
 * audio came). The stream adapter's own span (`tts_stream_adapter`, tts/stream_adapter.py:112) has
 * no metrics JSON (fixture), so no TTS report is counted twice.
 */
export const TTS_METRICS: MetricsJson = {
  span: 'tts_request',
  attribute: 'lk.tts_metrics',
  source: 'tts/tts.py:380-383',
  fields: [
    { field: 'ttfb', attribute: ATTR.TIME_TO_FIRST_CHUNK, as: 'double', atLeast: 0 },
    { field: 'duration', attribute: ATTR.DURATION, as: 'double', atLeast: 0 },
    { field: 'audio_duration', attribute: ATTR.TTS_AUDIO_DURATION, as: 'double', atLeast: 0 },
    { field: 'characters_count', attribute: ATTR.TTS_CHARACTERS, as: 'int', atLeast: 0 },
    { field: 'streamed', attribute: ATTR.STREAMED, as: 'bool' },
    { field: 'cancelled', attribute: ATTR.CANCELLED, as: 'bool' },
    { field: 'input_tokens', attribute: ATTR.USAGE_INPUT_TOKENS, as: 'int', above: 0 },
    { field: 'output_tokens', attribute: ATTR.USAGE_OUTPUT_TOKENS, as: 'int', above: 0 },
  ],
};

/** An SDK attribute in seconds copied to voicetrace's name on a span (same value, same unit). */
export interface Copy {
  readonly span: string;
  readonly from: string;
  readonly to: string;
  readonly source: string;
}

/**
 * The latency attributes, all seconds in the Python SDK (the Node SDK writes the user turn's in ms):
 * - agent_turn: `lk.e2e_latency` (voice/agent_activity.py:3416-3421: started speaking minus the
 *   user's stop) and the user turn's stages beside it (`_record_user_turn_stages`,
 *   voice/agent_activity.py:236-247), from `MetricsReport` values in seconds;
 * - user_turn: `lk.transcription_delay`, `lk.end_of_turn_delay` (voice/audio_recognition.py:1869-1875,
 *   seconds from `_EndOfTurnMetrics`, 115-123: `now - last_speaking_time`);
 * - eou_wait: `lk.eou.wait_duration` (voice/audio_recognition.py:2229), seconds from the end of the
 *   user's speech to the turn decision, the EOU delay;
 * - update_agent: the agents of a handoff (voice/agent_session.py:1903-1907).
 */
export const COPIES: readonly Copy[] = [
  { span: 'agent_turn', from: 'lk.e2e_latency', to: ATTR.LATENCY_E2E, source: 'voice/agent_activity.py:3420' },
  { span: 'agent_turn', from: 'lk.end_of_turn_delay', to: ATTR.LATENCY_EOU_DELAY, source: 'voice/agent_activity.py:240-241' },
  { span: 'agent_turn', from: 'lk.transcription_delay', to: ATTR.LATENCY_TRANSCRIPTION_DELAY, source: 'voice/agent_activity.py:242-243' },
  { span: 'agent_turn', from: 'lk.on_user_turn_completed_delay', to: ATTR.LATENCY_ON_USER_TURN_COMPLETED, source: 'voice/agent_activity.py:244-245' },
  { span: 'agent_turn', from: 'lk.interrupted', to: ATTR.TURN_INTERRUPTED, source: 'voice/agent_activity.py:3363' },
  { span: 'user_turn', from: 'lk.end_of_turn_delay', to: ATTR.LATENCY_EOU_DELAY, source: 'voice/audio_recognition.py:1873' },
  { span: 'user_turn', from: 'lk.transcription_delay', to: ATTR.LATENCY_TRANSCRIPTION_DELAY, source: 'voice/audio_recognition.py:1872' },
  { span: 'eou_wait', from: 'lk.eou.wait_duration', to: ATTR.EOU_DELAY, source: 'voice/audio_recognition.py:2229' },
  { span: 'update_agent', from: 'lk.previous_agent_label', to: ATTR.HANDOFF_FROM, source: 'voice/agent_session.py:1906' },
  { span: 'update_agent', from: 'lk.agent_label', to: ATTR.HANDOFF_TO, source: 'voice/agent_session.py:1907' },
];

/**
 * Where a span's session id can come from, in order: `session.id` stamped by the SDK from
 * `telemetry.set_tracer_provider(tp, metadata={"session.id": ...})` (telemetry/traces.py:692-693,
 * `_MetadataSpanProcessor` on every span), else the SDK's GenAI conversation id (the room sid, on
 * every span started in a job: telemetry/gen_ai.py:357-365, traces.py:172-177), else the job stamp
 * `room_id` (traces.py:344-359, every span in a job).
 */
export const SESSION_ID_SOURCES = ['gen_ai.conversation.id', 'room_id'] as const;

/** The agent's name where the SDK writes only its label (start_agent_activity, on_enter, update_agent: fixture). */
export const AGENT_LABEL = 'lk.agent_label';

/**
 * SDK spans LangFuse must show as plain spans although they carry `gen_ai.request.model` (LangFuse
 * types any span with a model a generation) or a LiveKit name it types AGENT: the wrappers, the
 * attempts, user_turn (the STT model: fixture), the stream adapter (fixture) and start_agent_activity
 * (`gen_ai.operation.name=create_agent`, fixture). The Node mapping's list plus the Python SDK's adapter.
 */
export const PLAIN_SPANS = ['llm_node', 'tts_node', 'user_turn', 'llm_request_run', 'tts_request_run', 'start_agent_activity', 'tts_stream_adapter'] as const;

/** The SDK's content attributes LangFuse shows as input/output (all `lk.pii.*`: deleted with PII redaction on). */
export const LANGFUSE_CONTENT: ReadonlyArray<{ span: string; input?: string; output?: string }> = [
  { span: 'agent_turn', input: 'lk.pii.user_input', output: 'lk.pii.response.text' },
  { span: 'user_turn', input: 'lk.pii.user_transcript' },
  { span: 'tts_request', input: 'lk.pii.input_text' },
];
