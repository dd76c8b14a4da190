import { backoffDelay, Budget, BudgetStopped, positive } from './budget.js';
import { describeError, redact } from './redact.js';
import { isTransientTwirpError } from './transient.js';
import type { AudioEgressOptions, EgressResult } from './types.js';
import { objectUrl } from './url.js';

type LivekitModule = typeof import('livekit-server-sdk');

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_ATTEMPTS = 3;
const DEFAULT_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 4_000;

/**
 * Starts a room-composite, audio-only LiveKit Egress that records `roomName` to an OGG file in S3 (or
 * any S3-compatible store the Egress service can reach): `EgressClient.startRoomCompositeEgress` with an
 * `EncodedFileOutput` of type OGG and an `S3Upload`.
 *
 * Resolves `{ status: 'started', egressId, url }` or `{ status: 'failed', error, attempts }`; never
 * throws. Transport errors and gateway answers (HTTP 429 / 5xx without a Twirp error code) are retried
 * with backoff inside the time bound; an answer of LiveKit itself (a Twirp error: no such room, no
 * permission, or `unavailable` after LiveKit's own retries to find an egress worker) is final. The S3
 * secret goes to LiveKit in the request body, as its API requires; no message contains it, the API
 * secret or the signed token (LiveKit echoes the token in its 401 message: it is scrubbed).
 * `livekit-server-sdk` is loaded on the first call (an optional peer dependency).
 *
 * @example
 * ```ts
 * const egress = await startAudioEgress({
 *   roomName: ctx.room.name, // LIVEKIT_URL / LIVEKIT_API_KEY / LIVEKIT_API_SECRET by default
 *   s3: { bucket: 'calls', region: 'eu-west-1', accessKey, secret },
 * });
 * ```
 */
export async function startAudioEgress(options: AudioEgressOptions): Promise<EgressResult> {
  const env = process.env;
  const opts = options ?? ({} as AudioEgressOptions);
  const url = nonEmpty(opts.url) ?? nonEmpty(env.LIVEKIT_URL);
  const apiKey = nonEmpty(opts.apiKey) ?? nonEmpty(env.LIVEKIT_API_KEY);
  const apiSecret = nonEmpty(opts.apiSecret) ?? nonEmpty(env.LIVEKIT_API_SECRET);
  const secrets = [apiSecret, opts.s3?.secret, opts.s3?.sessionToken, env.LIVEKIT_API_SECRET];
  const budget = new Budget(positive(opts.timeoutMs, DEFAULT_TIMEOUT_MS), [opts.signal]);
  const maxAttempts = Math.max(1, Math.floor(positive(opts.maxAttempts, DEFAULT_MAX_ATTEMPTS)));
  const backoffMs = positive(opts.backoffMs, DEFAULT_BACKOFF_MS);
  const roomName = nonEmpty(opts.roomName);
  let attempts = 0;
  const host = url ? hostOf(url) : '(no url)';
  const failed = (cause: string): EgressResult => ({
    what: 'egress',
    status: 'failed',
    attempts,
    durationMs: budget.elapsedMs(),
    error: redact(`audio egress of room "${roomName ?? ''}" via ${host} failed: ${cause}`, secrets),
  });
  try {
    if (!url) return failed('no LiveKit URL (option `url` or LIVEKIT_URL)');
    if (!/^(wss?|https?):\/\//i.test(url)) return failed('the LiveKit URL must start with ws://, wss://, http:// or https://');
    if (!apiKey || !apiSecret) return failed('no API key and secret (options `apiKey`/`apiSecret` or LIVEKIT_API_KEY/LIVEKIT_API_SECRET)');
    if (!roomName) return failed('no room name');
    if (opts.s3 !== undefined && !nonEmpty(opts.s3.bucket)) return failed('`s3.bucket` is empty');
    if (budget.stopped) return failed(stopText(budget, 0));

    let lk: LivekitModule;
    try {
      lk = await budget.race(loadLivekit());
    } catch (e) {
      if (e instanceof BudgetStopped) return failed(stopText(budget, 0));
      return failed(describeError(e));
    }
    const filepath = nonEmpty(opts.filepath) ?? `${roomName}/egress-${new Date().toISOString().replace(/[:.]/g, '-')}.ogg`;
    const s3 = opts.s3;
    // Path-style by default with a custom endpoint (what S3-compatible stores expect), as the uploader does.
    const forcePathStyle = s3 ? (s3.forcePathStyle ?? nonEmpty(s3.endpoint) !== undefined) : false;
    const file = new lk.EncodedFileOutput({
      fileType: lk.EncodedFileType.OGG,
      filepath,
      ...(s3
        ? {
            output: {
              case: 's3' as const,
              value: new lk.S3Upload({
                bucket: s3.bucket.trim(),
                region: s3.region ?? '',
                endpoint: s3.endpoint ?? '',
                accessKey: s3.accessKey ?? '',
                secret: s3.secret ?? '',
                sessionToken: s3.sessionToken ?? '',
                forcePathStyle,
              }),
            },
          }
        : {}),
    });

    let last: unknown;
    for (;;) {
      attempts++;
      // The SDK's own per-request timeout (whole seconds) ends the request at about the bound; the race ends
      // the wait exactly at it, and an abort.
      const client = new lk.EgressClient(url, apiKey, apiSecret, { requestTimeout: Math.max(1, Math.ceil(budget.remainingMs() / 1000)) });
      try {
        // `{ file }` (EncodedOutputs) puts the file in `fileOutputs` only, not also in the deprecated `file`
        // field, so the S3 secret is sent once.
        const info = await budget.race(client.startRoomCompositeEgress(roomName, { file }, { audioOnly: true }));
        const egressId = info.egressId;
        if (!egressId) return failed('LiveKit answered without an egress id');
        if (info.error) return failed(`LiveKit reported egress ${egressId} failed: ${info.error}`);
        const result: EgressResult = { what: 'egress', status: 'started', egressId, attempts, durationMs: budget.elapsedMs() };
        const where = fileUrl(filepath, s3, forcePathStyle);
        if (where) result.url = where;
        return result;
      } catch (e) {
        // The error of an attempt cut by the bound or the caller is just the cut: report the one before, if any.
        if (budget.stopped || e instanceof BudgetStopped) return failed(stopText(budget, attempts, last));
        last = e;
        if (!isTransientTwirpError(e)) return failed(`${describeTwirp(e)} (${plural(attempts, 'attempt')})`);
        if (attempts >= maxAttempts) return failed(`${describeTwirp(e)} (after ${plural(attempts, 'attempt')} in ${budget.elapsedMs()} ms)`);
        const delay = backoffDelay(attempts, backoffMs, MAX_BACKOFF_MS);
        if (delay >= budget.remainingMs()) {
          return failed(`${describeTwirp(e)} (after ${plural(attempts, 'attempt')}; no time left for another within the ${budget.timeoutMs} ms bound)`);
        }
        await budget.sleep(delay);
        if (budget.stopped) return failed(stopText(budget, attempts, last));
      }
    }
  } catch (e) {
    return failed(`unexpected error: ${describeError(e)}`);
  } finally {
    budget.dispose();
  }
}

async function loadLivekit(): Promise<LivekitModule> {
  try {
    return await import('livekit-server-sdk');
  } catch (e) {
    throw new Error(`livekit-server-sdk could not be loaded (install it: it is an optional peer dependency of @voicetrace/recording): ${describeError(e)}`);
  }
}

function describeTwirp(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const e = err as Error & { status?: unknown; code?: unknown };
  if (typeof e.status === 'number') {
    const code = typeof e.code === 'string' && e.code ? ` ${e.code}` : '';
    return `LiveKit answered HTTP ${e.status}${code}: ${e.message}`;
  }
  return describeError(err);
}

/** The file's URL when the bucket is known; LiveKit fills templates such as `{time}` itself, so those stay as written. */
function fileUrl(filepath: string, s3: AudioEgressOptions['s3'], forcePathStyle: boolean): string | undefined {
  if (!s3?.bucket) return undefined;
  try {
    return objectUrl({ bucket: s3.bucket.trim(), key: filepath.replace(/^\/+/, ''), endpoint: nonEmpty(s3.endpoint), region: s3.region, forcePathStyle });
  } catch {
    return `s3://${s3.bucket.trim()}/${filepath.replace(/^\/+/, '')}`;
  }
}

function stopText(budget: Budget, attempts: number, last?: unknown): string {
  const what = budget.stopped === 'timeout' ? `timed out: the ${budget.boundMs} ms bound was reached` : `aborted by the caller after ${budget.elapsedMs()} ms`;
  const during = attempts > 0 ? ` during attempt ${attempts}` : ' before the first request';
  return `${what}${during}${last !== undefined ? `; last error: ${describeTwirp(last)}` : ''}`;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host || url;
  } catch {
    return '(invalid url)';
  }
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function nonEmpty(v: string | undefined): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}
