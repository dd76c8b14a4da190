/**
 * The Gemini Live API (`BidiGenerateContent` over a WebSocket) as `@livekit/agents-plugin-google` 1.9.0's
 * `google.realtime.RealtimeModel` (src/realtime/realtime_api.ts, cited `rt:<line>`) speaks it through
 * `@google/genai` 2.32.0 (dist/node/index.mjs, cited `genai:<line>`):
 * - the session's client takes the model's `httpOptions` (rt:527-545); the WebSocket base is the base URL
 *   with `http:` turned into `ws:` (anything else into `wss:`), so a plain loopback URL works
 *   (genai:13846-13851). The URL is `{ws base}/ws/google.ai.generativelanguage.v1beta.GenerativeService.
 *   BidiGenerateContent?key=<api key>`; the base keeps its trailing slash, so the path starts `//ws/`
 *   (genai:14938-14951), and the key rides in the query, not a header;
 * - the client opens the socket, sends `{setup: {model: 'models/<model>', generationConfig:
 *   {responseModalities, speechConfig, ...}, systemInstruction, tools, inputAudioTranscription,
 *   outputAudioTranscription, sessionResumption}}` and waits for a `setupComplete` message before the
 *   session exists (genai:8972-8983, 14960-15053; rt:1482-1547);
 * - then `{realtimeInput: {audio: {mimeType: 'audio/pcm', data: <base64 16 kHz mono PCM16>}}}` in 50 ms
 *   chunks (rt:512-517, 808-830, genai:15200-15211), `{clientContent: {turns, turnComplete}}` for chat
 *   context and instructions (rt:669-785, 1163-1179), `{toolResponse: {functionResponses: [{id, name,
 *   response: {output}}]}}` after a tool ran (rt:589-626, 1180-1199, genai:15225-15232);
 * - server messages are JSON (text or binary frames, genai:14828-14849): `serverContent` with
 *   `inputTranscription.text`, `modelTurn.parts[].inlineData` (base64 24 kHz mono PCM16, rt:1660-1690),
 *   `outputTranscription.text`, `generationComplete`, `turnComplete`, `interrupted`; `toolCall.functionCalls
 *   [{id, name, args}]`; `usageMetadata` (rt:1242-1350).
 * How the plugin turns them into generations and metrics:
 * - the first `serverContent` (or `toolCall`) after a finished generation opens a new one, stamped with the
 *   arrival time (rt:1272-1310, 1550-1617, 1949-1966); its ttft is the first audio part's arrival minus that
 *   stamp (rt:1660-1664, 1843-1849), so the stand-in's first message of a turn (the input transcription)
 *   is the ttft's zero;
 * - `turnComplete` ends the generation and emits the final user transcript (rt:1414-1470, 1726-1733);
 *   a `toolCall` ends it at once, with no completion stamp (rt:1746-1804);
 * - each `usageMetadata` emits one `realtime_model_metrics` for the current generation: input =
 *   `promptTokenCount`, output = `responseTokenCount`, cached = the sum of `cacheTokensDetails` (not
 *   `cachedContentTokenCount`), modality splits from the `*TokensDetails` (rt:1836-1905); no provider or
 *   model metadata, and the model's `provider` is the SDK default `unknown` (@livekit/agents
 *   src/llm/realtime.ts:120-122).
 * This stand-in sends one `usageMetadata` per server turn, with its `turnComplete`; a turn that calls a tool
 * is one server turn: the tool call, then (after the tool's response) the reply and its usage.
 * Closing: the plugin reconnects whenever its tools change, or its instructions before the first session
 * (rt:574-579, 669-680, 787-794, 1003-1145; at session start: once, to add the tools), and it and the
 * client close with `ws.close()`, no status code (rt:550-572, genai:27084-27089). The plugin treats any
 * close code but 1000 as an unrecoverable error (rt:1040-1068) that it emits without a `type` (rt:1472-1479),
 * which the AgentSession answers by closing at once (@livekit/agents src/voice/agent_session.ts:1707-1731).
 * So the stand-in answers a status-less close with 1000, as the plugin assumes Google does (not verifiable
 * offline); `closeReply: 'echo'` echoes the empty status instead (the `ws` default: the client then sees 1005).
 */
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { SpeakingCaller, SpokenUtterance } from '../caller.js';
import { StandInServer, sleep, sleepUntil, tonePcm } from './base.js';

/** The spoken reply of one server turn. */
export interface LiveReply {
  /** Said as audio and sent as `outputTranscription`. */
  text: string;
  /**
   * First audio part this long after the request (ms): the input transcription, which opens the plugin's
   * generation (so this is the ttft it measures), or the tool's response (after which the audio itself opens it).
   */
  ttftMs: number;
  /** Token counts of the turn: prompt = text + audio; cached ones are part of the prompt. */
  usage: { promptTextTokens: number; promptAudioTokens: number; responseAudioTokens: number; cachedTokens?: number };
  /** Seconds of audio per character of text (default 0.06). */
  secondsPerCharacter?: number;
}

/** What the stand-in answers to the caller's n-th utterance. */
export interface LiveTurnScript {
  /** Input transcription: what Gemini heard. */
  heard: string;
  /** The input transcription arrives this long after the utterance's voice ended (ms): Gemini's end of turn. */
  transcriptDelayMs: number;
  /** A function call first, this long after the input transcription; the reply follows the tool's response. */
  toolCall?: { name: string; args: Record<string, unknown>; afterMs: number };
  reply: LiveReply;
}

export interface GeminiLiveOptions {
  caller: SpeakingCaller;
  turns: LiveTurnScript[];
  /** Audio sent per `modelTurn` message (ms, default 100), and the pause between messages (ms, default 25). */
  audioChunkMs?: number;
  chunkIntervalMs?: number;
  /** How to answer the client's status-less close frame: `normal` (1000, default) or `echo` (none: 1005). */
  closeReply?: 'normal' | 'echo';
}

export const LIVE_INPUT_SAMPLE_RATE = 16_000;
export const LIVE_OUTPUT_SAMPLE_RATE = 24_000;
/** The Gemini API's Live method path, after the `//ws/` or `/ws/` the client puts before it (genai:14951). */
export const LIVE_METHOD = 'google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent';

interface LiveClientMessage {
  setup?: { model?: string; generationConfig?: { responseModalities?: string[] }; tools?: Array<{ functionDeclarations?: Array<{ name: string }> }>; inputAudioTranscription?: unknown; outputAudioTranscription?: unknown; systemInstruction?: unknown };
  realtimeInput?: { audio?: { mimeType?: string; data?: string }; text?: string; activityStart?: unknown; activityEnd?: unknown };
  clientContent?: { turns?: Array<{ role?: string }>; turnComplete?: boolean };
  toolResponse?: { functionResponses?: Array<{ id?: string; name?: string; response?: unknown }> };
}

/**
 * The Gemini Live stand-in. Its events on endpoint `live`: `connect`, `setup`, `client_content`,
 * `realtime_input`, `tool_response`, `close`; per turn `input_transcription`, `tool_call`, `reply_start`,
 * `first_audio`, `turn_complete` (with the usage sent).
 */
export async function startGeminiLive(options: GeminiLiveOptions): Promise<StandInServer & { receivedAudioSeconds: () => number }> {
  const server = new StandInServer('gemini-live');
  let current: WebSocket | undefined;
  let audioBytes = 0;
  const toolResponses: Array<(message: LiveClientMessage['toolResponse']) => void> = [];
  const onSocket = (socket: WebSocket, req: IncomingMessage): void => {
    const url = new URL(`http://stand-in${req.url ?? '/'}`);
    const connection = server.events.filter((e) => e.type === 'connect').length;
    server.log('live', 'connect', { connection, path: url.pathname, key: url.searchParams.get('key'), apiKeyHeader: req.headers['x-goog-api-key'] });
    if (options.closeReply !== 'echo') answerCloseNormally(socket);
    socket.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString()) as LiveClientMessage;
      if (message.setup) {
        current = socket;
        server.log('live', 'setup', { connection, ...describeSetup(message.setup) });
        socket.send(JSON.stringify({ setupComplete: {} }));
      } else if (message.realtimeInput?.audio?.data) {
        audioBytes += Buffer.byteLength(message.realtimeInput.audio.data, 'base64');
      } else if (message.realtimeInput) {
        server.log('live', 'realtime_input', { connection, keys: Object.keys(message.realtimeInput) });
      } else if (message.clientContent) {
        server.log('live', 'client_content', { connection, roles: message.clientContent.turns?.map((t) => t.role) ?? [], turnComplete: message.clientContent.turnComplete });
      } else if (message.toolResponse) {
        server.log('live', 'tool_response', { connection, responses: message.toolResponse.functionResponses?.map((r) => ({ id: r.id, name: r.name })) });
        toolResponses.shift()?.(message.toolResponse);
      }
    });
    // `code` is what the client's close frame carried: 1005 when it had none
    socket.on('close', (code: number) => {
      if (current === socket) current = undefined;
      server.log('live', 'close', { connection, code });
    });
  };
  server.websocket(`//ws/${LIVE_METHOD}`, onSocket).websocket(`/ws/${LIVE_METHOD}`, onSocket);
  const send = (payload: object): boolean => {
    if (!current) return false;
    current.send(JSON.stringify(payload));
    return true;
  };
  const nextToolResponse = (): Promise<LiveClientMessage['toolResponse']> => new Promise((resolve) => toolResponses.push(resolve));
  options.caller.on('voice_end', (spoken: SpokenUtterance) => {
    const turn = options.turns[spoken.index];
    if (turn) void serveTurn(spoken, turn);
  });

  async function serveTurn(spoken: SpokenUtterance, turn: LiveTurnScript): Promise<void> {
    await sleepUntil(spoken.voiceEndAt + turn.transcriptDelayMs);
    const generationStart = Date.now();
    const delivered = send({ serverContent: { inputTranscription: { text: turn.heard } } });
    server.log('live', 'input_transcription', { utterance: spoken.index, text: turn.heard, delivered }, generationStart);
    if (turn.toolCall) {
      await sleepUntil(generationStart + turn.toolCall.afterMs);
      const id = `call-${spoken.index}`;
      const response = nextToolResponse();
      send({ toolCall: { functionCalls: [{ id, name: turn.toolCall.name, args: turn.toolCall.args }] } });
      server.log('live', 'tool_call', { utterance: spoken.index, id, name: turn.toolCall.name });
      await response;
      // the reply's first audio opens a new generation in the plugin, so its ttft there reads about 0
      await serveReply(spoken.index, turn.reply, Date.now(), undefined);
      return;
    }
    await serveReply(spoken.index, turn.reply, generationStart, generationStart);
  }

  /**
   * Audio parts with the output transcription spread over them, then turnComplete with the usage; the
   * first audio `ttftMs` after `requestAt` (the input transcription, or the tool's response).
   * `generationStart` is when the plugin's generation began, undefined when this reply's audio opens it.
   */
  async function serveReply(utterance: number, reply: LiveReply, requestAt: number, generationStart: number | undefined): Promise<void> {
    server.log('live', 'reply_start', { utterance, requestAt, generationStart });
    await sleepUntil(requestAt + reply.ttftMs);
    const chunkMs = options.audioChunkMs ?? 100;
    const pcm = tonePcm(reply.text.length * (reply.secondsPerCharacter ?? 0.06), LIVE_OUTPUT_SAMPLE_RATE);
    const chunkBytes = (LIVE_OUTPUT_SAMPLE_RATE * 2 * chunkMs) / 1000;
    const chunks = Math.ceil(pcm.length / chunkBytes);
    const words = reply.text.split(/(?<= )/);
    for (let i = 0; i < chunks; i++) {
      if (i > 0) await sleep(options.chunkIntervalMs ?? 25);
      const data = pcm.subarray(i * chunkBytes, (i + 1) * chunkBytes).toString('base64');
      send({ serverContent: { modelTurn: { parts: [{ inlineData: { mimeType: `audio/pcm;rate=${LIVE_OUTPUT_SAMPLE_RATE}`, data } }] } } });
      if (i === 0) {
        const now = Date.now();
        server.log('live', 'first_audio', { utterance, sinceRequestMs: now - requestAt, pluginTtftMs: generationStart === undefined ? 0 : now - generationStart }, now);
      }
      const said = words.slice(Math.floor((i * words.length) / chunks), Math.floor(((i + 1) * words.length) / chunks)).join('');
      if (said) send({ serverContent: { outputTranscription: { text: said } } });
    }
    send({ serverContent: { generationComplete: true } });
    const usageMetadata = liveUsage(reply);
    send({ serverContent: { turnComplete: true }, usageMetadata });
    server.log('live', 'turn_complete', { utterance, text: reply.text, audioSeconds: pcm.length / 2 / LIVE_OUTPUT_SAMPLE_RATE, usageMetadata });
  }

  await server.listen();
  return Object.assign(server, { receivedAudioSeconds: () => audioBytes / 2 / LIVE_INPUT_SAMPLE_RATE });
}

/** `ws` answers a status-less close frame by calling `close()` without a code (ws/lib/websocket.js receiverOnConclude): make that 1000. */
function answerCloseNormally(socket: WebSocket): void {
  const close = socket.close.bind(socket);
  socket.close = (code?: number, reason?: string | Buffer) => close(code ?? 1000, reason);
}

/** A Live turn's `usageMetadata`, the truth the plugin's realtime_model_metrics should carry. */
export function liveUsage(reply: LiveReply): Record<string, unknown> {
  const { promptTextTokens, promptAudioTokens, responseAudioTokens, cachedTokens = 0 } = reply.usage;
  const promptTokenCount = promptTextTokens + promptAudioTokens;
  return {
    promptTokenCount,
    responseTokenCount: responseAudioTokens,
    totalTokenCount: promptTokenCount + responseAudioTokens,
    promptTokensDetails: [
      { modality: 'TEXT', tokenCount: promptTextTokens },
      { modality: 'AUDIO', tokenCount: promptAudioTokens },
    ],
    responseTokensDetails: [{ modality: 'AUDIO', tokenCount: responseAudioTokens }],
    ...(cachedTokens > 0 ? { cachedContentTokenCount: cachedTokens, cacheTokensDetails: [{ modality: 'TEXT', tokenCount: cachedTokens }] } : {}),
  };
}

/** The setup facts worth keeping in the event log. */
function describeSetup(setup: NonNullable<LiveClientMessage['setup']>): Record<string, unknown> {
  return {
    model: setup.model,
    responseModalities: setup.generationConfig?.responseModalities,
    tools: setup.tools?.flatMap((t) => t.functionDeclarations?.map((d) => d.name) ?? []) ?? [],
    inputAudioTranscription: setup.inputAudioTranscription !== undefined,
    outputAudioTranscription: setup.outputAudioTranscription !== undefined,
    hasSystemInstruction: setup.systemInstruction !== undefined,
  };
}
