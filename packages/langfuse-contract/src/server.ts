import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';

/** LangFuse's OTel traces endpoint (API reference: `POST /api/public/otel/v1/traces`), from LangFuse's docs, not from the exporter under test. */
const LANGFUSE_OTEL_TRACES_PATH = '/api/public/otel/v1/traces';
import { checkResourceSpans } from './decode.js';
import { TraceLedger, toObservation, type IngestedObservation } from './ingestion.js';
import { decodeExportTraceServiceRequest } from './otlp-proto.js';
import { LANGFUSE_MEDIA_PATH, MEDIA_UPLOAD_PATH, MediaStore } from './media.js';
import { LANGFUSE_SCORES_PATH, validateScoreRequest, type ReceivedScore } from './scores.js';
import type { ContractRequest, LangfuseContractServer, LangfuseContractServerOptions, ReceivedSpan } from './types.js';

const gunzipAsync = promisify(gunzip);

/** Bodies beyond this are refused (413): a test server should not hold unbounded memory. */
const MAX_BODY_BYTES = 64 * 1024 * 1024;

/** A reply, and what to record about it. */
interface Reply {
  status: number;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
  spans?: ReceivedSpan[];
  score?: ReceivedScore;
}

/**
 * Starts a server on 127.0.0.1 (a free port) that enforces LangFuse's contract for its OTel traces
 * endpoint, in LangFuse's order (see the package README for the source of each rule):
 *
 * 1. path `/api/public/otel/v1/traces`, else 404; method `POST`, else 405;
 * 2. `Authorization: Basic base64(publicKey:secretKey)`, else 401;
 * 3. the first `rateLimitFirst` authenticated requests: 429 with `Retry-After`;
 * 4. `Content-Encoding: gzip` is decompressed (400 if it is not gzip);
 * 5. `Content-Type` containing `application/x-protobuf` or `application/json`, else 400;
 * 6. the body decodes as an `ExportTraceServiceRequest` (protobuf or OTLP/JSON), else 400;
 * 7. no `resourceSpans`: 200 `{}`;
 * 8. any span with a malformed trace id (not 16 bytes, or all zero), span id or parent span id (not
 *    8 bytes, or all zero), or a JSON collection that is not an array: the whole batch is rejected, 400;
 * 9. `x-langfuse-ingestion-version` above 4 or not a number: 400;
 * 10. otherwise 200 `{}` and the spans are recorded, and turned into the observations and traces LangFuse
 *     would store (`observations()`, `traces()`, the rules ported in `ingestion.ts`).
 *
 * It also answers `POST /api/public/scores` as LangFuse's public API does (see `scores.ts`): Basic auth, or
 * Bearer with the public key; the body validated against LangFuse's `PostScoresBody`; 200 `{ id }` and the
 * score kept (`scores`), else 400 `{ message, error }`; and LangFuse's media API (see `media.ts`): `POST
 * /api/public/media` (201 `{ uploadUrl, mediaId }`), the `PUT` to that URL (checked as S3 checks it) and
 * `PATCH /api/public/media/{id}`, each media object kept with its links (`media()`).
 *
 * Error answers of the traces endpoint are JSON `{ "error": "..." }`.
 */
export async function startLangfuseContractServer(options: LangfuseContractServerOptions): Promise<LangfuseContractServer> {
  const expectedAuthorization = `Basic ${Buffer.from(`${options.publicKey}:${options.secretKey}`, 'utf8').toString('base64')}`;
  const requests: ContractRequest[] = [];
  const spans: ReceivedSpan[] = [];
  const observations: IngestedObservation[] = [];
  const scores: ReceivedScore[] = [];
  const ledger = new TraceLedger();
  const media = new MediaStore();
  let baseUrl = '';
  const faults: Array<{ status: number; remaining: number; headers: Record<string, string> }> = [];
  let rateLimited = 0;

  const handle = async (req: IncomingMessage): Promise<Reply> => {
    const path = new URL(req.url ?? '/', 'http://contract.invalid').pathname;
    if (path === LANGFUSE_SCORES_PATH) return handleScore(req);
    if (path === LANGFUSE_MEDIA_PATH || path.startsWith(`${LANGFUSE_MEDIA_PATH}/`) || path.startsWith(MEDIA_UPLOAD_PATH)) return handleMedia(req, path);
    if (path !== LANGFUSE_OTEL_TRACES_PATH) return { status: 404, body: { error: `Not found: ${path}` } };
    if (req.method !== 'POST') return { status: 405, body: { error: `Method ${req.method} not allowed` }, headers: { Allow: 'POST' } };

    const fault = faults[0];
    if (fault) {
      if (--fault.remaining <= 0) faults.shift();
      return { status: fault.status, body: { error: `injected failure ${fault.status}` }, headers: fault.headers };
    }
    if (!authorizationMatches(req.headers.authorization, expectedAuthorization)) {
      return { status: 401, body: { error: 'Unauthorized', message: 'Invalid credentials. Confirm that you have used the correct host.' } };
    }
    if (rateLimited < (options.rateLimitFirst ?? 0)) {
      rateLimited++;
      return { status: 429, body: { error: 'Rate limit exceeded' }, headers: { 'Retry-After': String(options.retryAfterSeconds ?? 1) } };
    }

    let body = await readBody(req);
    if (body === undefined) return { status: 413, body: { error: `Body above ${MAX_BODY_BYTES} bytes` } };
    if (String(req.headers['content-encoding'] ?? '').includes('gzip')) {
      try {
        body = await gunzipAsync(body);
      } catch {
        return { status: 400, body: { error: 'Failed to decompress request body' } };
      }
    }
    const contentType = String(req.headers['content-type'] ?? '').toLowerCase();
    const protobuf = contentType.includes('application/x-protobuf');
    if (!protobuf && !contentType.includes('application/json')) return { status: 400, body: { error: 'Invalid content type' } };

    let resourceSpans: unknown;
    try {
      resourceSpans = protobuf ? decodeExportTraceServiceRequest(body).resourceSpans : (JSON.parse(body.toString('utf8')) as { resourceSpans?: unknown }).resourceSpans;
    } catch {
      return { status: 400, body: { error: protobuf ? 'Failed to parse OTel Protobuf Trace' : 'Failed to parse OTel JSON Trace' } };
    }
    if (!resourceSpans || (Array.isArray(resourceSpans) && resourceSpans.length === 0)) return { status: 200, body: {} };

    const check = checkResourceSpans(resourceSpans);
    if (check.invalidSpanCount > 0 || Object.keys(check.reasons).length > 0) {
      const reasons = Object.entries(check.reasons).map(([reason, count]) => `${reason}×${count}`);
      return {
        status: 400,
        body: {
          error:
            `Invalid OTLP trace export: ${check.invalidSpanCount} of ${check.totalSpanCount} span(s) cannot be processed (${reasons.join(', ')}). ` +
            'The entire export was rejected and no spans were ingested.',
        },
      };
    }
    const version = req.headers['x-langfuse-ingestion-version'];
    if (typeof version === 'string' && version !== '') {
      const parsed = Number.parseInt(version, 10);
      if (Number.isNaN(parsed) || parsed > 4) return { status: 400, body: { error: `Unsupported x-langfuse-ingestion-version: "${version}". Maximum supported: "4".` } };
    }
    return { status: 200, body: {}, spans: check.spans };
  };

  const handleScore = async (req: IncomingMessage): Promise<Reply> => {
    if (req.method !== 'POST') return { status: 405, body: { message: `Method ${req.method} not allowed`, error: 'MethodNotAllowedError' }, headers: { Allow: 'POST' } };
    const fault = faults[0];
    if (fault) {
      if (--fault.remaining <= 0) faults.shift();
      return { status: fault.status, body: { message: `injected failure ${fault.status}` }, headers: fault.headers };
    }
    const body = await readBody(req);
    if (body === undefined) return { status: 413, body: { message: `Body above ${MAX_BODY_BYTES} bytes` } };
    const result = validateScoreRequest(req.headers, body, options);
    return result.ok ? { status: 200, body: { id: result.score.id }, score: result.score } : { status: result.status, body: result.body };
  };

  const handleMedia = async (req: IncomingMessage, path: string): Promise<Reply> => {
    const body = await readBody(req);
    if (body === undefined) return { status: 413, body: { message: `Body above ${MAX_BODY_BYTES} bytes` } };
    // the presigned upload carries no LangFuse credentials: the URL is the authorisation
    if (path.startsWith(MEDIA_UPLOAD_PATH)) {
      if (req.method !== 'PUT') return { status: 405, body: { error: 'MethodNotAllowed' } };
      return media.receiveUpload(path.slice(MEDIA_UPLOAD_PATH.length), req.headers, body);
    }
    const fault = faults[0];
    if (fault) {
      if (--fault.remaining <= 0) faults.shift();
      return { status: fault.status, body: { message: `injected failure ${fault.status}` }, headers: fault.headers };
    }
    // the media routes take project access only: Basic auth with both keys (createAuthedProjectAPIRoute)
    if (!authorizationMatches(req.headers.authorization, expectedAuthorization)) return { status: 401, body: { message: 'Invalid credentials' } };
    if (path === LANGFUSE_MEDIA_PATH) return req.method === 'POST' ? media.requestUpload(body, baseUrl) : { status: 405, body: { message: `Method ${req.method} not allowed` }, headers: { Allow: 'POST' } };
    const id = decodeURIComponent(path.slice(LANGFUSE_MEDIA_PATH.length + 1));
    return req.method === 'PATCH' ? media.reportUpload(id, body) : { status: 405, body: { message: `Method ${req.method} not allowed` }, headers: { Allow: 'PATCH' } };
  };

  const server = createServer((req, res) => {
    handle(req)
      .catch((error: unknown): Reply => ({ status: 500, body: { error: `contract server error: ${String(error)}` } }))
      .then((reply) => {
        for (const span of reply.spans ?? []) {
          spans.push(span);
          observations.push(toObservation(span));
          ledger.add(span);
        }
        if (reply.score) scores.push(reply.score);
        requests.push(recordOf(req, reply));
        send(req, res, reply);
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  baseUrl = `http://127.0.0.1:${port}`;

  return {
    baseUrl,
    tracesUrl: `${baseUrl}${LANGFUSE_OTEL_TRACES_PATH}`,
    requests,
    spans,
    scores,
    media: () => [...media.media.values()],
    observations: () => [...observations],
    traces: () => ledger.list(),
    failNext(status, times = Number.POSITIVE_INFINITY, headers = {}) {
      faults.push({ status, remaining: times, headers });
    },
    reset() {
      requests.length = 0;
      spans.length = 0;
      observations.length = 0;
      scores.length = 0;
      media.media.clear();
      ledger.clear();
      faults.length = 0;
      rateLimited = 0;
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** Basic auth compared by decoded user and password, so header spacing or scheme case do not matter. */
function authorizationMatches(header: string | undefined, expected: string): boolean {
  const match = /^\s*basic\s+(\S+)\s*$/i.exec(header ?? '');
  if (!match?.[1]) return false;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  return decoded === Buffer.from(expected.slice('Basic '.length), 'base64').toString('utf8');
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => resolve(size <= MAX_BODY_BYTES ? Buffer.concat(chunks) : undefined));
    req.on('error', reject);
  });
}

function recordOf(req: IncomingMessage, reply: Reply): ContractRequest {
  const header = (name: string): string | undefined => {
    const value = req.headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  };
  const record: ContractRequest = {
    method: req.method ?? '',
    path: new URL(req.url ?? '/', 'http://contract.invalid').pathname,
    status: reply.status,
    headers: {},
    spanCount: reply.spans?.length ?? 0,
  };
  const headers: Array<[keyof ContractRequest['headers'], string]> = [
    ['authorization', 'authorization'],
    ['contentType', 'content-type'],
    ['contentEncoding', 'content-encoding'],
    ['ingestionVersion', 'x-langfuse-ingestion-version'],
    ['userAgent', 'user-agent'],
  ];
  for (const [field, name] of headers) {
    const value = header(name);
    if (value !== undefined) record.headers[field] = value;
  }
  if (typeof reply.body.error === 'string') record.error = reply.body.error;
  else if (reply.status !== 200 && typeof reply.body.message === 'string') record.error = reply.body.message;
  return record;
}

function send(req: IncomingMessage, res: ServerResponse, reply: Reply): void {
  // Unread body bytes (early rejections) are discarded so the connection can be reused.
  req.resume();
  const payload = JSON.stringify(reply.body);
  res.writeHead(reply.status, { ...reply.headers, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) });
  res.end(payload);
}
