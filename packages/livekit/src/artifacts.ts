import { ROOT_CONTEXT, trace, type SpanContext, type Tracer } from '@opentelemetry/api';
import { ATTR } from '@voicetrace/conventions';
import { attachClips, type ReportUpload, type SessionReportJson, type TurnClipInput } from '@voicetrace/report';
import { writeFileAtomic } from '@voicetrace/report/internal';
import type { ArtifactUploader, EgressResult } from '@voicetrace/recording';
import { cutRecordingClips, toReportUpload, uploadSessionArtifacts } from '@voicetrace/recording';
import { join, relative } from 'node:path';
import type { LangfuseClips } from '@voicetrace/langfuse';
import { clipRanges } from './clips.js';

/** What is written (and uploaded) when a session ends. */
export interface ArtifactPlan {
  dir: string;
  sessionId: string;
  /** Builds the report with the uploads known so far. */
  build: (uploads: ReportUpload[]) => SessionReportJson;
  html?: ((report: SessionReportJson, htmlPath: string) => string) | undefined;
  timeoutMs: number;
  uploader?: ArtifactUploader | undefined;
  /** An egress started for the room, if any: its outcome joins the report. */
  egress?: Promise<EgressResult> | undefined;
  /** Records each upload's outcome in the session's trace. */
  trace: (upload: ReportUpload) => void;
  /** Per-turn clips cut from the recording (when there is one): absent, none are cut. */
  clips?: ClipPlan | undefined;
}

/** How the per-turn clips are cut. */
export interface ClipPlan {
  /** The ffmpeg binary (default: `LIVEKIT_FFMPEG_PATH`, else `ffmpeg` on PATH). */
  ffmpegPath?: string | undefined;
  /** Bound on the cutting (ms): past it, the clips not cut are skipped as `budget_exceeded`. The LangFuse uploads get as long again. */
  timeoutMs: number;
  /** Attaches each clip to its turn's LangFuse observation (the user's speech as input, the reply as output). */
  langfuse?: Pick<LangfuseClips, 'attach'> | undefined;
}

/** Where the report went, and what was uploaded. */
export interface WrittenArtifacts {
  json?: string;
  html?: string;
  uploads: ReportUpload[];
}

/**
 * Writes `report.json` (and `report.html`) atomically, then, when an uploader
 * is configured, puts the recording and the report into object storage and
 * writes the report again with every upload's outcome. Uploads are bounded
 * and never throw: a failure is in the report and the trace. Report write
 * failures throw (the caller says so once and carries on).
 */
export async function writeArtifacts(plan: ArtifactPlan): Promise<WrittenArtifacts> {
  const uploads: ReportUpload[] = [];
  if (plan.egress) {
    const egress = await withinBound(plan.egress, Math.min(plan.timeoutMs, 5_000));
    uploads.push(egress ? toReportUpload(egress) : { what: 'egress', status: 'failed', attempts: 0, error: 'no answer from LiveKit Egress before the report was written' });
  }
  const json = join(plan.dir, 'report.json');
  const html = join(plan.dir, 'report.html');
  const write = async (report: SessionReportJson): Promise<void> => {
    await writeFileAtomic(json, `${JSON.stringify(report, null, 2)}\n`, { timeoutMs: plan.timeoutMs });
    if (plan.html) await writeFileAtomic(html, plan.html(report, html), { timeoutMs: plan.timeoutMs });
  };
  let clips: TurnClipInput[] | undefined;
  let clipsMs = 0;
  const build = (): SessionReportJson => (clips ? attachClips(plan.build(uploads), clips, { duration_ms: clipsMs }) : plan.build(uploads));
  let report = build();
  const recordingPath = report.audio_recording_path ?? undefined;
  if (plan.clips && recordingPath) {
    const cut = await cutRecordingClips({ recordingPath, ranges: clipRanges(report), outDir: join(plan.dir, 'clips'), ffmpegPath: plan.clips.ffmpegPath, timeoutMs: plan.clips.timeoutMs });
    clipsMs = cut.durationMs;
    // the report links each clip relative to itself: the folder moves as one
    clips = cut.clips.map((c) => ({ turn: c.turn, side: c.side, offset: c.start, path: c.path ? relative(plan.dir, c.path) : undefined, duration: c.duration, skipped: c.reason }));
    report = build();
    if (plan.clips.langfuse) {
      await attachToLangfuse(plan.clips.langfuse, report, clips, plan.dir, plan.clips.timeoutMs);
      report = build();
    }
  }
  if (plan.uploader) {
    if (recordingPath) {
      const cutClips = (clips ?? []).filter((c) => c.path);
      const clipPaths = cutClips.map((c) => join(plan.dir, c.path!));
      const [recording, ...clipUploads] = await uploadSessionArtifacts({ uploader: plan.uploader, sessionId: plan.sessionId, recordingPath, reportPaths: [], clipPaths });
      if (recording) uploads.push(toReportUpload(recording));
      for (const [i, upload] of clipUploads.entries()) {
        const clip = cutClips[i]!;
        if (upload.status === 'uploaded' && upload.url) clip.url = upload.url;
        else clip.skipped = 'upload_failed';
      }
      report = build();
    }
    await write(report);
    const reports = await uploadSessionArtifacts({ uploader: plan.uploader, sessionId: plan.sessionId, reportPaths: plan.html ? [json, html] : [json] });
    uploads.push(...reports.map(toReportUpload));
    report = build();
  }
  await write(report);
  for (const upload of uploads) plan.trace(upload);
  return { json, html: plan.html ? html : undefined, uploads };
}

/**
 * Each cut clip to its turn's LangFuse observation: the user's speech to the `user_turn`'s input, the agent's
 * side to the output of the reply the report put it on (the turn's last that played). The outcome goes on the
 * clip (`langfuse`); what is not done within `timeoutMs` reads `failed`.
 */
async function attachToLangfuse(langfuse: Pick<LangfuseClips, 'attach'>, report: SessionReportJson, clips: TurnClipInput[], dir: string, timeoutMs: number): Promise<void> {
  const jobs: Array<Promise<void>> = [];
  for (const turn of report.voicetrace.turns) {
    const targets = [
      { side: 'user' as const, clip: turn.user?.clip, trace: turn.user?.trace, field: 'input' as const },
      ...turn.replies.filter((r) => r.clip).map((r) => ({ side: 'agent' as const, clip: r.clip, trace: r.trace, field: 'output' as const })),
    ];
    for (const target of targets) {
      const input = clips.find((c) => c.turn === turn.index && c.side === target.side);
      if (!input?.path || !target.trace) continue;
      input.langfuse = 'failed'; // until LangFuse says otherwise
      jobs.push(
        langfuse.attach({ traceId: target.trace.trace_id, observationId: target.trace.span_id, field: target.field, path: join(dir, input.path) }).then((outcome) => {
          input.langfuse = outcome;
        }),
      );
    }
  }
  await withinBound(Promise.all(jobs), timeoutMs);
}

/** One span per upload in the session's trace (the session span's child), with its outcome. */
export function uploadSpan(tracer: Tracer, parent: SpanContext | undefined, sessionId: string, upload: ReportUpload): void {
  if (!parent) return;
  const span = tracer.startSpan(
    'artifact_upload',
    {
      attributes: {
        [ATTR.SESSION_ID]: sessionId,
        [ATTR.STAGE]: 'artifact',
        [ATTR.UPLOAD_WHAT]: upload.what,
        [ATTR.UPLOAD_STATUS]: upload.status,
        [ATTR.UPLOAD_ATTEMPTS]: upload.attempts,
        ...(upload.url ? { [ATTR.UPLOAD_URL]: upload.url } : {}),
        ...(upload.error ? { [ATTR.UPLOAD_ERROR]: upload.error } : {}),
      },
    },
    trace.setSpanContext(ROOT_CONTEXT, parent),
  );
  if (upload.status === 'failed') span.setStatus({ code: 2, message: upload.error ?? 'upload failed' });
  span.end();
}

async function withinBound<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
