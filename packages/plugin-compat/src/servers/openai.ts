/**
 * OpenAI's REST API as `@livekit/agents-plugin-openai` 1.9.0 and the SDK's own chat-completions
 * client call it, through the `openai` npm client:
 * - `POST /v1/chat/completions` with `stream: true, stream_options: { include_usage: true }`, tools as
 *   `{type:'function', function:{name, description, parameters}}` (@livekit/agents src/inference/llm.ts:
 *   495-508, used by the OpenAI plugin's LLM, plugin src/llm.ts:547-557). The stream is SSE of
 *   `chat.completion.chunk`s: content deltas, tool calls streamed as a first delta with `id` and
 *   `function.name` then argument fragments, a `finish_reason` chunk, and a last chunk with empty
 *   `choices` and `usage` (`prompt_tokens`, `completion_tokens`, `prompt_tokens_details.cached_tokens`)
 *   (inference/llm.ts:519-545, 580-640);
 * - `POST /v1/audio/speech` `{input, model, voice, response_format:'pcm', speed}`, answered with 24 kHz
 *   16-bit mono PCM that the plugin reads whole (plugin src/tts.ts:82-96, 136-160);
 * - `POST /v1/audio/transcriptions`, multipart with `file` (WAV), `model`, `response_format: json`, answered
 *   `{text}` (plugin src/stt.ts:489-512).
 * Errors are OpenAI's JSON error body with the HTTP status; the client turns them into `APIError`s the SDK
 * retries (inference/llm.ts:548-566).
 */
import type { ServerResponse } from 'node:http';
import { StandInServer, sleep, tonePcm } from './base.js';

/** What the model answers, matched against the newest user message, or `tool:<name>` after a tool's output. */
export interface ChatScript {
  when: string;
  text?: string;
  toolCalls?: Array<{ name: string; arguments: Record<string, unknown> }>;
  /** First content (or tool call) this long after the request arrived (ms). */
  ttftMs: number;
  /** Between content chunks (ms, default 10). */
  interChunkMs?: number;
  usage: { promptTokens: number; completionTokens: number; cachedTokens?: number };
  /** Answer the first `times` attempts with this HTTP status instead (e.g. 503: the SDK retries). */
  fail?: { status: number; times: number } | undefined;
}

export interface SpeechScript {
  /** First (and only) byte of audio this long after the request (ms); per request (its text and 0-based index) when a function. */
  ttfbMs: number | ((input: string, index: number) => number);
  /** Seconds of audio per character of input (default 0.06, about 150 words a minute). */
  secondsPerCharacter?: number;
}

export interface TranscriptionScript {
  text: string;
  /** Answer this long after the request arrived (ms). */
  delayMs: number;
  /** Answer with this HTTP status and OpenAI's error body instead (a failed transcription). */
  fail?: { status: number } | undefined;
}

export interface OpenAiOptions {
  chat?: ChatScript[];
  speech?: SpeechScript;
  transcriptions?: TranscriptionScript[];
}

export const OPENAI_TTS_SAMPLE_RATE = 24_000;

/** The OpenAI stand-in. Its events: `request`, `first_chunk`, `response_end`, `fault` per endpoint. */
export async function startOpenAi(options: OpenAiOptions): Promise<StandInServer> {
  const server = new StandInServer('openai');
  const failures = new Map<ChatScript, number>();
  let transcriptions = 0;
  let speechRequests = 0;
  server.route('POST', '/v1/chat/completions', async (_req, res, body) => {
    const request = JSON.parse(body.toString()) as { model: string; messages: Array<{ role: string; content?: unknown; name?: string; tool_call_id?: string }>; tools?: unknown[] };
    const received = Date.now();
    const key = matchKey(request.messages);
    const script = (options.chat ?? []).find((s) => (key.startsWith('tool:') ? s.when === key : !s.when.startsWith('tool:') && key.includes(s.when.toLowerCase())));
    server.log('chat', 'request', { at: received, key, model: request.model, messages: request.messages.map((m) => m.role), tools: request.tools?.length ?? 0, toolChoice: (request as { tool_choice?: unknown }).tool_choice, matched: script?.when });
    if (!script) return void json(res, 400, { error: { message: `no scripted reply for ${key}`, type: 'invalid_request_error' } });
    const failed = failures.get(script) ?? 0;
    if (script.fail && failed < script.fail.times) {
      failures.set(script, failed + 1);
      server.log('chat', 'fault', { status: script.fail.status, when: script.when });
      return void json(res, script.fail.status, { error: { message: 'The server is overloaded (scripted fault)', type: 'server_error' } });
    }
    const id = `chatcmpl-${server.events.length}`;
    const created = Math.floor(received / 1000);
    const chunk = (choices: unknown[], extra: object = {}) =>
      res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: request.model, choices, ...extra })}\n\n`);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'x-request-id': id });
    chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]);
    await sleep(received + script.ttftMs - Date.now());
    server.log('chat', 'first_chunk', { when: script.when, id });
    if (script.toolCalls) {
      for (const [index, call] of script.toolCalls.entries()) {
        const args = JSON.stringify(call.arguments);
        chunk([{ index: 0, delta: { tool_calls: [{ index, id: `call_${id}_${index}`, type: 'function', function: { name: call.name, arguments: '' } }] }, finish_reason: null }]);
        for (const part of [args.slice(0, Math.ceil(args.length / 2)), args.slice(Math.ceil(args.length / 2))]) {
          chunk([{ index: 0, delta: { tool_calls: [{ index, function: { arguments: part } }] }, finish_reason: null }]);
        }
      }
      chunk([{ index: 0, delta: {}, finish_reason: 'tool_calls' }]);
    } else {
      const words = (script.text ?? '').split(/(?<= )/);
      for (const [i, word] of words.entries()) {
        if (i > 0) await sleep(script.interChunkMs ?? 10);
        chunk([{ index: 0, delta: { content: word }, finish_reason: null }]);
      }
      chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]);
    }
    const usage = script.usage;
    chunk([], {
      usage: {
        prompt_tokens: usage.promptTokens,
        completion_tokens: usage.completionTokens,
        total_tokens: usage.promptTokens + usage.completionTokens,
        prompt_tokens_details: { cached_tokens: usage.cachedTokens ?? 0 },
      },
    });
    res.end('data: [DONE]\n\n');
    server.log('chat', 'response_end', { when: script.when, id });
  });
  server.route('POST', '/v1/audio/speech', async (_req, res, body) => {
    const request = JSON.parse(body.toString()) as { input: string; model: string; voice: string; response_format: string };
    const received = Date.now();
    const script = options.speech ?? { ttfbMs: 150 };
    const seconds = request.input.length * (script.secondsPerCharacter ?? 0.06);
    const index = speechRequests++;
    const ttfbMs = typeof script.ttfbMs === 'function' ? script.ttfbMs(request.input, index) : script.ttfbMs;
    server.log('speech', 'request', { at: received, index, input: request.input, characters: request.input.length, model: request.model, seconds, ttfbMs });
    await sleep(received + ttfbMs - Date.now());
    res.writeHead(200, { 'content-type': 'audio/pcm' });
    server.log('speech', 'first_chunk', { input: request.input });
    res.end(tonePcm(seconds, OPENAI_TTS_SAMPLE_RATE));
  });
  server.route('POST', '/v1/audio/transcriptions', async (_req, res, body) => {
    const received = Date.now();
    const script = options.transcriptions?.[transcriptions++];
    const audioSeconds = wavSeconds(body);
    server.log('transcriptions', 'request', { at: received, index: transcriptions - 1, audioSeconds });
    if (!script) return void json(res, 400, { error: { message: 'no scripted transcription' } });
    await sleep(received + script.delayMs - Date.now());
    if (script.fail) {
      server.log('transcriptions', 'fault', { index: transcriptions - 1, status: script.fail.status });
      return void json(res, script.fail.status, { error: { message: 'The server had an error while processing your request (scripted fault)', type: 'server_error' } });
    }
    json(res, 200, { text: script.text });
    server.log('transcriptions', 'final_transcript', { index: transcriptions - 1, text: script.text });
  });
  return server.listen();
}

/** The newest user message's text, or `tool:<name>` when the conversation ends with a tool's output. */
function matchKey(messages: Array<{ role: string; content?: unknown; tool_call_id?: string }>): string {
  const last = messages[messages.length - 1];
  if (last?.role === 'tool') {
    // the assistant message before names the function
    const call = [...messages].reverse().find((m) => m.role === 'assistant') as { tool_calls?: Array<{ id: string; function: { name: string } }> } | undefined;
    const name = call?.tool_calls?.find((c) => c.id === last.tool_call_id)?.function.name;
    return `tool:${name ?? 'unknown'}`;
  }
  const user = [...messages].reverse().find((m) => m.role === 'user');
  const content = user?.content;
  const text = typeof content === 'string' ? content : Array.isArray(content) ? content.map((p: { text?: string }) => p.text ?? '').join(' ') : '';
  return text.toLowerCase();
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** Seconds of PCM in the multipart body's WAV file (its `data` chunk's size over the byte rate). */
function wavSeconds(body: Buffer): number | undefined {
  const riff = body.indexOf('RIFF');
  if (riff < 0) return undefined;
  const byteRate = body.readUInt32LE(riff + 28);
  const data = body.indexOf('data', riff + 36);
  return data < 0 || !byteRate ? undefined : body.readUInt32LE(data + 4) / byteRate;
}

/**
 * A `fetch` for the `openai` client that sends `https://api.openai.com/...` to the stand-in: the
 * plugins name their provider after the client's base URL host, so keeping OpenAI's URL keeps the
 * provider name users see (`api.openai.com`).
 */
export function redirectFetch(target: string, from = 'https://api.openai.com'): typeof fetch {
  return (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    return fetch(url.startsWith(from) ? target + url.slice(from.length) : url, init);
  };
}
