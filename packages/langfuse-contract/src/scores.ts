/**
 * LangFuse's public score endpoint, `POST /api/public/scores`, as the contract server enforces it.
 *
 * Ported from langfuse/langfuse at commit 62751446149b702b419a9292ddfc2280cdf74b8c (2026-08-22):
 * - `web/src/pages/api/public/scores/index.ts` (the route: POST with `PostScoresBodyV1`, access levels
 *   `project` and `scores`, 200 `{ id }` with a generated id when none is given);
 * - `web/src/features/public-api/server/createAuthedProjectAPIRoute.ts` and `apiAuth.ts` (auth before the
 *   body: `Basic base64(publicKey:secretKey)` gives project access, `Bearer <publicKey>` the `scores`
 *   access this route also takes; otherwise 401 `{ message }`);
 * - `withMiddlewares.ts` (405 for other methods; a zod failure is 400 `{ message: "Invalid request data", error: issues }`);
 * - `packages/shared/src/features/scores/interfaces/api/shared.ts:78-121` (`PostScoresBody`),
 *   `.../interfaces/shared.ts:10-21` (`PostScoreBodyFoundationSchema`), `packages/shared/src/utils/scores.ts`
 *   (`applyScoreValidation`: exactly one of traceId (with optional observationId), sessionId, datasetRunId),
 *   `packages/shared/src/domain/scores.ts` (sources, the annotation rule, TEXT up to 500 characters);
 * - `packages/shared/src/server/ingestion/types.ts:228-246` (the environment normalisation the score then
 *   goes through) and `validateAndInflateScore.ts:83-87` (a missing dataType is NUMERIC for a number,
 *   CATEGORICAL for a string).
 * Not modelled: GET/DELETE, score configs (`configId` is accepted but not checked against a config),
 * rate limits and suspended ingestion (403); use `failNext` for those.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { ReceivedValue } from './types.js';

/** LangFuse's public score path. */
export const LANGFUSE_SCORES_PATH = '/api/public/scores';

/** LangFuse's score data types. */
export type ScoreDataType = 'NUMERIC' | 'CATEGORICAL' | 'BOOLEAN' | 'CORRECTION' | 'TEXT';

/** One score the contract server accepted, as LangFuse would store it. */
export interface ReceivedScore {
  id: string;
  name: string;
  value: number | string;
  /** As sent, or inferred as LangFuse does when absent. */
  dataType: ScoreDataType;
  /** Whether the request named the data type itself. */
  dataTypeSent: boolean;
  traceId?: string;
  observationId?: string;
  sessionId?: string;
  datasetRunId?: string;
  comment?: string;
  metadata?: ReceivedValue;
  configId?: string;
  queueId?: string;
  /** Normalised as LangFuse does (lower case, no `langfuse` prefix, 40 characters, else `default`). */
  environment: string;
  source: 'API' | 'ANNOTATION';
  /** How the request authenticated: `basic` (public + secret key) or `bearer` (public key only). */
  auth: 'basic' | 'bearer';
}

/** One zod-like issue of a rejected score. */
export interface ScoreIssue {
  path: string[];
  message: string;
}

export type ScoreValidation =
  | { ok: true; score: ReceivedScore }
  | { ok: false; status: number; body: { message: string; error?: ScoreIssue[] | string } };

const DATA_TYPES: readonly string[] = ['NUMERIC', 'CATEGORICAL', 'BOOLEAN', 'CORRECTION', 'TEXT'];
const NULLISH_STRINGS = ['id', 'traceId', 'sessionId', 'datasetRunId', 'observationId', 'comment', 'queueId', 'configId'] as const;

/** Checks the auth header and the JSON body of a `POST /api/public/scores` in LangFuse's order. */
export function validateScoreRequest(headers: IncomingHttpHeaders, body: Buffer, keys: { publicKey: string; secretKey: string }): ScoreValidation {
  const auth = authenticate(headers.authorization, keys);
  if (typeof auth !== 'string') return { ok: false, status: 401, body: { message: auth.error } };

  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return { ok: false, status: 400, body: { message: 'Invalid JSON' } };
  }
  const issues: ScoreIssue[] = [];
  const issue = (path: string, message: string): void => void issues.push({ path: [path], message });
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { ok: false, status: 400, body: { message: 'Invalid request data', error: [{ path: [], message: 'Invalid input: expected object' }] } };
  }
  const b = parsed as Record<string, unknown>;

  if (typeof b.name !== 'string') issue('name', 'Invalid input: expected string');
  else if (b.name.length < 1) issue('name', 'Too small: expected string to have >=1 characters');
  for (const key of NULLISH_STRINGS) if (b[key] !== undefined && b[key] !== null && typeof b[key] !== 'string') issue(key, 'Invalid input: expected string');
  if (b.environment !== undefined && typeof b.environment !== 'string') issue('environment', 'Invalid input: expected string');
  if (b.source !== undefined && b.source !== 'API' && b.source !== 'ANNOTATION') issue('source', 'Invalid option: expected one of "API"|"ANNOTATION"');

  // the discriminated union on dataType
  const dataType = b.dataType;
  const value = b.value;
  if (dataType !== undefined && (typeof dataType !== 'string' || !DATA_TYPES.includes(dataType))) {
    issue('dataType', 'Invalid input');
  } else if (dataType === 'NUMERIC' && !isFiniteNumber(value)) {
    issue('value', 'Invalid input: expected number');
  } else if (dataType === 'BOOLEAN' && !(isFiniteNumber(value) && (value === 0 || value === 1))) {
    issue('value', isFiniteNumber(value) ? 'Value must be a number equal to either 0 or 1 for data type BOOLEAN' : 'Invalid input: expected number');
  } else if ((dataType === 'CATEGORICAL' || dataType === 'CORRECTION') && typeof value !== 'string') {
    issue('value', 'Invalid input: expected string');
  } else if (dataType === 'TEXT' && !(typeof value === 'string' && value.length >= 1 && value.length <= 500)) {
    issue('value', typeof value === 'string' ? 'Text score values must be between 1 and 500 characters' : 'Invalid input: expected string');
  } else if (dataType === undefined && typeof value !== 'string' && !isFiniteNumber(value)) {
    issue('value', 'Invalid input: expected string or number');
  }
  if (dataType === 'CORRECTION' && b.configId !== undefined && b.configId !== null) issue('configId', 'Invalid input: expected undefined');

  // applyScoreValidation: exactly one target
  const has = (key: string): boolean => Boolean(b[key]);
  const oneTarget =
    (has('traceId') && !has('sessionId') && !has('datasetRunId')) ||
    (has('sessionId') && !has('traceId') && !has('datasetRunId') && !has('observationId')) ||
    (has('datasetRunId') && !has('traceId') && !has('sessionId') && !has('observationId'));
  if (!oneTarget) {
    issues.push({
      path: ['traceId', 'sessionId', 'datasetRunId', 'observationId'],
      message: 'Provide exactly one of the following: traceId (with optional observationId), sessionId or datasetRunId. ObservationId requires traceId.',
    });
  }
  const source = b.source === 'ANNOTATION' ? 'ANNOTATION' : 'API';
  if (source === 'ANNOTATION' && !b.configId && dataType !== 'CORRECTION') {
    issue('configId', 'configId is required when source is ANNOTATION (except for CORRECTION scores).');
  }
  if (issues.length > 0) return { ok: false, status: 400, body: { message: 'Invalid request data', error: issues } };

  const score: ReceivedScore = {
    id: typeof b.id === 'string' && b.id ? b.id : randomUUID(),
    name: b.name as string,
    value: value as number | string,
    dataType: (dataType as ScoreDataType | undefined) ?? (typeof value === 'number' ? 'NUMERIC' : 'CATEGORICAL'),
    dataTypeSent: dataType !== undefined,
    environment: normalizeEnvironment(typeof b.environment === 'string' ? b.environment : 'default'),
    source,
    auth,
  };
  for (const key of ['traceId', 'observationId', 'sessionId', 'datasetRunId', 'comment', 'configId', 'queueId'] as const) {
    const v = b[key];
    if (typeof v === 'string') score[key] = v;
  }
  if (b.metadata !== undefined && b.metadata !== null) score.metadata = b.metadata as ReceivedValue;
  return { ok: true, score };
}

/**
 * ApiAuthService.verifyAuthHeaderAndReturnScope (web/src/features/public-api/server/apiAuth.ts:77-290):
 * `Basic ` + base64(pk:sk) (the scheme is case-sensitive) or `Bearer <publicKey>`.
 */
function authenticate(header: string | undefined, keys: { publicKey: string; secretKey: string }): 'basic' | 'bearer' | { error: string } {
  if (!header) return { error: 'No authorization header' };
  if (header.startsWith('Basic ')) {
    const [user, password] = Buffer.from(header.split(' ')[1] ?? '', 'base64').toString('utf8').split(':');
    if (!user || !password) return { error: "Invalid authorization header. Confirm that you've configured the correct host." };
    if (user === keys.publicKey && password === keys.secretKey) return 'basic';
    return { error: "Invalid credentials. Confirm that you've configured the correct host." };
  }
  if (header.startsWith('Bearer ')) {
    if (header.slice('Bearer '.length) === keys.publicKey) return 'bearer';
    return { error: "Invalid public key. Confirm that you've configured the correct host." };
  }
  return { error: 'Invalid authorization header' };
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** PublicEnvironmentName (packages/shared/src/server/ingestion/types.ts:228-246). */
function normalizeEnvironment(value: string): string {
  const stripped = value.toLowerCase().replace(/^(?:langfuse[-_]?)+/, '').slice(0, 40);
  return stripped && /^[a-z0-9-_]+$/.test(stripped) ? stripped : 'default';
}
