// A demo call whose agent logs warnings through the SDK's logger inside its turns, run the way users
// run an agent (examples/demo/test/logs.test.ts starts it):
//
//   node --import @voicetrace/livekit/register logs-call.mjs <out dir> <session|turn>
//
// OTEL_EXPORTER_OTLP_ENDPOINT points at the Collector: traces, metrics and logs go there. Prints one
// JSON line: the session id and where its traces and report were written.
import { initializeLogger, llm, log, voice } from '@livekit/agents';
import { setupVoiceTrace } from '@voicetrace/livekit';
import { join } from 'node:path';
import { z } from 'zod';
import { createPipelineSession, createPlugins, runConversation } from '../../dist/conversation.js';

const [out, traceMode = 'session'] = process.argv.slice(2);
initializeLogger({ pretty: false, level: 'info' });
const sessionId = `logs-${traceMode}-${process.pid}`;
const tracesPath = join(out, sessionId, 'traces.jsonl');
const vt = setupVoiceTrace({ serviceName: 'voicetrace-logs-demo', environment: 'demo', traceMode, file: tracesPath, handleSignals: false, report: { dir: out } });

/** The agent's own code logs through the SDK's logger, as agents do. */
class FrontDesk extends voice.Agent {
  async onUserTurnCompleted() {
    log().warn('crm lookup slow, continuing without the caller profile');
  }
}

const agent = new FrontDesk({
  id: 'front_desk',
  instructions: 'You are the front desk of Acme. Be brief.',
  tools: {
    get_weather: llm.tool({
      description: 'Current weather for a city.',
      parameters: z.object({ city: z.string() }),
      execute: async ({ city }) => {
        log().warn({ city }, 'weather service slow, answering from the cache');
        return { city, temperatureC: 18, condition: 'sunny' };
      },
    }),
  },
});

const plugins = createPlugins({ seed: 7 });
const session = createPipelineSession(plugins);
const traced = vt.instrument(session, { sessionId });
plugins.user.start();
try {
  await session.start({ agent });
  // "what is the weather" (the tool runs), then "that is all"
  await runConversation(session, plugins.user, { turns: 2, greeting: false });
} finally {
  await session.close();
  await plugins.user.stop();
}
const report = await traced.writeReport({ dir: out });
await vt.shutdown();
process.stdout.write(`${JSON.stringify({ result: { sessionId, tracesPath, report: report.json, html: report.html, pino: vt.logs?.pinoInstrumented, logs: vt.logs?.stats() } })}\n`);
process.exit(0);
