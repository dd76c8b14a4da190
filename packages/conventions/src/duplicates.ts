/**
 * "Sent once": no value leaves voicetrace twice in different units or forms without a reason.
 * ATTRIBUTES.md renders both lists below (packages/conventions/src/table.ts).
 */

/** An SDK attribute voicetrace's exported copy of the span leaves out, because the span carries its value in voicetrace's form. */
export interface LeftOut {
  /** The SDK's attribute. */
  sdk: string;
  /** The SDK span it is on. */
  span: string;
  /** Where its value is, in voicetrace's form. */
  insteadIn: string;
}

/**
 * Left out of voicetrace's export when voicetrace wrote its form of the value on the span (the
 * SDK's own processors, e.g. LiveKit Cloud's, still receive them): see `LiveKitSpanFacts.sentTwice`.
 */
export const LEFT_OUT: readonly LeftOut[] = [
  {
    sdk: 'lk.llm_metrics',
    span: 'llm_request',
    insteadIn:
      'the JSON\'s fields parsed, validated, in seconds: `gen_ai.response.time_to_first_chunk` (ttftMs), `voicetrace.duration` (durationMs), `voicetrace.cancelled`, `voicetrace.llm.tokens_per_second`, `gen_ai.usage.*` tokens (the SDK writes them too), `gen_ai.response.id` (requestId), `gen_ai.request.model`/`gen_ai.provider.name` (metadata); its timestamp is the span\'s end',
  },
  {
    sdk: 'lk.tts_metrics',
    span: 'tts_request',
    insteadIn:
      '`gen_ai.response.time_to_first_chunk` (ttfbMs), `voicetrace.duration`, `voicetrace.tts.characters`, `voicetrace.tts.audio_duration` (audioDurationMs), `voicetrace.streamed`, `voicetrace.cancelled`, `gen_ai.usage.*` when billed, model and provider',
  },
  { sdk: 'gen_ai.usage.input_cached_tokens', span: 'llm_request', insteadIn: '`gen_ai.usage.cache_read.input_tokens` (the OTel name; the SDK writes both, with the same value)' },
  { sdk: 'lk.transcription_delay', span: 'user_turn', insteadIn: '`voicetrace.latency.transcription_delay` (seconds; the EOU report\'s figure when there is one)' },
  { sdk: 'lk.end_of_turn_delay', span: 'user_turn', insteadIn: '`voicetrace.latency.eou_delay` (seconds; the EOU report\'s figure when there is one)' },
  { sdk: 'lk.e2e_latency', span: 'agent_turn', insteadIn: '`voicetrace.latency.e2e` (the same seconds, on the agent turn that played)' },
  { sdk: 'lk.interrupted', span: 'agent_turn', insteadIn: '`voicetrace.turn.interrupted` (the same flag, or true when the reply\'s realtime response was cancelled)' },
];

/** Values voicetrace sends in two forms on purpose, and why. */
export interface SentTwice {
  attributes: readonly string[];
  where: string;
  why: string;
}

export const SENT_TWICE: readonly SentTwice[] = [
  {
    attributes: ['session.id', 'gen_ai.conversation.id'],
    where: 'session, agent turn, LLM, realtime, STT, TTS and tool spans (`session.id` alone on the others)',
    why: 'Backends key a call by one or the other: LangFuse and the OTel registry by `session.id`, GenAI-aware backends by `gen_ai.conversation.id`, which the GenAI conventions put on GenAI operations.',
  },
  {
    attributes: ['voicetrace.wait.breakdown', 'voicetrace.wait.<key>'],
    where: 'the agent turn that played a reply',
    why: 'The JSON keeps the slices in order with their owner and sums to `voicetrace.latency.e2e` exactly (the report reads it); the per-key doubles are what trace search, span metrics and dashboards can filter and aggregate on.',
  },
  {
    attributes: ['voicetrace.latency.eou_delay', 'voicetrace.latency.transcription_delay', 'voicetrace.eou.delay', 'voicetrace.eou.transcription_delay'],
    where: 'user turn and agent turn (`voicetrace.latency.*`), EOU span (`voicetrace.eou.*`)',
    why: 'The same seconds on each span that is read alone: the user\'s side of the turn, the reply\'s breakdown (the figures it used), and the detector\'s own span.',
  },
  {
    attributes: ['voicetrace.vad.speech_start', 'voicetrace.vad.speech_end'],
    where: 'user turn and VAD span',
    why: 'The user turn span (the SDK\'s) does not cover the speech exactly; both spans say when the user spoke, in the same epoch seconds.',
  },
  {
    attributes: ['langfuse.observation.input', 'langfuse.observation.output'],
    where: 'LLM request (the conversation as chat messages), agent turn, user turn, TTS, STT, realtime (content, PII)',
    why: 'LangFuse shows input and output only from its own keys or, for requests, renders a chat only in the OpenAI message shape; the OTel (`gen_ai.input.messages`) and SDK (`lk.pii.*`) forms stay for every other backend. `langfuseMapping: false` turns them off.',
  },
  {
    attributes: ['langfuse.observation.usage_details', 'langfuse.observation.cost_details', 'langfuse.observation.completion_start_time', 'langfuse.observation.metadata'],
    where: 'LLM, TTS, STT and realtime requests; agent turn (metadata)',
    why: 'LangFuse prices and charts usage only from its keys (uncached input apart from cached, characters and audio milliseconds for speech), computes its time to first token from the completion start time, and filters observations on metadata keys; `gen_ai.usage.*`, `voicetrace.cost`, `gen_ai.response.time_to_first_chunk` and `voicetrace.latency.*` are the same figures for everything else. `langfuseMapping: false` turns them off.',
  },
];
