// Telemetry configuration never takes calls down (issue 20): a destination whose settings cannot
// work is named once and turned off, setupVoiceTrace returns, the other destinations keep receiving
// spans; strict (option or VOICETRACE_STRICT_CONFIG) throws the typed error instead.
import { OtlpConfigError } from '@voicetrace/exporters';
import { LangfuseConfigError } from '@voicetrace/langfuse';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
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
