/** Which failures are worth another attempt. */

const TRANSIENT_NAMES = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestThrottled',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
  'InternalError',
  'ServiceUnavailable',
  'PriorRequestNotComplete',
]);
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTUNREACH',
  'EPROTO',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/**
 * Worth another attempt: a network error, HTTP 5xx / 408 / 429, or a throttling or timeout code S3 sends
 * with a 4xx (`SlowDown`, `RequestTimeout`...). Everything else (access denied, no such bucket, bad
 * digest, a wrong signature) will fail the same way again.
 */
export function isTransientS3Error(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const e = err as Error & { $metadata?: { httpStatusCode?: number }; $retryable?: unknown; code?: unknown; errno?: unknown; cause?: { code?: unknown } };
  if (TRANSIENT_NAMES.has(e.name)) return true;
  const status = e.$metadata?.httpStatusCode;
  if (typeof status === 'number' && status > 0) return status >= 500 || status === 408 || status === 429;
  if (e.$retryable) return true;
  return isNetworkError(e);
}

/** A request that did not get through for a reason that may pass: refused, reset, timed out, DNS try-again. */
function isNetworkError(e: Error & { code?: unknown; cause?: unknown }): boolean {
  const cause = e.cause as { code?: unknown } | undefined;
  const code = typeof e.code === 'string' ? e.code : typeof cause?.code === 'string' ? cause.code : undefined;
  if (code !== undefined) return TRANSIENT_CODES.has(code);
  return /socket hang up|ECONNRESET|ECONNREFUSED|ETIMEDOUT/.test(e.message);
}

/**
 * Worth another request: the request did not reach LiveKit (connection refused or reset, DNS, a fetch
 * that failed), or a proxy in front of it answered 429 / 5xx without a Twirp error code. A Twirp error is
 * LiveKit's own verdict (for `unavailable`, after it already retried finding an egress worker).
 */
export function isTransientTwirpError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const e = err as Error & { status?: unknown; code?: unknown; cause?: { code?: unknown } };
  if (typeof e.status === 'number') {
    if (typeof e.code === 'string' && e.code !== '') return false;
    return e.status === 429 || e.status >= 500;
  }
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return false; // the SDK's timeout is our bound
  return isNetworkError(e);
}

