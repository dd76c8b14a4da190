// Telemetry configuration never takes calls down (issue 20): a destination whose settings cannot
// work is named once and turned off, setupVoiceTrace returns, the other destinations keep receiving
// spans; strict (option or VOICETRACE_STRICT_CONFIG) throws the typed error instead.
import { initializeLogger, voice } from '@livekit/agents';
import { OtlpConfigError } from '@voicetrace/exporters';
import { LangfuseConfigError } from '@voicetrace/langfuse';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { signalEndpointError } from '../src/config-guard.js';
import { setupVoiceTrace, type VoiceTraceOptions } from '../src/setup.js';

const quiet = { handleSignals: false, journal: false, report: false as const };
let saved: NodeJS.ProcessEnv;

beforeEach(() => {
  saved = { ...process.env };
  for (const name of Object.keys(process.env)) if (/^(OTEL_|LANGFUSE_|VOICETRACE_)/.test(name)) delete process.env[name];
});
afterEach(() => {
  process.env = saved;
});

/** Sets up with `env`, a traces file and the notices captured; ends two spans and shuts down. */
async function session(env: Record<string, string>, options: VoiceTraceOptions = {}): Promise<{ notices: string[]; fileSpans: number; vt: ReturnType<typeof setupVoiceTrace> }> {
  Object.assign(process.env, env);
  const notices: string[] = [];
  const file = join(mkdtempSync(join(tmpdir(), 'voicetrace-config-')), 'traces.jsonl');
  const vt = setupVoiceTrace({ ...quiet, file, warnings: (m) => notices.push(m), batch: { scheduledDelayMillis: 10 }, ...options });
  const tracer = vt.provider.getTracer('user-code');
  tracer.startSpan('one').end();
  tracer.startSpan('two').end();
  await vt.shutdown();
  const fileSpans = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).flatMap((line) => JSON.parse(line).resourceSpans.flatMap((r: { scopeSpans: Array<{ spans: unknown[] }> }) => r.scopeSpans.flatMap((s) => s.spans))).length : 0;
  return { notices, fileSpans, vt };
}

describe('a malformed OTLP endpoint (no scheme)', () => {
  it('setupVoiceTrace returns, says once which variable and value, turns OTLP off, and the file still gets every span', async () => {
    const { notices, fileSpans, vt } = await session({ OTEL_EXPORTER_OTLP_ENDPOINT: 'localhost:4318' });
    const named = notices.filter((n) => n.includes('OTEL_EXPORTER_OTLP_ENDPOINT'));
    expect(named, notices.join('\n')).toHaveLength(1);
    expect(named[0]).toContain('"localhost:4318"');
    // traces, metrics and logs all read that variable: one line says all three are off
    expect(named[0]).toMatch(/Turned off: OTLP traces, OTLP metrics, OTLP logs\./);
    expect(named[0]).toMatch(/keep running/);
    expect(Object.keys(vt.exportStats())).toEqual(['file']);
    expect(vt.metrics).toBeUndefined();
    expect(vt.logs?.target).toBeUndefined();
    expect(fileSpans).toBe(2);
    expect(vt.exportStats().file).toMatchObject({ exportedSpans: 2, lostSpans: 0 });
  });

  it('masks the credentials of the value it names', async () => {
    const { notices } = await session({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'collector://agent:s3cr3t-pw@host:4318/v1/traces' });
    expect(notices.join('\n')).toMatch(/OTEL_EXPORTER_OTLP_TRACES_ENDPOINT .* Turned off: OTLP traces\./);
    expect(notices.join('\n')).not.toContain('s3cr3t-pw');
  });

  it('a bad metrics endpoint alone turns only metrics off', async () => {
    const { notices, vt } = await session({ OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'localhost:4318/v1/metrics' }, { otlp: false });
    expect(notices.filter((n) => n.includes('OTEL_EXPORTER_OTLP_METRICS_ENDPOINT'))).toEqual([expect.stringMatching(/Turned off: OTLP metrics\./)]);
    expect(vt.metrics).toBeUndefined();
    expect(signalEndpointError('metrics', undefined, undefined, { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://c:4318/v1/metrics', OTEL_EXPORTER_OTLP_ENDPOINT: 'bad' })).toBeUndefined();
    expect(signalEndpointError('logs', undefined, undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'c:4318' })?.setting).toBe('OTEL_EXPORTER_OTLP_ENDPOINT');
  });

  it('a bad logs.endpoint option turns only the OTLP export of logs off: the session report still gets them, traces still go', async () => {
    const { notices, fileSpans, vt } = await session({}, { otlp: false, logs: { endpoint: 'localhost:4318' } });
    const named = notices.filter((n) => n.includes('the logs.endpoint option'));
    expect(named, notices.join('\n')).toEqual([expect.stringMatching(/"localhost:4318".* Turned off: OTLP logs\./)]);
    expect(vt.logs).toBeDefined();
    expect(vt.logs?.target).toBeUndefined();
    expect(fileSpans).toBe(2);
    expect(() => setupVoiceTrace({ ...quiet, warnings: false, otlp: false, logs: { endpoint: 'localhost:4318' }, strict: true })).toThrow(
      expect.objectContaining({ name: 'OtlpConfigError', setting: 'the logs.endpoint option' }),
    );
  });

  it('a bad metrics.endpoint option turns only metrics off (strict: the typed error)', async () => {
    const { notices, vt } = await session({}, { otlp: false, metrics: { endpoint: 'localhost:4318' } });
    expect(notices.filter((n) => n.includes('the metrics.endpoint option'))).toEqual([expect.stringMatching(/Turned off: OTLP metrics\./)]);
    expect(vt.metrics).toBeUndefined();
    expect(() => setupVoiceTrace({ ...quiet, warnings: false, otlp: false, metrics: { endpoint: 'localhost:4318' }, strict: true })).toThrow(OtlpConfigError);
  });

  it('strict: true throws the typed error, naming the setting', () => {
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = 'localhost:4318';
    let thrown: unknown;
    try {
      setupVoiceTrace({ ...quiet, warnings: false, strict: true });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(OtlpConfigError);
    expect((thrown as OtlpConfigError).setting).toBe('OTEL_EXPORTER_OTLP_ENDPOINT');
  });
});

describe('half-set LangFuse variables', () => {
  it('setupVoiceTrace returns, says once what is missing (the key it has masked), turns LangFuse off, and the file still gets every span', async () => {
    const { notices, fileSpans, vt } = await session({ LANGFUSE_PUBLIC_KEY: 'pk-lf-0123456789abcdef' });
    const named = notices.filter((n) => n.includes('LANGFUSE_SECRET_KEY'));
    expect(named, notices.join('\n')).toHaveLength(1);
    expect(named[0]).toMatch(/LangFuse is configured halfway: LANGFUSE_SECRET_KEY is not set/);
    expect(named[0]).toContain('LANGFUSE_PUBLIC_KEY="pk-lf-***"');
    expect(named[0]).not.toContain('0123456789abcdef');
    expect(named[0]).toMatch(/Turned off: LangFuse export \(spans and scores\)\./);
    expect(Object.keys(vt.exportStats())).toEqual(['file']);
    expect(fileSpans).toBe(2);
  });

  it('a langfuse option whose baseUrl is not a URL: said once (setting and value), LangFuse off, the rest running; strict throws the typed error', async () => {
    const langfuse = { publicKey: 'pk-lf-1', secretKey: 'sk-lf-1', baseUrl: 'cloud.langfuse.com' };
    const { notices, fileSpans, vt } = await session({}, { langfuse });
    const named = notices.filter((n) => n.includes('"cloud.langfuse.com"'));
    expect(named, notices.join('\n')).toEqual([expect.stringMatching(/LangFuse baseUrl .* is not an http\(s\) URL.* Turned off: LangFuse export \(spans and scores\)\./)]);
    expect(Object.keys(vt.exportStats())).toEqual(['file']);
    expect(fileSpans).toBe(2);
    let thrown: unknown;
    try {
      setupVoiceTrace({ ...quiet, warnings: false, langfuse: { ...langfuse, baseUrl: 'not a url' }, strict: true });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(LangfuseConfigError);
    expect((thrown as LangfuseConfigError).invalid).toEqual(['baseUrl']);
  });

  it('VOICETRACE_STRICT_CONFIG=true throws the typed error naming the missing variable; strict: false wins over it', () => {
    process.env.LANGFUSE_PUBLIC_KEY = 'pk-lf-1';
    process.env.VOICETRACE_STRICT_CONFIG = 'true';
    let thrown: unknown;
    try {
      setupVoiceTrace({ ...quiet, warnings: false });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(LangfuseConfigError);
    expect((thrown as LangfuseConfigError).missing).toEqual(['LANGFUSE_SECRET_KEY']);
    expect(() => setupVoiceTrace({ ...quiet, warnings: false, strict: false })).not.toThrow();
  });
});

describe('session traces over OTLP, which a Collector may forward to LangFuse', () => {
  let collector: Server;
  let endpoint: string;
  beforeEach(async () => {
    // a Collector that takes everything
    collector = createServer((req, res) => req.resume().on('end', () => res.end()));
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
  });
  afterEach(() => void collector.close());

  /** One instrumented session whose trace holds `spans` spans (its own included); the notices that mention LangFuse. */
  async function call(spans: number, options: VoiceTraceOptions = {}): Promise<string[]> {
    initializeLogger({ pretty: false, level: 'silent' });
    const notices: string[] = [];
    const vt = setupVoiceTrace({ ...quiet, otlp: { endpoint }, metrics: false, logs: false, warnings: (m) => notices.push(m), ...options });
    vt.instrument(new voice.AgentSession({}), { sessionId: 'long-call' });
    const tracer = vt.provider.getTracer('livekit-agents');
    tracer.startActiveSpan('agent_session', (session) => {
      for (let i = 1; i < spans; i++) tracer.startSpan('agent_turn').end();
      session.end();
    });
    await vt.shutdown();
    return notices.filter((n) => n.includes('VOICETRACE_TRACE_MODE'));
  }

  it('past 150 spans in session mode, says once what to set and that it matters only if the Collector forwards to LangFuse', async () => {
    const [said, ...more] = await call(400);
    expect(more).toEqual([]);
    expect(said).toMatch(/passed 150 spans/);
    expect(said).toContain("set VOICETRACE_TRACE_MODE=turn (or traceMode: 'turn')");
    expect(said).toMatch(/If your Collector forwards to LangFuse/);
  });

  it('not at 150 spans, nor in turn mode, with a direct LangFuse export, or with session mode chosen explicitly', async () => {
    expect(await call(150)).toEqual([]);
    expect(await call(400, { traceMode: 'turn' })).toEqual([]);
    expect(await call(400, { traceMode: 'session' })).toEqual([]);
    expect(await call(400, { langfuse: { publicKey: 'pk-lf-1', secretKey: 'sk-lf-1', baseUrl: endpoint }, langfuseScores: false })).toEqual([]);
    process.env.VOICETRACE_TRACE_MODE = 'session';
    expect(await call(400)).toEqual([]);
  });
});
