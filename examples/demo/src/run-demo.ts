import { initializeLogger, voice } from '@livekit/agents';
import { setupVoiceTrace, type VoiceTraceOptions, type WrittenReport } from '@voicetrace/livekit';
import type { SessionSnapshot } from '@voicetrace/core';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { createAgents, createPlugins, runConversation } from './conversation.js';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Output directory; the traces land in `<out>/<session id>/traces.jsonl`. */
  out: string;
  seed?: number;
  sessionId?: string;
  /** Passed to setupVoiceTrace (e.g. traceMode, allowPii, exporters). */
  voicetrace?: VoiceTraceOptions;
  /** Called with the session before it starts (tests observe it here). */
  onSession?: (session: voice.AgentSession) => void;
}

/** What a demo run produced. */
export interface DemoResult {
  sessionId: string;
  tracesPath: string;
  /** Where report.json (and report.html) were written. */
  report: WrittenReport;
  summary: SessionSnapshot;
  seconds: number;
  /** Export counters per exporter (`file`, `otlp`, `langfuse`). */
  exports: Record<string, { exportedSpans: number; failedSpans: number }>;
}

/**
 * Runs the demo call: a real AgentSession of @livekit/agents with offline
 * scripted providers, traced by voicetrace, written as OTLP/JSON lines.
 */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const started = Date.now();
  initializeLogger({ pretty: false, level: 'error' });
  const sessionId = options.sessionId ?? `sess_${randomUUID()}`;
  const tracesPath = join(options.out, sessionId, 'traces.jsonl');
  const vt = setupVoiceTrace({ serviceName: 'voicetrace-demo', environment: 'demo', file: tracesPath, handleSignals: false, report: { dir: options.out }, ...options.voicetrace });

  const plugins = createPlugins(options.seed ?? 42);
  const { frontDesk } = createAgents();
  const session = new voice.AgentSession({
    stt: plugins.stt,
    vad: plugins.vad,
    llm: plugins.llm,
    tts: plugins.tts,
    turnHandling: { turnDetection: 'stt', endpointing: { minDelay: 300, maxDelay: 3000 } },
  });
  session.input.audio = plugins.user.audioInput;
  session.output.audio = plugins.audioOutput;
  const traced = vt.instrument(session, { sessionId, userId: 'caller-42', attributes: { 'lk.job_id': 'demo-job', 'lk.pii.room_name': 'demo-room' } });
  options.onSession?.(session);
  plugins.user.start();
  try {
    await session.start({ agent: frontDesk });
    await runConversation(session, plugins.user);
  } finally {
    await session.close();
    await plugins.user.stop();
  }
  const report = await traced.writeReport();
  await vt.shutdown();
  return { sessionId, tracesPath, report, summary: traced.summary(), seconds: (Date.now() - started) / 1000, exports: vt.exportStats() };
}
