/**
 * The Gemini API's `generateContent` stream as `@livekit/agents-plugin-google` 1.9.0 (`google.LLM`,
 * src/llm.ts) calls it through `@google/genai` 2.32.0 (dist/node/index.mjs, cited `genai:<line>`):
 * - the plugin builds one `GoogleGenAI({apiKey})` per LLM (llm.ts:231-241); the client's base URL is
 *   `https://generativelanguage.googleapis.com/` unless `httpOptions.baseUrl` or, when the client is
 *   constructed, the env var `GOOGLE_GEMINI_BASE_URL` says otherwise (genai:57-70, 13762, 29606-29613);
 *   the API version is `v1beta` (genai:13617, 13760-13761);
 * - `POST {base}/v1beta/models/{model}:streamGenerateContent?alt=sse` (genai:3274-3300, 13941-13955, 16713-16714)
 *   with `x-goog-api-key: <key>` (genai:26918-26948) and an `X-Server-Timeout` header in seconds from the
 *   plugin's 10 s timeout (llm.ts:505-508, genai:14144-14150). Body: `contents` [{role: user|model, parts}],
 *   top-level `systemInstruction`, `tools` [{functionDeclarations}], `toolConfig`, and `generationConfig`
 *   (genai:10639-10770, 11025-11044); a tool's result comes back as a `user` turn with a
 *   `functionResponse {id?, name, response: {output}}` part after the `model` turn's `functionCall` part,
 *   which echoes its `thoughtSignature` (@livekit/agents src/llm/provider_format/google.ts:74-95);
 * - the answer is SSE, events split on `\n\n`, `\r\r` or `\r\n\r\n`, each `data: <GenerateContentResponse>`
 *   (genai:14000-14062): `candidates[0].content.parts[]` with `text` or `functionCall {name, args}`,
 *   `finishReason`, `usageMetadata` (`promptTokenCount`, `candidatesTokenCount`, `cachedContentTokenCount`,
 *   `thoughtsTokenCount`, `totalTokenCount`), `modelVersion`, `responseId` (genai:11069-11110).
 *   The plugin reads only the first candidate's parts and each chunk's usage (the last wins), reporting
 *   completion = `candidatesTokenCount`, prompt = `promptTokenCount`, cached = `cachedContentTokenCount`,
 *   total = `totalTokenCount` (llm.ts:545-599): thought tokens count only in the total. A chunk without
 *   `candidates[0].content.parts` before any content is a retryable error (llm.ts:545-555), so every chunk
 *   here carries parts; the stream must end with a `finishReason`, or the client's continuation logic
 *   treats it as dropped (genai:15564-15596);
 * - `GET {base}/v1beta/models?pageSize=1`: the plugin's prewarm at session start (llm.ts:119-122, genai:3856-3862).
 * Errors are Google's JSON error body `{error: {code, message, status}}` with the HTTP status; the client
 * throws an `ApiError` carrying `.status` (genai:7828-7835, 14296-14325) and does not retry without
 * `httpOptions.retryOptions` (genai:14084-14108). The plugin maps errors on `.code` (llm.ts:613-641), which
 * `ApiError` lacks, so a 5xx surfaces as a retryable `APIConnectionError` (llm.ts:643-648) that the SDK
 * retries (@livekit/agents src/llm/llm.ts:286-311).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { StandInServer, sleep, sleepUntil } from './base.js';

/** What the model answers, matched against the newest user text, or `tool:<name>` after a tool's result. */
export interface GeminiScript {
  when: string;
  text?: string;
  functionCalls?: Array<{ name: string; args: Record<string, unknown> }>;
  /** First content (text or function call) this long after the request arrived (ms). */
  ttftMs: number;
  /** Between text chunks (ms, default 10). */
  interChunkMs?: number;
  /** `promptTokenCount` includes `cachedContentTokenCount`; `totalTokenCount` = prompt + candidates + thoughts. */
  usage: { promptTokens: number; candidatesTokens: number; cachedTokens?: number; thoughtsTokens?: number };
  /** Answer the first `times` attempts with this HTTP status instead (e.g. 503: the SDK retries). */
  fail?: { status: number; times: number } | undefined;
}

export interface GeminiOptions {
  generate: GeminiScript[];
}

export const GEMINI_API_VERSION = 'v1beta';
/** The env var `@google/genai` reads for the Gemini API's base URL when a client is constructed (genai:29606). */
export const GEMINI_BASE_URL_ENV = 'GOOGLE_GEMINI_BASE_URL';

interface GeminiPart {
  text?: string;
  functionCall?: { id?: string; name: string; args?: unknown };
  functionResponse?: { id?: string; name: string; response?: unknown };
  thoughtSignature?: string;
}
interface GeminiRequest {
  contents: Array<{ role?: string; parts?: GeminiPart[] }>;
  systemInstruction?: unknown;
  tools?: Array<{ functionDeclarations?: Array<{ name: string }> }>;
  toolConfig?: unknown;
  generationConfig?: unknown;
}

/** The Gemini stand-in. Its events on endpoint `generate`: `request`, `fault`, `first_chunk`, `response_end`; `list` on `models`. */
export async function startGemini(options: GeminiOptions): Promise<StandInServer> {
  const server = new StandInServer('gemini');
  const failures = new Map<GeminiScript, number>();
  server.route('GET', `/${GEMINI_API_VERSION}/models`, (req, res) => {
    server.log('models', 'list', { url: req.url, apiKey: req.headers['x-goog-api-key'] });
    json(res, 200, { models: [{ name: 'models/gemini-2.5-flash', displayName: 'Gemini 2.5 Flash' }] });
  });
  server.route('POST', `/${GEMINI_API_VERSION}/models/`, async (req, res, body) => {
    const received = Date.now();
    const { model, method } = parsePath(req);
    const request = JSON.parse(body.toString()) as GeminiRequest;
    const key = matchKey(request.contents);
    const script = options.generate.find((s) => (key.startsWith('tool:') ? s.when === key : !s.when.startsWith('tool:') && key.includes(s.when.toLowerCase())));
    server.log('generate', 'request', { at: received, key, model, method, alt: new URL(req.url ?? '/', 'http://x').searchParams.get('alt'), ...describeRequest(req, request), matched: script?.when });
    if (method !== 'streamGenerateContent') return void googleError(res, 404, 'NOT_FOUND', `method ${method} is not served`);
    if (!script) return void googleError(res, 400, 'INVALID_ARGUMENT', `no scripted reply for ${key}`);
    const failed = failures.get(script) ?? 0;
    if (script.fail && failed < script.fail.times) {
      failures.set(script, failed + 1);
      server.log('generate', 'fault', { status: script.fail.status, when: script.when });
      return void googleError(res, script.fail.status, statusName(script.fail.status), 'The model is overloaded. Please try again later. (scripted fault)');
    }
    const responseId = `gemini-${server.events.length}`;
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.flushHeaders();
    await sleepUntil(received + script.ttftMs);
    const send = (parts: GeminiPart[], last: boolean): void => {
      const candidate = { content: { role: 'model', parts }, index: 0, ...(last ? { finishReason: 'STOP' } : {}) };
      // Gemini's chunks each carry the running usage; only the last one has the candidates' count
      res.write(`data: ${JSON.stringify({ candidates: [candidate], usageMetadata: last ? finalUsage(script) : runningUsage(script), modelVersion: model, responseId })}\r\n\r\n`);
    };
    server.log('generate', 'first_chunk', { when: script.when, responseId });
    if (script.functionCalls) {
      send(script.functionCalls.map((call, i) => ({ functionCall: { name: call.name, args: call.args }, thoughtSignature: signature(responseId, i) })), true);
    } else {
      await streamText(script, (text, last) => send([{ text }], last));
    }
    res.end();
    server.log('generate', 'response_end', { when: script.when, responseId, usage: finalUsage(script) });
  });
  return server.listen();
}

/**
 * Builds a value (e.g. `new google.LLM(...)`) with `GOOGLE_GEMINI_BASE_URL` pointing at the stand-in, then
 * restores the env: the client reads it once, in its constructor (genai:29606-29613). Unlike the plugin's
 * `httpOptions` (applied per `generateContent` call only, llm.ts:286-288, 505-517), it also covers the
 * prewarm's `models.list` (llm.ts:119-122), which would otherwise go to generativelanguage.googleapis.com.
 */
export function withGeminiBaseUrl<T>(baseUrl: string, build: () => T): T {
  const previous = process.env[GEMINI_BASE_URL_ENV];
  process.env[GEMINI_BASE_URL_ENV] = baseUrl;
  try {
    return build();
  } finally {
    if (previous === undefined) delete process.env[GEMINI_BASE_URL_ENV];
    else process.env[GEMINI_BASE_URL_ENV] = previous;
  }
}

/** What the stand-in served for one script: the truth to compare the plugin's metrics with. */
export interface GeminiServed {
  when: string;
  /** First attempt's arrival (epoch ms); with a fault, the faulted one. */
  firstRequestAt: number;
  firstChunkAt: number;
  /** First content after the first attempt arrived (ms): what the SDK's ttft should read. */
  ttftMs: number;
  attempts: number;
  usage: Record<string, unknown>;
}

/** Per script that was served, in script order, from the stand-in's event log. */
export function geminiServed(server: StandInServer, scripts: GeminiScript[]): GeminiServed[] {
  return scripts.flatMap((script) => {
    const requests = server.find('request', 'generate').filter((e) => e.matched === script.when);
    const firstChunk = server.find('first_chunk', 'generate').find((e) => e.when === script.when);
    if (!requests[0] || !firstChunk) return [];
    return [{ when: script.when, firstRequestAt: requests[0].at, firstChunkAt: firstChunk.at, ttftMs: firstChunk.at - requests[0].at, attempts: requests.length, usage: finalUsage(script) }];
  });
}

/** The scripted text in word chunks, `interChunkMs` apart; the last one ends the candidate. */
async function streamText(script: GeminiScript, send: (text: string, last: boolean) => void): Promise<void> {
  const words = (script.text ?? '').split(/(?<= )/);
  for (const [i, word] of words.entries()) {
    if (i > 0) await sleep(script.interChunkMs ?? 10);
    send(word, i === words.length - 1);
  }
}

/** What Gemini reports mid-stream: the prompt is known, the candidates are not counted yet. */
function runningUsage(script: GeminiScript): object {
  const { promptTokens } = script.usage;
  return { promptTokenCount: promptTokens, totalTokenCount: promptTokens, promptTokensDetails: [{ modality: 'TEXT', tokenCount: promptTokens }] };
}

/** The stream's final `usageMetadata`: the truth the plugin's llm_metrics should carry. */
export function finalUsage(script: GeminiScript): Record<string, unknown> {
  const { promptTokens, candidatesTokens, cachedTokens = 0, thoughtsTokens = 0 } = script.usage;
  return {
    promptTokenCount: promptTokens,
    candidatesTokenCount: candidatesTokens,
    totalTokenCount: promptTokens + candidatesTokens + thoughtsTokens,
    promptTokensDetails: [{ modality: 'TEXT', tokenCount: promptTokens }],
    candidatesTokensDetails: [{ modality: 'TEXT', tokenCount: candidatesTokens }],
    ...(cachedTokens > 0 ? { cachedContentTokenCount: cachedTokens, cacheTokensDetails: [{ modality: 'TEXT', tokenCount: cachedTokens }] } : {}),
    ...(thoughtsTokens > 0 ? { thoughtsTokenCount: thoughtsTokens } : {}),
  };
}

/** `/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse` -> model and method. */
function parsePath(req: IncomingMessage): { model: string; method: string } {
  const path = new URL(req.url ?? '/', 'http://x').pathname.slice(`/${GEMINI_API_VERSION}/models/`.length);
  const colon = path.lastIndexOf(':');
  return { model: decodeURIComponent(path.slice(0, colon)), method: path.slice(colon + 1) };
}

/** The request facts worth keeping in the event log. */
function describeRequest(req: IncomingMessage, request: GeminiRequest): Record<string, unknown> {
  const modelTurns = request.contents.filter((c) => c.role === 'model').flatMap((c) => c.parts ?? []);
  return {
    apiKey: req.headers['x-goog-api-key'],
    serverTimeout: req.headers['x-server-timeout'],
    roles: request.contents.map((c) => c.role),
    hasSystemInstruction: request.systemInstruction !== undefined,
    tools: request.tools?.flatMap((t) => t.functionDeclarations?.map((d) => d.name) ?? []) ?? [],
    toolConfig: request.toolConfig,
    // the plugin must echo a function call's thought signature on its next request
    echoedSignatures: modelTurns.filter((p) => p.functionCall && p.thoughtSignature).map((p) => p.thoughtSignature),
  };
}

/** The newest user text, or `tool:<name>` when the conversation ends with a function's response. */
function matchKey(contents: GeminiRequest['contents']): string {
  const last = contents[contents.length - 1];
  const response = last?.parts?.find((p) => p.functionResponse)?.functionResponse;
  if (last?.role === 'user' && response) return `tool:${response.name}`;
  const user = [...contents].reverse().find((c) => c.role === 'user' && c.parts?.some((p) => p.text && p.text !== '.'));
  return (user?.parts ?? []).map((p) => p.text ?? '').join(' ').toLowerCase();
}

/** An opaque per-call signature, as Gemini 2.5+ attaches to function-call parts. */
function signature(responseId: string, index: number): string {
  return Buffer.from(`sig:${responseId}:${index}`).toString('base64');
}

function statusName(status: number): string {
  return ({ 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED' } as Record<number, string>)[status] ?? 'UNKNOWN';
}

function googleError(res: ServerResponse, code: number, status: string, message: string): void {
  json(res, code, { error: { code, message, status } });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
