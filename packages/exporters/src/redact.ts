/** What replaces a credential in text meant for people (logs, error messages, reports). */
export const REDACTED = '[REDACTED]';

/** Headers whose values are never secret and never need scrubbing. */
const PLAIN_HEADERS = new Set(['content-type', 'content-length', 'content-encoding', 'user-agent', 'accept', 'accept-encoding']);

/**
 * A URL as it may be shown: the user name and password of its userinfo (`http://user:pass@host`)
 * replaced, and its query string's values too (some backends take a key there). Text that is not a
 * URL is returned with any `//user:pass@` part replaced all the same. Never throws.
 */
export function redactUrl(text: string): string {
  try {
    const url = new URL(text);
    if (!url.username && !url.password && !url.search) return text;
    if (url.username) url.username = REDACTED;
    if (url.password) url.password = REDACTED;
    for (const key of [...url.searchParams.keys()]) url.searchParams.set(key, REDACTED);
    return url.href.replaceAll(encodeURIComponent(REDACTED), REDACTED);
  } catch {
    return text.replace(/\/\/[^/@\s]*@/g, `//${REDACTED}@`);
  }
}

/**
 * The secrets a request carries that a server might echo back (in an error body, say): every header
 * value but the plain ones (content type, user agent...), the credential part after an auth scheme
 * (`Bearer <token>`, `Basic <base64>`), and the URL's password and a long user name (also as the Basic
 * credential Node makes of them). Values shorter than 4
 * characters are left out (they would redact ordinary words).
 */
export function requestSecrets(url: string, headers: Readonly<Record<string, string>>): string[] {
  const secrets = new Set<string>();
  const add = (value: string | undefined): void => {
    const v = value?.trim();
    if (v && v.length >= 4) secrets.add(v);
  };
  for (const [name, value] of Object.entries(headers)) {
    if (PLAIN_HEADERS.has(name.toLowerCase())) continue;
    add(value);
    const space = value.trim().indexOf(' ');
    if (space > 0) add(value.trim().slice(space + 1));
  }
  try {
    const parsed = new URL(url);
    // a user name is a credential only when it looks like one (`https://<api key>@host`), not `agent`
    for (const part of [parsed.username, parsed.password]) {
      if (part === parsed.username && safeDecode(part).length < 12) continue;
      add(part);
      add(safeDecode(part));
    }
    // Node sends URL userinfo as `Authorization: Basic base64(user:password)`
    if (parsed.username || parsed.password) add(Buffer.from(`${safeDecode(parsed.username)}:${safeDecode(parsed.password)}`).toString('base64'));
    for (const value of parsed.searchParams.values()) add(value);
  } catch {
    // not a URL: nothing more to collect
  }
  // longest first, so that a value containing another is replaced whole
  return [...secrets].sort((a, b) => b.length - a.length);
}

/** `text` with every occurrence of each secret replaced. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  return out;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
