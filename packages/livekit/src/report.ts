import { voice, type JobContext } from '@livekit/agents';
import type { RecordingInfo, SessionEngine } from '@voicetrace/core';
import type { ReportRecording, SdkReportFields, SessionReportJson } from '@voicetrace/report';
import { buildVoicetraceSection } from '@voicetrace/report/internal';
import type { SessionEventLog } from './event-log.js';

/** What the report needs from the session being traced. */
export interface ReportSources {
  session: voice.AgentSession;
  engine: SessionEngine;
  events: SessionEventLog;
  allowPii: boolean;
  serviceName?: string | undefined;
  environment?: string | undefined;
  traceMode: 'session' | 'turn';
  linkTemplates?: Record<string, string> | undefined;
  /** Uploads done for this session so far (recording, report, egress). */
  uploads?: ReportRecording['uploads'] | undefined;
  /** A recording made outside the SDK (`InstrumentOptions.recording`): used when the SDK made none. */
  recording?: (() => RecordingInfo | undefined) | undefined;
}

/** Content keys of the SDK's report (chat items, events) removed when PII is not allowed. */
const CONTENT_KEYS = new Set(['content', 'transcript', 'arguments', 'output', 'text_content', 'text']);

/**
 * The session report: the SDK's own report (from `ctx.makeSessionReport()` in
 * a job, else `voice.createSessionReport`), serialized by
 * `voice.sessionReportToJSON`, plus voicetrace's section from the session
 * model. The SDK keeps no events unless recording is on: ours fill `events`
 * then. With PII not allowed, content is removed from both parts.
 */
export function buildSessionReport(sources: ReportSources, jobContext?: JobContext): SessionReportJson {
  const { session, engine } = sources;
  const snapshot = engine.summary();
  const sdkReport = sdkSessionReport(session, jobContext, snapshot.startedAt);
  if (sdkReport.events.length === 0) sdkReport.events = sources.events.list();
  const sdk = voice.sessionReportToJSON(sdkReport) as unknown as SdkReportFields;
  const own = sdk.audio_recording_path ? undefined : safely(sources.recording);
  if (own?.path) {
    // the report reads as if the SDK had made it: its fields, in its units (epoch ms)
    sdk.audio_recording_path = own.path;
    sdk.audio_recording_started_at = own.startedAt !== undefined ? own.startedAt * 1000 : null;
  }
  const recordingPath = sdk.audio_recording_path ?? undefined;
  // the SDK reports the recording start in epoch ms; the section uses seconds
  const recordingStart = typeof sdk.audio_recording_started_at === 'number' ? sdk.audio_recording_started_at / 1000 : undefined;
  const recording: ReportRecording | undefined =
    recordingPath || sources.uploads?.length ? { path: recordingPath, started_at: recordingStart, uploads: sources.uploads ?? [] } : undefined;
  const session_span = engine.sessionSpan();
  const section = buildVoicetraceSection(snapshot, {
    allowPii: sources.allowPii,
    serviceName: sources.serviceName,
    environment: sources.environment,
    traceMode: sources.traceMode,
    sessionTrace: session_span ? { trace_id: session_span.traceId, span_id: session_span.spanId } : undefined,
    linkTemplates: sources.linkTemplates,
    recording,
    eventLog: { kept: sources.events.list().length, dropped: sources.events.dropped },
  });
  const report = { ...sdk, voicetrace: section };
  return sources.allowPii ? report : { ...report, ...redact({ events: report.events, chat_history: report.chat_history }) };
}

function sdkSessionReport(session: voice.AgentSession, jobContext: JobContext | undefined, startedAt: number | undefined): voice.SessionReport {
  if (jobContext) {
    try {
      return jobContext.makeSessionReport(session);
    } catch {
      // the recorder is still running (the report was asked for before the session ended): build it ourselves
    }
  }
  return voice.createSessionReport({
    jobId: jobContext?.job.id ?? '',
    roomId: jobContext?.job.room?.sid ?? '',
    room: jobContext?.job.room?.name ?? '',
    options: session.sessionOptions as voice.SessionReportOptions['options'],
    events: [],
    chatHistory: session.history.copy(),
    startedAt: startedAt !== undefined ? startedAt * 1000 : undefined,
    modelUsage: session.usage.modelUsage as voice.SessionReportOptions["modelUsage"],
  });
}

/** The SDK part with content removed (strings replaced, arrays emptied), for PII-off reports. */
function redact<T>(value: T): T {
  if (Array.isArray(value)) return value.map(redact) as T;
  if (!value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    if (CONTENT_KEYS.has(key)) out[key] = Array.isArray(inner) ? [] : typeof inner === 'string' ? '[redacted]' : inner === null ? null : redact(inner);
    else out[key] = redact(inner);
  }
  return out as T;
}

/** The user's recording callback, never an exception into the report. */
function safely(recording: (() => RecordingInfo | undefined) | undefined): RecordingInfo | undefined {
  try {
    return recording?.();
  } catch {
    return undefined;
  }
}
