/**
 * OpenAI's Realtime API (a WebSocket of JSON events) as `@livekit/agents-plugin-openai` 1.9.0's
 * `realtime.RealtimeModel` speaks it (src/realtime/realtime_model.ts, cited `rt:<line>`; the event shapes
 * in src/realtime/api_proto.ts, cited `proto:<line>`):
 * - the model's `baseURL` (default `https://api.openai.com/v1`, or `$OPENAI_BASE_URL`, rt:35, 253) plus
 *   `/realtime`, `http:` turned into `ws:`, and `?model=<model>` (rt:386-438): `http://127.0.0.1:PORT/v1`
 *   connects to `ws://127.0.0.1:PORT/v1/realtime?model=gpt-realtime`. Headers: `Authorization: Bearer <key>`
 *   and `User-Agent: LiveKit-Agents-JS` (rt:1082-1105). The model names its provider after that URL's host
 *   (rt:171-178), so against a stand-in it reads `127.0.0.1:PORT`;
 * - client events: `session.update` in the GA shape (`session.type: 'realtime'`, `audio.input.turn_detection`,
 *   `audio.input.transcription`, `audio.output.voice`, `output_modalities`, `instructions`) first of all,
 *   queued by the session's constructor (rt:502, 543-572); later ones carry the tools (rt:803-840), the
 *   instructions (rt:842-854) or the tool choice (rt:856-879); `input_audio_buffer.append` with base64 PCM16
 *   in 100 ms chunks of a 24 kHz AudioByteStream, the frames NOT resampled (rt:481, 881-892, 2141-2143: a
 *   48 kHz microphone is sent as is, so its bytes run twice as long as 24 kHz audio would); `conversation.item.create`
 *   / `conversation.item.delete` with an `event_id`, each awaiting `conversation.item.added` / `.deleted` for 5 s
 *   (rt:583-707, 709-780); `response.create` with `event_id` and `response.metadata.client_event_id` for a reply
 *   the agent asks for (after a tool; rt:2145-2185); `response.cancel` whenever the SDK interrupts while a
 *   response is in flight (rt:505-509, 959-967), which the SDK does on every server `speech_started`
 *   (@livekit/agents src/voice/agent_activity.ts:1689-1718, 2840-2852); `conversation.item.truncate`
 *   `{item_id, content_index: 0, audio_end_ms}` after an interrupted reply, or a delete when nothing played (rt:969-1022);
 * - server events it reads (rt:1341-1415): `input_audio_buffer.speech_started` / `speech_stopped` (no field
 *   read, rt:1507-1519); `conversation.item.added` (or beta `.created`) `{previous_item_id, item}` into its
 *   copy of the conversation (rt:1621-1648); `conversation.item.deleted {item_id}` (rt:1650-1670);
 *   `conversation.item.input_audio_transcription.completed {item_id, content_index, transcript}` (rt:1702-1731);
 *   `response.created {response: {id, metadata.client_event_id}}`, whose ARRIVAL stamps the generation
 *   (rt:1521-1569, 1543); `response.output_item.added {item: {id, type}}` (only `message` items open a message
 *   stream, rt:1571-1619); `response.content_part.added {item_id, part.type}`, whose arrival is the first
 *   token (rt:1754-1788); `response.output_audio.delta {item_id, delta}` (base64 24 kHz PCM16) and
 *   `response.output_audio_transcript.delta {item_id, delta}` (GA names; the beta `response.audio.delta` /
 *   `response.audio_transcript.delta` are read too, rt:1385-1392, 1838-1899); `response.output_item.done`
 *   with a `function_call` item's `call_id`, `name`, `arguments` (rt:1919-1954); `response.done {response:
 *   {id, status, status_details, usage}}` (rt:1956-2089); `error {error: {message, event_id}}`, where a
 *   message starting `Cancellation failed` is ignored (rt:2091-2127).
 * How the plugin turns them into metrics: one `realtime_model_metrics` per `response.done` (rt:1999-2036):
 * `ttftMs` = content_part.added arrival - response.created arrival (-1 when the response had no content part:
 * a function call), `durationMs` = response.done arrival - response.created arrival, `cancelled` = status
 * `cancelled`, tokens straight from `usage` (`input_token_details.{audio,text,cached}_tokens`,
 * `cached_tokens_details`, `output_token_details.{text,audio}_tokens`), `label: 'openai_realtime'`, `requestId`
 * = the response id, and no provider/model metadata. A response cut by a reconnection emits none (rt:1047-1070).
 * Closing: a socket the server closes (any code) ends the plugin's run loop without an error and it
 * reconnects at once, replaying session.update, the tools and the conversation's messages as
 * `conversation.item.create`s without waiting for answers (rt:1144-1280, 1150-1216, 1322-1324).
 * `session.created` / `session.updated`, `input_audio_buffer.committed`, `conversation.item.truncated` and the
 * `*.done` events of a part are sent as OpenAI sends them and ignored by the plugin (rt:1410-1414).
 * Server behaviour this stand-in follows (OpenAI's, not in the plugin): `server_vad` declares
 * `speech_stopped` after `silence_duration_ms` of silence (read from the session), commits the buffer into a
 * user item, transcribes it and, with `create_response`, starts a response; with `interrupt_response` it
 * cancels an ongoing response itself at `speech_started` (so the plugin's own response.cancel then finds
 * none and gets the `Cancellation failed` error it ignores).
 */
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { SpeakingCaller, SpokenUtterance } from '../caller.js';
import { StandInServer, sleep, sleepUntil, tonePcm } from './base.js';

/** The Realtime API's audio rate, both ways (proto:5, rt:33, 544). */
export const REALTIME_SAMPLE_RATE = 24_000;

/** Token counts of one response; input includes the cached ones (as OpenAI counts them). */
export interface RealtimeUsage {
  inputTextTokens: number;
  inputAudioTokens: number;
  cachedTextTokens?: number;
  cachedAudioTokens?: number;
  outputTextTokens: number;
  outputAudioTokens: number;
}

/** One spoken response. */
export interface RealtimeReply {
  /** Said as audio, and sent as the audio's transcript. */
  text: string;
  /** The first content part and audio this long after `response.created` (ms): the plugin's ttft. */
  ttftMs: number;
  usage: RealtimeUsage;
  /** Seconds of audio per character (default 0.06). */
  secondsPerCharacter?: number;
  /** Pause between audio deltas (ms, default the server's `chunkIntervalMs`); the chunk's length for real-time pacing. */
  chunkIntervalMs?: number;
}

/** What the stand-in answers to the caller's n-th utterance. */
export interface RealtimeTurnScript {
  /** The input transcription: what the model heard. */
  heard: string;
  /** Silence after the voice before `speech_stopped` (ms); default the session's `silence_duration_ms`, else 500. */
  silenceMs?: number;
  /** The transcription completes this long after `speech_stopped` (ms). */
  transcriptDelayMs: number;
  /** `response.created` this long after `speech_stopped` (ms; default `transcriptDelayMs`, just after the transcript). */
  responseDelayMs?: number;
  /** A function-call response first, its item this long after response.created; the reply then answers the agent's response.create. */
  toolCall?: { name: string; arguments: Record<string, unknown>; afterMs: number; usage: RealtimeUsage };
  reply: RealtimeReply;
}

export interface OpenAiRealtimeOptions {
  caller: SpeakingCaller;
  turns: RealtimeTurnScript[];
  /** Audio per `response.output_audio.delta` (ms, default 100) and the pause between deltas (ms, default 25: 4x real time). */
  audioChunkMs?: number;
  chunkIntervalMs?: number;
  /** Drop the connection this long after the n-th utterance's reply began its audio (`code`: close with it; default terminate). */
  dropSocket?: { utterance: number; afterFirstAudioMs: number; code?: number } | undefined;
}

/** The turn detection a `session.update` configured, as the server applies it (null: none, the client commits turns). */
interface TurnDetection {
  type: string;
  silenceMs?: number | undefined;
  createResponse: boolean;
  interruptResponse: boolean;
}

interface Connection {
  id: number;
  socket: WebSocket;
  /** Item ids in the server's conversation, in order. */
  items: string[];
  turnDetection: TurnDetection | null;
}

interface Response {
  id: string;
  utterance: number;
  connection: Connection;
  finished: boolean;
  /** The message item, once added. */
  itemId?: string;
  usage: RealtimeUsage;
  chunksSent: number;
  chunksTotal: number;
  transcriptSent: string;
}

/** A reply waiting for the agent's `response.create` (after its tool ran). */
interface PendingReply {
  utterance: number;
  reply: RealtimeReply;
}

interface ClientEvent {
  type: string;
  event_id?: string;
  session?: Record<string, unknown>;
  audio?: string;
  item?: { id?: string; type?: string; role?: string; call_id?: string; content?: unknown[] } & Record<string, unknown>;
  previous_item_id?: string;
  item_id?: string;
  content_index?: number;
  audio_end_ms?: number;
  response?: { metadata?: { client_event_id?: string }; instructions?: string } | undefined;
  response_id?: string;
}

/**
 * The OpenAI Realtime stand-in. Its events on endpoint `realtime`: `connect`, `session_update`, `item_create`,
 * `item_delete`, `truncate`, `buffer_commit`, `buffer_clear`, `response_create`, `cancel_request`, `close`,
 * `fault`; per turn `speech_started`, `speech_stopped`, `transcript`, `response_created`, `function_call`,
 * `first_audio`, `cancel`, `response_done` (with the usage sent).
 */
export async function startOpenAiRealtime(options: OpenAiRealtimeOptions): Promise<StandInServer & { receivedAudioBytes: () => number }> {
  const server = new StandInServer('openai-realtime');
  const audioChunkMs = options.audioChunkMs ?? 100;
  let current: Connection | undefined;
  let active: Response | undefined;
  let audioBytes = 0;
  let connections = 0;
  let serial = 0;
  const pendingReplies: PendingReply[] = [];
  const userItems = new Map<number, string>();
  /** Speech the caller began while no connection was open: the real server hears it in the audio the plugin queued meanwhile. */
  const deferred: Array<() => void> = [];
  const nextId = (prefix: string): string => `${prefix}_${(++serial).toString().padStart(6, '0')}`;

  /** Sends one server event on `connection` (default the current one); false when there is none open. */
  const send = (type: string, fields: Record<string, unknown>, connection = current): boolean => {
    if (!connection || connection.socket.readyState !== connection.socket.OPEN) return false;
    connection.socket.send(JSON.stringify({ event_id: nextId('event'), type, ...fields }));
    return true;
  };
  /** Audio received so far (ms), on the 24 kHz clock the session declared: `speech_started` and `speech_stopped` log it. */
  const audioMs = (): number => Math.round((audioBytes / 2 / REALTIME_SAMPLE_RATE) * 1000);

  server.websocket('/v1/realtime', (socket: WebSocket, req: IncomingMessage) => {
    const url = new URL(`http://stand-in${req.url ?? '/'}`);
    const connection: Connection = { id: ++connections, socket, items: [], turnDetection: parseTurnDetection({ type: 'server_vad' }) };
    current = connection;
    server.log('realtime', 'connect', { connection: connection.id, path: url.pathname, model: url.searchParams.get('model'), auth: req.headers.authorization, userAgent: req.headers['user-agent'] });
    send('session.created', { session: { id: `sess_${connection.id}`, object: 'realtime.session', type: 'realtime', model: url.searchParams.get('model') } }, connection);
    for (const deliver of deferred.splice(0)) deliver();
    socket.on('message', (data: Buffer) => onClientEvent(connection, JSON.parse(data.toString()) as ClientEvent));
    socket.on('close', (code: number) => {
      if (current === connection) current = undefined;
      if (active?.connection === connection) {
        active.finished = true;
        active = undefined;
      }
      server.log('realtime', 'close', { connection: connection.id, code });
    });
  });

  function onClientEvent(connection: Connection, event: ClientEvent): void {
    switch (event.type) {
      case 'input_audio_buffer.append':
        audioBytes += Buffer.byteLength(event.audio ?? '', 'base64');
        return;
      case 'session.update':
        return updateSession(connection, event);
      case 'conversation.item.create':
        return createItem(connection, event);
      case 'conversation.item.delete':
        return deleteItem(connection, event);
      case 'conversation.item.truncate':
        server.log('realtime', 'truncate', { connection: connection.id, itemId: event.item_id, audioEndMs: event.audio_end_ms });
        send('conversation.item.truncated', { item_id: event.item_id, content_index: event.content_index ?? 0, audio_end_ms: event.audio_end_ms }, connection);
        return;
      case 'input_audio_buffer.commit':
        server.log('realtime', 'buffer_commit', { connection: connection.id });
        send('input_audio_buffer.committed', { item_id: nextId('item'), previous_item_id: connection.items.at(-1) ?? null }, connection);
        return;
      case 'input_audio_buffer.clear':
        server.log('realtime', 'buffer_clear', { connection: connection.id });
        send('input_audio_buffer.cleared', {}, connection);
        return;
      case 'response.create':
        return onResponseCreate(connection, event);
      case 'response.cancel':
        return onResponseCancel(connection, event);
      default:
        server.log('realtime', 'unknown_client_event', { connection: connection.id, eventType: event.type });
    }
  }

  /** Applies a session.update: the turn detection (GA `audio.input.turn_detection`, or the beta flat field) matters here. */
  function updateSession(connection: Connection, event: ClientEvent): void {
    const session = event.session ?? {};
    const audio = session.audio as { input?: { turn_detection?: Record<string, unknown> | null; transcription?: { model?: string } | null }; output?: { voice?: string } } | undefined;
    const detection = audio?.input && 'turn_detection' in audio.input ? audio.input.turn_detection : (session.turn_detection as Record<string, unknown> | null | undefined);
    if (detection !== undefined) connection.turnDetection = detection === null ? null : parseTurnDetection(detection);
    const tools = session.tools as Array<{ name: string }> | undefined;
    server.log('realtime', 'session_update', {
      connection: connection.id,
      eventId: event.event_id,
      keys: Object.keys(session),
      model: session.model,
      turnDetection: detection,
      transcriptionModel: audio?.input?.transcription?.model,
      voice: audio?.output?.voice,
      outputModalities: session.output_modalities,
      tools: tools?.map((t) => t.name),
      hasInstructions: typeof session.instructions === 'string',
    });
    send('session.updated', { session: { object: 'realtime.session', ...session } }, connection);
  }

  function createItem(connection: Connection, event: ClientEvent): void {
    const item = { object: 'realtime.item', status: 'completed', ...event.item, id: event.item?.id ?? nextId('item') };
    insertItem(connection, item.id, event.previous_item_id);
    server.log('realtime', 'item_create', { connection: connection.id, itemId: item.id, itemType: item.type, role: item.role, callId: item.call_id, eventId: event.event_id });
    send('conversation.item.added', { previous_item_id: event.previous_item_id ?? null, item }, connection);
  }

  function deleteItem(connection: Connection, event: ClientEvent): void {
    const index = connection.items.indexOf(event.item_id ?? '');
    server.log('realtime', 'item_delete', { connection: connection.id, itemId: event.item_id, known: index >= 0 });
    if (index < 0) {
      send('error', { error: { type: 'invalid_request_error', code: 'item_not_found', message: `Item with item_id not found: ${event.item_id}`, param: 'item_id', event_id: event.event_id } }, connection);
      return;
    }
    connection.items.splice(index, 1);
    send('conversation.item.deleted', { item_id: event.item_id }, connection);
  }

  /** The agent asks for a reply (after its tool ran): the turn's pending reply, echoing its client_event_id. */
  function onResponseCreate(connection: Connection, event: ClientEvent): void {
    const pending = pendingReplies.shift();
    const clientEventId = event.response?.metadata?.client_event_id;
    server.log('realtime', 'response_create', { connection: connection.id, eventId: event.event_id, clientEventId, scripted: pending !== undefined });
    if (!pending) {
      send('error', { error: { type: 'invalid_request_error', code: 'unscripted', message: 'no scripted response for this response.create', param: null, event_id: event.event_id } }, connection);
      return;
    }
    void serveReply(connection, pending.utterance, pending.reply, 'response.create', clientEventId);
  }

  function onResponseCancel(connection: Connection, event: ClientEvent): void {
    const cancellable = active !== undefined && active.connection === connection && (!event.response_id || event.response_id === active.id);
    server.log('realtime', 'cancel_request', { connection: connection.id, responseId: event.response_id, active: cancellable, activeResponse: active?.id });
    if (cancellable) {
      cancel(active!, 'client_cancelled', 'client');
      return;
    }
    send('error', { error: { type: 'invalid_request_error', code: 'response_cancel_not_active', message: 'Cancellation failed: no active response found', param: null, event_id: event.event_id } }, connection);
  }

  // the server's VAD answers the caller; a session without turn detection gets nothing scripted (its turns would be response.creates)
  const serverVad = (): boolean => current?.turnDetection !== null;
  options.caller.on('voice_start', (spoken: SpokenUtterance) => {
    if (options.turns[spoken.index] && serverVad()) startOfSpeech(spoken);
  });
  options.caller.on('voice_end', (spoken: SpokenUtterance) => {
    const turn = options.turns[spoken.index];
    if (turn && serverVad()) void serveTurn(spoken, turn);
  });

  /**
   * The server's VAD hears the voice start: speech_started, and (with interrupt_response) the ongoing response
   * cancelled. Before the first connection opens (the caller may speak before the plugin has connected) it is
   * sent as the connection opens, as the plugin's queued audio then reaches the server.
   */
  function startOfSpeech(spoken: SpokenUtterance): void {
    const itemId = nextId('item');
    userItems.set(spoken.index, itemId);
    const deliver = (): void => {
      const during = active?.id;
      send('input_audio_buffer.speech_started', { audio_start_ms: audioMs(), item_id: itemId });
      server.log('realtime', 'speech_started', { utterance: spoken.index, itemId, voiceStartAt: spoken.voiceStartAt, lateMs: Math.max(0, Date.now() - spoken.voiceStartAt), audioMs: audioMs(), during });
      if (active && current?.turnDetection?.interruptResponse !== false) cancel(active, 'turn_detected', 'server_vad');
    };
    if (current) deliver();
    else deferred.push(deliver);
  }

  /** After the scripted silence: speech_stopped, the committed user item, its transcription and the response. */
  async function serveTurn(spoken: SpokenUtterance, turn: RealtimeTurnScript): Promise<void> {
    const silenceMs = turn.silenceMs ?? current?.turnDetection?.silenceMs ?? 500;
    await sleepUntil(spoken.voiceEndAt + silenceMs);
    const stoppedAt = Date.now();
    const connection = current;
    const itemId = userItems.get(spoken.index) ?? nextId('item');
    const delivered = send('input_audio_buffer.speech_stopped', { audio_end_ms: audioMs(), item_id: itemId }, connection);
    server.log('realtime', 'speech_stopped', { utterance: spoken.index, itemId, voiceEndAt: spoken.voiceEndAt, silenceMs, audioMs: audioMs(), delivered }, stoppedAt);
    if (!connection) return;
    commitUserItem(connection, itemId);
    void sleepUntil(stoppedAt + turn.transcriptDelayMs).then(() => {
      const sent = send('conversation.item.input_audio_transcription.completed', { item_id: itemId, content_index: 0, transcript: turn.heard }, connection);
      server.log('realtime', 'transcript', { utterance: spoken.index, itemId, text: turn.heard, delivered: sent });
    });
    await sleepUntil(stoppedAt + (turn.responseDelayMs ?? turn.transcriptDelayMs));
    if (connection.turnDetection?.createResponse === false) return;
    if (turn.toolCall) {
      await serveFunctionCall(connection, spoken.index, turn.toolCall);
      pendingReplies.push({ utterance: spoken.index, reply: turn.reply });
      return;
    }
    await serveReply(connection, spoken.index, turn.reply, 'server_vad', undefined);
  }

  function commitUserItem(connection: Connection, itemId: string): void {
    const previous = connection.items.at(-1) ?? null;
    insertItem(connection, itemId, previous ?? undefined);
    send('input_audio_buffer.committed', { item_id: itemId, previous_item_id: previous }, connection);
    send('conversation.item.added', { previous_item_id: previous, item: { id: itemId, object: 'realtime.item', type: 'message', status: 'completed', role: 'user', content: [{ type: 'input_audio', transcript: null }] } }, connection);
  }

  /** response.created; the response is the active one until done, cancelled or dropped. */
  function openResponse(connection: Connection, utterance: number, kind: string, usage: RealtimeUsage, trigger: string, clientEventId: string | undefined): Response {
    const response: Response = { id: nextId('resp'), utterance, connection, finished: false, usage, chunksSent: 0, chunksTotal: 0, transcriptSent: '' };
    active = response;
    send('response.created', { response: { id: response.id, object: 'realtime.response', status: 'in_progress', status_details: null, output: [], usage: null, metadata: clientEventId ? { client_event_id: clientEventId } : null } }, connection);
    server.log('realtime', 'response_created', { utterance, responseId: response.id, kind, trigger, clientEventId });
    return response;
  }

  /** response.done with the usage (scaled to the audio sent when cancelled), and the response no longer active. */
  function closeResponse(response: Response, status: 'completed' | 'cancelled', output: unknown[], statusDetails: unknown): void {
    response.finished = true;
    if (active === response) active = undefined;
    const outputFraction = status === 'cancelled' && response.chunksTotal > 0 ? response.chunksSent / response.chunksTotal : 1;
    const usage = realtimeUsageWire(response.usage, outputFraction);
    send('response.done', { response: { id: response.id, object: 'realtime.response', status, status_details: statusDetails, output, usage, metadata: null } }, response.connection);
    server.log('realtime', 'response_done', { utterance: response.utterance, responseId: response.id, status, usage, audioSeconds: (response.chunksSent * audioChunkMs) / 1000, text: response.transcriptSent });
  }

  /** A response that calls a tool: its function_call item after `afterMs`, then done. */
  async function serveFunctionCall(connection: Connection, utterance: number, call: NonNullable<RealtimeTurnScript['toolCall']>): Promise<void> {
    const response = openResponse(connection, utterance, 'function_call', call.usage, 'server_vad', undefined);
    await sleepUntil(Date.now() + call.afterMs);
    if (response.finished) return;
    const args = JSON.stringify(call.arguments);
    const item = { id: nextId('item'), object: 'realtime.item', type: 'function_call', status: 'in_progress', call_id: nextId('call'), name: call.name, arguments: '' };
    const where = { response_id: response.id, output_index: 0 };
    const previous = connection.items.at(-1) ?? null;
    insertItem(connection, item.id, previous ?? undefined);
    send('response.output_item.added', { ...where, item }, connection);
    send('conversation.item.added', { previous_item_id: previous, item }, connection);
    send('response.function_call_arguments.delta', { ...where, item_id: item.id, call_id: item.call_id, delta: args }, connection);
    send('response.function_call_arguments.done', { ...where, item_id: item.id, call_id: item.call_id, name: call.name, arguments: args }, connection);
    const done = { ...item, status: 'completed', arguments: args };
    send('response.output_item.done', { ...where, item: done }, connection);
    server.log('realtime', 'function_call', { utterance, responseId: response.id, itemId: item.id, callId: item.call_id, name: call.name, arguments: args });
    closeResponse(response, 'completed', [done], null);
  }

  /** A spoken response: its message item, content part and first audio `ttftMs` after response.created, then audio and transcript deltas. */
  async function serveReply(connection: Connection, utterance: number, reply: RealtimeReply, trigger: string, clientEventId: string | undefined): Promise<void> {
    const response = openResponse(connection, utterance, 'audio', reply.usage, trigger, clientEventId);
    const createdAt = Date.now();
    const pcm = tonePcm(reply.text.length * (reply.secondsPerCharacter ?? 0.06), REALTIME_SAMPLE_RATE);
    const chunkBytes = (REALTIME_SAMPLE_RATE * 2 * audioChunkMs) / 1000;
    response.chunksTotal = Math.ceil(pcm.length / chunkBytes);
    await sleepUntil(createdAt + reply.ttftMs);
    if (response.finished) return;
    const item = { id: nextId('item'), object: 'realtime.item', type: 'message', status: 'in_progress', role: 'assistant', content: [] as unknown[] };
    response.itemId = item.id;
    const where = { response_id: response.id, output_index: 0 };
    const part = { ...where, item_id: item.id, content_index: 0 };
    const previous = connection.items.at(-1) ?? null;
    insertItem(connection, item.id, previous ?? undefined);
    send('response.output_item.added', { ...where, item }, connection);
    send('conversation.item.added', { previous_item_id: previous, item }, connection);
    send('response.content_part.added', { ...part, part: { type: 'audio', transcript: '' } }, connection);
    const firstAudioAt = Date.now();
    server.log('realtime', 'first_audio', { utterance, responseId: response.id, sinceCreatedMs: firstAudioAt - createdAt }, firstAudioAt);
    scheduleDrop(response, firstAudioAt);
    const words = reply.text.split(/(?<= )/);
    for (let i = 0; i < response.chunksTotal && !response.finished; i++) {
      if (i > 0) await sleep(reply.chunkIntervalMs ?? options.chunkIntervalMs ?? 25);
      if (response.finished) return;
      send('response.output_audio.delta', { ...part, delta: pcm.subarray(i * chunkBytes, (i + 1) * chunkBytes).toString('base64') }, connection);
      response.chunksSent++;
      const said = words.slice(Math.floor((i * words.length) / response.chunksTotal), Math.floor(((i + 1) * words.length) / response.chunksTotal)).join('');
      if (said) {
        send('response.output_audio_transcript.delta', { ...part, delta: said }, connection);
        response.transcriptSent += said;
      }
    }
    if (response.finished) return;
    send('response.output_audio.done', part, connection);
    send('response.output_audio_transcript.done', { ...part, transcript: reply.text }, connection);
    send('response.content_part.done', { ...part, part: { type: 'audio', transcript: reply.text } }, connection);
    const done = { ...item, status: 'completed', content: [{ type: 'output_audio', transcript: reply.text }] };
    send('response.output_item.done', { ...where, item: done }, connection);
    closeResponse(response, 'completed', [done], null);
  }

  /** Ends the active response as cancelled, with the events OpenAI closes an interrupted message with. */
  function cancel(response: Response, reason: string, by: 'server_vad' | 'client'): void {
    if (response.finished) return;
    server.log('realtime', 'cancel', { utterance: response.utterance, responseId: response.id, by, reason, audioSeconds: (response.chunksSent * audioChunkMs) / 1000 });
    const output: unknown[] = [];
    if (response.itemId) {
      const part = { response_id: response.id, output_index: 0, item_id: response.itemId, content_index: 0 };
      send('response.output_audio.done', part, response.connection);
      send('response.output_audio_transcript.done', { ...part, transcript: response.transcriptSent }, response.connection);
      send('response.content_part.done', { ...part, part: { type: 'audio', transcript: response.transcriptSent } }, response.connection);
      const item = { id: response.itemId, object: 'realtime.item', type: 'message', status: 'incomplete', role: 'assistant', content: [{ type: 'output_audio', transcript: response.transcriptSent }] };
      send('response.output_item.done', { response_id: response.id, output_index: 0, item }, response.connection);
      output.push(item);
    }
    closeResponse(response, 'cancelled', output, { type: 'cancelled', reason });
  }

  /** The scripted fault: the connection dropped while this response streams (the response dies with it). */
  function scheduleDrop(response: Response, firstAudioAt: number): void {
    const drop = options.dropSocket;
    if (!drop || drop.utterance !== response.utterance) return;
    void sleepUntil(firstAudioAt + drop.afterFirstAudioMs).then(() => {
      const { socket } = response.connection;
      server.log('realtime', 'fault', { fault: 'dropped_socket', utterance: response.utterance, responseId: response.id, connection: response.connection.id, audioSeconds: (response.chunksSent * audioChunkMs) / 1000, code: drop.code ?? 'terminate' });
      response.finished = true;
      if (active === response) active = undefined;
      if (drop.code !== undefined) socket.close(drop.code, 'scripted fault');
      else socket.terminate();
    });
  }

  await server.listen();
  return Object.assign(server, { receivedAudioBytes: () => audioBytes });
}

/** Puts an item into the connection's conversation after `previousId` (at the end when unknown). */
function insertItem(connection: Connection, id: string, previousId: string | undefined): void {
  const index = previousId === undefined ? -1 : connection.items.indexOf(previousId);
  if (index < 0) connection.items.push(id);
  else connection.items.splice(index + 1, 0, id);
}

/** The session's turn detection with OpenAI's defaults (server_vad: 500 ms of silence; both flags on). */
function parseTurnDetection(detection: Record<string, unknown>): TurnDetection {
  const type = String(detection.type ?? 'server_vad');
  const silence = detection.silence_duration_ms;
  return {
    type,
    silenceMs: typeof silence === 'number' ? silence : type === 'server_vad' ? 500 : undefined,
    createResponse: detection.create_response !== false,
    interruptResponse: detection.interrupt_response !== false,
  };
}

/**
 * A response's `usage` as `response.done` carries it (proto:302-320); `outputFraction` scales the output
 * tokens of a response cancelled part way (the ones generated before the cancel).
 */
export function realtimeUsageWire(usage: RealtimeUsage, outputFraction = 1): Record<string, unknown> {
  const cachedText = usage.cachedTextTokens ?? 0;
  const cachedAudio = usage.cachedAudioTokens ?? 0;
  const outputText = Math.round(usage.outputTextTokens * outputFraction);
  const outputAudio = Math.round(usage.outputAudioTokens * outputFraction);
  const input = usage.inputTextTokens + usage.inputAudioTokens;
  return {
    total_tokens: input + outputText + outputAudio,
    input_tokens: input,
    output_tokens: outputText + outputAudio,
    input_token_details: {
      text_tokens: usage.inputTextTokens,
      audio_tokens: usage.inputAudioTokens,
      image_tokens: 0,
      cached_tokens: cachedText + cachedAudio,
      cached_tokens_details: { text_tokens: cachedText, audio_tokens: cachedAudio, image_tokens: 0 },
    },
    output_token_details: { text_tokens: outputText, audio_tokens: outputAudio },
  };
}
