/**
 * The session report: the SDK's own report (`voice.sessionReportToJSON` of
 * @livekit/agents 1.9, snake_case) plus a `voicetrace` section. Every duration
 * is in seconds, every timestamp in epoch seconds, every cost an estimate in USD.
 * `schema/report.schema.json` describes the same shape; keep them together.
 */
import type { LatencyStage } from '@voicetrace/conventions';

/** The fields `voice.sessionReportToJSON` writes, as it writes them. */
export interface SdkReportFields {
  job_id: string;
  room_id: string;
  room: string;
  events: Array<Record<string, unknown>>;
  audio_recording_path: string | null;
  audio_recording_started_at: number | null;
  options: Record<string, unknown>;
  chat_history: Record<string, unknown>;
  enable_user_data_training: boolean;
  timestamp: number;
  usage: Array<Record<string, unknown>> | null;
  sdk_version: string;
}

/** A session report: the SDK's fields and voicetrace's section. */
export interface SessionReportJson extends SdkReportFields {
  voicetrace: VoicetraceSection;
}

/** A wait slice: consecutive slices of a reply's wait sum exactly to its e2e latency. */
export interface WaitSlice {
  key: string;
  /** Who can act on it: `provider:stt|llm|tts`, `setting:endpointing`, `agent_code`, `pipeline`, `pipeline:unmeasured`. */
  owner: string;
  seconds: number;
}

/**
 * The latency figures of one reply (seconds): the LiveKit docs' breakdown plus e2e, one per
 * LATENCY_STAGES row of @voicetrace/conventions (which says what each measures).
 */
export interface LatencyFigures extends Partial<Record<LatencyStage, number>> {
  /** How far from its VAD the SDK placed the end of speech (seconds; absent when they agree). */
  anchor_shift?: number;
}

/** Where a record sits in the exported traces. */
export interface TraceRef {
  trace_id: string;
  span_id: string;
}

export interface ReportSttStep {
  provider: string;
  model: string;
  start: number;
  end: number;
  /** End of speech to final transcript: the turn's transcription delay. */
  latency?: number;
  /** This turn's share of the provider's reported audio. */
  audio_duration: number;
  cost?: number;
  /** Provider usage reports that contributed a share. */
  reports?: number;
}

export interface ReportUserTurn {
  started_at: number;
  ended_at?: number;
  speech_start?: number;
  speech_end?: number;
  /** When the SDK declared the user stopped speaking. */
  speech_stopped_at?: number;
  final_transcript_at?: number;
  transcription_delay?: number;
  end_of_turn_delay?: number;
  /** How far from its VAD the SDK placed the end of speech (seconds; absent when they agree). */
  anchor_shift?: number;
  /** What the user said (omitted when PII is not allowed). */
  transcript?: string;
  confidence?: number;
  vad?: { inference_count: number; inference_time_total?: number; idle_time?: number };
  stt: ReportSttStep[];
  eou?: { start: number; end: number; delay?: number; transcription_delay?: number; on_user_turn_completed_delay?: number };
  trace?: TraceRef;
  /** Seconds into the recording where the user started speaking. */
  recording_offset?: number;
  /** The user's speech cut out of the recording. */
  clip?: ReportClip;
}

export interface ReportLlmStep {
  provider: string;
  model: string;
  start: number;
  end: number;
  /** When the provider request started (TTFT is measured from here). */
  request_start: number;
  first_token_at?: number;
  ttft?: number;
  duration?: number;
  input_tokens: number;
  cached_input_tokens: number;
  output_tokens: number;
  speakable: boolean;
  cancelled: boolean;
  cost?: number;
}

export interface ReportTtsStep {
  provider: string;
  model: string;
  start: number;
  end: number;
  /** When text first reached the provider (TTFB is measured from here). */
  text_sent_at: number;
  first_audio_at?: number;
  ttfb?: number;
  characters: number;
  audio_duration: number;
  cancelled: boolean;
  /** Repeats another request's usage (the SDK's stream adapter): shown, not counted. */
  duplicate: boolean;
  cost?: number;
}

export interface ReportToolStep {
  name?: string;
  start: number;
  end: number;
  is_error: boolean;
  /** Omitted when PII is not allowed. */
  arguments?: string;
  output?: string;
}

export interface ReportRealtimeStep {
  provider: string;
  model: string;
  start: number;
  end: number;
  ttft?: number;
  duration?: number;
  cancelled: boolean;
  input_tokens: number;
  output_tokens: number;
  input_audio_tokens: number;
  input_text_tokens: number;
  input_cached_tokens: number;
  output_audio_tokens: number;
  output_text_tokens: number;
  session_duration?: number;
  cost?: number;
}

export interface ReportInterruption {
  start: number;
  end: number;
  /** Seconds the user spoke over the agent (absent when the start was not observed). */
  overlap?: number;
  /** The agent stopped (a barge-in); false for a sound that did not stop it (a backchannel). */
  stopped_agent: boolean;
  detection_delay?: number;
  prediction_time?: number;
  round_trip?: number;
}

export interface ReportReply {
  speech_id: string;
  agent?: string;
  started_at: number;
  ended_at?: number;
  first_audio_at?: number;
  interrupted: boolean;
  /** What the agent said (omitted when PII is not allowed). */
  text?: string;
  latency?: LatencyFigures;
  wait: WaitSlice[];
  cost: number;
  data_incomplete?: boolean;
  llm: ReportLlmStep[];
  tts: ReportTtsStep[];
  tools: ReportToolStep[];
  realtime: ReportRealtimeStep[];
  interruptions: ReportInterruption[];
  trace?: TraceRef;
  /** Seconds into the recording where the agent's first audio plays. */
  recording_offset?: number;
  /** The reply as the user heard it, cut out of the recording. */
  clip?: ReportClip;
}

/** One side of one turn cut out of the recording (a WAV file beside the report, and its upload). */
export interface ReportClip {
  /** The file, relative to the report's directory (e.g. `clips/turn-003-user.wav`). Absent when skipped. */
  path?: string;
  /** Where it was uploaded (absent without a bucket, or when the upload failed). */
  url?: string;
  /** Seconds into the recording where the clip starts. */
  offset: number;
  /** The clip's length in seconds (absent when skipped). */
  duration?: number;
  /** Why there is no clip: a named reason (e.g. `recording_ended`, `budget_exceeded`, `no_ffmpeg`, `decode_failed`, `upload_failed`). */
  skipped?: string;
  /** The clip attached to its LangFuse observation (media API): `uploaded`, `failed`, `too_large` or `invalid`. */
  langfuse?: string;
}

export interface ReportLogRecord {
  at: number;
  level: string;
  message: string;
  trace_id?: string;
  span_id?: string;
}

export interface ReportTurn {
  /** 1-based user turn; 0 is what happened before the first (a greeting). */
  index: number;
  /** Estimated cost of the turn: its STT share and its replies' requests (the turns add up to the session's cost). */
  cost?: number;
  user?: ReportUserTurn;
  replies: ReportReply[];
  handoffs: Array<{ at: number; from_agent?: string; to_agent: string }>;
  errors: Array<{ at: number; source: string; message: string; recoverable: boolean }>;
  /** The agent's warnings and errors logged during the turn. */
  logs: ReportLogRecord[];
  /** The turn's conversation quality signals (SIGNALS in @voicetrace/conventions), in the order they became known. */
  signals?: ReportSignal[];
}

/** One conversation quality signal on a turn. */
export interface ReportSignal {
  name: string;
  at: number;
  speech_id?: string;
  /** Its size in seconds (dead air, talk-over). */
  seconds?: number;
  /** For a repetition: the turn it repeats. */
  repeats_turn?: number;
  /** For dead air: in the wait before the reply's first audio, or inside the reply (its audio stopped). */
  where?: 'wait' | 'reply';
}

export interface Percentiles {
  count: number;
  p50?: number;
  p95?: number;
  p99?: number;
  max?: number;
  /** The mean (reports written since the model kept it). */
  mean?: number;
}

/** Where the call's recording is, and what happened to its upload. */
export interface ReportRecording {
  path?: string;
  started_at?: number;
  /** The recording's length (seconds), when measured. */
  duration?: number;
  uploads: ReportUpload[];
  /** The per-turn clips cut from it: how many, how many skipped per reason, and how long the cutting took. */
  clips?: ReportClipsSummary;
}

/** What cutting the per-turn clips did (every clip asked for, including those of turns left out of `turns`). */
export interface ReportClipsSummary {
  cut: number;
  skipped: Record<string, number>;
  duration_ms: number;
}

/** One artifact upload (recording, report) to object storage or Egress. */
export interface ReportUpload {
  what: 'recording' | 'report' | 'egress';
  status: 'uploaded' | 'failed' | 'started';
  url?: string;
  attempts: number;
  error?: string;
}

/** voicetrace's section of the session report. */
export interface VoicetraceSection {
  schema_version: 1;
  generator: string;
  session_id: string;
  service_name?: string;
  environment?: string;
  started_at?: number;
  ended_at?: number;
  duration?: number;
  /** Whether content (transcripts, replies, tool arguments) is in this report. */
  pii_included: boolean;
  trace: {
    mode: 'session' | 'turn';
    /** The session span's trace. */
    trace_id?: string;
    session_span_id?: string;
    /** Links to the trace in the backends the user configured, placeholders filled. */
    links: Record<string, string>;
  };
  recording?: ReportRecording;
  turns: ReportTurn[];
  /** Turns left out of `turns` on long calls (still counted in the statistics). */
  turns_dropped: number;
  user_turns: number;
  /** Replies the user heard (COUNT_DEFINITIONS in @voicetrace/conventions). */
  replies: number;
  /** Replies the user stopped while hearing them. */
  interruptions: number;
  /** Replies cut off before their first audio (absent in reports rebuilt from traces older than this count). */
  cancelled_replies?: number;
  /** SDK error events and failed tool calls, each once. */
  errors: number;
  handoffs: Array<{ at: number; turn_index: number; from_agent?: string; to_agent: string }>;
  /** Usage per provider/model, each unit counted once, with its estimated cost. */
  usage: Array<Record<string, unknown> & { type: string; provider: string; model: string; cost?: number }>;
  /** Estimated total cost (USD, list prices). */
  cost: number;
  latency: Record<string, Percentiles>;
  wait: Record<string, Percentiles>;
  /** voicetrace's own drop/correction counters (zero on a healthy call). */
  drops: Record<string, number>;
  /** Usage figures on which the SDK's own `session.usage` disagrees with voicetrace's, each with its cause. */
  usage_check?: Array<{ type: string; provider: string; model: string; figure: string; voicetrace: number; sdk: number; cause: 'sdk_counts_stream_adapter_report' | 'unexplained' }>;
  /** Events of the session kept by voicetrace when the SDK kept none, and how many were left out. */
  event_log: { kept: number; dropped: number };
  /** The call's conversation quality signals: per signal, how many times it fired and, for dead air and talk-over, the seconds summed. */
  signals?: Record<string, { count: number; seconds?: number }>;
  /** A report rebuilt from traces: the figures those traces do not carry (an older voicetrace, a lost span), left out rather than re-derived. */
  not_in_traces?: string[];
}
