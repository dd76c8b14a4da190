import { basename, extname } from 'node:path';
import { Budget, positive } from './budget.js';
import { contentTypeFor } from './content-type.js';
import type { ReportUploadEntry, SessionArtifactsOptions, UploadResult } from './types.js';

/**
 * Each upload's own bound runs this much past the overall one, whose signal stops it: a timeout then
 * names the overall bound the caller set, not the remainder an upload started with (the two timers
 * would otherwise fire in the same millisecond, either first).
 */
const ENCLOSING_BOUND_MARGIN_MS = 50;

/**
 * Uploads a session's artifacts: the recording (as `<keyPrefix><sessionId>/recording<.ext>`) and each
 * report file (as `<keyPrefix><sessionId>/<file name>`), and each per-turn clip (as
 * `<keyPrefix><sessionId>/clips/<file name>`), all at once, within one overall bound.
 *
 * Results come in a stable order, whatever finishes first: the recording (when `recordingPath` is
 * given), then the report files in the order given. Never throws: a missing local file, a bad option or
 * an upload that fails is a `failed` result. Characters of `sessionId` other than letters, digits and
 * `. _ - = @ +` become `_` so a room name cannot add folders or escape the prefix.
 *
 * @example
 * ```ts
 * const results = await uploadSessionArtifacts({
 *   uploader, sessionId: ctx.room.name,
 *   recordingPath: report.audio_recording_path,
 *   reportPaths: [`${dir}/report.json`, `${dir}/report.html`],
 * });
 * section.recording.uploads.push(...results.map(toReportUpload));
 * ```
 */
export async function uploadSessionArtifacts(options: SessionArtifactsOptions): Promise<UploadResult[]> {
  const { uploader } = options;
  const folder = sessionFolderKey(options.sessionId, options.keyPrefix);
  const jobs: { path: string; key: string; what: 'recording' | 'report' }[] = [];
  if (options.recordingPath !== undefined) {
    jobs.push({ path: options.recordingPath, key: `${folder}recording${extname(String(options.recordingPath)).toLowerCase() || '.ogg'}`, what: 'recording' });
  }
  for (const path of Array.isArray(options.reportPaths) ? options.reportPaths : []) {
    jobs.push({ path, key: `${folder}${safeSegment(basename(String(path)))}`, what: 'report' });
  }
  // per-turn clips beside the recording they were cut from
  for (const path of Array.isArray(options.clipPaths) ? options.clipPaths : []) {
    jobs.push({ path, key: clipKey(options.sessionId, basename(String(path)), options.keyPrefix), what: 'recording' });
  }
  const budget = new Budget(positive(options.timeoutMs, positive(uploader?.timeoutMs, 10_000)), [options.signal]);
  try {
    return await Promise.all(
      jobs.map(async (job): Promise<UploadResult> => {
        const type = contentTypeFor(String(job.path));
        try {
          return await uploader.upload(job.path, job.key, type, { what: job.what, signal: budget.signal, timeoutMs: Math.max(1, budget.remainingMs()) + ENCLOSING_BOUND_MARGIN_MS });
        } catch (e) {
          // A custom uploader broke its contract; still a result.
          const message = e instanceof Error ? e.message : String(e);
          return { what: job.what, status: 'failed', attempts: 0, bucket: '', key: job.key, contentType: type, durationMs: budget.elapsedMs(), error: `upload of ${job.path} threw: ${message}` };
        }
      }),
    );
  } finally {
    budget.dispose();
  }
}

/**
 * The entry for the session report's `voicetrace.recording.uploads`: exactly the fields its JSON Schema
 * allows (`what`, `status`, `url`, `attempts`, `error`).
 */
export function toReportUpload(result: ReportUploadEntry): ReportUploadEntry {
  const entry: ReportUploadEntry = { what: result.what, status: result.status, attempts: result.attempts };
  if (result.url !== undefined) entry.url = result.url;
  if (result.error !== undefined) entry.error = result.error;
  return entry;
}

/** The session's folder in the bucket (before the uploader's own prefix): `<keyPrefix><sessionId>/`. */
export function sessionFolderKey(sessionId: string, keyPrefix?: string): string {
  return `${normalizePrefix(keyPrefix)}${safeSegment(sessionId)}/`;
}

/**
 * Where a clip file is stored: `<keyPrefix><sessionId>/clips/<file name>`. Known before the clip exists,
 * so a turn's span can carry its URL (`uploader.objectUrl(clipKey(...))`) when it is exported.
 */
export function clipKey(sessionId: string, fileName: string, keyPrefix?: string): string {
  return `${sessionFolderKey(sessionId, keyPrefix)}clips/${safeSegment(fileName)}`;
}

function safeSegment(s: string): string {
  const cleaned = String(s ?? '').replace(/[^\w.\-=@+]/g, '_');
  return cleaned === '' || cleaned === '.' || cleaned === '..' ? `_${cleaned}` : cleaned;
}

function normalizePrefix(prefix: string | undefined): string {
  const p = (prefix ?? '').trim().replace(/^\/+/, '');
  return p === '' || p.endsWith('/') ? p : `${p}/`;
}
