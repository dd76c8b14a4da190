// The deployment users run, started for real: livekit-server (dev mode, loopback), voicetrace's
// Collector sidecar feeding Jaeger, and the agent worker (`node dist/worker.js start`) whose job
// processes run the agent. Every process is killed when the test process ends, however it ends.
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import {
  hermeticEnv,
  makeWorkDir,
  ManagedProcess,
  startCollector,
  startJaeger,
  startLivekitServer,
  synthesizeSpeech,
  type CollectorHandle,
  type JaegerHandle,
  type LivekitServerHandle,
} from '@voicetrace/test-backends';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCall, type CallOptions, type CallResult } from '../src/caller.js';
export { SUPPORT_CALL } from '../src/support-call.js';

export const EXAMPLE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
export const SERVICE = 'support-agent';
/** `node --import @voicetrace/livekit/register`, by path: the worker runs in a work directory outside the project. */
export const REGISTER = join(EXAMPLE_DIR, 'node_modules', '@voicetrace', 'livekit', 'dist', 'register.mjs');

/** How long each phase took, printed at the end of a test file. */
export class PhaseClock {
  private readonly phases: Array<[string, number]> = [];
  private last = Date.now();
  mark(phase: string): void {
    const now = Date.now();
    this.phases.push([phase, now - this.last]);
    this.last = now;
  }
  report(title: string): string {
    return `[${title}] ${this.phases.map(([p, ms]) => `${p} ${(ms / 1000).toFixed(1)} s`).join(', ')}`;
  }
}

/** The servers of the deployment. */
export interface Stack {
  livekit: LivekitServerHandle;
  collector: CollectorHandle;
  jaeger: JaegerHandle;
  stop(): Promise<void>;
}

export async function startStack(): Promise<Stack> {
  const jaeger = await startJaeger();
  const [livekit, collector] = await Promise.all([
    startLivekitServer(),
    startCollector({
      configFiles: ['sidecar.yaml', 'overlays/jaeger.yaml'],
      env: { VOICETRACE_JAEGER_ENDPOINT: jaeger.otlpGrpcEndpoint, VOICETRACE_BATCH_TIMEOUT: '500ms', VOICETRACE_REDACT_PII: 'false' },
    }),
  ]);
  return { livekit, collector, jaeger, stop: async () => void (await Promise.all([livekit.stop(), collector.stop(), jaeger.stop()])) };
}

/** The agent worker, as users start it, with its job processes. */
export interface Worker {
  process: ManagedProcess;
  reportDir: string;
  journalDir: string;
  /** The worker's and its jobs' combined log. */
  log(): string;
  /** Pids of the job processes running now (children of the worker), idle ones included. */
  jobPids(): number[];
  /** Pids of the job processes running a call now (they journal its spans). */
  activeJobPids(): number[];
  /** report.json files written so far, by session directory. */
  reports(): string[];
}

export async function startWorker(stack: Stack, env: Record<string, string> = {}): Promise<Worker> {
  const workDir = makeWorkDir('agent-worker');
  const reportDir = join(workDir, 'reports');
  const journalDir = join(workDir, 'journal');
  const processEnv = hermeticEnv({
    LIVEKIT_URL: stack.livekit.url,
    LIVEKIT_API_KEY: stack.livekit.apiKey,
    LIVEKIT_API_SECRET: stack.livekit.apiSecret,
    OTEL_EXPORTER_OTLP_ENDPOINT: stack.collector.otlpHttpUrl,
    OTEL_SERVICE_NAME: SERVICE,
    VOICETRACE_REPORT_DIR: reportDir,
    VOICETRACE_JOURNAL_DIR: journalDir,
    VOICETRACE_JOURNAL_SWEEP_MS: '1000',
    AGENT_NAME: 'voicetrace-support',
    AGENT_REPORTED_LOAD: '0.05',
    AGENT_IDLE_PROCESSES: '1',
    ...env,
  });
  let registered = false;
  const process_ = new ManagedProcess({
    label: 'agent-worker',
    command: process.execPath,
    // as the README tells users: the register module instruments pino in the worker and (through the
    // forked job processes' execArgv) in every job process, so the SDK's logs carry the turn's ids
    args: ['--import', REGISTER, join(EXAMPLE_DIR, 'dist', 'worker.js'), 'start', '--log-level', 'info'],
    env: processEnv,
    workDir,
    isReady: async () => (registered ||= /registered worker/i.test(readLog())),
    readyTimeoutMs: 60_000,
    stopGraceMs: 15_000,
  });
  const readLog = (): string => (existsSync(process_.logFile) ? readFileSync(process_.logFile, 'utf8') : '');
  await process_.start();
  return {
    process: process_,
    reportDir,
    journalDir,
    log: readLog,
    jobPids: () => childPids(process_.pid),
    activeJobPids: () => childPids(process_.pid).filter((pid) => existsSync(join(journalDir, `${pid}.jsonl`))),
    reports: () => findFiles(reportDir, 'report.json'),
  };
}

/** The caller's own tracer: its `caller.call` span is the parent of the agent's trace. */
export function callerTracer(collector: CollectorHandle): { provider: BasicTracerProvider; flush: () => Promise<void> } {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'caller' }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${collector.otlpHttpUrl}/v1/traces` }), { scheduledDelayMillis: 200 })],
  });
  return { provider, flush: () => provider.forceFlush() };
}

/** One call through the real room with espeak-ng speech. */
export async function call(stack: Stack, options: Partial<CallOptions> & Pick<CallOptions, 'roomName' | 'turns'>): Promise<CallResult> {
  const tracer = callerTracer(stack.collector);
  try {
    return await runCall({
      url: stack.livekit.url,
      apiKey: stack.livekit.apiKey,
      apiSecret: stack.livekit.apiSecret,
      agentName: 'voicetrace-support',
      synthesize: (text) => synthesizeSpeech(text, { wordsPerMinute: 190 }),
      tracer: tracer.provider.getTracer('caller'),
      // the job ends when the room closes: do not wait LiveKit's default 20 s after the caller left
      departureTimeoutSeconds: 1,
      ...options,
    });
  } finally {
    await tracer.flush();
    await tracer.provider.shutdown();
  }
}


/** Resolves when `predicate` holds, polling; rejects with `what` after `timeoutMs`. */
export async function waitUntil(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function childPids(parent: number | undefined): number[] {
  if (!parent) return [];
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (ppid === parent && cmdline.includes('job_proc_lazy_main')) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

function findFiles(dir: string, name: string): string[] {
  if (!existsSync(dir)) return [];
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...findFiles(path, name));
    else if (entry.name === name) found.push(path);
  }
  return found;
}
