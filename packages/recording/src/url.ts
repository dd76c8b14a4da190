/** Where an object lives, as {@link objectUrl} needs it. */
export interface ObjectLocation {
  bucket: string;
  key: string;
  /** An S3-compatible endpoint; none means AWS S3. */
  endpoint?: string | undefined;
  region?: string | undefined;
  forcePathStyle?: boolean | undefined;
  /** `http` (default) or `s3` (`s3://bucket/key`). */
  style?: 'http' | 's3' | undefined;
}

/** A key with each path segment percent-encoded, the slashes kept. */
export function encodeKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

/**
 * The URL of an object:
 * - `s3://bucket/key` when `style` is `s3`;
 * - with an endpoint, path-style `endpoint/bucket/key` (virtual-hosted `scheme://bucket.host/key` only when
 *   `forcePathStyle` is explicitly false);
 * - on AWS, virtual-hosted `https://bucket.s3.<region>.amazonaws.com/key`, or path-style
 *   `https://s3.<region>.amazonaws.com/bucket/key` when asked or when the bucket name has a dot (a
 *   virtual-hosted name with a dot fails AWS's TLS certificate).
 * The key's segments are percent-encoded; credentials in the endpoint (`user:pass@`) are dropped.
 */
export function objectUrl(loc: ObjectLocation): string {
  const key = encodeKey(loc.key);
  if (loc.style === 's3') return `s3://${loc.bucket}/${key}`;
  if (loc.endpoint) {
    const u = new URL(loc.endpoint);
    u.username = '';
    u.password = '';
    const base = `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
    if (loc.forcePathStyle === false) return `${u.protocol}//${loc.bucket}.${u.host}${u.pathname.replace(/\/+$/, '')}/${key}`;
    return `${base}/${loc.bucket}/${key}`;
  }
  const region = loc.region || 'us-east-1';
  if (loc.forcePathStyle || loc.bucket.includes('.')) return `https://s3.${region}.amazonaws.com/${loc.bucket}/${key}`;
  return `https://${loc.bucket}.s3.${region}.amazonaws.com/${key}`;
}

/** The endpoint as error messages name it: its origin (no credentials, no path), or AWS's regional host. */
export function endpointLabel(endpoint: string | undefined, region: string): string {
  if (!endpoint) return `https://s3.${region}.amazonaws.com`;
  try {
    return new URL(endpoint).origin;
  } catch {
    return '(invalid endpoint)';
  }
}
