/**
 * @voicetrace/recording: gets a LiveKit agent call's recording and session report into S3 or
 * S3-compatible object storage, and starts an audio-only LiveKit Egress to S3. Every call is bounded in
 * time, abortable, and never throws: a failure is a result the session report can carry.
 */
export type {
  ArtifactKind,
  ArtifactUploader,
  AudioEgressOptions,
  EgressResult,
  EgressS3Options,
  ReportUploadEntry,
  S3Credentials,
  S3Uploader,
  S3UploaderOptions,
  SessionArtifactsOptions,
  UploadOptions,
  UploadResult,
  UploadStats,
} from './types.js';
export { createS3Uploader, MAX_SINGLE_PUT_BYTES } from './s3-uploader.js';
export { uploadSessionArtifacts, toReportUpload, clipKey, sessionFolderKey } from './artifacts.js';
export { startAudioEgress } from './egress.js';
export { isTransientS3Error, isTransientTwirpError } from './transient.js';
export { contentTypeFor } from './content-type.js';
export { objectUrl, type ObjectLocation } from './url.js';
export { cutRecordingClips, clipFileName, CLIP_SKIP_REASONS, type ClipRange, type ClipSide, type ClipOutcome, type ClipSkipReason, type CutClipsOptions, type CutClipsResult } from './clips.js';
