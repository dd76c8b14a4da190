/**
 * LangFuse's media API as the contract server enforces it: `POST /api/public/media` (an upload URL),
 * the `PUT` of the bytes to that URL (LangFuse's presigned S3 URL), `PATCH /api/public/media/{id}`.
 *
 * Ported from langfuse/langfuse at commit 62751446149b702b419a9292ddfc2280cdf74b8c:
 * - `web/src/pages/api/public/media/index.ts:12-64` (POST: project access with Basic auth, 201, a
 *   contentLength above `LANGFUSE_S3_MEDIA_MAX_CONTENT_LENGTH` (default 1e9, `web/src/env.mjs:359-363`) is 400);
 * - `web/src/features/media/validation.ts:21-65` (the trace-media body: contentType one of LangFuse's media
 *   types, contentLength a positive integer, sha256Hash `/^[A-Za-z0-9+/=]{44}$/`, traceId, observationId
 *   nullish, field `input` | `output` | `metadata`), `:71-74` (`{ uploadUrl, mediaId }`), `:80-85` (PATCH body);
 * - `web/src/features/media/server/mediaService.ts:67-129` (a hash already uploaded with status 200 and the
 *   same content type is linked again and answered `uploadUrl: null`), `:178-224` (PATCH: unknown id 404,
 *   else 200 `{ message: "OK" }`);
 * - `packages/shared/src/server/media/mediaService.ts:18-22` (the media id: the base64 SHA-256 made URL-safe,
 *   its first 22 characters), `:111-165` (the link to the trace or the observation and its field, which is
 *   what the UI lists: `web/src/server/api/routers/media.ts:114-140`);
 * - `packages/shared/src/server/services/StorageService.ts:973-998` (the presigned PUT: `Content-Type` and
 *   `x-amz-checksum-sha256`, which S3 checks against the body).
 * The content types are LangFuse's `MediaContentType` (`packages/shared/src/domain/media.ts:1-54`).
 */
import { createHash } from 'node:crypto';

export const LANGFUSE_MEDIA_PATH = '/api/public/media';
/** Where the stand-in's "presigned" uploads go (LangFuse's are S3 URLs). */
export const MEDIA_UPLOAD_PATH = '/__s3/media/';

const MEDIA_CONTENT_TYPES = new Set([
  'image/png', 'image/jpeg', 'image/jpg', 'image/webp', 'image/gif', 'image/svg+xml', 'image/tiff', 'image/bmp', 'image/avif', 'image/heic',
  'audio/mpeg', 'audio/mp3', 'audio/wav', 'audio/ogg', 'audio/oga', 'audio/aac', 'audio/mp4', 'audio/flac', 'audio/opus', 'audio/webm',
  'video/mp4', 'video/webm', 'video/ogg', 'video/mpeg', 'video/quicktime', 'video/x-msvideo', 'video/x-matroska',
  'text/plain', 'text/html', 'text/css', 'text/csv', 'text/markdown', 'text/x-python', 'application/javascript', 'text/x-typescript', 'application/x-yaml',
  'application/pdf', 'application/msword', 'application/vnd.ms-excel', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'application/zip',
  'application/json', 'application/xml', 'application/octet-stream', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation', 'application/rtf', 'application/x-ndjson', 'application/vnd.apache.parquet',
  'application/gzip', 'application/x-tar', 'application/x-7z-compressed',
]);
const MAX_CONTENT_LENGTH = 1_000_000_000;

/** One media object as the stand-in keeps it, with where it is linked. */
export interface ReceivedMedia {
  mediaId: string;
  contentType: string;
  contentLength: number;
  sha256Hash: string;
  /** Each trace / observation / field it was linked to (the UI lists media by these). */
  links: Array<{ traceId: string; observationId?: string; field: string }>;
  /** The bytes the PUT delivered (after S3's checks). */
  bytes?: Buffer;
  uploadHttpStatus?: number;
  uploadedAt?: string;
  uploadTimeMs?: number;
}

type Answer = { status: number; body: Record<string, unknown> };

/** The media the server knows, by id. */
export class MediaStore {
  readonly media = new Map<string, ReceivedMedia>();

  /** `POST /api/public/media` with an authorised project: validate, link, and give an upload URL unless already uploaded. */
  requestUpload(raw: Buffer, baseUrl: string): Answer {
    const body = jsonBody(raw);
    if (!body) return invalid([{ message: 'body is not JSON' }]);
    const issues: Array<{ path: string; message: string }> = [];
    const contentType = body.contentType;
    if (typeof contentType !== 'string' || !MEDIA_CONTENT_TYPES.has(contentType)) issues.push({ path: 'contentType', message: 'Invalid enum value' });
    const length = body.contentLength;
    if (typeof length !== 'number' || !Number.isInteger(length) || length <= 0) issues.push({ path: 'contentLength', message: 'Expected a positive integer' });
    const hash = body.sha256Hash;
    if (typeof hash !== 'string' || !/^[A-Za-z0-9+/=]{44}$/.test(hash)) issues.push({ path: 'sha256Hash', message: 'Invalid' });
    if (typeof body.traceId !== 'string') issues.push({ path: 'traceId', message: 'Required' });
    if (body.observationId !== undefined && body.observationId !== null && typeof body.observationId !== 'string') issues.push({ path: 'observationId', message: 'Expected string' });
    if (body.field !== 'input' && body.field !== 'output' && body.field !== 'metadata') issues.push({ path: 'field', message: 'Invalid enum value' });
    if (issues.length) return invalid(issues);
    if ((length as number) > MAX_CONTENT_LENGTH) return { status: 400, body: { message: `File size must be less than ${MAX_CONTENT_LENGTH} bytes`, error: 'InvalidRequestError' } };
    const mediaId = mediaIdOf(hash as string);
    const existing = this.media.get(mediaId);
    const link = { traceId: body.traceId as string, ...(typeof body.observationId === 'string' ? { observationId: body.observationId } : {}), field: body.field as string };
    if (existing && existing.uploadHttpStatus === 200 && existing.contentType === contentType) {
      addLink(existing, link);
      return { status: 201, body: { uploadUrl: null, mediaId } };
    }
    const record: ReceivedMedia = existing ?? { mediaId, contentType: contentType as string, contentLength: length as number, sha256Hash: hash as string, links: [] };
    Object.assign(record, { contentType, contentLength: length, sha256Hash: hash });
    addLink(record, link);
    this.media.set(mediaId, record);
    return { status: 201, body: { uploadUrl: `${baseUrl}${MEDIA_UPLOAD_PATH}${mediaId}`, mediaId } };
  }

  /** The presigned `PUT`: S3 checks the signed content type and the SHA-256 checksum against the body. */
  receiveUpload(mediaId: string, headers: Record<string, string | string[] | undefined>, bytes: Buffer): Answer {
    const record = this.media.get(mediaId);
    if (!record) return { status: 403, body: { error: 'SignatureDoesNotMatch' } };
    if (String(headers['content-type'] ?? '') !== record.contentType) return { status: 403, body: { error: 'SignatureDoesNotMatch: content-type is signed' } };
    const checksum = String(headers['x-amz-checksum-sha256'] ?? '');
    const actual = createHash('sha256').update(bytes).digest('base64');
    if (checksum !== record.sha256Hash || actual !== checksum) return { status: 400, body: { error: 'BadDigest: the x-amz-checksum-sha256 you specified did not match the calculated checksum' } };
    if (bytes.length !== record.contentLength) return { status: 400, body: { error: 'IncompleteBody' } };
    record.bytes = bytes;
    return { status: 200, body: {} };
  }

  /** `PATCH /api/public/media/{id}`. */
  reportUpload(mediaId: string, raw: Buffer): Answer {
    const body = jsonBody(raw);
    if (!body) return invalid([{ message: 'body is not JSON' }]);
    const issues: Array<{ path: string; message: string }> = [];
    if (typeof body.uploadedAt !== 'string' || Number.isNaN(Date.parse(body.uploadedAt))) issues.push({ path: 'uploadedAt', message: 'Invalid date' });
    const status = body.uploadHttpStatus;
    if (typeof status !== 'number' || !Number.isInteger(status) || status <= 0) issues.push({ path: 'uploadHttpStatus', message: 'Expected a positive integer' });
    if (body.uploadHttpError !== undefined && body.uploadHttpError !== null && typeof body.uploadHttpError !== 'string') issues.push({ path: 'uploadHttpError', message: 'Expected string' });
    if (body.uploadTimeMs !== undefined && body.uploadTimeMs !== null && typeof body.uploadTimeMs !== 'number') issues.push({ path: 'uploadTimeMs', message: 'Expected number' });
    if (issues.length) return invalid(issues);
    const record = this.media.get(mediaId);
    if (!record) return { status: 404, body: { message: 'Media asset not found', error: 'LangfuseNotFoundError' } };
    Object.assign(record, { uploadedAt: body.uploadedAt, uploadHttpStatus: status, ...(typeof body.uploadTimeMs === 'number' ? { uploadTimeMs: body.uploadTimeMs } : {}) });
    return { status: 200, body: { message: 'OK' } };
  }
}

/** LangFuse's media id: the base64 SHA-256, URL-safe, its first 22 characters. */
export function mediaIdOf(sha256Base64: string): string {
  return sha256Base64.replaceAll('+', '-').replaceAll('/', '_').slice(0, 22);
}

function addLink(record: ReceivedMedia, link: ReceivedMedia['links'][number]): void {
  if (!record.links.some((l) => l.traceId === link.traceId && l.observationId === link.observationId && l.field === link.field)) record.links.push(link);
}

/** A request's JSON body; undefined when it does not parse (both media calls answer that as invalid). */
function jsonBody(raw: Buffer): Record<string, unknown> | undefined {
  try {
    return JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function invalid(issues: unknown[]): Answer {
  return { status: 400, body: { message: 'Invalid request data', error: issues } };
}
