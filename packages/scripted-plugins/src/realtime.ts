import { llm, type RealtimeModelMetrics } from '@livekit/agents';
import type { AudioFrame } from '@livekit/rtc-node';
import { ReadableStream, type ReadableStreamDefaultController } from 'node:stream/web';
import { FRAME_MS, frameRms, toneFrame } from './audio.js';
import { countTokens, type ScriptedReply } from './llm.js';
import { SeededRandom, drawLatency, type LatencyRange } from './random.js';
import { ScriptedSTT, type ScriptedUtterance } from './stt.js';

/** Server-side voice activity detection, as OpenAI's `server_vad` turn detection. */
export interface ServerVadOptions {
  /** RMS (0..1) above which pushed audio counts as speech. */
  threshold?: number | undefined;
  /** Speech needed before `input_speech_started`, in ms. */
  minSpeechMs?: number | undefined;
  /** Silence that ends the user's turn (`input_speech_stopped`, then commit), in ms. */
  silenceDurationMs?: number | undefined;
  /** Audio kept before the detected start of speech in the committed item, in ms. */
  prefixPaddingMs?: number | undefined;
  /** Create a response when a turn is committed (OpenAI `create_response`). */
  createResponse?: boolean | undefined;
  /** Cancel the in-flight response when the user starts speaking (OpenAI `interrupt_response`). */
  interruptResponse?: boolean | undefined;
}

/** How the model transcribes the user's audio (a separate transcription model on the provider side). */
export interface InputTranscriptionOptions {
  /** Transcription model reported on the transcriber (default `gpt-4o-mini-transcribe`). */
  model?: string | undefined;
  /**
   * `delayed` (OpenAI): the final transcript arrives `delay` ms after the turn is committed,
   * independently of the reply, usually after the reply started. `after_response` (Gemini Live):
   * it arrives only when the reply that answers it is done, with `turnStartedAt` set.
   */
  timing?: 'delayed' | 'after_response' | undefined;
  /** Time from the commit of the user's turn to the final transcript (`delayed`), in ms. */
  delay?: LatencyRange | undefined;
  /** Emit one partial transcript (`isFinal: false`) halfway through the delay, as OpenAI's deltas. */
  interim?: boolean | undefined;
}

/** Options of {@link ScriptedRealtimeModel}. */
export interface ScriptedRealtimeModelOptions {
  /**
   * What the model answers. `when` is matched as in `ScriptedLLM` against the newest input
   * (the transcript of the user's newest audio turn or text message, or `tool:<name>` for a
   * tool output); `instructions:<text>` matches the instructions of `generateReply` (a greeting).
   */
  replies: ScriptedReply[];
  /** Spoken when no reply matches. */
  fallback?: string | undefined;
  /** Default `openai` (the SDK's own plugin reports the API host, `api.openai.com`). */
  provider?: string | undefined;
  /** Default `gpt-4o-realtime-preview`. */
  model?: string | undefined;
  /** The model's `label()` and the `label` of its metrics. */
  label?: string | undefined;
  /** `server_vad` (default): the model detects turns in the audio it is pushed. `null`: the session's VAD does. */
  turnDetection?: 'server_vad' | null | undefined;
  serverVad?: ServerVadOptions | undefined;
  /** `null` turns input transcription off (capability `userTranscription: false`). */
  inputTranscription?: InputTranscriptionOptions | null | undefined;
  /** Output modalities; without `audio` the model answers in text only (the session then needs a TTS). */
  modalities?: Array<'text' | 'audio'> | undefined;
  /** From `response.created` to the first content (audio or text), in ms. */
  ttft?: LatencyRange | undefined;
  /** From a commit or `generateReply` to `response.created` (one network round trip), in ms. */
  responseCreatedDelay?: LatencyRange | undefined;
  /**
   * From `interrupt()` (OpenAI `response.cancel`) to the cancelled response's `response.done`
   * and its metrics, in ms: a round trip, so they usually arrive after the SDK ended the turn.
   */
  cancelDelay?: LatencyRange | undefined;
  /** Spoken rate of the output audio: ms of audio per character of the transcript. */
  msPerCharacter?: number | undefined;
  /** Generation speed: output audio is produced this many times faster than real time. */
  realtimeFactor?: number | undefined;
  /** Output sample rate (OpenAI: 24 kHz). */
  sampleRate?: number | undefined;
  /** Tokens per second of user audio in the context (OpenAI: about 10). */
  inputAudioTokensPerSecond?: number | undefined;
  /** Tokens per second of generated audio (OpenAI: about 20). */
  outputAudioTokensPerSecond?: number | undefined;
  /** Prompt cache granularity, in tokens: cached prefixes are rounded down to it. */
  cacheGranularity?: number | undefined;
  /**
   * Bill the connection time (as xAI / session-billed models): each response's metrics
   * carry the session time since the previous report in `sessionDurationMs`, and closing the
   * session emits one last `realtime_model_metrics` (no tokens) with the remainder. The SDK
   * sums `sessionDurationMs`, so each report is an increment.
   */
  sessionBilling?: boolean | undefined;
  /**
   * Put `metadata` (`modelProvider`, `modelName`) on the metrics, as the Python plugins do
   * (default true). The Node OpenAI/Google plugins of agents-js leave it out, and the SDK then
   * aggregates their usage under provider `''` and model `''`: set false to reproduce that.
   */
  metricsMetadata?: boolean | undefined;
  seed?: number | undefined;
}

type Resolved<T> = { [K in keyof T]-?: Exclude<T[K], undefined> };

type ResolvedOptions = Resolved<Omit<ScriptedRealtimeModelOptions, 'serverVad' | 'inputTranscription' | 'turnDetection'>> & {
  turnDetection: 'server_vad' | null;
  serverVad: Resolved<ServerVadOptions>;
  inputTranscription: Resolved<InputTranscriptionOptions> | null;
};

/** `defaults` overridden by every option set; an option passed as `undefined` keeps its default. */
function merge<T extends object>(defaults: T, options: { [K in keyof T]?: T[K] | undefined }): T {
  const merged = { ...defaults };
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
  }
  return merged;
}

/** One response the model produced, as the provider's `response.done` would describe it. */
export interface ScriptedRealtimeResponse {
  responseId: string;
  userInitiated: boolean;
  createdAt: number;
  /** The first audio (or text) content, epoch ms; undefined when none came. */
  firstContentAt?: number;
  doneAt?: number;
  status: 'in_progress' | 'completed' | 'cancelled';
  /** The transcript generated (all of it, even past a later truncation). */
  text: string;
  /** Audio generated, in ms. */
  audioMs: number;
  toolCalls: string[];
  metrics?: RealtimeModelMetrics;
}

/** A `truncate()` call the SDK made (what an OpenAI `conversation.item.truncate` would carry). */
export interface ScriptedTruncation {
  messageId: string;
  audioEndMs: number;
  audioTranscript?: string | undefined;
  at: number;
}

const DEFAULTS = {
  fallback: 'Sorry, could you say that again?',
  provider: 'openai',
  model: 'gpt-4o-realtime-preview',
  label: 'voicetrace.ScriptedRealtimeModel',
  modalities: ['audio', 'text'] as Array<'text' | 'audio'>,
  ttft: { minMs: 250, maxMs: 450 },
  responseCreatedDelay: { minMs: 20, maxMs: 60 },
  cancelDelay: { minMs: 40, maxMs: 120 },
  msPerCharacter: 60,
  realtimeFactor: 4,
  sampleRate: 24_000,
  inputAudioTokensPerSecond: 10,
  outputAudioTokensPerSecond: 20,
  cacheGranularity: 64,
  sessionBilling: false,
  metricsMetadata: true,
  seed: 17,
};

/**
 * A speech-to-speech model (OpenAI Realtime / Gemini Live style), offline. It hears
 * the audio the session pushes (speech detected from the frames' energy), detects the
 * user's turns itself (`server_vad`) or lets the session's VAD do it, answers from a
 * script with streamed audio (a tone whose length follows the text) and transcript,
 * calls tools, transcribes the user late (after its reply started, as the real
 * providers do), honours `interrupt()` and `truncate()`, and reports one
 * `realtime_model_metrics` per response with per-modality token details and a prompt
 * cache that grows across turns.
 *
 * What the user says is queued on {@link ScriptedRealtimeModel.transcriber} (pass it
 * to `ScriptedUser` as its `stt`): the model "understands" an utterance when it hears it.
 */
export class ScriptedRealtimeModel extends llm.RealtimeModel {
  readonly options: ResolvedOptions;
  readonly random: SeededRandom;
  /** The queue of what the user will say (the provider's input transcription model). */
  readonly transcriber: ScriptedSTT;
  /** Every response of every session, in order (for tests and demos). */
  readonly responses: ScriptedRealtimeResponse[] = [];
  /** Every `truncate()` the SDK made. */
  readonly truncations: ScriptedTruncation[] = [];
  readonly sessions: ScriptedRealtimeSession[] = [];

  constructor(options: ScriptedRealtimeModelOptions) {
    const turnDetection = options.turnDetection === undefined ? 'server_vad' : options.turnDetection;
    const inputTranscription =
      options.inputTranscription === null
        ? null
        : merge<Resolved<InputTranscriptionOptions>>(
            { model: 'gpt-4o-mini-transcribe', timing: 'delayed', delay: { minMs: 600, maxMs: 1000 }, interim: true },
            options.inputTranscription ?? {},
          );
    const { serverVad, inputTranscription: _it, turnDetection: _td, ...rest } = options;
    const resolved: ResolvedOptions = {
      ...merge<Omit<ResolvedOptions, 'turnDetection' | 'serverVad' | 'inputTranscription'>>({ ...DEFAULTS, replies: options.replies }, rest),
      turnDetection,
      inputTranscription,
      serverVad: merge<Resolved<ServerVadOptions>>(
        { threshold: 0.05, minSpeechMs: 60, silenceDurationMs: 500, prefixPaddingMs: 300, createResponse: true, interruptResponse: true },
        serverVad ?? {},
      ),
    };
    // the capabilities the OpenAI plugin reports for the same configuration
    super({
      messageTruncation: true,
      turnDetection: turnDetection !== null,
      userTranscription: inputTranscription !== null,
      autoToolReplyGeneration: false,
      audioOutput: resolved.modalities.includes('audio'),
      manualFunctionCalls: true,
      midSessionChatCtxUpdate: true,
      midSessionInstructionsUpdate: true,
      midSessionToolsUpdate: true,
      perResponseToolChoice: true,
    });
    this.options = resolved;
    this.random = new SeededRandom(resolved.seed);
    this.transcriber = new ScriptedSTT({ provider: resolved.provider, model: inputTranscription?.model ?? 'none', seed: resolved.seed + 1 });
  }

  get model(): string {
    return this.options.model;
  }

  override get provider(): string {
    return this.options.provider;
  }

  override label(): string {
    return this.options.label;
  }

  session(): ScriptedRealtimeSession {
    const session = new ScriptedRealtimeSession(this);
    this.sessions.push(session);
    return session;
  }

  async close(): Promise<void> {
    await Promise.all(this.sessions.map((session) => session.close()));
  }

  /** @internal Picks the reply for the newest input (or the per-response instructions). */
  pick(newest: string | undefined, instructions: string | undefined): ScriptedReply {
    const replies = this.options.replies;
    if (instructions) {
      const text = instructions.toLowerCase();
      const byInstructions = replies.find((reply) => {
        const when = reply.when.toLowerCase();
        return when.startsWith('instructions:') && text.includes(when.slice('instructions:'.length));
      });
      if (byInstructions) return byInstructions;
    }
    const key = (newest ?? '').toLowerCase();
    const isTool = key.startsWith('tool:');
    const match = key
      ? replies.find((reply) => {
          const when = reply.when.toLowerCase();
          if (when.startsWith('instructions:')) return false;
          return isTool ? key.startsWith(`${when}:`) : !when.startsWith('tool:') && key.includes(when);
        })
      : undefined;
    return match ?? { when: '', text: this.options.fallback };
  }
}

/** A writable side for a web ReadableStream that tolerates a reader that cancelled. */
class Channel<T> {
  readonly stream: ReadableStream<T>;
  private controller!: ReadableStreamDefaultController<T>;
  private closed = false;

  constructor() {
    this.stream = new ReadableStream<T>({
      start: (controller) => {
        this.controller = controller;
      },
      cancel: () => {
        this.closed = true;
      },
    });
  }

  write(value: T): void {
    if (this.closed) return;
    try {
      this.controller.enqueue(value);
    } catch {
      this.closed = true;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.controller.close();
    } catch {
      // the reader went away first
    }
  }
}

interface ActiveResponse {
  record: ScriptedRealtimeResponse;
  abort: AbortController;
  messages: Channel<llm.MessageGeneration>;
  functions: Channel<llm.FunctionCall>;
  open: Array<Channel<unknown>>;
  input: InputUsage;
  outputTextTokens: number;
  /** User items whose transcript waits for this response to finish (`after_response`). */
  transcriptsAfter: string[];
}

interface InputUsage {
  total: number;
  text: number;
  audio: number;
  cached: number;
  cachedText: number;
  cachedAudio: number;
}

interface Segment {
  key: string;
  text: number;
  audio: number;
}

/** Sleeps `ms`, waking early (without throwing) when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * One provider connection of {@link ScriptedRealtimeModel}: the remote conversation, the
 * input audio buffer, server-side turn detection and the responses.
 */
export class ScriptedRealtimeSession extends llm.RealtimeSession {
  private readonly owner: ScriptedRealtimeModel;
  private readonly opts: ResolvedOptions;
  private _chatCtx = llm.ChatContext.empty();
  private _tools = llm.ToolContext.empty();
  private instructions = '';
  private toolChoice: llm.ToolChoice | null | undefined = 'auto';
  private closed = false;
  private readonly closing = new AbortController();
  private readonly timers = new Set<NodeJS.Timeout>();
  private counter = 0;

  // the input audio buffer (everything pushed since the last commit or clear)
  private bufferMs = 0;
  private bufferUtterances: ScriptedUtterance[] = [];
  private inSpeech = false;
  private speechRunMs = 0;
  private silenceMs = 0;
  private speechStartedAt = 0;
  private speechSpanMs = 0;
  private silenceBeforeMs = 0;

  // what the model understood of each user audio item, and each audio item's tokens
  private readonly heard = new Map<string, ScriptedUtterance>();
  private readonly audioTokens = new Map<string, number>();
  private readonly truncated = new Set<string>();
  /** User items whose transcript waits for the next response to finish (`after_response`). */
  private pendingAfterResponse: string[] = [];

  private current: ActiveResponse | undefined;
  private previousSegments: Segment[] = [];
  private lastBilledAt = Date.now();

  constructor(owner: ScriptedRealtimeModel) {
    super(owner);
    this.owner = owner;
    this.opts = owner.options;
  }

  get chatCtx(): llm.ChatContext {
    return this._chatCtx.copy();
  }

  get tools(): llm.ToolContext {
    return this._tools.copy();
  }

  async updateInstructions(instructions: string): Promise<void> {
    this.instructions = instructions;
  }

  async updateChatCtx(chatCtx: llm.ChatContext): Promise<void> {
    this._chatCtx = chatCtx.copy();
  }

  async updateTools(tools: llm.ToolContext): Promise<void> {
    this._tools = tools.copy();
  }

  updateOptions(options: { toolChoice?: llm.ToolChoice | null }): void {
    if (options.toolChoice !== undefined) this.toolChoice = options.toolChoice;
  }

  // -- input audio --

  pushAudio(frame: AudioFrame): void {
    if (this.closed) return;
    const frameMs = (frame.samplesPerChannel / frame.sampleRate) * 1000;
    const vad = this.opts.serverVad;
    this.bufferMs += frameMs;
    if (frameRms(frame) > vad.threshold) {
      this.speechRunMs += frameMs;
      this.silenceMs = 0;
      if (!this.inSpeech && this.speechRunMs >= vad.minSpeechMs) this.onSpeechStarted();
      else if (this.inSpeech) this.speechSpanMs += frameMs;
    } else if (this.inSpeech) {
      this.silenceMs += frameMs;
      this.speechSpanMs += frameMs;
      if (this.silenceMs >= vad.silenceDurationMs) this.onSpeechStopped();
    } else {
      this.speechRunMs = 0;
      this.silenceBeforeMs += frameMs;
    }
  }

  private onSpeechStarted(): void {
    this.inSpeech = true;
    this.speechSpanMs = this.speechRunMs;
    this.speechStartedAt = Date.now() - this.speechRunMs;
    // the model understands what it hears: the next queued utterance is this speech
    const utterance = this.owner.transcriber.takeNext();
    if (utterance) this.bufferUtterances.push(utterance);
    if (this.opts.turnDetection !== 'server_vad') return;
    this.emit('input_speech_started', {} satisfies llm.InputSpeechStartedEvent);
    if (this.opts.serverVad.interruptResponse) this.cancelCurrent();
  }

  private onSpeechStopped(): void {
    this.inSpeech = false;
    this.speechRunMs = 0;
    if (this.opts.turnDetection !== 'server_vad') return;
    this.emit('input_speech_stopped', { userTranscriptionEnabled: this.opts.inputTranscription !== null } satisfies llm.InputSpeechStoppedEvent);
    // server_vad commits prefix padding + speech + the silence that ended it
    const audioMs = Math.min(this.silenceBeforeMs, this.opts.serverVad.prefixPaddingMs) + this.speechSpanMs;
    const itemId = this.commit(audioMs);
    this.silenceBeforeMs = 0;
    if (itemId && this.opts.serverVad.createResponse) {
      this.later(drawLatency(this.owner.random, this.opts.responseCreatedDelay), () => {
        this.startResponse({ userInitiated: false });
      });
    }
  }

  /** Turns the input buffer into a user audio item of the remote conversation. */
  private commit(audioMs: number): string | undefined {
    const utterances = this.bufferUtterances;
    this.bufferUtterances = [];
    this.bufferMs = 0;
    if (audioMs <= 0) return undefined;
    const itemId = this.nextId('item');
    const transcript = utterances.map((u) => u.transcript).join(' ');
    const confidence = utterances.length ? Math.min(...utterances.map((u) => u.confidence ?? 0.93)) : 0.93;
    this.heard.set(itemId, { transcript, confidence });
    this.audioTokens.set(itemId, Math.ceil((audioMs / 1000) * this.opts.inputAudioTokensPerSecond));
    const turnStartedAt = this.speechStartedAt || Date.now();
    this._chatCtx.items.push(llm.ChatMessage.create({ role: 'user', content: [], id: itemId, createdAt: turnStartedAt }));
    const transcription = this.opts.inputTranscription;
    if (transcription && transcript) {
      if (transcription.timing === 'delayed') {
        const delay = drawLatency(this.owner.random, transcription.delay);
        if (transcription.interim) {
          const words = transcript.split(/\s+/);
          const partial = words.slice(0, Math.ceil(words.length / 2)).join(' ');
          this.later(delay / 2, () => this.emit('input_audio_transcription_completed', { itemId, transcript: partial, isFinal: false } satisfies llm.InputTranscriptionCompleted));
        }
        this.later(delay, () => this.completeTranscript(itemId));
      } else {
        this.pendingAfterResponse.push(itemId);
      }
    }
    return itemId;
  }

  private completeTranscript(itemId: string, turnStartedAt?: number): void {
    const heard = this.heard.get(itemId);
    if (!heard || this.closed) return;
    const item = this._chatCtx.getById(itemId);
    if (item?.type === 'message' && item.content.length === 0) item.content.push(heard.transcript);
    const event: llm.InputTranscriptionCompleted = { itemId, transcript: heard.transcript, isFinal: true, confidence: heard.confidence ?? 0.93 };
    if (turnStartedAt !== undefined) event.turnStartedAt = turnStartedAt;
    this.emit('input_audio_transcription_completed', event);
  }

  async commitAudio(): Promise<void> {
    // OpenAI refuses to commit less than 100 ms of audio; its plugin then sends nothing
    if (this.bufferMs <= 100) return;
    this.commit(this.bufferMs);
    this.silenceBeforeMs = 0;
  }

  async clearAudio(): Promise<void> {
    this.bufferMs = 0;
    this.silenceBeforeMs = 0;
    // speech still going on keeps its utterance: the rest of it lands in the new buffer
    this.bufferUtterances = this.inSpeech ? this.bufferUtterances.slice(-1) : [];
  }

  // -- responses --

  async generateReply(instructions?: string, options: { signal?: AbortSignal } = {}): Promise<llm.GenerationCreatedEvent> {
    if (this.closed) throw new llm.RealtimeError('generateReply on a closed realtime session');
    const signal = options.signal ?? new AbortController().signal;
    await pause(drawLatency(this.owner.random, this.opts.responseCreatedDelay), signal);
    if (signal.aborted) throw new Error('generateReply aborted');
    if (this.closed) throw new llm.RealtimeError('realtime session closed');
    return this.startResponse({ userInitiated: true, instructions });
  }

  async interrupt(): Promise<void> {
    this.cancelCurrent();
  }

  async truncate(options: { messageId: string; audioEndMs: number; modalities?: ('text' | 'audio')[]; audioTranscript?: string }): Promise<void> {
    this.owner.truncations.push({ messageId: options.messageId, audioEndMs: options.audioEndMs, audioTranscript: options.audioTranscript, at: Date.now() });
    const item = this._chatCtx.getById(options.messageId);
    if (!item || item.type !== 'message') return;
    this.truncated.add(options.messageId);
    if (options.audioEndMs <= 0) {
      // nothing was heard: OpenAI refuses to truncate at 0, the plugin deletes the item
      this._chatCtx.items = this._chatCtx.items.filter((i) => i.id !== options.messageId);
      this.audioTokens.delete(options.messageId);
      return;
    }
    this.audioTokens.set(options.messageId, Math.ceil((options.audioEndMs / 1000) * this.opts.outputAudioTokensPerSecond));
    const full = item.textContent ?? '';
    const kept = options.audioTranscript ?? full.slice(0, Math.round(options.audioEndMs / this.opts.msPerCharacter));
    item.content = [kept];
  }

  override async close(): Promise<void> {
    if (this.closed) return;
    this.cancelCurrent();
    this.closed = true;
    this.closing.abort();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    if (this.opts.sessionBilling) {
      const now = Date.now();
      this.emit('metrics_collected', this.metricsFor({ requestId: this.nextId('sess'), createdAt: now, durationMs: 0, ttftMs: -1, cancelled: false, input: emptyUsage(), outputText: 0, outputAudio: 0, sessionDurationMs: now - this.lastBilledAt }));
      this.lastBilledAt = now;
    }
    await super.close();
  }

  private cancelCurrent(): void {
    const current = this.current;
    if (!current || current.record.status !== 'in_progress') return;
    current.record.status = 'cancelled';
    current.abort.abort();
  }

  private startResponse({ userInitiated, instructions }: { userInitiated: boolean; instructions?: string | undefined }): llm.GenerationCreatedEvent {
    // one response at a time: a new one replaces (cancels) the one in flight
    this.cancelCurrent();
    const record: ScriptedRealtimeResponse = {
      responseId: this.nextId('resp'),
      userInitiated,
      createdAt: Date.now(),
      status: 'in_progress',
      text: '',
      audioMs: 0,
      toolCalls: [],
    };
    this.owner.responses.push(record);
    const response: ActiveResponse = {
      record,
      abort: new AbortController(),
      messages: new Channel(),
      functions: new Channel(),
      open: [],
      input: this.inputUsage(instructions),
      outputTextTokens: 0,
      transcriptsAfter: this.pendingAfterResponse.splice(0),
    };
    this.current = response;
    const reply = this.owner.pick(this.newestInput(), instructions);
    const event: llm.GenerationCreatedEvent = {
      messageStream: response.messages.stream,
      functionStream: response.functions.stream,
      userInitiated,
      responseId: record.responseId,
    };
    this.emit('generation_created', event);
    void this.run(response, reply);
    return event;
  }

  private async run(response: ActiveResponse, reply: ScriptedReply): Promise<void> {
    const { record, abort } = response;
    const signal = abort.signal;
    try {
      await pause(drawLatency(this.owner.random, this.opts.ttft), signal);
      const availableTools = new Set(Object.keys(this._tools.functionTools));
      const calls = this.toolChoice === 'none' ? [] : (reply.toolCalls ?? []).filter((call) => availableTools.has(call.name));
      // a model that may not call the tool it wanted says something instead
      const text = reply.text ?? (calls.length ? undefined : this.opts.fallback);
      if (text && !signal.aborted) await this.speak(response, text);
      for (const [index, call] of calls.entries()) {
        if (signal.aborted) break;
        const args = JSON.stringify(call.args);
        const fc = llm.FunctionCall.create({ callId: `call_${record.responseId.slice(5)}_${index}`, name: call.name, args });
        this._chatCtx.items.push(fc);
        record.toolCalls.push(call.name);
        response.outputTextTokens += countTokens(call.name + args);
        response.functions.write(fc);
      }
    } finally {
      // a cancelled response ends when the server acknowledges the cancel
      if (record.status === 'cancelled') await pause(drawLatency(this.owner.random, this.opts.cancelDelay), this.closing.signal);
      this.finish(response);
    }
  }

  /** Streams one assistant message: transcript word by word, each word's audio right after it. */
  private async speak(response: ActiveResponse, text: string): Promise<void> {
    const { record, abort } = response;
    const messageId = this.nextId('item');
    const audio = this.owner.capabilities.audioOutput;
    const textChannel = new Channel<string>();
    const audioChannel = new Channel<AudioFrame>();
    response.open.push(textChannel as Channel<unknown>, audioChannel as Channel<unknown>);
    if (!audio) audioChannel.close();
    const message = llm.ChatMessage.create({ role: 'assistant', content: [], id: messageId });
    this._chatCtx.items.push(message);
    response.messages.write({
      messageId,
      textStream: textChannel.stream,
      audioStream: audioChannel.stream,
      modalities: Promise.resolve(audio ? ['audio', 'text'] : ['text']),
    });
    record.firstContentAt = Date.now();
    let carryMs = 0;
    let framesSincePause = 0;
    for (const word of text.split(/(?<= )/)) {
      if (abort.signal.aborted) break;
      textChannel.write(word);
      record.text += word;
      if (!audio) {
        await pause(word.length * 4, abort.signal);
        continue;
      }
      carryMs += word.length * this.opts.msPerCharacter;
      while (carryMs >= FRAME_MS && !abort.signal.aborted) {
        audioChannel.write(toneFrame(FRAME_MS, this.opts.sampleRate, 180, 2000));
        record.audioMs += FRAME_MS;
        carryMs -= FRAME_MS;
        if (++framesSincePause === 10) {
          framesSincePause = 0;
          await pause((10 * FRAME_MS) / this.opts.realtimeFactor, abort.signal);
        }
      }
    }
    textChannel.close();
    audioChannel.close();
    response.outputTextTokens += record.text ? countTokens(record.text) : 0;
    if (audio) this.audioTokens.set(messageId, Math.ceil((record.audioMs / 1000) * this.opts.outputAudioTokensPerSecond));
    // the item keeps what was generated, unless the SDK truncated it meanwhile
    if (!this.truncated.has(messageId)) message.content = [record.text];
  }

  /** `response.done`: closes the streams and reports the usage. */
  private finish(response: ActiveResponse): void {
    const { record } = response;
    for (const channel of response.open) channel.close();
    response.messages.close();
    response.functions.close();
    if (record.status === 'in_progress') record.status = 'completed';
    record.doneAt = Date.now();
    if (this.current === response) this.current = undefined;
    const outputAudio = Math.ceil((record.audioMs / 1000) * this.opts.outputAudioTokensPerSecond);
    let sessionDurationMs: number | undefined;
    if (this.opts.sessionBilling) {
      sessionDurationMs = record.doneAt - this.lastBilledAt;
      this.lastBilledAt = record.doneAt;
    }
    record.metrics = this.metricsFor({
      requestId: record.responseId,
      createdAt: record.createdAt,
      durationMs: record.doneAt - record.createdAt,
      ttftMs: record.firstContentAt === undefined ? -1 : record.firstContentAt - record.createdAt,
      cancelled: record.status === 'cancelled',
      input: response.input,
      outputText: response.outputTextTokens,
      outputAudio,
      sessionDurationMs,
    });
    if (!this.closed) this.emit('metrics_collected', record.metrics);
    for (const itemId of response.transcriptsAfter) this.completeTranscript(itemId, record.createdAt);
  }

  private metricsFor(m: {
    requestId: string;
    createdAt: number;
    durationMs: number;
    ttftMs: number;
    cancelled: boolean;
    input: InputUsage;
    outputText: number;
    outputAudio: number;
    sessionDurationMs?: number | undefined;
  }): RealtimeModelMetrics {
    const outputTokens = m.outputText + m.outputAudio;
    const metrics: RealtimeModelMetrics = {
      type: 'realtime_model_metrics',
      label: this.owner.label(),
      requestId: m.requestId,
      timestamp: m.createdAt,
      durationMs: m.durationMs,
      ttftMs: m.ttftMs,
      cancelled: m.cancelled,
      inputTokens: m.input.total,
      outputTokens,
      totalTokens: m.input.total + outputTokens,
      tokensPerSecond: m.durationMs > 0 ? outputTokens / (m.durationMs / 1000) : 0,
      inputTokenDetails: {
        audioTokens: m.input.audio,
        textTokens: m.input.text,
        imageTokens: 0,
        cachedTokens: m.input.cached,
        cachedTokensDetails: { audioTokens: m.input.cachedAudio, textTokens: m.input.cachedText, imageTokens: 0 },
      },
      outputTokenDetails: { textTokens: m.outputText, audioTokens: m.outputAudio, imageTokens: 0 },
    };
    if (m.sessionDurationMs !== undefined) metrics.sessionDurationMs = m.sessionDurationMs;
    if (this.opts.metricsMetadata) metrics.metadata = { modelProvider: this.owner.provider, modelName: this.owner.model };
    return metrics;
  }

  /**
   * The whole conversation is the input of every response (instructions, tools, every
   * item: user and assistant audio as audio tokens, the rest as text). The prompt cache
   * holds the longest prefix shared with the previous response, rounded down.
   */
  private inputUsage(extraInstructions: string | undefined): InputUsage {
    const segments: Segment[] = [
      { key: `instructions:${this.instructions}`, text: countTokens(this.instructions), audio: 0 },
      { key: `tools:${Object.keys(this._tools.functionTools).sort().join(',')}`, text: this.toolTokens(), audio: 0 },
    ];
    for (const item of this._chatCtx.items) {
      const audio = this.audioTokens.get(item.id);
      if (audio !== undefined) {
        segments.push({ key: `${item.id}:a${audio}`, text: 0, audio });
      } else if (item.type === 'message') {
        if (item.role === 'system' || item.role === 'developer') continue;
        const text = item.textContent ?? '';
        if (text) segments.push({ key: `${item.id}:t${text.length}`, text: countTokens(text), audio: 0 });
      } else if (item.type === 'function_call') {
        segments.push({ key: item.id, text: countTokens(item.name + item.args), audio: 0 });
      } else if (item.type === 'function_call_output') {
        segments.push({ key: item.id, text: countTokens(item.output), audio: 0 });
      }
    }
    if (extraInstructions) segments.push({ key: `response:${extraInstructions}`, text: countTokens(extraInstructions), audio: 0 });

    let shared = 0;
    while (shared < segments.length && shared < this.previousSegments.length && segments[shared]!.key === this.previousSegments[shared]!.key) shared++;
    this.previousSegments = segments;
    const sum = (list: Segment[], pick: (s: Segment) => number): number => list.reduce((total, s) => total + pick(s), 0);
    const prefix = segments.slice(0, shared);
    const prefixTotal = sum(prefix, (s) => s.text + s.audio);
    const granularity = Math.max(1, this.opts.cacheGranularity);
    const cached = Math.floor(prefixTotal / granularity) * granularity;
    const cachedText = prefixTotal ? Math.round((cached * sum(prefix, (s) => s.text)) / prefixTotal) : 0;
    const text = sum(segments, (s) => s.text);
    const audio = sum(segments, (s) => s.audio);
    return { total: text + audio, text, audio, cached, cachedText, cachedAudio: cached - cachedText };
  }

  private toolTokens(): number {
    const tools = Object.entries(this._tools.functionTools);
    return tools.reduce((total, [name, tool]) => total + countTokens(name + (tool.description ?? '')) + 12, 0);
  }

  /** The newest user turn (what the model heard) or tool output, as `ScriptedLLM` keys it. */
  private newestInput(): string | undefined {
    const items = this._chatCtx.items;
    for (let i = items.length - 1; i >= 0; i--) {
      const item = items[i]!;
      if (item.type === 'function_call_output') return `tool:${item.name}:${item.output}`;
      if (item.type === 'message' && item.role === 'user') return this.heard.get(item.id)?.transcript ?? item.textContent ?? '';
    }
    return undefined;
  }

  private later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.closed) fn();
    }, Math.max(0, ms));
    this.timers.add(timer);
  }

  private nextId(prefix: string): string {
    this.counter += 1;
    return `${prefix}_${this.counter.toString(36).padStart(3, '0')}${Math.floor(this.owner.random.next() * 36 ** 6).toString(36)}`;
  }
}

function emptyUsage(): InputUsage {
  return { total: 0, text: 0, audio: 0, cached: 0, cachedText: 0, cachedAudio: 0 };
}
