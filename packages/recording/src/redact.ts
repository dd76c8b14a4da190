/**
 * Scrubbing credentials out of messages. Servers echo more than one would think: livekit-server's
 * 401 repeats the whole bearer JWT ("invalid token: eyJ..., error: ..."), and S3 errors can carry
 * presigned query strings. Every message this package returns goes through {@link redact}.
 */

const JWT = /\beyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]{4,}/g;
const AMZ_QUERY = /(X-Amz-(?:Credential|Signature|Security-Token)=)[^&\s"']+/gi;
const AUTH_HEADER = /(\b(?:Bearer|Basic|AWS4-HMAC-SHA256)\s+)[\w+/=.:,-]{8,}/g;
const URL_USERINFO = /(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s@:]+(?::[^/\s@]*)?@/gi;

/** `text` with every listed secret (4 characters or longer), bearer JWT, SigV4 query credential and URL password replaced. */
export function redact(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text;
  for (const s of secrets) {
    if (s && s.length >= 4) out = out.split(s).join('[redacted]');
  }
  return out
    .replace(JWT, '[redacted token]')
    .replace(AMZ_QUERY, '$1[redacted]')
    .replace(AUTH_HEADER, '$1[redacted]')
    .replace(URL_USERINFO, '$1[redacted]@');
}

/** One line describing an error: name, HTTP status, code and message, plus its cause's code (e.g. ECONNREFUSED). */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const e = err as Error & { code?: unknown; status?: unknown; $metadata?: { httpStatusCode?: number }; Code?: unknown; cause?: unknown };
  const parts: string[] = [];
  const status = e.$metadata?.httpStatusCode ?? (typeof e.status === 'number' ? e.status : undefined);
  if (status !== undefined) parts.push(`HTTP ${status}`);
  const code = typeof e.code === 'string' ? e.code : typeof e.Code === 'string' ? e.Code : undefined;
  const head = e.name && e.name !== 'Error' ? e.name : undefined;
  const message = e.message && e.message !== head ? e.message : undefined;
  if (head) parts.push(head);
  if (code && code !== head && !(message ?? '').includes(code)) parts.push(`(${code})`);
  let text = parts.join(' ');
  if (message) text = text ? `${text}: ${message}` : message;
  const cause = e.cause instanceof Error ? e.cause : undefined;
  if (cause) {
    const c = cause as Error & { code?: unknown };
    const causeText = `${typeof c.code === 'string' ? c.code : c.name}: ${c.message}`;
    if (!text.includes(c.message)) text += ` (cause: ${causeText})`;
  }
  return text || 'unknown error';
}
