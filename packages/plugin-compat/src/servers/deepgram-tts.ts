/**
 * Deepgram's streaming TTS WebSocket (`/v1/speak`) as `@livekit/agents-plugin-deepgram` 1.9.0 speaks it
 * (src/tts.ts, cited `tts.ts:<line>`; the SDK is @livekit/agents 1.9.0 src/, cited by path):
 * - one socket per reply: `SynthesizeStream.run()` opens it and closes it at the end (tts.ts:293-320, 467-477);
 * - URL `${baseUrl with http->ws}/v1/speak?sample_rate=24000&model=aura-2-andromeda-en&encoding=linear16
 *   &mip_opt_out=false[&bit_rate=..][&speed=..]` (tts.ts:297-308, defaults tts.ts:38-52), header
 *   `Authorization: Token <key>` (tts.ts:21, 310-314);
 * - in: one `{type:'Speak', text:'<sentence> '}` per sentence of its SentenceTokenizer (minimum 8 characters,
 *   tts.ts:23, 49-51; a trailing space added, tts.ts:339-357), the SDK's `markStarted()` (the TTFB anchor)
 *   right before the first (tts.ts:354); `{type:'Flush'}` once at the end of input (tts.ts:359-362); then,
 *   closing, `{type:'Flush'}` and `{type:'Close'}` again, waiting up to 1 s for any message or the close
 *   (tts.ts:249-291). It never sends `Clear` (the stand-in answers it with `Cleared` all the same);
 * - out: binary linear16 audio at `sample_rate` (tts.ts:432-440), cut into 100 ms frames with the newest held
 *   back until the next (tts.ts:369-379, 436-439); `{type:'Flushed'}` ends the reply: the held-back audio is
 *   flushed, the last frame marked final (the SDK's tts_metrics moment) and the stream ended (tts.ts:406-418);
 *   `Metadata` is ignored (tts.ts:424), `Warning` logged (tts.ts:419-420), `Error`/`error` fails the reply
 *   with an `APIError` (tts.ts:421-423). The plugin listens only after its first `Speak` (tts.ts:395-401),
 *   so the `Metadata` sent at open goes unread, harmlessly;
 * - it fails the reply with an `APITimeoutError` when no message came for `connOptions.timeoutMs` (10 s by
 *   default, @livekit/agents src/types.ts:63-67) after the first `Speak` (tts.ts:388-393), and with an
 *   `APIStatusError` carrying the close code when the socket closes before `Flushed` (tts.ts:443-456);
 *   the SDK retries both (src/tts/tts.ts:386-435).
 * Deepgram synthesises as text arrives and `Flush` makes it speak what is buffered: the stand-in starts each
 * `Speak`'s audio as soon as it comes (the first after the script's TTFB, then streamed at `speedup` times
 * real time, as elevenlabs.ts does) and answers `Flush` with `Flushed` once everything before it was sent.
 */
import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import { StandInServer, sleep, sleepUntil, tonePcm } from './base.js';
import { audioPieces, readyAt, scriptFor, type StreamingTtsFault, type StreamingTtsScripts, type TtsRequestRecord } from './elevenlabs.js';

export interface DeepgramTtsOptions {
  replies: StreamingTtsScripts;
  /** Seconds of audio per binary message at most (default 0.5). */
  chunkSeconds?: number | undefined;
  /** Seconds of audio generated per second after the first audio (default 10): a request's audio streams, it does not arrive in one burst. */
  speedup?: number | undefined;
}

export type DeepgramTtsServer = StandInServer & { requests: TtsRequestRecord[] };

const ENDPOINT = 'speak';

interface SpeakMessage {
  type?: string;
  text?: string;
}

interface Connection {
  server: DeepgramTtsServer;
  socket: WebSocket;
  record: TtsRequestRecord;
  sampleRate: number;
  options: DeepgramTtsOptions;
  /** Texts whose audio was sent: the fault's trigger. */
  spokenTexts: number;
  /** Bumped by `Clear`: queued texts of an older generation are dropped. */
  generation: number;
  /** `Flushed`/`Cleared` sent so far (their `sequence_id`). */
  sequence: number;
  /** The connection's work, in order: each text's audio, each flush's answer. */
  work: Promise<void>;
}

/** The Deepgram TTS stand-in: `/v1/speak` over a WebSocket, answering each reply with a tone. */
export async function startDeepgramTts(options: DeepgramTtsOptions): Promise<DeepgramTtsServer> {
  const server = Object.assign(new StandInServer('deepgram-tts'), { requests: [] as TtsRequestRecord[] });
  server.websocket('/v1/speak', (socket, req) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const record: TtsRequestRecord = { index: server.requests.length, connection: server.requests.length, requestId: randomUUID(), texts: [], characters: 0, audioSeconds: 0, samples: 0, audioMessages: 0, faults: [] };
    server.requests.push(record);
    const connection: Connection = { server, socket, record, sampleRate: Number(url.searchParams.get('sample_rate') ?? 24_000), options, spokenTexts: 0, generation: 0, sequence: 0, work: Promise.resolve() };
    server.log(ENDPOINT, 'connect', { request: record.index, requestId: record.requestId, auth: req.headers.authorization, query: Object.fromEntries(url.searchParams) });
    if (url.searchParams.get('encoding') !== 'linear16') {
      server.log(ENDPOINT, 'fault', { fault: 'unsupported_encoding', request: record.index, encoding: url.searchParams.get('encoding') });
      socket.close(1008, 'the stand-in speaks linear16 only');
      return;
    }
    socket.send(JSON.stringify({ type: 'Metadata', request_id: record.requestId, model_name: url.searchParams.get('model'), model_version: '2025-01-01', model_uuid: randomUUID() }));
    socket.on('message', (data: Buffer, isBinary: boolean) => onMessage(connection, isBinary ? undefined : parseJson(data)));
    socket.on('close', (code: number) => onDisconnect(connection, code));
  });
  return server.listen();
}

function onMessage(connection: Connection, message: SpeakMessage | undefined): void {
  const { server, record, socket } = connection;
  switch (message?.type) {
    case 'Speak':
      return receiveText(connection, message.text ?? '');
    case 'Flush': {
      server.log(ENDPOINT, 'flush', { request: record.index });
      const sequence = connection.sequence++;
      return enqueue(connection, () => sendFlushed(connection, sequence));
    }
    case 'Clear':
      server.log(ENDPOINT, 'clear', { request: record.index });
      connection.generation++;
      socket.send(JSON.stringify({ type: 'Cleared', sequence_id: connection.sequence++ }));
      return;
    case 'Close':
      // Deepgram closes the socket at once (Normal Closure)
      server.log(ENDPOINT, 'close', { request: record.index });
      socket.close(1000);
      return;
    default:
      server.log(ENDPOINT, 'fault', { fault: 'unknown_message', request: record.index, message });
      socket.send(JSON.stringify({ type: 'Warning', warn_code: 'UNKNOWN_MESSAGE', warn_msg: `unknown message type ${String(message?.type)}` }));
  }
}

function receiveText(connection: Connection, text: string): void {
  const { record, options } = connection;
  const at = Date.now();
  record.texts.push({ at, text });
  record.characters += text.length;
  if (record.firstTextAt === undefined) {
    record.firstTextAt = at;
    record.script = scriptFor(options.replies, text, record.index);
  }
  connection.server.log(ENDPOINT, 'text', { at, request: record.index, text, characters: text.length });
  const generation = connection.generation;
  enqueue(connection, () => (generation === connection.generation ? speak(connection, text) : undefined));
}

/** Runs `step` after the connection's earlier work; a failure is logged, never thrown into the test. */
function enqueue(connection: Connection, step: () => void | Promise<void>): void {
  connection.work = connection.work.then(step).catch((error: unknown) => {
    connection.server.log(ENDPOINT, 'fault', { fault: 'stand_in_error', request: connection.record.index, message: String(error) });
  });
}

/** Sends one text's audio (after the TTFB for the first), then runs the script's fault if its turn came. */
async function speak(connection: Connection, text: string): Promise<void> {
  const { record } = connection;
  const script = record.script!;
  if (connection.spokenTexts === 0) await sleepUntil(record.firstTextAt! + script.ttfbMs);
  const seconds = text.length * (script.secondsPerCharacter ?? 0.06);
  for (const piece of audioPieces(text, seconds, connection.options.chunkSeconds ?? 0.5)) {
    await sleepUntil(readyAt(record, connection.options.speedup ?? 10));
    if (!isOpen(connection.socket)) return;
    sendAudio(connection, piece.seconds);
  }
  connection.spokenTexts++;
  if (script.fault && script.fault.afterTexts === connection.spokenTexts) await runFault(connection, script.fault);
}

function sendAudio(connection: Connection, seconds: number): void {
  const { record, sampleRate } = connection;
  const pcm = tonePcm(seconds, sampleRate);
  connection.socket.send(pcm, { binary: true });
  if (record.firstAudioAt === undefined) {
    record.firstAudioAt = Date.now();
    connection.server.log(ENDPOINT, 'first_audio', { at: record.firstAudioAt, request: record.index, ttfbMs: record.script?.ttfbMs, sinceFirstTextMs: record.firstAudioAt - record.firstTextAt! });
  }
  record.lastAudioAt = Date.now();
  record.samples += pcm.length / 2;
  record.audioSeconds = record.samples / sampleRate;
  record.audioMessages++;
}

async function runFault(connection: Connection, fault: StreamingTtsFault): Promise<void> {
  const { record, server } = connection;
  record.faults.push(fault.kind);
  if (fault.kind === 'drop_socket') {
    server.log(ENDPOINT, 'fault', { fault: 'dropped_socket', request: record.index, secondsSent: record.audioSeconds });
    connection.socket.terminate();
    return;
  }
  server.log(ENDPOINT, 'fault', { fault: 'stall', ms: fault.ms, request: record.index, secondsSent: record.audioSeconds });
  await sleep(fault.ms);
  server.log(ENDPOINT, 'stall_end', { request: record.index });
}

/** Everything before the `Flush` was sent: `Flushed` (tts.ts:406-418). */
function sendFlushed(connection: Connection, sequence: number): void {
  if (!isOpen(connection.socket)) return;
  const { record } = connection;
  connection.socket.send(JSON.stringify({ type: 'Flushed', sequence_id: sequence }));
  // the first ends the reply for the plugin; a later one answers its closing Flush (tts.ts:254)
  record.finalAt ??= Date.now();
  connection.server.log(ENDPOINT, 'flushed', { request: record.index, sequence, seconds: record.audioSeconds });
}

function onDisconnect(connection: Connection, code: number): void {
  const { record, server } = connection;
  server.log(ENDPOINT, 'disconnect', { request: record.index, code });
  server.log(ENDPOINT, 'audio', { request: record.index, seconds: record.audioSeconds, samples: record.samples, messages: record.audioMessages, characters: record.characters, complete: record.finalAt !== undefined });
}

function parseJson(data: Buffer): SpeakMessage | undefined {
  try {
    return JSON.parse(data.toString()) as SpeakMessage;
  } catch {
    return undefined;
  }
}

const isOpen = (socket: WebSocket): boolean => socket.readyState === socket.OPEN;
