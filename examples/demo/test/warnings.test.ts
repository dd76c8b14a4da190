// Setup mistakes users make, each run through the demo as a child process: every warning reaches
// stderr once, without a diag logger, unless warnings are turned off.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'main.js');

/** Runs a one-turn demo with `env`; resolves with its exit code and output. */
function demo(env: Record<string, string>): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(OTEL_|LANGFUSE_|VOICETRACE_|LIVEKIT_)/.test(k)));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, '--turns', '1', '--out', mkdtempSync(join(tmpdir(), 'voicetrace-warn-'))], { env: { ...clean, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const MISTAKES: Array<{ mistake: string; env: Record<string, string>; says: RegExp }> = [
  { mistake: 'the traces path on the base endpoint', env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9/v1/traces' }, says: /OTEL_EXPORTER_OTLP_ENDPOINT.*already ends in .*\/v1\/traces/ },
  { mistake: 'a malformed header list', env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_EXPORTER_OTLP_HEADERS: 'authorization Bearer abc' }, says: /OTEL_EXPORTER_OTLP_HEADERS without a key=value form/ },
  { mistake: 'the gRPC protocol (not bundled)', env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, says: /OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported.*http\/protobuf/ },
  { mistake: 'a timeout that is not a number', env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_EXPORTER_OTLP_TIMEOUT: 'ten' }, says: /OTEL_EXPORTER_OTLP_TIMEOUT/ },
  { mistake: 'swapped LangFuse keys', env: { LANGFUSE_PUBLIC_KEY: 'sk-lf-1', LANGFUSE_SECRET_KEY: 'pk-lf-1', LANGFUSE_BASE_URL: 'http://127.0.0.1:9' }, says: /look swapped/ },
  { mistake: 'an unreadable PII switch', env: { LIVEKIT_TELEMETRY_ALLOW_PII: 'flase' }, says: /LIVEKIT_TELEMETRY_ALLOW_PII=flase is not true or false/ },
  { mistake: 'no exporter at all', env: {}, says: /spans go to file/ },
];

describe('setup mistakes are said once, on stderr, with no diag logger', () => {
  const runs = MISTAKES.map((m) => ({ ...m, result: demo(m.env) }));

  for (const run of runs) {
    it(run.mistake, async () => {
      const { code, stderr } = await run.result;
      expect(code).toBe(0);
      const lines = stderr.split('\n').filter((l) => run.says.test(l));
      expect(lines, stderr).toHaveLength(1);
    }, 120_000);
  }

  // telemetry configuration never takes the call down: the destination is named once and turned off
  it('a half-set LangFuse configuration: one clear message, LangFuse off, the call and the file export go on', async () => {
    const { code, stderr, stdout } = await demo({ LANGFUSE_PUBLIC_KEY: 'pk-lf-1' });
    expect(code, stderr).toBe(0);
    const lines = stderr.split('\n').filter((l) => /LANGFUSE_SECRET_KEY/.test(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/LangFuse is configured halfway: LANGFUSE_SECRET_KEY is not set.*Turned off: LangFuse export/);
    expect(stderr).toMatch(/spans go to file →/);
    expect(stdout).toMatch(/^traces: /m);
  }, 120_000);

  it('an endpoint without a scheme: one message naming the variable and value, OTLP off, the call goes on', async () => {
    const { code, stderr, stdout } = await demo({ OTEL_EXPORTER_OTLP_ENDPOINT: 'localhost:4318' });
    expect(code, stderr).toBe(0);
    const lines = stderr.split('\n').filter((l) => /OTEL_EXPORTER_OTLP_ENDPOINT/.test(l));
    expect(lines).toEqual([expect.stringMatching(/"localhost:4318".*Turned off: OTLP traces, OTLP metrics, OTLP logs/)]);
    expect(stderr).not.toMatch(/OtlpConfigError|    at /); // no stack trace
    expect(stdout).not.toMatch(/otlp export:/);
  }, 120_000);

  it('VOICETRACE_STRICT_CONFIG=true: the same mistake stops the start with the typed error', async () => {
    const { code, stderr } = await demo({ LANGFUSE_PUBLIC_KEY: 'pk-lf-1', VOICETRACE_STRICT_CONFIG: 'true' });
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/LangfuseConfigError: voicetrace: LangFuse is configured halfway/);
  }, 120_000);

  it('VOICETRACE_WARNINGS=off silences them', async () => {
    const { code, stderr } = await demo({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9/v1/traces', VOICETRACE_WARNINGS: 'off' });
    expect(code).toBe(0);
    expect(stderr).not.toMatch(/already ends in/);
  }, 120_000);
});
