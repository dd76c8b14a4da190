/**
 * ElevenLabs' multi-context TTS WebSocket (`multi-stream-input`) as `@livekit/agents-plugin-elevenlabs`
 * 1.9.0 speaks it (src/tts.ts, cited `tts.ts:<line>`; the SDK is @livekit/agents 1.9.0 src/, cited by path):
 * - `TTS.stream()` always uses the WebSocket (`ChunkedStream`'s REST `/stream` is only for `synthesize()`,
 *   tts.ts:811-819, 847-877); one socket per TTS instance is shared by every reply, each reply a context
 *   (tts.ts:791-809); a dropped or closed connection is replaced on the next reply (tts.ts:794-805);
 * - URL `${baseURL with http->ws}/text-to-speech/{voiceId}/multi-stream-input?model_id=..&output_format=..
 *   [&language_code=..]&enable_ssml_parsing=..&enable_logging=..&inactivity_timeout=180&apply_text_normalization=auto
 *   [&sync_alignment=true][&auto_mode=true]` (tts.ts:151-173, defaults tts.ts:669-726: model `eleven_turbo_v2_5`,
 *   `pcm_22050`, auto mode on unless a chunk schedule is set, sync alignment on), header `xi-api-key` (tts.ts:29, 292-296);
 * - per reply (a fresh `contextId`, tts.ts:951): an init packet `{text:' ', voice_settings, context_id
 *   [, generation_config, pronunciation_dictionary_locators]}` before the context's first text (tts.ts:372-399),
 *   then one `{text:'<sentence> ', context_id, flush:true}` per sentence of its SentenceTokenizer (auto mode
 *   flushes every chunk; tts.ts:1034-1035, 1061-1067, 402-411), then `{text:'', context_id, flush:true}` and
 *   `{context_id, close_context:true}` at the end of input (tts.ts:1074-1076, 413-422);
 *   the SDK's `markStarted()` (the TTFB anchor) runs right before the first sentence is queued (tts.ts:1062);
 * - it parses JSON only (tts.ts:439-446), keyed by `contextId` or `context_id` (tts.ts:477): `audio` base64 PCM
 *   (tts.ts:580-583), `normalizedAlignment` (default) or `alignment` with `chars`, `charStartTimesMs` (or
 *   `charsStartTimesMs`) and `charDurationsMs` (or `charsDurationsMs`) (tts.ts:517-537, 723), `isFinal: true`
 *   ending the context (tts.ts:585-608), `error` failing it with an `APIError` (tts.ts:480-496);
 * - it cuts the audio into 100 ms frames and holds the newest frame back until the next one or the end
 *   (tts.ts:1083-1134), polling its audio queue every 10 ms (tts.ts:1119-1120);
 * - a socket closed while a context is open fails every open context with an `APIStatusError` carrying the
 *   close code (tts.ts:448-459, 610-615), which the SDK retries (@livekit/agents src/tts/tts.ts:386-435).
 * The plugin has no timeout of its own on audio: only the SDK's 10 s read idle timeout applies
 * (src/voice/generation.ts:76, 917-951).
 * The stand-in answers each text with a tone (`secondsPerCharacter` of audio per character received), the
 * request's first audio `ttfbMs` after its first text, then streamed at `speedup` times real time in messages
 * of at most `chunkSeconds`: a burst of seconds of audio at once would have the plugin decode it all before
 * its next poll, a delay of the stand-in's making that real streaming does not have.
 * The script and record shapes here are shared by the Deepgram TTS stand-in (deepgram-tts.ts).
 */
import type { WebSocket } from 'ws';
import { StandInServer, sleep, sleepUntil, tonePcm } from './base.js';

/** What a streaming TTS stand-in does for one request (an ElevenLabs context, a Deepgram socket). */
export interface StreamingTtsScript {
  /** First audio this long after the request's first text arrived (ms). */
  ttfbMs: number;
  /** Seconds of audio per character received (default 0.06: about 150 words a minute). */
  secondsPerCharacter?: number | undefined;
  /** ElevenLabs only: send `alignment` and `normalizedAlignment` with the audio (default true). */
  alignment?: boolean | undefined;
  /** A fault, once per request, right after the audio of its first `afterTexts` text messages was sent. */
  fault?: StreamingTtsFault | undefined;
}

export type StreamingTtsFault =
  /** Close the socket abruptly (no close frame: the client sees 1006). */
  | { kind: 'drop_socket'; afterTexts: number }
  /** Send nothing for `ms`, then go on. */
  | { kind: 'stall'; afterTexts: number; ms: number };

/** The script per request, from the request's first text and its 0-based index (every request counts, retries included). */
export type StreamingTtsScripts = StreamingTtsScript | ((firstText: string, index: number) => StreamingTtsScript);

/** What a streaming TTS stand-in received and sent for one request: the truth tests compare figures against. */
export interface TtsRequestRecord {
  index: number;
  /** Which WebSocket connection (0-based) carried it. */
  connection: number;
  /** ElevenLabs' context id (the plugin's `requestId`/`segmentId`); Deepgram's `request_id`. */
  requestId: string;
  /** The script in force (set when the first text arrives). */
  script?: StreamingTtsScript | undefined;
  /** Every text message with text, as received (epoch ms); ElevenLabs' init `' '` is not among them. */
  texts: Array<{ at: number; text: string }>;
  /** Characters of `texts`. */
  characters: number;
  firstTextAt?: number | undefined;
  firstAudioAt?: number | undefined;
  /** The newest audio message (a stall's audio resumes after it: the fault event's `at` is the last before it). */
  lastAudioAt?: number | undefined;
  /** Audio sent, in seconds and samples, and how many audio messages carried it. */
  audioSeconds: number;
  samples: number;
  audioMessages: number;
  /** When the request was done for the plugin: ElevenLabs' `isFinal`, Deepgram's first `Flushed`. */
  finalAt?: number | undefined;
  faults: string[];
}

/** First audio after first text, as served (ms): what the SDK's TTFB should read, give or take the plugin's own delays. */
export function servedTtfbMs(record: TtsRequestRecord): number | undefined {
  return record.firstAudioAt === undefined || record.firstTextAt === undefined ? undefined : record.firstAudioAt - record.firstTextAt;
}

export interface ElevenLabsOptions {
  replies: StreamingTtsScripts;
  /** Seconds of audio per audio message at most (default 0.5). */
  chunkSeconds?: number | undefined;
  /** Seconds of audio generated per second after the first audio (default 10): a request's audio streams, it does not arrive in one burst. */
  speedup?: number | undefined;
}

/** When a request's next audio is ready: `speedup` times real time from its first audio (epoch ms; 0 before the first). */
export function readyAt(record: TtsRequestRecord, speedup: number): number {
  return record.firstAudioAt === undefined ? 0 : record.firstAudioAt + (record.audioSeconds * 1000) / speedup;
}

export type ElevenLabsServer = StandInServer & { requests: TtsRequestRecord[] };

/** ElevenLabs' default voice in the plugin (tts.ts:27): the stand-in's route accepts any. */
export const ELEVENLABS_DEFAULT_VOICE_ID = 'bIHbv24MWmeRgasZH58o';
const ENDPOINT = 'multi-stream-input';

interface ContextState {
  record: TtsRequestRecord;
  /** Text messages whose audio was sent: the fault's trigger. */
  spokenTexts: number;
  /** Audio milliseconds sent so far: where the next alignment starts. */
  offsetMs: number;
  /** The context's work, in order: each text's audio, then its final message. */
  work: Promise<void>;
}

interface ElevenLabsMessage {
  text?: string;
  context_id?: string;
  flush?: boolean;
  close_context?: boolean;
  close_socket?: boolean;
  voice_settings?: unknown;
}

/** The ElevenLabs stand-in: `/v1/text-to-speech/{voice}/multi-stream-input`, answering each context with a tone. */
export async function startElevenLabs(options: ElevenLabsOptions): Promise<ElevenLabsServer> {
  const server = Object.assign(new StandInServer('elevenlabs'), { requests: [] as TtsRequestRecord[] });
  let connections = 0;
  server.websocket('/v1/text-to-speech/', (socket, req) => {
    const connection = connections++;
    const url = new URL(req.url ?? '/', 'http://x');
    const sampleRate = pcmSampleRate(url.searchParams.get('output_format'));
    server.log(ENDPOINT, 'connect', { connection, path: url.pathname, voiceId: url.pathname.split('/')[3], apiKey: req.headers['xi-api-key'], query: Object.fromEntries(url.searchParams) });
    if (!url.pathname.endsWith(`/${ENDPOINT}`)) {
      // `stream-input` is single-context, another protocol: the 1.9.0 plugin never uses it (tts.ts:172)
      server.log(ENDPOINT, 'fault', { fault: 'unsupported_endpoint', connection, path: url.pathname });
      socket.close(1008, 'the stand-in speaks multi-stream-input only');
      return;
    }
    if (sampleRate === undefined) {
      server.log(ENDPOINT, 'fault', { fault: 'unsupported_output_format', connection, outputFormat: url.searchParams.get('output_format') });
      socket.close(1008, 'the stand-in speaks pcm_* only');
      return;
    }
    const contexts = new Map<string, ContextState>();
    const session: Session = { server, socket, connection, sampleRate, contexts, options };
    socket.on('message', (data: Buffer) => {
      const message = parseJson(data);
      if (message) onMessage(session, message);
      else server.log(ENDPOINT, 'fault', { fault: 'unparsable_message', connection, data: data.toString() });
    });
    socket.on('close', (code: number) => onDisconnect(session, code));
  });
  return server.listen();
}

interface Session {
  server: ElevenLabsServer;
  socket: WebSocket;
  connection: number;
  sampleRate: number;
  contexts: Map<string, ContextState>;
  options: ElevenLabsOptions;
}

function onMessage(session: Session, message: ElevenLabsMessage): void {
  const { server, socket } = session;
  const contextId = message.context_id ?? '';
  if (message.close_socket) {
    // the plugin never sends it (tts.ts:362-423); ElevenLabs closes every context and the socket
    server.log(ENDPOINT, 'close', { connection: session.connection, closeSocket: true });
    socket.close(1000);
    return;
  }
  let context = session.contexts.get(contextId);
  if (!context) {
    // a context's first message is its init packet, `text: ' '` (tts.ts:377-398)
    context = openContext(session, contextId);
    server.log(ENDPOINT, 'init', { request: context.record.index, contextId, connection: session.connection, text: message.text, voiceSettings: message.voice_settings });
    if (message.text?.trim()) receiveText(session, context, message);
    return;
  }
  if (message.text) receiveText(session, context, message);
  if (message.flush) server.log(ENDPOINT, 'flush', { request: context.record.index, contextId });
  if (message.close_context) {
    server.log(ENDPOINT, 'close', { request: context.record.index, contextId });
    const closing = context;
    enqueue(session, closing, () => finishContext(session, closing));
  }
}

function openContext(session: Session, contextId: string): ContextState {
  const record: TtsRequestRecord = { index: session.server.requests.length, connection: session.connection, requestId: contextId, texts: [], characters: 0, audioSeconds: 0, samples: 0, audioMessages: 0, faults: [] };
  session.server.requests.push(record);
  const context: ContextState = { record, spokenTexts: 0, offsetMs: 0, work: Promise.resolve() };
  session.contexts.set(contextId, context);
  return context;
}

function receiveText(session: Session, context: ContextState, message: ElevenLabsMessage): void {
  const text = message.text ?? '';
  const { record } = context;
  const at = Date.now();
  record.texts.push({ at, text });
  record.characters += text.length;
  if (record.firstTextAt === undefined) {
    record.firstTextAt = at;
    record.script = scriptFor(session.options.replies, text, record.index);
  }
  session.server.log(ENDPOINT, 'text', { at, request: record.index, contextId: record.requestId, text, characters: text.length, flush: message.flush === true });
  enqueue(session, context, () => speak(session, context, text));
}

/** Runs `step` after the context's earlier work; a failure is logged, never thrown into the test. */
function enqueue(session: Session, context: ContextState, step: () => void | Promise<void>): void {
  context.work = context.work.then(step).catch((error: unknown) => {
    session.server.log(ENDPOINT, 'fault', { fault: 'stand_in_error', request: context.record.index, message: String(error) });
  });
}

/** Sends one text's audio (after the TTFB for the first), then runs the script's fault if its turn came. */
async function speak(session: Session, context: ContextState, text: string): Promise<void> {
  const { record } = context;
  const script = record.script!;
  if (context.spokenTexts === 0) await sleepUntil(record.firstTextAt! + script.ttfbMs);
  const seconds = text.length * (script.secondsPerCharacter ?? 0.06);
  for (const piece of audioPieces(text, seconds, session.options.chunkSeconds ?? 0.5)) {
    await sleepUntil(readyAt(record, session.options.speedup ?? 10));
    if (!isOpen(session.socket)) return;
    sendAudio(session, context, piece);
  }
  context.spokenTexts++;
  if (script.fault && script.fault.afterTexts === context.spokenTexts) await runFault(session, context, script.fault);
}

function sendAudio(session: Session, context: ContextState, piece: AudioPiece): void {
  const { record } = context;
  const pcm = tonePcm(piece.seconds, session.sampleRate);
  const durationMs = (pcm.length / 2 / session.sampleRate) * 1000;
  const alignment = context.record.script?.alignment === false ? null : alignmentOf(piece.chars, context.offsetMs, durationMs);
  // an audio message: base64 PCM, its characters' timing, the context it belongs to (tts.ts:477, 517-583)
  session.socket.send(JSON.stringify({ audio: pcm.toString('base64'), isFinal: false, normalizedAlignment: alignment, alignment, contextId: record.requestId }));
  if (record.firstAudioAt === undefined) {
    record.firstAudioAt = Date.now();
    session.server.log(ENDPOINT, 'first_audio', { at: record.firstAudioAt, request: record.index, contextId: record.requestId, ttfbMs: record.script?.ttfbMs, sinceFirstTextMs: record.firstAudioAt - record.firstTextAt! });
  }
  context.offsetMs += durationMs;
  record.lastAudioAt = Date.now();
  record.samples += pcm.length / 2;
  record.audioSeconds = record.samples / session.sampleRate;
  record.audioMessages++;
}

async function runFault(session: Session, context: ContextState, fault: StreamingTtsFault): Promise<void> {
  const { record } = context;
  record.faults.push(fault.kind);
  if (fault.kind === 'drop_socket') {
    session.server.log(ENDPOINT, 'fault', { fault: 'dropped_socket', request: record.index, contextId: record.requestId, connection: session.connection, secondsSent: record.audioSeconds });
    session.socket.terminate();
    return;
  }
  session.server.log(ENDPOINT, 'fault', { fault: 'stall', ms: fault.ms, request: record.index, contextId: record.requestId, secondsSent: record.audioSeconds });
  await sleep(fault.ms);
  session.server.log(ENDPOINT, 'stall_end', { request: record.index, contextId: record.requestId });
}

/** After every text's audio: the context's `isFinal` (tts.ts:585-608) and its audio totals. */
function finishContext(session: Session, context: ContextState): void {
  if (!isOpen(session.socket)) return;
  const { record } = context;
  session.socket.send(JSON.stringify({ isFinal: true, contextId: record.requestId }));
  record.finalAt = Date.now();
  session.contexts.delete(record.requestId);
  session.server.log(ENDPOINT, 'audio', audioTotals(record, true));
}

function onDisconnect(session: Session, code: number): void {
  session.server.log(ENDPOINT, 'disconnect', { connection: session.connection, code });
  for (const context of session.contexts.values()) session.server.log(ENDPOINT, 'audio', audioTotals(context.record, false));
  session.contexts.clear();
}

function audioTotals(record: TtsRequestRecord, complete: boolean): Record<string, unknown> {
  return { request: record.index, contextId: record.requestId, seconds: record.audioSeconds, samples: record.samples, messages: record.audioMessages, characters: record.characters, complete };
}

export function scriptFor(replies: StreamingTtsScripts, firstText: string, index: number): StreamingTtsScript {
  return typeof replies === 'function' ? replies(firstText, index) : replies;
}

export interface AudioPiece {
  seconds: number;
  /** The characters this piece speaks (ElevenLabs' alignment). */
  chars: string[];
}

/** `seconds` of audio for `text`, cut into pieces of at most `chunkSeconds`, each with its share of the characters. */
export function audioPieces(text: string, seconds: number, chunkSeconds: number): AudioPiece[] {
  const count = Math.max(1, Math.ceil(seconds / chunkSeconds - 1e-9));
  const chars = [...text];
  return Array.from({ length: count }, (_, i) => ({
    seconds: Math.min(chunkSeconds, seconds - i * chunkSeconds),
    chars: chars.slice(Math.floor((i * chars.length) / count), Math.floor(((i + 1) * chars.length) / count)),
  }));
}

/** Characters spread evenly over the piece's audio, on the context's clock (whole ms, as ElevenLabs sends them). */
function alignmentOf(chars: string[], offsetMs: number, durationMs: number): { chars: string[]; charStartTimesMs: number[]; charsDurationsMs: number[] } {
  const step = durationMs / Math.max(1, chars.length);
  return {
    chars,
    charStartTimesMs: chars.map((_, i) => Math.round(offsetMs + i * step)),
    charsDurationsMs: chars.map(() => Math.round(step)),
  };
}

/** `pcm_22050` -> 22050; undefined for the mp3 formats the stand-in does not speak. */
function pcmSampleRate(outputFormat: string | null): number | undefined {
  const match = /^pcm_(\d+)$/.exec(outputFormat ?? '');
  return match ? Number(match[1]) : undefined;
}

function parseJson(data: Buffer): ElevenLabsMessage | undefined {
  try {
    return JSON.parse(data.toString()) as ElevenLabsMessage;
  } catch {
    return undefined;
  }
}

const isOpen = (socket: WebSocket): boolean => socket.readyState === socket.OPEN;
