import type { AttributeSpec } from './spec.js';

/**
 * Every attribute voicetrace writes, defined once. `ATTR` (below) gives their
 * names as typed constants; `ATTRIBUTES.md` is generated from this table.
 * Durations are seconds (doubles) everywhere; timestamps are epoch seconds.
 */
const SPECS = {
  // ---- identity: on every span of an instrumented session -------------------------------
  /** The voicetrace session id (also the LangFuse session). */
  SESSION_ID: { key: 'session.id', type: 'string', stages: ['all'], origin: 'otel', brief: 'Session id of the voice call, on every span so that one call is one story.' },
  /** GenAI conversation id: the same value as `session.id`. */
  CONVERSATION_ID: { key: 'gen_ai.conversation.id', type: 'string', stages: ['session', 'agent_turn', 'llm', 'realtime', 'stt', 'tts', 'tool'], origin: 'otel', brief: 'GenAI conversation id; equals `session.id`, on the spans of GenAI operations only (sent twice there on purpose: see "Sent once" below).' },
  /** Deployment environment (production, staging, ...). */
  ENVIRONMENT: { key: 'deployment.environment.name', type: 'string', stages: ['all'], origin: 'otel', brief: 'Deployment environment, on every span.' },
  /** The agent that was active when the span started. */
  AGENT_NAME: { key: 'gen_ai.agent.name', type: 'string', stages: ['all'], origin: 'otel', brief: 'Name (id) of the agent active when the span started.' },
  /** Which pipeline stage the span stands for. */
  STAGE: { key: 'voicetrace.stage', type: 'string', stages: ['all'], origin: 'voicetrace', brief: 'Pipeline stage of the span: session, user_turn, vad, stt, eou, agent_turn, llm, realtime, tts, interruption, tool, handoff, or artifact (an upload of the recording or report).' },
  /** 1-based index of the user turn the span belongs to. */
  TURN_INDEX: { key: 'voicetrace.turn.index', type: 'int', unit: '1', stages: ['user_turn', 'agent_turn', 'vad', 'stt', 'eou', 'llm', 'tts', 'tool', 'interruption', 'realtime', 'handoff'], origin: 'voicetrace', brief: '1-based index of the conversation turn (0 before the first user turn, e.g. a greeting).' },
  /** Participant identity, when the user supplies it. */
  USER_ID: { key: 'user.id', type: 'string', stages: ['all'], origin: 'otel', pii: true, brief: 'Identity of the remote participant, when the application supplies it (on every span).' },

  // ---- session --------------------------------------------------------------------------
  SESSION_TURNS: { key: 'voicetrace.session.turns', type: 'int', unit: '1', stages: ['session'], origin: 'voicetrace', brief: 'Number of user turns in the session.' },
  SESSION_AGENT_TURNS: { key: 'voicetrace.session.agent_turns', type: 'int', unit: '1', stages: ['session'], origin: 'voicetrace', brief: 'Number of replies the user heard (their audio began); see Counts.' },
  SESSION_INTERRUPTIONS: { key: 'voicetrace.session.interruptions', type: 'int', unit: '1', stages: ['session'], origin: 'voicetrace', brief: 'Number of replies the user stopped while hearing them (barge-ins); see Counts.' },
  SESSION_CANCELLED_REPLIES: { key: 'voicetrace.session.cancelled_replies', type: 'int', unit: '1', stages: ['session'], origin: 'voicetrace', brief: 'Number of replies cut off before their first audio (the user spoke again first); see Counts.' },
  SESSION_ERRORS: { key: 'voicetrace.session.errors', type: 'int', unit: '1', stages: ['session'], origin: 'voicetrace', brief: 'Number of errors in the session: the SDK\'s error events and failed tool calls, each once; see Counts.' },
  SESSION_USAGE: { key: 'voicetrace.session.usage', type: 'string', stages: ['session'], origin: 'voicetrace', brief: 'JSON array of per provider/model usage (fields of the SDK\'s LLM/TTS/STT/Interruption ModelUsage, durations in seconds), each counted once, with its estimated cost.' },
  SESSION_COST: { key: 'voicetrace.session.cost', type: 'double', unit: 'USD', stages: ['session'], origin: 'voicetrace', brief: 'Estimated cost of the session from the price table (an estimate, not a bill).' },
  SESSION_LLM_INPUT_TOKENS: { key: 'voicetrace.session.llm.input_tokens', type: 'int', unit: '{token}', stages: ['session'], origin: 'voicetrace', brief: 'LLM input tokens of the session, all models.' },
  SESSION_LLM_OUTPUT_TOKENS: { key: 'voicetrace.session.llm.output_tokens', type: 'int', unit: '{token}', stages: ['session'], origin: 'voicetrace', brief: 'LLM output tokens of the session, all models.' },
  SESSION_TTS_CHARACTERS: { key: 'voicetrace.session.tts.characters', type: 'int', unit: '{character}', stages: ['session'], origin: 'voicetrace', brief: 'Characters synthesized in the session, counted once.' },
  SESSION_STT_AUDIO_DURATION: { key: 'voicetrace.session.stt.audio_duration', type: 'double', unit: 's', stages: ['session'], origin: 'voicetrace', brief: 'Seconds of audio transcribed in the session.' },
  SESSION_SIGNALS: { key: 'voicetrace.session.signals', type: 'string', stages: ['session'], origin: 'voicetrace', brief: 'JSON of the call\'s conversation quality signals: {totals: {<signal>: {count, seconds}}, records: [{name, turnIndex, at, speechId, seconds, repeatsTurn, where}]} (seconds for dead_air and talk-over; the records of the retained turns, at most 2,000); see Signals.' },
  SESSION_STATS: { key: 'voicetrace.session.stats', type: 'string', stages: ['session'], origin: 'voicetrace', brief: 'JSON of the session\'s percentile summaries as the model computed them (exact up to 16,384 replies): {latency: {<figure>: {count, p50, p95, p99, max, mean}}, wait: {<wait key>: {...}}}. The report rebuilt from traces reads them here instead of recomputing.' },
  SESSION_USAGE_CHECK: { key: 'voicetrace.session.usage_check', type: 'string', stages: ['session'], origin: 'voicetrace', brief: 'JSON array of the usage figures on which the SDK\'s own `session.usage` disagrees with voicetrace\'s: {type, provider, model, figure, voicetrace, sdk, cause}; cause `sdk_counts_stream_adapter_report` (the SDK counts the TTS stream adapter\'s report on top of its sentences\') or `unexplained`. Absent when they agree.' },
  SESSION_DROPS: { key: 'voicetrace.session.dropped_inputs', type: 'int', unit: '1', stages: ['session'], origin: 'voicetrace', brief: 'Inputs (events, values) dropped or corrected by validation during the session; details in the counters.' },

  // ---- latency (agent turn; p50/p95 on the session) -------------------------------------
  LATENCY_EOU_DELAY: { key: 'voicetrace.latency.eou_delay', type: 'double', unit: 's', stages: ['agent_turn', 'user_turn'], origin: 'voicetrace', brief: 'End-of-utterance delay: end of user speech to the decision that the turn ended.' },
  LATENCY_TRANSCRIPTION_DELAY: { key: 'voicetrace.latency.transcription_delay', type: 'double', unit: 's', stages: ['agent_turn', 'user_turn'], origin: 'voicetrace', brief: 'End of user speech to the final transcript.' },
  LATENCY_ON_USER_TURN_COMPLETED: { key: 'voicetrace.latency.on_user_turn_completed_delay', type: 'double', unit: 's', stages: ['agent_turn'], origin: 'voicetrace', brief: 'Time spent in the agent\'s onUserTurnCompleted callback.' },
  LATENCY_LLM_TTFT: { key: 'voicetrace.latency.llm_ttft', type: 'double', unit: 's', stages: ['agent_turn'], origin: 'voicetrace', brief: 'Time to first token of the LLM request that produced the spoken reply.' },
  LATENCY_TTS_TTFB: { key: 'voicetrace.latency.tts_ttfb', type: 'double', unit: 's', stages: ['agent_turn'], origin: 'voicetrace', brief: 'Time to first audio byte of the reply\'s first TTS request.' },
  LATENCY_TOTAL: { key: 'voicetrace.latency.total', type: 'double', unit: 's', stages: ['agent_turn'], origin: 'voicetrace', brief: 'The LiveKit docs\' total latency: eou_delay + llm_ttft + tts_ttfb.' },
  LATENCY_E2E: { key: 'voicetrace.latency.e2e', type: 'double', unit: 's', stages: ['agent_turn'], origin: 'voicetrace', brief: 'User-perceived wait: end of user speech to first agent audio out (the SDK\'s e2e_latency, seconds, restated from the VAD\'s end of speech when the SDK measured from a later one: see voicetrace.latency.anchor_shift).' },
  LATENCY_ANCHOR_SHIFT: { key: 'voicetrace.latency.anchor_shift', type: 'double', unit: 's', stages: ['agent_turn', 'user_turn'], origin: 'voicetrace', brief: 'How far from its VAD the SDK placed the user\'s end of speech (positive: later, e.g. at a non-streaming STT\'s own end-of-speech event; negative: earlier, e.g. from an STT\'s word timings on its own audio clock). The SDK measured its e2e and end-of-turn delay from there; voicetrace restates them from the VAD\'s end of speech. Absent when the two agree.' },

  // ---- the gapless wait breakdown -------------------------------------------------------
  WAIT_BREAKDOWN: { key: 'voicetrace.wait.breakdown', type: 'string', stages: ['agent_turn'], origin: 'voicetrace', brief: 'JSON array of consecutive contributions {key, owner, seconds} that sum exactly to voicetrace.latency.e2e.' },
  WAIT_STT: { key: 'voicetrace.wait.stt_final_transcript', type: 'double', unit: 's', stages: ['agent_turn'], origin: 'voicetrace', brief: 'Wait owned by the STT provider: end of speech to final transcript.' },
  WAIT_ENDPOINTING: { key: 'voicetrace.wait.endpointing_delay', type: 'double', unit: 's', stages: ['agent_turn'], origin: 'voicetrace', brief: 'Wait owned by the endpointing setting: final transcript to end-of-turn decision.' },
  WAIT_ON_USER_TURN_COMPLETED: { key: 'voicetrace.wait.on_user_turn_completed', type: 'double', unit: 's', stages: ['agent_turn'], origin: 'voicetrace', brief: 'Wait owned by the agent\'s code: the onUserTurnCompleted callback.' },
  WAIT_LLM_TOOL_STEP: { key: 'voicetrace.wait.llm_tool_step', type: 'double', unit: 's', stages: ['agent_turn'], origin: 'voicetrace', brief: 'Wait owned by the LLM provider: requests that produced only tool calls before any speakable text.' },
  WAIT_TOOL_EXECUTION: { key: 'voicetrace.wait.tool_execution', type: 'double', unit: 's', stages: ['agent_turn'], origin: 'voicetrace', brief: 'Wait owned by the agent\'s code: tool execution before the spoken reply.' },
  WAIT_LLM_TTFT: { key: 'voicetrace.wait.llm_ttft', type: 'double', unit: 's', stages: ['agent_turn'], origin: 'voicetrace', brief: 'Wait owned by the LLM provider: request start to first token of the spoken reply.' },
  WAIT_TEXT_AGGREGATION: { key: 'voicetrace.wait.tts_text_aggregation', type: 'double', unit: 's', stages: ['agent_turn'], origin: 'voicetrace', brief: 'Wait owned by the pipeline: first token to first text sent to TTS (sentence aggregation).' },
  WAIT_TTS_TTFB: { key: 'voicetrace.wait.tts_ttfb', type: 'double', unit: 's', stages: ['agent_turn'], origin: 'voicetrace', brief: 'Wait owned by the TTS provider: text sent to first audio byte.' },
  WAIT_PLAYOUT: { key: 'voicetrace.wait.playout_start', type: 'double', unit: 's', stages: ['agent_turn'], origin: 'voicetrace', brief: 'Wait owned by the pipeline: first audio byte to playout start (buffering, audio output).' },
  WAIT_UNATTRIBUTED: { key: 'voicetrace.wait.unattributed', type: 'double', unit: 's', stages: ['agent_turn'], origin: 'voicetrace', brief: 'Time nobody measured: gaps between the marks above, named rather than hidden.' },

  // ---- agent turn -------------------------------------------------------------------------
  TURN_INTERRUPTED: { key: 'voicetrace.turn.interrupted', type: 'boolean', stages: ['agent_turn'], origin: 'voicetrace', brief: 'The user interrupted this reply.' },
  TURN_OVERLAP: { key: 'voicetrace.turn.overlapping_speech', type: 'double', unit: 's', stages: ['agent_turn', 'interruption'], origin: 'voicetrace', brief: 'Seconds the user spoke while the agent was speaking.' },
  REPLY_FIRST_AUDIO_AT: { key: 'voicetrace.reply.first_audio_at', type: 'double', unit: 's', stages: ['agent_turn'], origin: 'voicetrace', brief: 'When the reply\'s first audio began playing (epoch seconds): the user\'s end of speech plus e2e, or the playout start of a reply with no user speech before it (a greeting).' },
  TURN_SIGNALS: { key: 'voicetrace.turn.signals', type: 'string[]', stages: ['agent_turn'], origin: 'voicetrace', brief: 'The conversation quality signals of the turn known when its reply ended (dead_air, slow_turn, talk_over_user, cut_off, repeated_user_request, error_turn, ...; see Signals); absent when none.' },
  TURN_DEAD_AIR: { key: 'voicetrace.turn.dead_air', type: 'double', unit: 's', stages: ['agent_turn'], origin: 'voicetrace', brief: 'Seconds of dead air in the reply: its wait beyond the dead-air threshold (default 2 s) plus the stops of its audio longer than playoutGapSeconds (default 0.5 s); absent when there was none.' },
  REPLY_COST: { key: 'voicetrace.reply.cost', type: 'double', unit: 'USD', stages: ['agent_turn'], origin: 'voicetrace', brief: 'Estimated cost of the reply\'s own requests (its LLM, TTS and realtime usage at table prices; its turn\'s STT is in voicetrace.turn.cost), on the agent turn that ended it, played or cancelled.' },
  TURN_COST: { key: 'voicetrace.turn.cost', type: 'double', unit: 'USD', stages: ['agent_turn'], origin: 'voicetrace', brief: 'Estimated cost of the turn, on the agent turn that played its reply: its STT share and its replies\' LLM, TTS and realtime usage at table prices. The turns\' costs add up to the session\'s. A periodic STT reporter\'s share can come after the reply: the span waits for it (up to 5 s, else voicetrace.data_incomplete).' },

  // ---- generation spans (llm, realtime, stt, tts) -----------------------------------------
  OPERATION_NAME: { key: 'gen_ai.operation.name', type: 'string', stages: ['stt', 'tts', 'realtime'], origin: 'otel-proposal', brief: '`speech_to_text` / `text_to_speech` on STT/TTS spans (proposal #390); `realtime` on realtime responses.' },
  PROVIDER_NAME: { key: 'gen_ai.provider.name', type: 'string', stages: ['llm', 'realtime', 'stt', 'tts'], origin: 'otel', brief: 'Model provider.' },
  REQUEST_MODEL: { key: 'gen_ai.request.model', type: 'string', stages: ['llm', 'realtime', 'stt', 'tts'], origin: 'otel', brief: 'Model name.' },
  TIME_TO_FIRST_CHUNK: { key: 'gen_ai.response.time_to_first_chunk', type: 'double', unit: 's', stages: ['llm', 'realtime', 'tts'], origin: 'otel', brief: 'Time to first chunk: LLM TTFT, TTS TTFB (proposal #390 applies it to speech), realtime first audio.' },
  USAGE_INPUT_TOKENS: { key: 'gen_ai.usage.input_tokens', type: 'int', unit: '{token}', stages: ['llm', 'realtime', 'stt', 'tts'], origin: 'otel', brief: 'Input tokens.' },
  USAGE_OUTPUT_TOKENS: { key: 'gen_ai.usage.output_tokens', type: 'int', unit: '{token}', stages: ['llm', 'realtime', 'stt', 'tts'], origin: 'otel', brief: 'Output tokens.' },
  USAGE_CACHE_READ: { key: 'gen_ai.usage.cache_read.input_tokens', type: 'int', unit: '{token}', stages: ['llm', 'realtime'], origin: 'otel', brief: 'Input tokens served from the prompt cache.' },
  USAGE_AUDIO_INPUT: { key: 'gen_ai.usage.audio.input_tokens', type: 'int', unit: '{token}', stages: ['realtime'], origin: 'otel', brief: 'Audio input tokens.' },
  USAGE_AUDIO_OUTPUT: { key: 'gen_ai.usage.audio.output_tokens', type: 'int', unit: '{token}', stages: ['realtime'], origin: 'otel', brief: 'Audio output tokens.' },
  USAGE_TEXT_INPUT: { key: 'gen_ai.usage.text.input_tokens', type: 'int', unit: '{token}', stages: ['realtime'], origin: 'otel', brief: 'Text input tokens.' },
  USAGE_TEXT_OUTPUT: { key: 'gen_ai.usage.text.output_tokens', type: 'int', unit: '{token}', stages: ['realtime'], origin: 'otel', brief: 'Text output tokens.' },
  OUTPUT_TYPE: { key: 'gen_ai.output.type', type: 'string', stages: ['tts', 'realtime'], origin: 'otel', brief: '`speech` on TTS and realtime spans.' },
  COST: { key: 'voicetrace.cost', type: 'double', unit: 'USD', stages: ['llm', 'realtime', 'stt', 'tts', 'interruption'], origin: 'voicetrace', brief: 'Estimated cost of this request at table prices.' },
  REQUEST_STARTED_AT: { key: 'voicetrace.request.started_at', type: 'double', unit: 's', stages: ['llm', 'tts'], origin: 'voicetrace', brief: 'When the provider request started (epoch seconds): the SDK\'s metrics time minus their duration, the instant time to first chunk is measured from (for TTS, when text first reached the provider).' },
  DURATION: { key: 'voicetrace.duration', type: 'double', unit: 's', stages: ['llm', 'realtime', 'stt', 'tts'], origin: 'voicetrace', brief: 'Provider-side duration of the request, as the SDK measured it.' },
  CANCELLED: { key: 'voicetrace.cancelled', type: 'boolean', stages: ['llm', 'realtime', 'tts'], origin: 'voicetrace', brief: 'The request was cancelled (usually by an interruption).' },
  STREAMED: { key: 'voicetrace.streamed', type: 'boolean', stages: ['stt', 'tts'], origin: 'voicetrace', brief: 'The provider was used in streaming mode.' },
  LLM_TOKENS_PER_SECOND: { key: 'voicetrace.llm.tokens_per_second', type: 'double', unit: '{token}/s', stages: ['llm', 'realtime'], origin: 'voicetrace', brief: 'Output tokens per second.' },
  REALTIME_SESSION_DURATION: { key: 'voicetrace.realtime.session_duration', type: 'double', unit: 's', stages: ['realtime'], origin: 'voicetrace', brief: 'Realtime connection duration (session-billed providers).' },

  // ---- STT / TTS ----------------------------------------------------------------------------
  STT_AUDIO_DURATION: { key: 'voicetrace.stt.audio_duration', type: 'double', unit: 's', stages: ['stt'], origin: 'voicetrace', brief: 'Seconds of audio sent to the STT provider.' },
  STT_LATENCY: { key: 'voicetrace.stt.latency', type: 'double', unit: 's', stages: ['stt'], origin: 'voicetrace', brief: 'Measured STT latency: end of speech to final transcript (streaming providers report no duration).' },
  TTS_CHARACTERS: { key: 'voicetrace.tts.characters', type: 'int', unit: '{character}', stages: ['tts'], origin: 'voicetrace', brief: 'Characters synthesized.' },
  TTS_AUDIO_DURATION: { key: 'voicetrace.tts.audio_duration', type: 'double', unit: 's', stages: ['tts'], origin: 'voicetrace', brief: 'Seconds of audio synthesized.' },
  USAGE_COUNTED_ELSEWHERE: { key: 'voicetrace.usage.counted_elsewhere', type: 'boolean', stages: ['tts'], origin: 'voicetrace', brief: 'This span\'s usage duplicates another span\'s (the SDK stream adapter reports twice) and is not counted again.' },

  // ---- VAD ------------------------------------------------------------------------------------
  VAD_IDLE_TIME: { key: 'voicetrace.vad.idle_time', type: 'double', unit: 's', stages: ['vad'], origin: 'voicetrace', brief: 'VAD idle time since its last activity.' },
  VAD_INFERENCE_TIME: { key: 'voicetrace.vad.inference_time_total', type: 'double', unit: 's', stages: ['vad'], origin: 'voicetrace', brief: 'Total inference time in the reporting window.' },
  VAD_INFERENCE_COUNT: { key: 'voicetrace.vad.inference_count', type: 'int', unit: '1', stages: ['vad'], origin: 'voicetrace', brief: 'Inferences in the reporting window.' },
  VAD_SPEECH_START: { key: 'voicetrace.vad.speech_start', type: 'double', unit: 's', stages: ['vad', 'user_turn', 'agent_turn'], origin: 'voicetrace', brief: 'When the user started speaking (epoch seconds): the SDK\'s anchor (its user_speaking span\'s start, backdated past the VAD\'s detection). On the played agent_turn only when the user turn has no span of its own (realtime models).' },
  USER_SPEECH_STOPPED_AT: { key: 'voicetrace.user.speech_stopped_at', type: 'double', unit: 's', stages: ['user_turn'], origin: 'voicetrace', brief: 'When the SDK declared that the user stopped speaking (epoch seconds), after its silence threshold: later than voicetrace.vad.speech_end by that threshold.' },
  VAD_SPEECH_END: { key: 'voicetrace.vad.speech_end', type: 'double', unit: 's', stages: ['vad', 'user_turn', 'agent_turn'], origin: 'voicetrace', brief: 'When the user stopped speaking (epoch seconds): the SDK\'s VAD anchor (its user_speaking span\'s end, backdated past the VAD\'s silence threshold), where every latency of the turn starts. On the played agent_turn only when the user turn has no span of its own (realtime models).' },

  // ---- EOU ------------------------------------------------------------------------------------
  EOU_DELAY: { key: 'voicetrace.eou.delay', type: 'double', unit: 's', stages: ['eou'], origin: 'voicetrace', brief: 'End-of-utterance delay (eou_metrics, seconds).' },
  EOU_TRANSCRIPTION_DELAY: { key: 'voicetrace.eou.transcription_delay', type: 'double', unit: 's', stages: ['eou'], origin: 'voicetrace', brief: 'Transcription delay (eou_metrics, seconds).' },
  EOU_ON_USER_TURN_COMPLETED: { key: 'voicetrace.eou.on_user_turn_completed_delay', type: 'double', unit: 's', stages: ['eou'], origin: 'voicetrace', brief: 'onUserTurnCompleted callback time (eou_metrics, seconds).' },
  EOU_LAST_SPEAKING_TIME: { key: 'voicetrace.eou.last_speaking_time', type: 'double', unit: 's', stages: ['eou'], origin: 'voicetrace', brief: 'When the user last spoke (epoch seconds; the SDK\'s lastSpeakingTimeMs is a timestamp, not a duration).' },

  // ---- interruption ---------------------------------------------------------------------------
  INTERRUPTION_DETECTION_DELAY: { key: 'voicetrace.interruption.detection_delay', type: 'double', unit: 's', stages: ['interruption'], origin: 'voicetrace', brief: 'Onset of user speech to final interruption prediction.' },
  INTERRUPTION_PREDICTION_TIME: { key: 'voicetrace.interruption.prediction_time', type: 'double', unit: 's', stages: ['interruption'], origin: 'voicetrace', brief: 'Model-side prediction time.' },
  INTERRUPTION_ROUND_TRIP: { key: 'voicetrace.interruption.round_trip', type: 'double', unit: 's', stages: ['interruption'], origin: 'voicetrace', brief: 'Round-trip time of the detection request.' },
  INTERRUPTION_COUNT: { key: 'voicetrace.interruption.interruptions', type: 'int', unit: '1', stages: ['interruption'], origin: 'voicetrace', brief: 'Interruptions detected in this report.' },
  INTERRUPTION_BACKCHANNELS: { key: 'voicetrace.interruption.backchannels', type: 'int', unit: '1', stages: ['interruption'], origin: 'voicetrace', brief: 'Backchannels ("uh-huh") detected in this report.' },
  INTERRUPTION_STOPPED_AGENT: { key: 'voicetrace.interruption.stopped_agent', type: 'boolean', stages: ['interruption'], origin: 'voicetrace', brief: 'The user\'s speech stopped the agent (a barge-in); false for a sound over the agent that did not (a backchannel), or a model report with no barge-in.' },
  INTERRUPTION_REQUESTS: { key: 'voicetrace.interruption.requests', type: 'int', unit: '1', stages: ['interruption'], origin: 'voicetrace', brief: 'Detection requests in this report.' },

  // ---- handoff --------------------------------------------------------------------------------
  HANDOFF_FROM: { key: 'voicetrace.handoff.from_agent', type: 'string', stages: ['handoff'], origin: 'voicetrace', brief: 'Agent handing the call off.' },
  HANDOFF_TO: { key: 'voicetrace.handoff.to_agent', type: 'string', stages: ['handoff'], origin: 'voicetrace', brief: 'Agent receiving the call.' },

  // ---- content (PII) --------------------------------------------------------------------------
  PII_USER_TRANSCRIPT: { key: 'voicetrace.pii.user_transcript', type: 'string', stages: ['realtime', 'stt', 'agent_turn'], origin: 'voicetrace', pii: true, brief: 'What the user said (realtime and STT spans; the SDK writes lk.pii.user_transcript on user turns).' },
  PII_TOOL_CALLS: { key: 'voicetrace.pii.tool_calls', type: 'string', stages: ['agent_turn'], origin: 'voicetrace', pii: true, brief: 'On the agent turn of a tool step (a reply that called tools before speaking): JSON array of the calls made, `{name, arguments}`.' },
  PII_RESPONSE_TEXT: { key: 'voicetrace.pii.response_text', type: 'string', stages: ['realtime', 'tts', 'agent_turn'], origin: 'voicetrace', pii: true, brief: 'What the agent said.' },

  // ---- data quality ---------------------------------------------------------------------------
  IMPLAUSIBLE: { key: 'voicetrace.implausible', type: 'string[]', stages: ['all'], origin: 'voicetrace', brief: 'Metric fields left out because their value was impossible (NaN, negative, -1 for "none", or outside what the turn\'s own timestamps allow).' },
  TRUNCATED: { key: 'voicetrace.truncated', type: 'string[]', stages: ['all'], origin: 'voicetrace', brief: 'Attributes whose value was cut to the size limit.' },
  DATA_INCOMPLETE: { key: 'voicetrace.data_incomplete', type: 'boolean', stages: ['all'], origin: 'voicetrace', brief: 'The span was exported before all the metrics it waits for arrived (grace period expired).' },
  FORCE_ENDED: { key: 'voicetrace.force_ended', type: 'boolean', stages: ['all'], origin: 'voicetrace', brief: 'The span was still open at shutdown (crash, SIGTERM) and was ended by voicetrace so it is not lost.' },
  REPARENTED: { key: 'voicetrace.reparented', type: 'boolean', stages: ['all'], origin: 'voicetrace', brief: 'In trace-per-turn mode: the span moved from the session trace to its turn trace.' },
  RECOVERED: { key: 'voicetrace.recovered', type: 'boolean', stages: ['all'], origin: 'voicetrace', brief: 'The process that started this span died (e.g. SIGKILL) before ending it; another voicetrace process found it in the span journal and exported it, force-ended at the moment it noticed.' },

  // ---- recording ------------------------------------------------------------------------------
  RECORDING_PATH: { key: 'voicetrace.recording.path', type: 'string', stages: ['session'], origin: 'voicetrace', brief: 'Where the call\'s audio recording was written (the job\'s OGG), when recording was on.' },
  RECORDING_STARTED_AT: { key: 'voicetrace.recording.started_at', type: 'double', unit: 's', stages: ['session'], origin: 'voicetrace', brief: 'When the recording started (epoch seconds): offset 0 of the recording.' },
  UPLOAD_WHAT: { key: 'voicetrace.upload.what', type: 'string', stages: ['artifact'], origin: 'voicetrace', brief: 'On an artifact_upload span: `recording`, `report` or `egress`.' },
  UPLOAD_STATUS: { key: 'voicetrace.upload.status', type: 'string', stages: ['artifact'], origin: 'voicetrace', brief: 'On an artifact_upload span: `uploaded`, `started` (egress) or `failed`.' },
  UPLOAD_URL: { key: 'voicetrace.upload.url', type: 'string', stages: ['artifact'], origin: 'voicetrace', brief: 'On an artifact_upload span: the object\'s URL (no credentials; not a presigned link).' },
  UPLOAD_ATTEMPTS: { key: 'voicetrace.upload.attempts', type: 'int', unit: '1', stages: ['artifact'], origin: 'voicetrace', brief: 'On an artifact_upload span: requests made, retries included.' },
  UPLOAD_ERROR: { key: 'voicetrace.upload.error', type: 'string', stages: ['artifact'], origin: 'voicetrace', brief: 'On an artifact_upload span: why it failed (endpoint, bucket, key, cause; never a credential).' },
  CLIP_URL: { key: 'voicetrace.clip.url', type: 'string', stages: ['user_turn', 'agent_turn'], origin: 'voicetrace', brief: 'Where this turn\'s clip (the user\'s speech on a user turn, the agent\'s reply on an agent turn: a WAV cut from the recording after the call) is uploaded. Written when the span ends, before the clip exists: the key is fixed (<session>/clips/turn-NNN-<side>.wav); when cutting or uploading failed the object is missing (404) and report.json names why. Only with recording, clips and an upload bucket on, and PII allowed (audio is content).' },
  RECORDING_OFFSET: { key: 'voicetrace.recording.offset', type: 'double', unit: 's', stages: ['user_turn', 'agent_turn'], origin: 'voicetrace', brief: 'Seconds into the recording where this turn is heard: the user\'s speech start (user turn) or the agent\'s first audio (agent turn).' },
} as const satisfies Record<string, AttributeSpec>;

type Specs = typeof SPECS;

/** Attribute names, by constant: `ATTR.LATENCY_E2E === 'voicetrace.latency.e2e'`. */
export const ATTR: { readonly [K in keyof Specs]: Specs[K]['key'] } = Object.freeze(
  Object.fromEntries(Object.entries(SPECS).map(([name, spec]) => [name, spec.key])),
) as { readonly [K in keyof Specs]: Specs[K]['key'] };


/**
 * The per-reply latency figures (`voicetrace.latency.*` on the agent turn span), defined once, in
 * pipeline order (the order reports show them in): `key` is the figure's name in report.json,
 * `voicetrace summarize`/`compare` and the session percentiles; `field` its property in the session
 * model (`LatencyBreakdown` of @voicetrace/core); `attribute` the agent turn span's attribute;
 * `label` what reports call it; `meaning` what it measures (the attribute's brief);
 * `sessionPercentile` whether the session span carries its p50/p95 ({@link sessionLatencyKey}).
 * A new figure is one row here (and its computation in core): every view reads this table.
 */
export const LATENCY_STAGES = [
  { key: 'transcription_delay', field: 'transcriptionDelay', attribute: SPECS.LATENCY_TRANSCRIPTION_DELAY.key, label: 'STT: end of speech to final transcript', meaning: SPECS.LATENCY_TRANSCRIPTION_DELAY.brief, sessionPercentile: true },
  { key: 'eou_delay', field: 'eouDelay', attribute: SPECS.LATENCY_EOU_DELAY.key, label: 'End of utterance: end of speech to end-of-turn decision', meaning: SPECS.LATENCY_EOU_DELAY.brief, sessionPercentile: true },
  { key: 'on_user_turn_completed_delay', field: 'onUserTurnCompletedDelay', attribute: SPECS.LATENCY_ON_USER_TURN_COMPLETED.key, label: 'on_user_turn_completed callback', meaning: SPECS.LATENCY_ON_USER_TURN_COMPLETED.brief, sessionPercentile: false },
  { key: 'llm_ttft', field: 'llmTtft', attribute: SPECS.LATENCY_LLM_TTFT.key, label: 'LLM time to first token', meaning: SPECS.LATENCY_LLM_TTFT.brief, sessionPercentile: true },
  { key: 'tts_ttfb', field: 'ttsTtfb', attribute: SPECS.LATENCY_TTS_TTFB.key, label: 'TTS time to first byte', meaning: SPECS.LATENCY_TTS_TTFB.brief, sessionPercentile: true },
  { key: 'total', field: 'total', attribute: SPECS.LATENCY_TOTAL.key, label: 'Total (EOU + TTFT + TTFB, the LiveKit docs)', meaning: SPECS.LATENCY_TOTAL.brief, sessionPercentile: true },
  { key: 'e2e', field: 'e2e', attribute: SPECS.LATENCY_E2E.key, label: 'End to end: end of speech to first agent audio', meaning: SPECS.LATENCY_E2E.brief, sessionPercentile: true },
] as const;

/** A per-reply latency figure (`e2e`, `llm_ttft`, ...): a key of {@link LATENCY_STAGES}. */
export type LatencyStage = (typeof LATENCY_STAGES)[number]['key'];

/** A latency figure's property in the session model (`LatencyBreakdown`): `llmTtft` for `llm_ttft`. */
export type LatencyField = (typeof LATENCY_STAGES)[number]['field'];

/** A figure whose p50/p95 the session span carries. */
export type SessionLatencyMetric = Extract<(typeof LATENCY_STAGES)[number], { sessionPercentile: true }>['key'];

/** Wait-breakdown keys, in the order the contributions occur, with their owner and what reports call them. */
export const WAIT_CONTRIBUTIONS = [
  { key: 'stt_final_transcript', owner: 'provider:stt', attribute: SPECS.WAIT_STT.key, label: 'STT final transcript' },
  { key: 'endpointing_delay', owner: 'setting:endpointing', attribute: SPECS.WAIT_ENDPOINTING.key, label: 'Endpointing delay (setting)' },
  { key: 'on_user_turn_completed', owner: 'agent_code', attribute: SPECS.WAIT_ON_USER_TURN_COMPLETED.key, label: 'on_user_turn_completed (your code)' },
  { key: 'llm_tool_step', owner: 'provider:llm', attribute: SPECS.WAIT_LLM_TOOL_STEP.key, label: 'LLM tool-call steps' },
  { key: 'tool_execution', owner: 'agent_code', attribute: SPECS.WAIT_TOOL_EXECUTION.key, label: 'Tool execution (your code)' },
  { key: 'llm_ttft', owner: 'provider:llm', attribute: SPECS.WAIT_LLM_TTFT.key, label: 'LLM time to first token' },
  { key: 'tts_text_aggregation', owner: 'pipeline', attribute: SPECS.WAIT_TEXT_AGGREGATION.key, label: 'Sentence aggregation before TTS' },
  { key: 'tts_ttfb', owner: 'provider:tts', attribute: SPECS.WAIT_TTS_TTFB.key, label: 'TTS time to first byte' },
  { key: 'playout_start', owner: 'pipeline', attribute: SPECS.WAIT_PLAYOUT.key, label: 'Audio playout start' },
  { key: 'unattributed', owner: 'pipeline:unmeasured', attribute: SPECS.WAIT_UNATTRIBUTED.key, label: 'Unmeasured gaps' },
] as const;

/** A wait-breakdown key. */
export type WaitKey = (typeof WAIT_CONTRIBUTIONS)[number]['key'];

/** Who can act on a wait contribution: `provider:stt|llm|tts`, `setting:endpointing`, `agent_code`, `pipeline`, `pipeline:unmeasured`. */
export type WaitOwner = (typeof WAIT_CONTRIBUTIONS)[number]['owner'];

/** Each wait owner in words, in the order the owners first appear in {@link WAIT_CONTRIBUTIONS}. */
export const WAIT_OWNER_LABELS: { readonly [O in WaitOwner]: string } = {
  'provider:stt': 'STT provider',
  'setting:endpointing': 'endpointing setting',
  agent_code: 'your agent code',
  'provider:llm': 'LLM provider',
  pipeline: 'pipeline',
  'provider:tts': 'TTS provider',
  'pipeline:unmeasured': 'unmeasured',
};

/** Per-stage latency metrics whose p50/p95 the session span carries (LATENCY_STAGES with `sessionPercentile`, in its order). */
export const SESSION_LATENCY_METRICS: readonly SessionLatencyMetric[] = LATENCY_STAGES.filter(
  (stage): stage is Extract<(typeof LATENCY_STAGES)[number], { sessionPercentile: true }> => stage.sessionPercentile,
).map((stage) => stage.key);

/** Name of the session-level percentile attribute, e.g. `voicetrace.session.latency.e2e.p95`. */
export function sessionLatencyKey(metric: SessionLatencyMetric, quantile: 'p50' | 'p95'): string {
  return `voicetrace.session.latency.${metric}.${quantile}`;
}

/** The full table, for documentation and validation (including the session percentile keys). */
export const ATTRIBUTE_SPECS: readonly AttributeSpec[] = [
  ...Object.values(SPECS),
  ...SESSION_LATENCY_METRICS.flatMap((metric) =>
    (['p50', 'p95'] as const).map(
      (quantile): AttributeSpec => ({
        key: sessionLatencyKey(metric, quantile),
        type: 'double',
        unit: 's',
        stages: ['session'],
        origin: 'voicetrace',
        brief: `${quantile} over the session's turns of voicetrace.latency.${metric}.`,
      }),
    ),
  ),
];

/** Keys of attributes carrying content or personal data. */
export const PII_ATTRIBUTE_KEYS: ReadonlySet<string> = new Set(
  ATTRIBUTE_SPECS.filter((spec) => spec.pii).map((spec) => spec.key),
);
