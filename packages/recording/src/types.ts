/**
 * Public types of `@voicetrace/recording`. Nothing here refers to a type of `@aws-sdk/client-s3` or
 * `livekit-server-sdk`: both are optional peer dependencies, so the declarations must compile without them.
 */

/** What an artifact is, as the session report's `voicetrace.recording.uploads[].what` names it. */
export type ArtifactKind = 'recording' | 'report' | 'egress';

/**
 * The fields of one entry of the session report's `voicetrace.recording.uploads` (`ReportUpload` in
 * `@voicetrace/report`), and nothing else: the report's JSON Schema allows no other property.
 */
export interface ReportUploadEntry {
  what: ArtifactKind;
  status: 'uploaded' | 'failed' | 'started';
  /** Where the object is (uploads) or will be written (egress); absent when an upload failed. */
  url?: string;
  /** Requests sent (0 when nothing was sent, e.g. the local file was missing). */
  attempts: number;
  /** Why it failed: names the endpoint, bucket and key and the cause. Never contains a credential. */
  error?: string;
}

/** The outcome of {@link S3Uploader.upload}: a report entry plus details for logs and tests. */
export interface UploadResult extends ReportUploadEntry {
  what: 'recording' | 'report';
  status: 'uploaded' | 'failed';
  /** The bucket written to. */
  bucket: string;
  /** The object key written to (the uploader's `prefix` included). */
  key: string;
  /** The local file's size in bytes, when it could be read. */
  bytes?: number;
  /** The content type the object was (or would have been) stored with. */
  contentType: string;
  /** Wall time of the whole upload, retries and backoff included, in milliseconds. */
  durationMs: number;
}

/** Static S3 credentials. Without them the AWS SDK's default chain is used (environment, profile, IMDS...). */
export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Options of {@link createS3Uploader}. Every option falls back to the standard AWS environment variable. */
export interface S3UploaderOptions {
  /** The bucket. Required. */
  bucket: string;
  /** Prepended to every key (a `/` is added when missing), e.g. `voice/prod/`. Default: none. */
  prefix?: string | undefined;
  /**
   * An S3-compatible endpoint, e.g. `http://127.0.0.1:9000` or `https://<account>.r2.cloudflarestorage.com`.
   * Default: `AWS_ENDPOINT_URL_S3`, then `AWS_ENDPOINT_URL`; none means AWS S3 itself.
   */
  endpoint?: string | undefined;
  /** Default: `AWS_REGION`, then `AWS_DEFAULT_REGION`, then `us-east-1`. */
  region?: string | undefined;
  /**
   * Default: `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN` when both of the first two are
   * set, otherwise the AWS SDK's default credential chain.
   */
  credentials?: S3Credentials | undefined;
  /**
   * Path-style addressing (`endpoint/bucket/key`). Default: `AWS_S3_FORCE_PATH_STYLE` when set, otherwise true
   * when an endpoint is configured (S3-compatible stores expect it) and false for AWS.
   */
  forcePathStyle?: boolean | undefined;
  /** Bound on one `upload()`, retries and backoff included, in ms. Default 10 000. */
  timeoutMs?: number | undefined;
  /** Requests per upload at most (the first one included). Default 4. */
  maxAttempts?: number | undefined;
  /** First backoff between attempts in ms; doubled each retry (with jitter), capped at 2 s. Default 250. */
  backoffMs?: number | undefined;
  /** `http` (default): the object's HTTP(S) URL. `s3`: `s3://bucket/key`. */
  urlStyle?: 'http' | 's3' | undefined;
  /** Aborts every upload of this uploader (e.g. the job's shutdown). Each upload can also take its own. */
  signal?: AbortSignal | undefined;
}

/** Per-call options of {@link S3Uploader.upload}. */
export interface UploadOptions {
  /** Aborts this upload: it resolves `failed` promptly. */
  signal?: AbortSignal | undefined;
  /** Overrides the uploader's `timeoutMs` for this call. */
  timeoutMs?: number | undefined;
  /** The report's `what`. Default: `recording` for audio content types, `report` otherwise. */
  what?: 'recording' | 'report' | undefined;
}

/** Counters of one uploader, since it was created. */
export interface UploadStats {
  /** `upload()` calls that finished. */
  uploads: number;
  /** Of those, the ones that stored the object. */
  uploaded: number;
  /** Of those, the ones that failed. */
  failed: number;
  /** Requests sent, first attempts and retries. */
  attempts: number;
  /** Requests sent again after a transient failure. */
  retries: number;
  /** Bytes stored. */
  bytes: number;
  /** The newest failure's message (never with a credential in it). */
  lastError?: string;
}

/** Anything that puts a local file into object storage the way {@link S3Uploader} does. */
export interface ArtifactUploader {
  /**
   * Uploads `localPath` to `key`. Never throws and never rejects: a failure resolves
   * `{ status: 'failed', attempts, error }`.
   */
  upload(localPath: string, key: string, contentType?: string, options?: UploadOptions): Promise<UploadResult>;
  /** The uploader's bound on one upload, in ms. */
  readonly timeoutMs: number;
}

/** An uploader to one S3 (or S3-compatible) bucket, made by {@link createS3Uploader}. */
export interface S3Uploader extends ArtifactUploader {
  readonly bucket: string;
  /** The endpoint in use, or undefined for AWS S3. */
  readonly endpoint: string | undefined;
  readonly region: string;
  /** The URL `key` has (or would have) once uploaded, in the uploader's `urlStyle`. */
  objectUrl(key: string): string;
  /** A snapshot of the counters. */
  stats(): UploadStats;
  /** Closes the S3 client's sockets. Later uploads resolve `failed`. */
  destroy(): void;
}

/** Options of {@link uploadSessionArtifacts}. */
export interface SessionArtifactsOptions {
  uploader: ArtifactUploader;
  /** The session (usually the room name); the objects go under `<keyPrefix><sessionId>/`. */
  sessionId: string;
  /** The call's recording (the SDK report's `audio_recording_path`), stored as `recording<.ext>`. */
  recordingPath?: string | undefined;
  /** The report files (`report.json`, `report.html`...), stored under their own file names. */
  reportPaths: readonly string[];
  /** Per-turn clips ({@link cutRecordingClips}), stored under `clips/` in the session folder. Default: none. */
  clipPaths?: readonly string[] | undefined;
  /** Before the session folder, after the uploader's own `prefix`. Default: none. */
  keyPrefix?: string | undefined;
  /** Bound on all uploads together, in ms. Default: the uploader's `timeoutMs`. */
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
}

/** Where an egress writes its file: S3 or any S3-compatible store, as the Egress service will reach it. */
export interface EgressS3Options {
  bucket: string;
  region?: string | undefined;
  /** An S3-compatible endpoint as seen from the Egress service. */
  endpoint?: string | undefined;
  accessKey?: string | undefined;
  secret?: string | undefined;
  sessionToken?: string | undefined;
  forcePathStyle?: boolean | undefined;
}

/** Options of {@link startAudioEgress}. */
export interface AudioEgressOptions {
  /** The LiveKit server (`wss://`, `ws://`, `https://` or `http://`). Default: `LIVEKIT_URL`. */
  url?: string | undefined;
  /** Default: `LIVEKIT_API_KEY`. */
  apiKey?: string | undefined;
  /** Default: `LIVEKIT_API_SECRET`. */
  apiSecret?: string | undefined;
  /** The room to record. */
  roomName: string;
  /**
   * The bucket the OGG goes to. Without it the Egress service writes to the storage of its own config.
   */
  s3?: EgressS3Options | undefined;
  /** The object key (Egress templates such as `{room_name}` and `{time}` work). Default: `<room>/egress-<UTC time>.ogg`. */
  filepath?: string | undefined;
  /** Bound on the whole call, retries included, in ms. Default 30 000 (LiveKit itself waits up to ~25 s for an egress worker). */
  timeoutMs?: number | undefined;
  /** Requests at most. Default 3. */
  maxAttempts?: number | undefined;
  /** First backoff in ms, doubled each retry. Default 500. */
  backoffMs?: number | undefined;
  signal?: AbortSignal | undefined;
}

/** The outcome of {@link startAudioEgress}. */
export type EgressResult =
  | { what: 'egress'; status: 'started'; egressId: string; url?: string; attempts: number; durationMs: number }
  | { what: 'egress'; status: 'failed'; error: string; attempts: number; durationMs: number };
