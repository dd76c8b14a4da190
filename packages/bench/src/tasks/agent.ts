import { initializeLogger } from '@livekit/agents';
import { createAgents, createPipelineSession, createPlugins, runConversation } from '@voicetrace/demo/dist/conversation.js';
import { runSession } from '@voicetrace/demo/dist/run-demo.js';
import { setupVoiceTrace } from '@voicetrace/livekit';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stockPipeline } from '../pipelines.js';

/** How the agent is traced: not at all, by the SDK through the stock OTel path, or by voicetrace. */
export type AgentVariant = 'none' | 'stock' | 'voicetrace';

export interface AgentArgs {
  variant: AgentVariant;
  /** OTLP/HTTP base URL (the bench's sink). */
  endpoint: string;
  /** Calls at once, each `turns` user turns of the demo's script. */
  sessions: number;
  turns: number;
  seed: number;
}

export interface AgentResult {
  cpuUs: number;
  turns: number;
  wallMs: number;
}

/**
 * The whole agent: `sessions` demo calls at once through real `AgentSession`s of @livekit/agents
 * (the demo's scripted STT, LLM, TTS, VAD and caller, its two agents, tool, barge-in and handoff),
 * traced per the variant; the process's CPU from the first session's start to the last one's end,
 * exports flushed. voicetrace: setupVoiceTrace as the demo uses it (OTLP to the sink, the session
 * report written per call, metrics and logs on).
 */
export async function agentTask(args: AgentArgs): Promise<AgentResult> {
  initializeLogger({ pretty: false, level: 'error' });
  const out = mkdtempSync(join(tmpdir(), 'voicetrace-bench-agent-'));
  let flush: () => Promise<void> = async () => {};
  let runOne: (i: number) => Promise<void>;
  if (args.variant === 'voicetrace') {
    process.env.VOICETRACE_JOURNAL_DIR ??= join(out, 'journal');
    const vt = setupVoiceTrace({ serviceName: 'voicetrace-bench-agent', environment: 'bench', otlp: { endpoint: args.endpoint }, handleSignals: false, warnings: false, report: { dir: out } });
    flush = () => vt.forceFlush();
    // no call recording: the demo's recorder stands in for the SDK's (not voicetrace's work), and the untraced variants record nothing
    runOne = async (i) => void (await runSession(vt, { out, seed: args.seed + i, sessionId: `agent_${process.pid}_${i}`, turns: args.turns, record: false }));
  } else {
    // the SDK's stock tracing, wired as the CPU rows wire it
    if (args.variant === 'stock') flush = stockPipeline({ endpoint: args.endpoint }).flush;
    runOne = (i) => plainSession(args.seed + i, args.turns);
  }
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(Array.from({ length: args.sessions }, (_, i) => runOne(i)));
  await flush();
  const used = process.cpuUsage(cpu);
  return { cpuUs: used.user + used.system, turns: args.sessions * args.turns, wallMs: performance.now() - started };
}

/** The demo's call without voicetrace (run-demo.ts's runSession minus `vt.instrument` and the report). */
async function plainSession(seed: number, turns: number): Promise<void> {
  const plugins = createPlugins({ seed });
  const { frontDesk } = createAgents();
  const session = createPipelineSession(plugins);
  plugins.user.start();
  try {
    await session.start({ agent: frontDesk });
    await runConversation(session, plugins.user, { turns });
  } finally {
    await session.close();
    await plugins.user.stop();
  }
}
