/**
 * The agent worker: registers with the LiveKit server (LIVEKIT_URL, LIVEKIT_API_KEY,
 * LIVEKIT_API_SECRET) and runs each job of the agent in src/agent.ts in its own process.
 *
 *   node --import @voicetrace/livekit/register dist/worker.js start      # production mode (drains jobs on SIGTERM)
 *
 * `--import @voicetrace/livekit/register` instruments the SDK's logger (pino) before the SDK loads it,
 * here and in every job process (they are forked with this process's flags): each log line carries
 * the trace and span id of the turn it was written in, reaches the Collector as an OTel log record,
 * and the turn's warnings and errors are in the session report.
 */
import { cli, ServerOptions } from '@livekit/agents';
import { fileURLToPath } from 'node:url';
// the worker process exports what a killed job process left open (its span journal)
import './tracing.js';

const lowLoad = Number(process.env.AGENT_REPORTED_LOAD ?? '');

cli.runApp(
  new ServerOptions({
    agent: fileURLToPath(new URL('./agent.js', import.meta.url)),
    // explicit dispatch: the caller's backend asks for this agent by name (and passes job metadata)
    agentName: process.env.AGENT_NAME ?? 'voicetrace-support',
    numIdleProcesses: Number(process.env.AGENT_IDLE_PROCESSES ?? 1),
    // on a busy test machine the default CPU load reads about 1.0 and no job is ever assigned
    ...(Number.isFinite(lowLoad) && process.env.AGENT_REPORTED_LOAD ? { loadFunc: async () => lowLoad, loadThreshold: 0.99 } : {}),
  }),
);
