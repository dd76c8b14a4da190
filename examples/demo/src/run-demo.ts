import { initializeLogger, voice } from '@livekit/agents';
import { setupVoiceTrace, type VoiceTrace, type VoiceTraceOptions, type WrittenReport } from '@voicetrace/livekit';
import type { SessionSnapshot } from '@voicetrace/core';
import type { ScriptedUser, SimulatedAudioOutput } from '@voicetrace/scripted-plugins';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { CallRecorder } from './call-recorder.js';
import { answerTo, callerLines, createAgents, createPipelineSession, createPlugins, runConversation, type AgentDelays, type Injections, type PluginOptions, sentencesOf } from './conversation.js';
import { createRealtimePlugins, createRealtimeSession, REALTIME_SERVER_SILENCE_S, runRealtimeConversation } from './realtime-conversation.js';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Output directory; the traces land in `<out>/<session id>/traces.jsonl`, the report beside them. */
  out: string;
  seed?: number | undefined;
  sessionId?: string | undefined;
  /** User turns of the call (default 6: the demo's script; more loops it). */
  turns?: number | undefined;
  /** Scripted providers' tuning: slower providers, fixed latencies, how the TTS sends text, playout. */
  plugins?: Omit<PluginOptions, 'seed'> | undefined;
  /** The agent's own delays (onUserTurnCompleted, the tool). */
  agent?: AgentDelays | undefined;
  /** The SDK's endpointing setting, in ms (default 300..3000). */
  endpointing?: { minDelay?: number | undefined; maxDelay?: number | undefined } | undefined;
  /** Record the call (`<out>/<session id>/recording.wav`, both sides) so report.html plays each turn (default on; off for many calls). */
  record?: boolean | undefined;
  /** Start with the greeting (default true). */
  greeting?: boolean | undefined;
  /** Run the call through a realtime (speech-to-speech) model instead of STT, LLM and TTS. */
  realtime?: boolean | undefined;
  /** Passed to setupVoiceTrace (e.g. traceMode, allowPii, exporters). */
  voicetrace?: VoiceTraceOptions | undefined;
  /** Called with the session before it starts (tests observe it here). */
  onSession?: ((session: voice.AgentSession) => void) | undefined;
  /** Causes of quality signals on chosen turns (`--inject`; pipeline calls). */
  inject?: Injections | undefined;
  /** What the caller says, instead of the demo's script (pipeline calls; the greeting is up to it). */
  conversation?: ((session: voice.AgentSession, user: ScriptedUser) => Promise<void>) | undefined;
}

/** What a demo run produced. */
export interface DemoResult {
  sessionId: string;
  tracesPath: string;
  /** Where report.json (and report.html) were written. */
  report: WrittenReport;
  summary: SessionSnapshot;
  seconds: number;
  /** Export counters per exporter (`file`, `otlp`, `langfuse`): delivered, lost (by reason), queue... */
  exports: ReturnType<VoiceTrace['exportStats']>;
  /** The agent's log records: where they go, whether pino was instrumented, and what was delivered. */
  logs: DemoLogs | undefined;
}

/** The log side of a demo run (`vt.logs`). */
export interface DemoLogs {
  target: string | undefined;
  pinoInstrumented: boolean;
  exportedRecords: number;
  failedRecords: number;
}

/**
 * The closing line of the log export, when records have somewhere to go: what reached it, or why
 * nothing can (pino is instrumented only by `node --import @voicetrace/livekit/register`).
 */
export function logsLine(logs: DemoLogs | undefined): string | undefined {
  if (!logs?.target) return undefined;
  if (!logs.pinoInstrumented) return `logs: not exported (start with node --import @voicetrace/livekit/register, as pnpm demo does)`;
  return `logs export: ${logs.exportedRecords} records delivered, ${logs.failedRecords} lost`;
}

/**
 * The SDK's logger as a worker in production runs it: warnings and errors (what the report puts on
 * the turns) show in the terminal and, through the register module, reach the Collector as OTel log
 * records; the SDK's info lines (several per turn) would bury the tables.
 */
function initializeDemoLogger(): void {
  initializeLogger({ pretty: true, level: 'warn' });
}

function demoLogs(vt: VoiceTrace): DemoLogs | undefined {
  if (!vt.logs) return undefined;
  const { exportedRecords, failedRecords } = vt.logs.stats();
  return { target: vt.logs.target, pinoInstrumented: vt.logs.pinoInstrumented, exportedRecords, failedRecords };
}

/**
 * The closing line of one exporter: `otlp export: N spans delivered, M lost (shutdown: M)`, the
 * figures of `vt.exportStats()` (`exportedSpans`, `lostSpans`, `lostByReason`), as the delivery
 * report and the `voicetrace.exporter.dropped_spans` metric give them.
 */
export function exportLine(name: string, stats: Pick<DemoResult['exports'][string], 'exportedSpans' | 'lostSpans' | 'lostByReason'>): string {
  const reasons = Object.entries(stats.lostByReason)
    .filter(([, spans]) => spans > 0)
    .map(([reason, spans]) => `${reason}: ${spans}`);
  return `${name} export: ${stats.exportedSpans} spans delivered, ${stats.lostSpans} lost${reasons.length ? ` (${reasons.join(', ')})` : ''}`;
}

/**
 * Runs the demo call: a real AgentSession of @livekit/agents with offline
 * scripted providers, traced by voicetrace, written as OTLP/JSON lines with
 * its session report (JSON and HTML).
 */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const started = Date.now();
  initializeDemoLogger();
  const sessionId = options.sessionId ?? `sess_${randomUUID()}`;
  const tracesPath = join(options.out, sessionId, 'traces.jsonl');
  const vt = setupVoiceTrace({ serviceName: 'voicetrace-demo', environment: 'demo', file: tracesPath, handleSignals: false, report: { dir: options.out }, ...options.voicetrace });
  const { summary, report } = await runSession(vt, { ...options, sessionId });
  await vt.shutdown();
  return { sessionId, tracesPath, report, summary, seconds: (Date.now() - started) / 1000, exports: vt.exportStats(), logs: demoLogs(vt) };
}

/** One demo call on a voicetrace setup that may trace other calls too (the SDK has one tracer provider per process). */
export async function runSession(vt: VoiceTrace, options: Omit<DemoOptions, 'voicetrace'> & { sessionId: string }): Promise<{ summary: SessionSnapshot; report: WrittenReport }> {
  if (options.realtime) return runRealtimeSession(vt, options);
  const deadAir = options.inject?.deadAir;
  const slowTurnText = deadAir ? callerLines(options.turns, options.inject)[deadAir.turn - 1]?.text : undefined;
  // a stop inside an answer: the TTS delivers the chosen turn's second sentence late
  const ttsGap = options.inject?.ttsGap;
  const gapLine = ttsGap ? callerLines(options.turns, options.inject)[ttsGap.turn - 1]?.text : undefined;
  const lateSentence = gapLine ? sentencesOf(answerTo(gapLine) ?? '')[1] : undefined;
  const playbackSpeed = options.plugins?.output?.playbackSpeed ?? 4;
  const plugins = createPlugins({
    seed: options.seed ?? 42,
    ...options.plugins,
    // dead air: the model answers the chosen turn's words later
    llm: { ...options.plugins?.llm, ...(deadAir && slowTurnText ? { extraTtftMs: (text: string) => (text === slowTurnText ? deadAir.seconds * 1000 : 0) } : {}) },
    tts: { ...options.plugins?.tts, ...(ttsGap && lateSentence ? { lateAudio: { ms: (text: string) => (text === lateSentence ? ttsGap.seconds * 1000 : 0), playbackSpeed } } : {}) },
  });
  const { frontDesk } = createAgents({ ...options.agent, ...toolErrorOn(options.turns, options.inject) });
  const session = createPipelineSession(plugins, options.endpointing);
  const recording = options.record === false ? undefined : recordCall(plugins, join(options.out, options.sessionId, 'recording.wav'));
  const traced = vt.instrument(session, { sessionId: options.sessionId, userId: 'caller-42', attributes: { 'lk.job_id': 'demo-job', 'lk.pii.room_name': 'demo-room' }, recording: recording?.info });
  options.onSession?.(session);
  plugins.user.start();
  try {
    await session.start({ agent: frontDesk });
    if (options.conversation) await options.conversation(session, plugins.user);
    else await runConversation(session, plugins.user, { turns: options.turns, greeting: options.greeting, inject: options.inject });
  } finally {
    await session.close();
    await plugins.user.stop();
    await recording?.write();
  }
  const report = await traced.writeReport({ dir: options.out });
  return { summary: traced.summary(), report };
}

/** One demo call through the scripted realtime model (the same conversation: greeting, tool, barge-in, handoff). */
async function runRealtimeSession(vt: VoiceTrace, options: Omit<DemoOptions, 'voicetrace'> & { sessionId: string }): Promise<{ summary: SessionSnapshot; report: WrittenReport }> {
  const plugins = createRealtimePlugins({ seed: options.seed ?? 42 });
  const { frontDesk } = createAgents(options.agent);
  const session = createRealtimeSession(plugins);
  const recording = options.record === false ? undefined : recordCall(plugins, join(options.out, options.sessionId, 'recording.wav'));
  const traced = vt.instrument(session, {
    sessionId: options.sessionId,
    userId: 'caller-42',
    attributes: { 'lk.job_id': 'demo-job', 'lk.pii.room_name': 'demo-room' },
    // the scripted model's server VAD ends a turn after 400 ms of silence, as OpenAI's does after 500 ms
    serverVadSilenceSeconds: REALTIME_SERVER_SILENCE_S,
    recording: recording?.info,
  });
  options.onSession?.(session);
  plugins.user.start();
  try {
    await session.start({ agent: frontDesk });
    await runRealtimeConversation(session, plugins.user);
  } finally {
    await session.close();
    await plugins.user.stop();
    await recording?.write();
  }
  const report = await traced.writeReport({ dir: options.out });
  return { summary: traced.summary(), report };
}

/** Options of {@link runDemos}. */
export interface ManyDemosOptions extends Omit<DemoOptions, 'sessionId' | 'onSession'> {
  /** How many calls (seeds `seed`, `seed + 1`, ...). */
  sessions: number;
  /** How many at once (default 16). */
  concurrency?: number | undefined;
  /** Called after each call, e.g. for a progress line. */
  onDone?: ((done: number, total: number) => void) | undefined;
}

/**
 * Many demo calls in one process, a few at a time, each with its own seed:
 * their spans go to `<out>/traces.jsonl`, each report to `<out>/<session id>/`.
 */
export async function runDemos(options: ManyDemosOptions): Promise<Array<{ sessionId: string; summary: SessionSnapshot; report: WrittenReport }>> {
  initializeDemoLogger();
  const vt = setupVoiceTrace({ serviceName: 'voicetrace-demo', environment: 'demo', file: join(options.out, 'traces.jsonl'), handleSignals: false, report: { dir: options.out }, ...options.voicetrace });
  const results: Array<{ sessionId: string; summary: SessionSnapshot; report: WrittenReport }> = [];
  const seed = options.seed ?? 42;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < options.sessions) {
      const i = next++;
      const sessionId = `sess_${seed + i}_${randomUUID().slice(0, 8)}`;
      const { summary, report } = await runSession(vt, { ...options, seed: seed + i, sessionId, record: options.record ?? false });
      results.push({ sessionId, summary, report });
      options.onDone?.(results.length, options.sessions);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 16, options.sessions)) }, worker));
  } finally {
    await vt.shutdown();
  }
  return results;
}

/** Records the call from the caller's microphone and the agent's speaker; the file is written after the call. */
function recordCall(plugins: { user: ScriptedUser; audioOutput: SimulatedAudioOutput }, path: string): { info: () => { path: string; startedAt: number }; write: () => Promise<void> } {
  const recorder = new CallRecorder();
  plugins.user.audioInput.onFrame = (frame) => recorder.callerFrame(frame);
  plugins.audioOutput.listener = { played: (frame, at, speed) => recorder.agentFrame(frame, at, speed), stopped: (at) => recorder.agentStopped(at) };
  return {
    info: () => ({ path, startedAt: recorder.startedAt / 1000 }),
    write: async () => {
      plugins.user.audioInput.onFrame = undefined;
      plugins.audioOutput.listener = undefined;
      await recorder.write(path);
    },
  };
}

/** `tool-error=T`: the weather tool fails on the call turn T makes (T must ask for the weather). */
function toolErrorOn(turns: number | undefined, inject: Injections | undefined): { toolFails?: (call: number) => boolean } {
  const target = inject?.toolError;
  if (target === undefined) return {};
  const asks = callerLines(turns, inject).map((line) => /weather/i.test(line.text));
  if (!asks[target - 1]) throw new Error(`tool-error=${target}: turn ${target} does not call the weather tool (turns ${asks.flatMap((a, i) => (a ? [i + 1] : [])).join(', ')} do)`);
  const call = asks.slice(0, target).filter(Boolean).length;
  return { toolFails: (n) => n === call };
}
