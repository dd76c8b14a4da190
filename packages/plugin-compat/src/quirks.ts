/**
 * Plugin behaviour voicetrace absorbs, each observed by the compatibility suite (a test detects it
 * in its run and records its id) and explained once here for the README's table.
 */
export const QUIRKS = {
  vad_metrics_every_31_starts: 'The SDK emits `vad_metrics` once per 1000/updateInterval speech starts (every 32nd with Silero), not per turn: voicetrace makes one VAD span per user turn from the SDK\'s speech anchors and adds the metrics to the turn they fall in.',
  stt_usage_periodic: 'Reports STT usage every 5 s of audio sent, not per turn: voicetrace splits each report over the turns whose speech it covered, in proportion to that speech.',
  stt_last_window_unreported: 'Never reports its last partial usage window (the SDK\'s `session.usage` misses it too): the last turn\'s STT audio is short by up to 5 s.',
  tts_stream_adapter_report: 'Non-streaming: the SDK runs it behind its stream adapter, whose own report (the whole reply\'s characters, the first sentence\'s audio) repeats its sentences\'. voicetrace counts the sentences once; the SDK\'s `session.usage` counts both (named in `voicetrace.session.usage_check`).',
  tts_drops_last_partial_frame: 'Drops each response\'s last partial 100 ms frame (its AudioByteStream is never flushed): the audio reported is up to 0.1 s per request short of what the provider sent.',
  tts_characters_one_space_short: 'Reports the reply\'s characters as the LLM wrote them; the plugin sends every sentence with a trailing space, so the provider receives (and bills) one character more per reply.',
  llm_5xx_as_connection_error: 'Maps errors on `err.code` while the Gemini client sets `.status`: a 5xx (and any 4xx) reaches the SDK as a retryable connection error without its status; the SDK retries and reports a recoverable `llm_error`, which voicetrace counts once on the LLM stage.',
  realtime_ttft_after_tool_zero: 'After a tool call the reply\'s first audio is the message that opens its generation, so the plugin reports a time to first audio of about 0 for it; voicetrace\'s wait for that turn still counts the model\'s time (from the user\'s end of speech).',
  stt_end_of_speech_at_final: 'With STT turn detection the SDK ends the user\'s speech at the STT\'s end-of-speech event (its final transcript), so the STT latency reads 0 and the wait starts there: use VAD turn detection to see the provider\'s transcription time.',
  stt_dropped_socket_never_recovers: 'A dropped WebSocket is never reconnected: the run loop races a Task object instead of its result (src/stt.ts:591-594), so the socket monitor\'s error is never seen; every later utterance goes untranscribed and the SDK reports no error. voicetrace shows those user turns with speech (their VAD span) and no transcript.',
  stt_failed_request_dropped: 'A failed transcription (a 5xx) is not retried by the plugin (its client has `maxRetries: 0`), the SDK\'s VAD stream adapter logs it and goes on: the utterance is lost, with no error event and no usage report. voicetrace shows the user turn with speech and no transcript.',
  tts_retry_without_input: 'After a mid-reply failure the SDK retries the request 3 times, but the first attempt consumed the text: every retry fails ("Stream is closed"), then one non-recoverable `tts_error`, about 4 s later. voicetrace counts it once, on the TTS stage of that turn.',
  realtime_socket_left_open: 'The Realtime WebSocket stays open after the session closes (close() awaits a Task object, realtime_model.ts:1472-1477).',
} as const;

export type QuirkId = keyof typeof QUIRKS;
