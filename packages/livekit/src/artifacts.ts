import { ROOT_CONTEXT, trace, type SpanContext, type Tracer } from '@opentelemetry/api';
import { ATTR } from '@voicetrace/conventions';
import type { ReportUpload, SessionReportJson } from '@voicetrace/report';
import { writeFileAtomic } from '@voicetrace/report/internal';
import type { ArtifactUploader, EgressResult } from '@voicetrace/recording';
import { toReportUpload, uploadSessionArtifacts } from '@voicetrace/recording';
import { join } from 'node:path';

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
  let report = plan.build(uploads);
  if (plan.uploader) {
    const recordingPath = report.audio_recording_path ?? undefined;
    if (recordingPath) {
      const [recording] = await uploadSessionArtifacts({ uploader: plan.uploader, sessionId: plan.sessionId, recordingPath, reportPaths: [] });
      if (recording) uploads.push(toReportUpload(recording));
      report = plan.build(uploads);
    }
    await write(report);
    const reports = await uploadSessionArtifacts({ uploader: plan.uploader, sessionId: plan.sessionId, reportPaths: plan.html ? [json, html] : [json] });
    uploads.push(...reports.map(toReportUpload));
    report = plan.build(uploads);
  }
  await write(report);
  for (const upload of uploads) plan.trace(upload);
  return { json, html: plan.html ? html : undefined, uploads };
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
