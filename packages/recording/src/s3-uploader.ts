import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { backoffDelay, Budget, BudgetStopped, positive } from './budget.js';
import { contentTypeFor } from './content-type.js';
import { describeError, redact } from './redact.js';
import { isTransientS3Error } from './transient.js';
import type { S3Credentials, S3Uploader, S3UploaderOptions, UploadOptions, UploadResult, UploadStats } from './types.js';
import { endpointLabel, objectUrl } from './url.js';

/** S3's limit for one PutObject. Larger files would need a multipart upload, which this package does not do. */
export const MAX_SINGLE_PUT_BYTES = 5 * 1024 ** 3;

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_ATTEMPTS = 4;
const DEFAULT_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 2_000;

type S3Module = typeof import('@aws-sdk/client-s3');

/**
 * Creates an uploader that puts local files (a call's OGG recording, `report.json`, `report.html`) into
 * one S3 or S3-compatible bucket.
 *
 * Each `upload()` streams the file in one `PutObject` with its length and `Content-MD5` (the store
 * verifies the bytes), retries transient failures (network errors, HTTP 5xx, 408, 429, throttling
 * codes) with jittered exponential backoff inside a total time bound, and never throws: a failure
 * resolves `{ status: 'failed', attempts, error }`, the error naming the endpoint, bucket, key and cause,
 * never a credential. `@aws-sdk/client-s3` is loaded on the first upload; when it is not installed,
 * uploads resolve `failed` saying so. Options fall back to the standard AWS environment variables.
 *
 * @example
 * ```ts
 * const uploader = createS3Uploader({ bucket: 'calls', prefix: 'prod/' });
 * const r = await uploader.upload('/tmp/job/recording.ogg', `${roomName}/recording.ogg`);
 * if (r.status === 'failed') console.warn(r.error);
 * ```
 */
export function createS3Uploader(options: S3UploaderOptions): S3Uploader {
  return new S3UploaderImpl(options, process.env);
}

class S3UploaderImpl implements S3Uploader {
  readonly bucket: string;
  readonly endpoint: string | undefined;
  readonly region: string;
  readonly timeoutMs: number;
  private readonly prefix: string;
  private readonly forcePathStyle: boolean;
  private readonly credentials: S3Credentials | undefined;
  private readonly maxAttempts: number;
  private readonly backoffMs: number;
  private readonly urlStyle: 'http' | 's3';
  private readonly signal: AbortSignal | undefined;
  /** Values that must never appear in a message. */
  private readonly secrets: string[];
  /** A problem with the options, reported by every upload instead of thrown at creation. */
  private readonly configProblem: string | undefined;
  private client: Promise<{ s3: S3Module; client: S3Client }> | undefined;
  private destroyed = false;
  private readonly counters: UploadStats = { uploads: 0, uploaded: 0, failed: 0, attempts: 0, retries: 0, bytes: 0 };

  constructor(opts: S3UploaderOptions, env: NodeJS.ProcessEnv) {
    this.bucket = typeof opts.bucket === 'string' ? opts.bucket.trim() : '';
    this.endpoint = nonEmpty(opts.endpoint) ?? nonEmpty(env.AWS_ENDPOINT_URL_S3) ?? nonEmpty(env.AWS_ENDPOINT_URL);
    this.region = nonEmpty(opts.region) ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION) ?? 'us-east-1';
    const envPathStyle = parseBool(env.AWS_S3_FORCE_PATH_STYLE);
    this.forcePathStyle = opts.forcePathStyle ?? envPathStyle ?? this.endpoint !== undefined;
    this.credentials =
      opts.credentials ??
      (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
        ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) }
        : undefined);
    this.secrets = [
      this.credentials?.secretAccessKey,
      this.credentials?.sessionToken,
      this.credentials?.accessKeyId,
      env.AWS_SECRET_ACCESS_KEY,
      env.AWS_SESSION_TOKEN,
      env.AWS_ACCESS_KEY_ID,
    ].filter((s): s is string => typeof s === 'string' && s.length > 0);
    this.prefix = normalizePrefix(opts.prefix);
    this.timeoutMs = positive(opts.timeoutMs, DEFAULT_TIMEOUT_MS);
    this.maxAttempts = Math.max(1, Math.floor(positive(opts.maxAttempts, DEFAULT_MAX_ATTEMPTS)));
    this.backoffMs = positive(opts.backoffMs, DEFAULT_BACKOFF_MS);
    this.urlStyle = opts.urlStyle === 's3' ? 's3' : 'http';
    this.signal = opts.signal;
    this.configProblem = !this.bucket
      ? 'no bucket configured'
      : this.endpoint !== undefined && !isHttpUrl(this.endpoint)
        ? `the endpoint is not an http(s) URL: ${redact(this.endpoint, this.secrets)}`
        : undefined;
  }

  objectUrl(key: string): string {
    return this.urlOf(this.fullKey(key));
  }

  private urlOf(fullKey: string): string {
    return objectUrl({
      bucket: this.bucket,
      key: fullKey,
      endpoint: this.configProblem ? undefined : this.endpoint,
      region: this.region,
      forcePathStyle: this.forcePathStyle,
      style: this.urlStyle,
    });
  }

  stats(): UploadStats {
    return { ...this.counters };
  }

  destroy(): void {
    this.destroyed = true;
    const client = this.client;
    this.client = undefined;
    client?.then(({ client: c }) => c.destroy()).catch(() => undefined);
  }

  async upload(localPath: string, key: string, contentType?: string, options: UploadOptions = {}): Promise<UploadResult> {
    const fullKey = this.fullKey(typeof key === 'string' ? key : '');
    const type = nonEmpty(contentType) ?? contentTypeFor(String(localPath));
    const what = options.what ?? (/^(audio|video)\//.test(type) ? 'recording' : 'report');
    const budget = new Budget(positive(options.timeoutMs, this.timeoutMs), [this.signal, options.signal]);
    const where = `s3 bucket "${this.bucket}" key "${fullKey}" at ${this.configProblem ? '(no endpoint)' : endpointLabel(this.endpoint, this.region)}`;
    let attempts = 0;
    let bytes: number | undefined;
    const finish = (error?: string): UploadResult => {
      const result: UploadResult = { what, status: error ? 'failed' : 'uploaded', attempts, bucket: this.bucket, key: fullKey, contentType: type, durationMs: budget.elapsedMs() };
      if (bytes !== undefined) result.bytes = bytes;
      if (error) result.error = redact(error, this.secrets);
      else result.url = this.urlOf(fullKey);
      this.counters.uploads++;
      this.counters.attempts += attempts;
      this.counters.retries += Math.max(0, attempts - 1);
      if (error) {
        this.counters.failed++;
        this.counters.lastError = result.error;
      } else {
        this.counters.uploaded++;
        this.counters.bytes += bytes ?? 0;
      }
      return result;
    };
    const failed = (cause: string): UploadResult => finish(`upload of ${localPath} to ${where} failed: ${cause}`);
    try {
      if (this.configProblem) return failed(this.configProblem);
      if (!fullKey || fullKey.endsWith('/')) return failed('the object key is empty or ends with "/"');
      if (this.destroyed) return failed('the uploader was destroyed');
      if (budget.stopped) return failed(stopText(budget, 0));

      let size: number;
      try {
        const st = await budget.race(stat(localPath));
        if (!st.isFile()) return failed(`${localPath} is not a regular file`);
        size = st.size;
      } catch (e) {
        if (e instanceof BudgetStopped) return failed(stopText(budget, 0));
        return failed(`cannot read the local file: ${describeError(e)}`);
      }
      bytes = size;
      if (size > MAX_SINGLE_PUT_BYTES) return failed(`the file is ${size} bytes, more than the 5 GiB a single PutObject takes`);

      let md5: string;
      let client: S3Client;
      let s3: S3Module;
      try {
        md5 = await budget.race(md5Base64(localPath, budget.signal));
        ({ s3, client } = await budget.race(this.getClient()));
      } catch (e) {
        if (e instanceof BudgetStopped) return failed(stopText(budget, 0));
        return failed(describeError(e));
      }

      let last: unknown;
      for (;;) {
        attempts++;
        const body = createReadStream(localPath);
        body.on('error', () => undefined); // surfaced by the SDK's request; never an unhandled 'error' event
        try {
          const command = new s3.PutObjectCommand({ Bucket: this.bucket, Key: fullKey, Body: body, ContentLength: size, ContentType: type, ContentMD5: md5 });
          await budget.race(client.send(command, { abortSignal: budget.signal }));
          return finish();
        } catch (e) {
          body.destroy(); // before any backoff: no open file while waiting
          // The error of an attempt cut by the bound or the caller is just the cut: report the one before, if any.
          if (budget.stopped || e instanceof BudgetStopped) return failed(stopText(budget, attempts, last));
          last = e;
          if (!isTransientS3Error(e)) return failed(`${describeError(e)} (not retried: not a transient error; ${plural(attempts, 'attempt')})`);
          if (attempts >= this.maxAttempts) return failed(`${describeError(e)} (after ${plural(attempts, 'attempt')} in ${budget.elapsedMs()} ms)`);
          const delay = backoffDelay(attempts, this.backoffMs, MAX_BACKOFF_MS);
          if (delay >= budget.remainingMs()) {
            return failed(`${describeError(e)} (after ${plural(attempts, 'attempt')}; no time left for another within the ${budget.timeoutMs} ms bound)`);
          }
          await budget.sleep(delay);
          if (budget.stopped) return failed(stopText(budget, attempts, last));
        } finally {
          body.destroy();
        }
      }
    } catch (e) {
      // Nothing above should throw; if something does, it is still a result, not a rejection.
      return failed(`unexpected error: ${describeError(e)}`);
    } finally {
      budget.dispose();
    }
  }

  private fullKey(key: string): string {
    return this.prefix + key.replace(/^\/+/, '');
  }

  private getClient(): Promise<{ s3: S3Module; client: S3Client }> {
    this.client ??= loadS3().then((s3) => ({
      s3,
      client: new s3.S3Client({
        region: this.region,
        ...(this.endpoint ? { endpoint: this.endpoint } : {}),
        forcePathStyle: this.forcePathStyle,
        ...(this.credentials ? { credentials: this.credentials } : {}),
        // Retries are ours: they share the upload's time bound and its attempt count.
        maxAttempts: 1,
        // We send Content-MD5. The SDK's default (a CRC32 trailer, `aws-chunked` encoding on a streamed
        // body) is refused by S3-compatible stores that do not implement it (gofakes3 answers 411).
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        logger: SDK_LOGGER,
      }),
    }));
    const pending = this.client;
    pending.catch(() => {
      if (this.client === pending) this.client = undefined; // try loading again next time
    });
    return pending;
  }
}

/**
 * The S3 client's logger: silent. With a logger of its own the SDK logs every failed command at `error`
 * (a full error dump), and with its default it prints "An error was encountered in a non-retryable
 * streaming request." to the console on every failed attempt with a streamed body. Our result carries the
 * error, once, redacted; the agent's logs get nothing else from here.
 */
const SDK_LOGGER = { debug: (): void => undefined, info: (): void => undefined, warn: (): void => undefined, error: (): void => undefined };

async function loadS3(): Promise<S3Module> {
  try {
    return await import('@aws-sdk/client-s3');
  } catch (e) {
    throw new Error(`@aws-sdk/client-s3 could not be loaded (install it: it is an optional peer dependency of @voicetrace/recording): ${describeError(e)}`);
  }
}

function md5Base64(path: string, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('md5');
    const stream = createReadStream(path, { signal });
    stream.on('data', (chunk) => hash.update(chunk));
    stream.on('error', reject);
    stream.on('end', () => resolve(hash.digest('base64')));
  });
}

function stopText(budget: Budget, attempts: number, last?: unknown): string {
  const what = budget.stopped === 'timeout' ? `timed out: the ${budget.boundMs} ms bound was reached` : `aborted by the caller after ${budget.elapsedMs()} ms`;
  const during = attempts > 0 ? ` during attempt ${attempts}` : ' before the first request';
  return `${what}${during}${last !== undefined ? `; last error: ${describeError(last)}` : ''}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function nonEmpty(v: string | undefined): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

function parseBool(v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  const s = v.trim().toLowerCase();
  if (s === 'true' || s === '1') return true;
  if (s === 'false' || s === '0') return false;
  return undefined;
}

function isHttpUrl(v: string): boolean {
  try {
    const u = new URL(v);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

function normalizePrefix(prefix: string | undefined): string {
  const p = (prefix ?? '').trim().replace(/^\/+/, '');
  return p === '' || p.endsWith('/') ? p : `${p}/`;
}
