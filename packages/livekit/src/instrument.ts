import type { SignalThresholds } from '@voicetrace/conventions';
import type { JobContext, voice } from '@livekit/agents';
import type { Attributes, Tracer } from '@opentelemetry/api';
import { SessionEngine, type PriceBook, type RecordingInfo, type SessionSnapshot, type VoiceTraceSpanProcessor } from '@voicetrace/core';
import type { ArtifactUploader, EgressResult } from '@voicetrace/recording';
import type { ReportUpload, SessionReportJson } from '@voicetrace/report';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { LangfuseScores } from '@voicetrace/langfuse';
import { uploadSpan, writeArtifacts, type ClipPlan } from './artifacts.js';
import { scoreSession } from './scores.js';
import { SessionEventLog } from './event-log.js';
import { observeSession } from './observer.js';
import { SessionShape } from './session-shape.js';
import { currentJob, traceparentOfJob } from './job.js';
import { ownRecording, recordingOf, withClipUrls } from './recording.js';
import { buildSessionReport } from './report.js';
import { parseTraceparent } from './traceparent.js';
import { LiveKitSpanFacts } from './span-facts.js';

/** Per-session options of {@link instrumentSession}. */
export interface InstrumentOptions {
  /** Session id on every span (default: a new `sess_<uuid>`; use the room name + job id in production). */
  sessionId?: string | undefined;
  /** Remote participant identity, exported as `user.id` when PII is allowed. */
  userId?: string | undefined;
  /**
   * A W3C `traceparent` (e.g. from job metadata or a participant attribute set by the
   * web app that created the room): it becomes the parent of the session span.
   */
  traceparent?: string | undefined;
  /** Extra attributes for the session span (room, job ...). */
  attributes?: Attributes | undefined;
  /**
   * Realtime models with server-side turn detection declare the end of the user's speech only
   * after this much silence (OpenAI's `server_vad`: 0.5 s by default): give it, in seconds, and the
   * user's wait is measured from when they stopped speaking, with the silence as endpointing.
   */
  serverVadSilenceSeconds?: number | undefined;
  /**
   * A recording of the call made outside the SDK (your own recorder, an egress file you download):
   * where its file is (`path`, stereo like the SDK's: the caller on the left, the agent on the right)
   * and when it started (`startedAt`, epoch seconds). Read when turns end and when the report is
   * written; the SDK's own recording (`session.start({ record: true })`), when on, wins.
   */
  recording?: (() => RecordingInfo | undefined) | undefined;
}

/** Where {@link InstrumentedSession.writeReport} put the report, or why it could not. */
export interface WrittenReport {
  /** `<dir>/<session id>/report.json`, when written. */
  json?: string | undefined;
  /** `<dir>/<session id>/report.html`, when written. */
  html?: string | undefined;
  /** Uploads of the recording and the report (and the egress), when configured. */
  uploads?: ReportUpload[] | undefined;
  /** Why writing failed (also logged once); the session is never affected. */
  error?: Error | undefined;
}

/** Options of {@link InstrumentedSession.writeReport}. */
export interface WriteReportOptions {
  /** Base directory (default: the `report.dir` given to setupVoiceTrace, else `./voicetrace-out`). */
  dir?: string | undefined;
  /** The job's context, in a LiveKit job: the SDK's own report (`ctx.makeSessionReport`) is used. */
  jobContext?: JobContext | undefined;
  /** Give up after this long (default 3000 ms): a report never holds up shutdown. */
  timeoutMs?: number | undefined;
}

/** A session being traced. */
export interface InstrumentedSession {
  readonly sessionId: string;
  /** The session model so far: turns, replies with their latency breakdown, usage and cost. */
  summary(): SessionSnapshot;
  /**
   * The session report: the SDK's fields (as `voice.sessionReportToJSON` writes them) plus
   * voicetrace's section. Pass the job's context in a LiveKit job.
   */
  report(jobContext?: JobContext): SessionReportJson;
  /**
   * Writes `report.json` (and `report.html`) atomically under `<dir>/<session id>/`. Call it
   * from the job's `onSessionEnd`; `vt.shutdown()` does it for sessions not written yet when
   * `report.dir` was configured. Never throws: failures are returned and logged.
   */
  writeReport(options?: WriteReportOptions): Promise<WrittenReport>;
  /** Whether a report was written for this session. */
  readonly reportWritten: boolean;
  /** The outcome of the last `writeReport` (paths, or why it failed). */
  readonly lastReport: WrittenReport | undefined;
  /** The LiveKit job the session runs in, when it runs in one. */
  readonly jobContext: JobContext | undefined;
  /** Stops observing the session's events (spans already started are still completed). */
  detach(): void;
}

/** Renders a report as one offline HTML page (provided by @voicetrace/report when available). */
export type ReportHtmlRenderer = (report: SessionReportJson, htmlPath: string) => string;

/** Shared context of one voicetrace setup. */
export interface InstrumentContext {
  processor: VoiceTraceSpanProcessor;
  tracer: Tracer;
  prices: PriceBook;
  allowPii: boolean;
  environment?: string | undefined;
  serviceName?: string | undefined;
  traceMode: 'session' | 'turn';
  report: {
    dir?: string | undefined;
    /** `shutdown()` writes the reports not written yet (a report directory is configured). */
    autoWrite: boolean;
    html?: ReportHtmlRenderer | undefined;
    links?: Record<string, string> | undefined;
    clips?: ClipPlan | undefined;
  };
  /** Tells the user something once (stderr or their logger). */
  warn: (key: string, message: string) => void;
  /**
   * The sessions whose report may still be written by `onSessionEnd` or `shutdown()`: an ended
   * session leaves once its report is written, or a minute after its end (see forgetWhenDone).
   */
  sessions: Set<InstrumentedSession>;
  /** Exports everything finished (the job's shutdown callback calls it before the process exits). */
  flush: () => Promise<void>;
  /** Adds the setup's other views (metrics, logs) to a session's engine, before it is attached (issue #12). */
  views?: ((engine: SessionEngine) => void) | undefined;
  /** Puts the recording and the report into object storage, when configured. */
  uploader?: ArtifactUploader | undefined;
  /** Starts an Egress recording of a room, when configured. */
  egress?: ((roomName: string) => Promise<EgressResult>) | undefined;
  /** LangFuse scores per turn and session, when LangFuse is configured. */
  scores?: { scores: LangfuseScores; latencyTargetSeconds: number } | undefined;
  /** Thresholds of the quality signals (the latency target is the scores' one). */
  signalThresholds?: Partial<SignalThresholds> | undefined;
}

/**
 * Instruments one `AgentSession`: call it right before `session.start()`. The
 * session's next root span and every span under it are routed to a new engine;
 * its events are observed.
 */
export function instrumentSession(
  session: voice.AgentSession,
  context: InstrumentContext,
  options: InstrumentOptions = {},
): InstrumentedSession {
  const sessionId = options.sessionId ?? `sess_${randomUUID()}`;
  const shape = new SessionShape(session);
  const engine = new SessionEngine({
    sessionId,
    environment: context.environment,
    userId: options.userId,
    allowPii: context.allowPii,
    prices: context.prices,
    tracer: context.tracer,
    facts: new LiveKitSpanFacts(context.processor.counters, shape),
    // a speech-to-speech model: the user's turns come from their speech (the SDK opens no user turn span)
    realtime: shape.realtime() ? { serverSilence: options.serverVadSilenceSeconds } : undefined,
    stages: shape.stages(),
    sdkUsage: () => shape.sdkUsage(),
    counters: context.processor.counters,
    sessionAttributes: options.attributes,
    recording: () => withClipUrls(recordingOf(session) ?? ownRecording(options.recording), sessionId, context.report.clips ? context.uploader : undefined),
    signalThresholds: context.signalThresholds,
  });
  // in a LiveKit job: the dispatch's traceparent (job metadata) unless one is given
  const job = currentJob();
  const traceparent = options.traceparent ?? traceparentOfJob(job);
  const remoteParent = parseTraceparent(traceparent);
  if (traceparent && !remoteParent) context.warn(`traceparent:${traceparent}`, `voicetrace: ignoring an invalid traceparent (${traceparent.slice(0, 80)}); the session starts its own trace`);
  context.views?.(engine); // metrics and logs (issue #12): before attach, which tells the engine its trace layout
  context.processor.attach(engine, { remoteParent });
  if (context.scores) scoreSession(engine, context.scores.scores, context.scores.latencyTargetSeconds);
  // the job process exits after its shutdown callbacks: export everything before it does
  job?.addShutdownCallback(async () => {
    await Promise.all([context.flush().catch(() => {}), context.scores?.scores.flush()]);
  });
  // an egress recording of the room, started now and never awaited by the call
  const egress = job && context.egress ? context.egress(job.room.name ?? '') : undefined;
  const events = new SessionEventLog();
  const stopEvents = events.attach(session);
  const stopObserving = observeSession(session, engine, shape);
  const sources = {
    session,
    engine,
    events,
    allowPii: context.allowPii,
    serviceName: context.serviceName,
    environment: context.environment,
    traceMode: context.traceMode,
    linkTemplates: context.report.links,
    recording: options.recording,
  };
  let written = false;
  let lastReport: WrittenReport | undefined;
  let forget: () => void = () => {};
  const handle: InstrumentedSession = {
    sessionId,
    jobContext: job,
    summary: () => engine.summary(),
    report: (jobContext) => buildSessionReport(sources, jobContext),
    get reportWritten() {
      return written;
    },
    get lastReport() {
      return lastReport;
    },
    writeReport: async (writeOptions = {}) => {
      const result: WrittenReport = {};
      try {
        const written_ = await writeArtifacts({
          dir: join(writeOptions.dir ?? context.report.dir ?? './voicetrace-out', sanitize(sessionId)),
          sessionId,
          build: (uploads) => buildSessionReport({ ...sources, uploads }, writeOptions.jobContext ?? job),
          html: context.report.html,
          timeoutMs: writeOptions.timeoutMs ?? 3_000,
          uploader: context.uploader,
          egress,
          trace: (upload) => uploadSpan(context.tracer, engine.liveSessionContext(), sessionId, upload),
          clips: context.report.clips,
        });
        Object.assign(result, written_);
        written = true;
        if (engine.model.ended) forget();
        const failed = written_.uploads.filter((u) => u.status === 'failed');
        if (failed.length) context.warn('upload_failed', `voicetrace: ${failed.map((u) => `${u.what}: ${u.error}`).join('; ')} (the report says so too)`);
      } catch (error) {
        result.error = error as Error;
        context.warn('report_write', `voicetrace: the session report of ${sessionId} was not written: ${(error as Error).message}`);
      }
      lastReport = result;
      return result;
    },
    detach: () => {
      stopObserving();
      stopEvents();
    },
  };
  context.sessions.add(handle);
  forget = forgetWhenDone(engine, handle, context);
  return handle;
}

/** How long an ended session waits for `onSessionEnd` (called from the job's shutdown, right after the call). */
const KEEP_ENDED_MS = 60_000;

/**
 * Lets an ended session go: a process that runs many calls must not keep each one's model (about
 * 120 KiB a call). It leaves the setup's set once its report is written after its end (the returned
 * function, called by `writeReport`); one nobody wrote leaves a minute after its end, written first
 * when `shutdown()` would have written it.
 */
function forgetWhenDone(engine: SessionEngine, handle: InstrumentedSession, context: InstrumentContext): () => void {
  let timer: NodeJS.Timeout | undefined;
  const forget = (): void => {
    context.sessions.delete(handle);
    clearTimeout(timer); // its closure holds the session too
  };
  engine.observe({
    onSessionEnd: () => {
      timer = setTimeout(() => {
        if (!context.sessions.has(handle)) return;
        // the last attempt: a report that fails now is named in the warning writeReport gives
        if (context.report.autoWrite && !handle.reportWritten) void handle.writeReport().finally(forget);
        else forget();
      }, KEEP_ENDED_MS).unref();
    },
  });
  return forget;
}

/** A session id as a directory name: path separators and control characters replaced. */
function sanitize(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 200) || 'session';
}

