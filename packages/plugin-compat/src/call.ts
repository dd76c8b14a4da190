import { initializeLogger, llm as lkllm, voice, type stt, type tts, type VAD } from '@livekit/agents';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { SessionSnapshot } from '@voicetrace/core';
import { setupVoiceTrace, type InstrumentOptions, type VoiceTrace, type VoiceTraceOptions } from '@voicetrace/livekit';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { SpeakingCaller, type SpokenUtterance } from './caller.js';
import { MemoryExporter } from './memory-exporter.js';

/** One line of the call: what the caller says, and how the call goes on after it. */
export interface CallLine {
  text: string;
  /** Speak this long (ms) after the agent starts answering the previous line: a barge-in. */
  bargeInAfterMs?: number | undefined;
  /** Do not wait for a reply (the agent is expected to stay silent, e.g. a tool error). */
  noReply?: boolean | undefined;
}

export interface CallOptions {
  /** The caller (the provider stand-ins that transcribe listen to it); default a new one. */
  caller?: SpeakingCaller | undefined;
  /** A plugin instance, or a LiveKit Inference model string as users write it (`'deepgram/nova-3'`). */
  stt?: stt.STT | string | undefined;
  vad?: VAD | undefined;
  llm: lkllm.LLM | lkllm.RealtimeModel | string;
  tts?: tts.TTS | string | undefined;
  /** More options of `vt.instrument()` (e.g. the realtime model's server VAD silence). */
  instrument?: Omit<InstrumentOptions, 'sessionId'> | undefined;
  /** More `AgentSession` options (timeouts, connection options). */
  session?: Partial<voice.AgentSessionOptions> | undefined;
  lines: CallLine[];
  /** The agent's tools. */
  tools?: lkllm.ToolContextLike | undefined;
  /** Silence after the last reply before the session closes (ms, default 1500). */
  tailMs?: number | undefined;
  /** The SDK's turn handling (default: STT endpointing, 300 ms to 3 s). */
  turnHandling?: NonNullable<ConstructorParameters<typeof voice.AgentSession>[0]>['turnHandling'];
  voicetrace?: VoiceTraceOptions | undefined;
  /** Speed the agent's audio plays at (default 2: replies play twice as fast as real time). */
  playbackSpeed?: number | undefined;
}

/** What the SDK itself said, to compare voicetrace's figures with. */
export interface SdkRecord {
  /** Every `metrics_collected` payload, as the SDK emitted it (ms units), with when it arrived. */
  metrics: Array<{ at: number; metrics: Record<string, unknown> }>;
  /** The SDK's own `session.usage` at the end. */
  usage: unknown;
  /** The newest `session_usage_updated` event's usage. */
  usageUpdated: unknown;
  /** The conversation's chat messages with the SDK's per-message metrics. */
  messages: Array<{ role: string; text: string; metrics: Record<string, unknown>; interrupted: boolean }>;
  errors: Array<{ at: number; type?: string; label?: string; recoverable?: boolean; message: string }>;
}

/** A traced call: the caller's truth, the SDK's own record, and every output voicetrace made. */
export interface CallResult {
  spoken: SpokenUtterance[];
  spans: ReadableSpan[];
  summary: SessionSnapshot;
  report: Record<string, unknown>;
  sdk: SdkRecord;
  counters: Record<string, number>;
  /**
   * The event loop's longest stall during the call (ms): on a loaded machine the SDK reads its clock
   * that much late at worst, so a timing check allows it on top of its own tolerance.
   */
  loopStallMs: number;
}

let shared: { vt: VoiceTrace; exporter: MemoryExporter } | undefined;

/** voicetrace set up once per process (the SDK takes one tracer provider per process). */
export function compatVoiceTrace(options: VoiceTraceOptions = {}): { vt: VoiceTrace; exporter: MemoryExporter } {
  if (!shared) {
    initializeLogger({ pretty: false, level: process.env.COMPAT_LOG_LEVEL ?? 'error' });
    const exporter = new MemoryExporter();
    const vt = setupVoiceTrace({ serviceName: 'plugin-compat', environment: 'compat', exporters: [exporter], handleSignals: false, journal: false, otlp: false, langfuse: false, batch: { scheduledDelayMillis: 50 }, ...options });
    shared = { vt, exporter };
  }
  return shared;
}

/**
 * Runs one call: a real `AgentSession` on the audio path with the given plugins, a caller speaking
 * espeak-ng speech in real time, voicetrace instrumenting it. Returns once the session closed and
 * its spans were exported.
 */
export async function runCall(options: CallOptions): Promise<CallResult> {
  const { vt, exporter } = compatVoiceTrace(options.voicetrace);
  const caller = options.caller ?? new SpeakingCaller();
  const session = new voice.AgentSession({
    ...options.session,
    stt: options.stt as stt.STT | undefined,
    vad: options.vad,
    llm: options.llm as lkllm.LLM,
    tts: options.tts as tts.TTS | undefined,
    turnHandling: options.turnHandling ?? { turnDetection: 'stt', endpointing: { minDelay: 300, maxDelay: 3000 } },
  });
  session.input.audio = caller.audioInput;
  const output = new RealTimeAudioOutput(options.playbackSpeed ?? 2);
  session.output.audio = output;
  const sdk: SdkRecord = { metrics: [], usage: undefined, usageUpdated: undefined, messages: [], errors: [] };
  session.on(voice.AgentSessionEventTypes.MetricsCollected, (ev) => sdk.metrics.push({ at: Date.now(), metrics: { ...(ev.metrics as unknown as Record<string, unknown>) } }));
  session.on(voice.AgentSessionEventTypes.SessionUsageUpdated, (ev) => void (sdk.usageUpdated = structuredClone(ev.usage)));
  session.on(voice.AgentSessionEventTypes.Error, (ev) => {
    const report = ev.error as unknown as { type?: string; label?: string; recoverable?: boolean; error?: Error };
    sdk.errors.push({ at: Date.now(), type: report.type, label: report.label, recoverable: report.recoverable, message: String(report.error?.message ?? report) });
  });
  const sessionId = `compat_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const traced = vt.instrument(session, { ...options.instrument, sessionId });
  const agent = new voice.Agent({ instructions: 'You are a helpful assistant on a phone call.', tools: options.tools });
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  caller.start();
  try {
    await session.start({ agent });
    for (const [i, line] of options.lines.entries()) {
      const next = options.lines[i + 1];
      if (next?.bargeInAfterMs !== undefined) {
        const speaking = nextAgentState(session, 'speaking');
        await caller.say(line.text);
        await speaking;
        await sleep(next.bargeInAfterMs);
        continue;
      }
      if (line.noReply) {
        await caller.say(line.text);
        await sleep(2500);
        continue;
      }
      const reply = line.bargeInAfterMs !== undefined ? nextAgentState(session, 'listening').then(() => nextReply(session)) : nextReply(session);
      await caller.say(line.text);
      await reply;
    }
    await sleep(options.tailMs ?? 1500);
  } finally {
    sdk.usage = structuredClone(session.usage);
    for (const item of session.history.items) {
      if (item.type !== 'message') continue;
      sdk.messages.push({ role: item.role, text: item.textContent ?? '', metrics: { ...(item.metrics as Record<string, unknown>) }, interrupted: item.interrupted });
    }
    await session.close();
    await caller.stop();
    loop.disable();
  }
  await vt.forceFlush();
  const report = traced.report() as unknown as Record<string, unknown>;
  const spans = exporter.take((span) => span.attributes['session.id'] === sessionId);
  const result: CallResult = { spoken: caller.spoken, spans, summary: traced.summary(), report, sdk, counters: vt.counters.snapshot() as Record<string, number>, loopStallMs: loopStallMs(loop) };
  if (process.env.COMPAT_DUMP_DIR) dumpCall(process.env.COMPAT_DUMP_DIR, sessionId, result);
  return result;
}

/** The longest stall the histogram saw, less its own sampling interval (ms; 0 when none). */
function loopStallMs(loop: IntervalHistogram): number {
  // the histogram records each timer's total delay in ns, its resolution included
  return Number.isFinite(loop.max) ? Math.max(0, Math.round(loop.max / 1e6 - 10)) : 0;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves the next time the agent enters `state`. */
export function nextAgentState(session: voice.AgentSession, state: voice.AgentState, timeoutMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      session.off(voice.AgentSessionEventTypes.AgentStateChanged, onChange);
      reject(new Error(`agent did not become ${state} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onChange = (ev: voice.AgentStateChangedEvent): void => {
      if (ev.newState !== state) return;
      clearTimeout(timer);
      session.off(voice.AgentSessionEventTypes.AgentStateChanged, onChange);
      resolve();
    };
    session.on(voice.AgentSessionEventTypes.AgentStateChanged, onChange);
  });
}

function nextReply(session: voice.AgentSession): Promise<void> {
  return nextAgentState(session, 'speaking').then(() => nextAgentState(session, 'listening'));
}

/**
 * The caller's speaker: plays the agent's audio on the wall clock (`speed` times real time),
 * reports playback start and end as a room's audio output would, stops at once on interruption.
 */
export class RealTimeAudioOutput extends voice.AudioOutput {
  private seconds = 0;
  private startedAt = 0;
  private started = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly speed: number) {
    super(48_000);
  }

  override async captureFrame(frame: import('@livekit/rtc-node').AudioFrame): Promise<void> {
    await super.captureFrame(frame);
    if (!this.started) {
      this.started = true;
      this.startedAt = Date.now();
      this.onPlaybackStarted(this.startedAt);
    }
    this.seconds += frame.samplesPerChannel / frame.sampleRate;
  }

  override flush(): void {
    super.flush();
    if (!this.started) return;
    const remaining = Math.max(0, (this.seconds * 1000) / this.speed - (Date.now() - this.startedAt));
    const played = this.seconds;
    this.timer = setTimeout(() => this.finish(played, false), remaining);
  }

  clearBuffer(): void {
    if (!this.started) return;
    if (this.timer) clearTimeout(this.timer);
    this.finish(Math.min(this.seconds, ((Date.now() - this.startedAt) * this.speed) / 1000), true);
  }

  private finish(position: number, interrupted: boolean): void {
    this.timer = undefined;
    this.started = false;
    this.seconds = 0;
    this.onPlaybackFinished({ playbackPosition: position, interrupted });
  }
}

/** Writes a call's spans (times in epoch seconds) and figures as JSON, to read a run by eye (`COMPAT_DUMP_DIR`). */
function dumpCall(dir: string, sessionId: string, result: CallResult): void {
  mkdirSync(dir, { recursive: true });
  const spans = result.spans.map((s) => ({
    name: s.name,
    id: s.spanContext().spanId,
    parent: s.parentSpanContext?.spanId,
    start: s.startTime[0] + s.startTime[1] / 1e9,
    end: s.endTime[0] + s.endTime[1] / 1e9,
    attributes: s.attributes,
  }));
  writeFileSync(join(dir, `${sessionId}.json`), JSON.stringify({ ...result, spans }, null, 1));
}
