/**
 * The LiveKit Inference gateway (`agent-gateway.livekit.cloud/v1`) as the SDK's own clients in
 * `@livekit/agents` 1.9.0 speak it (paths below are under that package's src/):
 *
 * Common
 * - Base URL: `LIVEKIT_INFERENCE_URL`, else the production gateway (inference/utils.ts:32-44); the key
 *   and secret: option, else `LIVEKIT_INFERENCE_API_KEY`/`_SECRET`, else `LIVEKIT_API_KEY`/`_SECRET`
 *   (inference/stt.ts:506-516, tts.ts:311-321, llm.ts:226-236).
 * - Auth: `Authorization: Bearer <jwt>`, a fresh livekit-server-sdk `AccessToken(key, secret,
 *   {identity:'agent', ttl:600})` with `inference: {perform: true}` (utils.ts:46-55): HS256, `iss` = key,
 *   `sub` = 'agent', `nbf`, `exp` (livekit-server-sdk dist/AccessToken.js:119-129). A new token per STT/TTS
 *   socket (stt.ts:724, tts.ts:471) and per LLM request (llm.ts:473-478).
 * - WebSockets open with the SDK's metadata headers (User-Agent `livekit-agents-js/<v>`) (utils.ts:63-102);
 *   an HTTP status on the upgrade becomes `APIStatusError(statusCode)` (utils.ts:117-127).
 *
 * STT: `ws <base>/stt?model=<model>` (stt.ts:719-726)
 * - first message `{type:'session.create', settings:{sample_rate:'16000', encoding:'pcm_s16le', extra, language?},
 *   model, connection:{timeout, retries}}` (stt.ts:680-730);
 * - then `{type:'input_audio', audio:<base64 pcm_s16le>}` in 50 ms chunks, every frame the session hands it
 *   (no client-side VAD gating for deepgram/*: stt.ts:404-416, 938-978); `session.finalize` when input ends
 *   (stt.ts:980-983) and `session.close` on cleanup (stt.ts:831-860);
 * - reads `session.created`, `session.finalized`, `session.closed`, `start_of_speech`, `interim_transcript`,
 *   `final_transcript` (`transcript, language, start, duration, confidence, words[], session_id`) and
 *   `error` (`message, code`) (api_protos.ts:140-247, stt.ts:1048-1095). `session_id` becomes the request id
 *   (stt.ts:1179).
 * - Usage is NOT reported by the gateway: the client counts the seconds of audio it sent and reports them as
 *   RECOGNITION_USAGE just before each final transcript, then resets (stt.ts:973, 1220-1228).
 * - A gateway `error` is an `APIStatusError(code)`, retried unless 4xx (but 408/429/499) or code 2007
 *   (stt.ts:1075-1094, _exceptions.ts:92-100); a socket closed before input ended is retryable (stt.ts:919-933).
 *
 * TTS: `ws <base>/tts?model=<model>` (tts.ts:465-506), pooled and reused across replies (tts.ts:364-370)
 * - first message `{type:'session.create', sample_rate:'16000', encoding:'pcm_s16le', extra, model, voice?,
 *   language:'en', connection}` (tts.ts:475-505), once per socket;
 * - per reply: `{type:'input_transcript', transcript:<sentence + ' '>, generation_config, extra}` per sentence,
 *   then `{type:'session.flush'}` (tts.ts:645-680);
 * - reads `session.created`, `output_audio` (`audio` base64 pcm, `session_id`), `output_alignment`, `done`,
 *   `session.closed`, `error` (api_protos.ts:38-118, tts.ts:795-859). `done` ends the reply (tts.ts:829-844).
 *   No `session.close` is sent: the pool just closes the socket (tts.ts:509-511).
 * - TTFB is measured from just before the first `input_transcript` to the first frame out (tts.ts:663,
 *   tts/tts.ts:488-493, 615-617); frames are 100 ms and one is held back until the next arrives
 *   (tts.ts:613-626, 799-805), so the first `output_audio` carries at least two frames.
 * - A gateway `error` is a plain `APIError` (retryable) (tts.ts:849-858); an unexpected close is a retryable
 *   `APIStatusError` (tts.ts:715-729).
 *
 * LLM: OpenAI chat completions at `<base>/chat/completions` (llm.ts:249-255, 498-514), model `openai/gpt-4o-mini`
 * as given, `stream_options.include_usage` (llm.ts:504); usage read from the last chunk incl. cached tokens
 * (llm.ts:539-549). The session prewarms with `GET <base>/models` (agent_session.ts:742-745, llm.ts:270-273).
 * Served by forwarding to the OpenAI stand-in (./openai.ts) once the token checks out.
 *
 * The gateway's own error for a bad token is not in the SDK source: we answer HTTP 401 with an OpenAI-style
 * error body on the LLM route, and an `{type:'error', code:401}` event on the sockets (the event shape the SDK's
 * tests use for gateway errors: inference/stt.test.ts:1044-1055).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { WebSocket } from 'ws';
import type { SpeakingCaller, SpokenUtterance } from '../caller.js';
import { StandInServer, sleep, sleepUntil, tonePcm } from './base.js';
import type { TranscriptScript } from './deepgram.js';
import { startOpenAi, type ChatScript } from './openai.js';

export type { TranscriptScript } from './deepgram.js';

/** How the gateway speaks one reply. */
export interface InferenceSpeechScript {
  /** First `output_audio` this long after the reply's first `input_transcript` arrived (ms). */
  ttfbMs: number;
  /** Seconds of audio per character of input (default 0.06). */
  secondsPerCharacter?: number;
}

export interface InferenceGatewayFaults {
  /** Answer the first STT `session.create` with the gateway's `error` event (e.g. code 503) instead of a session. */
  sttRejectFirst?: { code: number; message: string } | undefined;
  /** Close the first TTS socket (1011) right after its `session.create`, before any text. */
  ttsDropFirst?: boolean | undefined;
}

export interface InferenceGatewayOptions {
  apiKey: string;
  apiSecret: string;
  caller: SpeakingCaller;
  transcripts: TranscriptScript[];
  chat: ChatScript[];
  /** Per reply that carries text, in order (the last one repeats). */
  speech: InferenceSpeechScript[];
  faults?: InferenceGatewayFaults | undefined;
}

export interface InferenceGateway extends StandInServer {
  /** What to set `LIVEKIT_INFERENCE_URL` (or `baseURL`) to. */
  readonly baseUrl: string;
  /** Seconds of STT audio received over all sockets. */
  receivedAudioSeconds(): number;
  /** The OpenAI stand-in behind the LLM route: its `chat` events are the LLM's truth (ttft counted from its receipt). */
  readonly upstream: StandInServer;
}

/** Sample rate the SDK asks for when nobody overrides it (stt.ts:421, tts.ts:247). */
const DEFAULT_RATE = 16_000;
/** Audio per `output_audio` message: above two 100 ms frames, so the first message yields a frame (tts.ts:613-626). */
const OUTPUT_CHUNK_SECONDS = 0.25;

/** Starts the gateway stand-in on loopback, with the OpenAI stand-in behind its LLM route. */
export async function startInferenceGateway(options: InferenceGatewayOptions): Promise<InferenceGateway> {
  const server = new StandInServer('livekit-inference');
  const openai = await startOpenAi({ chat: options.chat });
  const auth = (req: IncomingMessage) => verifyAccessToken(req.headers.authorization, options.apiKey, options.apiSecret);
  const stt = mountStt(server, options, auth);
  mountTts(server, options, auth);
  mountLlm(server, openai, auth);
  await server.listen();
  const close = server.close.bind(server);
  return Object.assign(server, {
    baseUrl: `${server.httpUrl}/v1`,
    upstream: openai,
    receivedAudioSeconds: stt.receivedAudioSeconds,
    close: async () => {
      await close();
      await openai.close();
    },
  });
}

// ---------------------------------------------------------------------------------------------
// auth

export interface TokenCheck {
  ok: boolean;
  reason?: string;
  claims?: Record<string, unknown>;
}

/** Checks `Bearer <jwt>`: HS256 over the API secret, issued by the key, in its validity window, with an inference grant. */
export function verifyAccessToken(header: string | undefined, apiKey: string, apiSecret: string): TokenCheck {
  const token = header?.startsWith('Bearer ') ? header.slice(7) : undefined;
  const parts = token?.split('.') ?? [];
  if (parts.length !== 3) return { ok: false, reason: 'missing bearer token' };
  const [head, body, signature] = parts as [string, string, string];
  const expected = createHmac('sha256', apiSecret).update(`${head}.${body}`).digest();
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad signature' };
  const header_ = JSON.parse(Buffer.from(head, 'base64url').toString()) as { alg?: string };
  const claims = JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown> & { iss?: string; exp?: number; nbf?: number; inference?: { perform?: boolean } };
  const now = Date.now() / 1000;
  if (header_.alg !== 'HS256') return { ok: false, reason: `alg ${header_.alg}`, claims };
  if (claims.iss !== apiKey) return { ok: false, reason: 'unknown api key', claims };
  if ((claims.exp ?? 0) < now || (claims.nbf ?? 0) > now + 5) return { ok: false, reason: 'expired or not yet valid', claims };
  if (claims.inference?.perform !== true) return { ok: false, reason: 'no inference grant', claims };
  return { ok: true, claims };
}

type Auth = (req: IncomingMessage) => TokenCheck;

// ---------------------------------------------------------------------------------------------
// STT

interface SttSocket {
  socket: WebSocket;
  sessionId: string;
  /** Bytes of pcm received on this socket: its audio clock, from which transcript times are stamped. */
  bytes: number;
  open: boolean;
  firstAudioAt?: number;
}

function mountStt(server: StandInServer, options: InferenceGatewayOptions, auth: Auth): { receivedAudioSeconds: () => number } {
  const live = new Set<SttSocket>();
  let totalBytes = 0;
  let bytesAtLastFinal = 0;
  let connections = 0;
  server.websocket('/v1/stt', (socket, req) => {
    const index = connections++;
    const url = new URL(req.url ?? '/', 'http://x');
    const check = auth(req);
      const entry: SttSocket = { socket, sessionId: `stt_session_${index}`, bytes: 0, open: false };
    server.log('stt', 'connect', { connection: index, model: url.searchParams.get('model'), auth: check.ok ? 'ok' : check.reason, userAgent: req.headers['user-agent'] });
    socket.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString()) as { type: string; audio?: string; [key: string]: unknown };
      if (message.type === 'input_audio') {
        const bytes = Buffer.from(message.audio ?? '', 'base64').byteLength;
        entry.bytes += bytes;
        entry.firstAudioAt ??= Date.now();
        // everything the client sent counts: its usage counter does not know a socket was refused
        totalBytes += bytes;
        server.log('stt', 'audio', { connection: index, bytes, seconds: bytes / 2 / DEFAULT_RATE, accepted: entry.open });
        return;
      }
      server.log('stt', message.type, { connection: index, message });
      if (message.type === 'session.create') return void openSttSession(server, entry, index, check, options.faults, live);
      if (message.type === 'session.finalize') return void sendJson(socket, { type: 'session.finalized' });
      if (message.type === 'session.close') {
        // only a live session is acknowledged: after an error the client has torn its reader down, and a late
        // message then throws inside its socket listener (stream_channel.ts:22 via stt.ts:908, ERR_INTERNAL_ASSERTION on Node 20)
        if (entry.open) sendJson(socket, { type: 'session.closed' });
        socket.close(1000);
      }
    });
    socket.on('close', (code: number) => {
      live.delete(entry);
      server.log('stt', 'close', { connection: index, code });
    });
  });
  const transcript = (type: 'interim_transcript' | 'final_transcript', text: string, spoken: SpokenUtterance, confidence: number) => {
    for (const entry of live) sendJson(entry.socket, transcriptEvent(type, text, spoken, confidence, entry));
  };
  options.caller.on('voice_start', (spoken: SpokenUtterance) => {
    const script = options.transcripts[spoken.index];
    if (!script) return;
    // a partial while the caller is still talking, as streaming STT gives one
    const firstWords = script.text.split(/\s+/).slice(0, 2).join(' ');
    setTimeout(() => transcript('interim_transcript', firstWords, spoken, 0.6), Math.min(400, (spoken.voiceEndAt - spoken.voiceStartAt) / 2));
  });
  options.caller.on('voice_end', (spoken: SpokenUtterance) => {
    const script = options.transcripts[spoken.index];
    if (!script) return;
    const words = script.text.split(/\s+/);
    transcript('interim_transcript', words.slice(0, Math.max(1, words.length - 2)).join(' '), spoken, 0.8);
    void sleepUntil(spoken.voiceEndAt + script.finalDelayMs).then(() => {
      transcript('final_transcript', script.text, spoken, script.confidence ?? 0.95);
      server.log('stt', 'final_transcript', {
        utterance: spoken.index,
        text: script.text,
        delivered: live.size > 0,
        audioSeconds: totalBytes / 2 / DEFAULT_RATE,
        audioSecondsSinceLastFinal: (totalBytes - bytesAtLastFinal) / 2 / DEFAULT_RATE,
        clockLeadMs: clockLeadMs(live),
      });
      bytesAtLastFinal = totalBytes;
    });
  });
  return { receivedAudioSeconds: () => totalBytes / 2 / DEFAULT_RATE };
}

/**
 * How far the audio clock (seconds received) runs ahead of the wall clock since the first chunk: a backlog the
 * client sent in a burst. The SDK anchors transcript times at its first frame's wall time (audio_recognition.ts:1981).
 */
function clockLeadMs(live: Set<SttSocket>): number | undefined {
  const entry = [...live][0];
  if (!entry?.firstAudioAt) return undefined;
  return Math.round((entry.bytes / 2 / DEFAULT_RATE) * 1000 - (Date.now() - entry.firstAudioAt));
}

/** Answers `session.create`: a session, or the gateway's error for a bad token or a scripted rejection. */
function openSttSession(server: StandInServer, entry: SttSocket, index: number, check: TokenCheck, faults: InferenceGatewayFaults | undefined, live: Set<SttSocket>): void {
  const reject = !check.ok ? { code: 401, message: `invalid access token: ${check.reason}` } : index === 0 ? faults?.sttRejectFirst : undefined;
  if (reject) {
    server.log('stt', 'fault', { connection: index, ...reject });
    // after the client's listeners are attached (they are once session.create is sent, stt.ts:728-730, 1108-1122);
    // the client closes the socket itself, a late close is the gateway's backstop
    setImmediate(() => sendJson(entry.socket, { type: 'error', ...reject }));
    setTimeout(() => entry.socket.close(1008), 2000);
    return;
  }
  entry.open = true;
  live.add(entry);
  sendJson(entry.socket, { type: 'session.created', session_id: entry.sessionId });
}

/**
 * A transcript stamped on the socket's audio clock (seconds of audio received on it), as a provider
 * stamps them: the SDK maps them back to the wall clock from its first frame (audio_recognition.ts:1222-1237).
 */
function transcriptEvent(type: string, text: string, spoken: SpokenUtterance, confidence: number, entry: SttSocket): object {
  const now = Date.now();
  const clock = entry.bytes / 2 / DEFAULT_RATE;
  const at = (wall: number) => Math.max(0, clock - (now - wall) / 1000);
  const start = at(spoken.voiceStartAt);
  const end = Math.max(start, at(Math.min(spoken.voiceEndAt, now)));
  const words = text.split(/\s+/).filter(Boolean);
  const step = (end - start) / Math.max(1, words.length);
  return {
    type,
    session_id: entry.sessionId,
    transcript: text,
    language: 'en',
    start,
    duration: end - start,
    confidence,
    words: words.map((word, i) => ({ word, start: start + i * step, end: start + (i + 1) * step, confidence })),
  };
}

// ---------------------------------------------------------------------------------------------
// TTS

interface Generation {
  index: number;
  firstInputAt: number;
  text: string;
  seconds: number;
  /** Audio is sent in order; `done` waits for it. */
  chain: Promise<void>;
  firstAudioSent: boolean;
}

function mountTts(server: StandInServer, options: InferenceGatewayOptions, auth: Auth): void {
  let connections = 0;
  let generations = 0;
  server.websocket('/v1/tts', (socket, req) => {
    const index = connections++;
    const url = new URL(req.url ?? '/', 'http://x');
    const check = auth(req);
    const sessionId = `tts_session_${index}`;
    let sampleRate = DEFAULT_RATE;
    let current: Generation | undefined;
    server.log('tts', 'connect', { connection: index, model: url.searchParams.get('model'), auth: check.ok ? 'ok' : check.reason });
    socket.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString()) as { type: string; transcript?: string; sample_rate?: string };
      server.log('tts', message.type, { connection: index, message });
      if (message.type === 'session.create') {
        sampleRate = Number(message.sample_rate ?? DEFAULT_RATE);
        if (!check.ok) return void rejectTts(server, socket, index, `invalid access token: ${check.reason}`);
        if (index === 0 && options.faults?.ttsDropFirst) return void dropTts(server, socket, index);
        return void sendJson(socket, { type: 'session.created', session_id: sessionId });
      }
      if (message.type === 'input_transcript') {
        current ??= { index: generations++, firstInputAt: Date.now(), text: '', seconds: 0, chain: Promise.resolve(), firstAudioSent: false };
        speak(server, socket, sessionId, sampleRate, current, message.transcript ?? '', scriptFor(options.speech, current.index));
        return;
      }
      if (message.type === 'session.flush') {
        finish(server, socket, sessionId, current);
        current = undefined;
      }
    });
    socket.on('close', (code: number) => server.log('tts', 'close', { connection: index, code }));
  });
}

function scriptFor(scripts: InferenceSpeechScript[], index: number): InferenceSpeechScript {
  return scripts[Math.min(index, scripts.length - 1)] ?? { ttfbMs: 150 };
}

/** Queues one sentence's audio: the first not before the reply's first input + ttfb. */
function speak(server: StandInServer, socket: WebSocket, sessionId: string, sampleRate: number, generation: Generation, text: string, script: InferenceSpeechScript): void {
  const seconds = text.trim().length * (script.secondsPerCharacter ?? 0.06);
  generation.text += text;
  generation.seconds += seconds;
  generation.chain = generation.chain.then(async () => {
    await sleepUntil(generation.firstInputAt + script.ttfbMs);
    const pcm = tonePcm(seconds, sampleRate);
    const chunkBytes = Math.round(OUTPUT_CHUNK_SECONDS * sampleRate) * 2;
    for (let offset = 0; offset < pcm.byteLength; offset += chunkBytes) {
      if (!generation.firstAudioSent) server.log('tts', 'first_audio', { generation: generation.index });
      generation.firstAudioSent = true;
      sendJson(socket, { type: 'output_audio', audio: pcm.subarray(offset, offset + chunkBytes).toString('base64'), session_id: sessionId });
    }
  });
}

/** Answers `session.flush`: `done` once the reply's audio is out. */
function finish(server: StandInServer, socket: WebSocket, sessionId: string, generation: Generation | undefined): void {
  const chain = generation?.chain ?? Promise.resolve();
  void chain.then(() => {
    sendJson(socket, { type: 'done', session_id: sessionId });
    server.log('tts', 'done', generation ? { generation: generation.index, text: generation.text, characters: generation.text.trim().length, audioSeconds: generation.seconds } : { generation: undefined, text: '', characters: 0, audioSeconds: 0 });
  });
}

function rejectTts(server: StandInServer, socket: WebSocket, index: number, message: string): void {
  server.log('tts', 'fault', { connection: index, message });
  sendJson(socket, { type: 'error', message, code: 401 });
  setTimeout(() => socket.close(1008), 2000);
}

/** The scripted fault: an abrupt close shortly after the session is asked for, before any text could arrive. */
function dropTts(server: StandInServer, socket: WebSocket, index: number): void {
  void sleep(20).then(() => {
    server.log('tts', 'fault', { connection: index, fault: 'closed_after_session_create' });
    socket.close(1011, 'upstream unavailable');
  });
}

// ---------------------------------------------------------------------------------------------
// LLM

function mountLlm(server: StandInServer, openai: StandInServer, auth: Auth): void {
  const guarded = (endpoint: string, handle: (req: IncomingMessage, res: ServerResponse, body: Buffer) => Promise<void> | void) =>
    async (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
      const check = auth(req);
      server.log(endpoint, 'request', { auth: check.ok ? 'ok' : check.reason, userAgent: req.headers['user-agent'], provider: req.headers['x-livekit-inference-provider'] });
      if (!check.ok) {
        server.log(endpoint, 'fault', { status: 401, reason: check.reason });
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `invalid access token: ${check.reason}`, type: 'authentication_error' } }));
        return;
      }
      await handle(req, res, body);
    };
  server.route('GET', '/v1/models', guarded('models', (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data: [{ id: 'openai/gpt-4o-mini', object: 'model', created: 0, owned_by: 'livekit' }] }));
  }));
  server.route('POST', '/v1/chat/completions', guarded('chat', (req, res, body) => forward(openai.httpUrl, req, res, body)));
}

/** Streams the request through to the OpenAI stand-in and its SSE answer back, chunk by chunk. */
function forward(target: string, req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const upstream = request(`${target}${req.url}`, { method: req.method, headers: { 'content-type': 'application/json', 'content-length': body.byteLength } }, (answer) => {
      const headers: Record<string, string> = {};
      for (const name of ['content-type', 'x-request-id']) {
        const value = answer.headers[name];
        if (typeof value === 'string') headers[name] = value;
      }
      res.writeHead(answer.statusCode ?? 502, headers);
      answer.pipe(res);
      answer.on('end', resolve);
      answer.on('error', reject);
    });
    upstream.on('error', reject);
    upstream.end(body);
  });
}

function sendJson(socket: WebSocket, payload: object): void {
  if (socket.readyState === 1) socket.send(JSON.stringify(payload));
}
