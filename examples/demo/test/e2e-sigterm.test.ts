// End to end (issue #13), SIGTERM mid-call in a plain (non-job) process: a child process runs the
// demo's real AgentSession with voicetrace's signal handling on (examples/demo/test/e2e/sigterm-call.mjs),
// exporting to the real Collector, to a backend that never answers, and to a file. SIGTERM arrives a
// few turns into the call. The process must still write the session report, end and flush what it
// can (the open session root reaches the Collector, flagged force-ended), print what was delivered
// and what was lost per destination, and then die of the signal, within the signal handler's bound.
import { backendsOrSkip, startCollector, type CollectorHandle } from '@voicetrace/test-backends';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTruth, type TruthSpan } from './e2e/spans.js';
import { pollUntil, sleep } from './e2e/util.js';

const bins = await backendsOrSkip('collector');
const here = dirname(fileURLToPath(import.meta.url));

/** Seconds into the call when SIGTERM is sent (a 12-turn call lasts about 50 s). */
const SIGTERM_AFTER_MS = 12_000;

describe.skipIf(!bins)('SIGTERM mid-call in a plain process: report written, spans flushed, losses printed', () => {
  let collector: CollectorHandle;
  let stalled: { url: string; close: () => void };
  let out: string;
  let sessionId = '';
  let stdout = '';
  let stderr = '';
  let exit: { code: number | null; signal: NodeJS.Signals | null } = { code: null, signal: null };
  let signalledAt = 0;
  let exitedAt = 0;
  let collected: TruthSpan[] = [];

  beforeAll(async () => {
    collector = await startCollector({ configFiles: ['sidecar.yaml', 'overlays/file.yaml'], env: { VOICETRACE_FILE_EXPORT_PATH: 'out.jsonl', VOICETRACE_REDACT_PII: 'false' } });
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on('data', () => undefined);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    stalled = { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, close: () => (sockets.forEach((s) => s.destroy()), server.close()) };
    out = mkdtempSync(join(tmpdir(), 'voicetrace-e2e-sigterm-'));
    const env: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(process.env)) if (!/^(VOICETRACE_|LANGFUSE_|OTEL_|VITEST)/.test(key)) env[key] = value;
    const child = spawn(process.execPath, [join(here, 'e2e/sigterm-call.mjs'), out, collector.otlpHttpUrl, stalled.url], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<void>((resolve) => child.on('exit', (code, signal) => ((exit = { code, signal }), (exitedAt = Date.now()), resolve())));
    sessionId = await pollUntil('the session to start', async () => /SESSION_STARTED (\S+)/.exec(stdout)?.[1], { timeoutMs: 60_000 });
    await sleep(SIGTERM_AFTER_MS);
    signalledAt = Date.now();
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(20_000)]);
    if (!exitedAt) child.kill('SIGKILL');
    const file = join(collector.workDir, 'out.jsonl');
    await pollUntil('the session span at the Collector', async () => (existsSync(file) && readTruth(file).some((s) => s.name === 'agent_session') ? true : undefined), { timeoutMs: 10_000 }).catch(() => undefined);
    collected = existsSync(file) ? readTruth(file) : [];
  }, 120_000);

  afterAll(async () => {
    stalled?.close();
    await collector?.stop();
  });

  it('dies of the signal within the bound, mid-call, after printing what was delivered and what was lost', () => {
    const report = stderr.split('\n').filter((line) => /^voicetrace: (otlp|exporter\.0|file) \(/.test(line));
    console.log(`[e2e sigterm] SIGTERM ${SIGTERM_AFTER_MS / 1000} s into the call; exited ${exitedAt ? `${exitedAt - signalledAt} ms later` : 'never (killed)'} by ${exit.signal ?? `code ${exit.code}`}; delivery report:\n  ${report.join('\n  ')}`);
    expect(stdout).not.toContain('CALL_FINISHED'); // the call was cut short
    expect(exit.signal).toBe('SIGTERM');
    expect(exitedAt - signalledAt).toBeLessThan(6_000); // the handler's bound is 5 s
    // the Collector and the file took everything but what the SDK still ended after the flush (the call
    // runs on while the process shuts down); the backend that never answers got nothing, all counted
    const healthy = /spans handed over, \d+ delivered, (0 lost|\d+ lost \(after_shutdown: \d+\))$/;
    expect(report.find((l) => l.startsWith('voicetrace: otlp ('))).toMatch(healthy);
    expect(report.find((l) => l.startsWith('voicetrace: file ('))).toMatch(healthy);
    expect(report.find((l) => l.startsWith('voicetrace: exporter.0 ('))).toMatch(/ 0 delivered, \d+ lost( \([a-z_]+: \d+(, [a-z_]+: \d+)*\))?(, \d+ still queued)?/);
  });

  it('wrote the session report and the trace file, and the Collector got every span, the open session root force-ended', () => {
    const dir = join(out, sessionId);
    expect(existsSync(join(dir, 'report.json'))).toBe(true);
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as Record<string, unknown>;
    expect(JSON.stringify(report)).toContain(sessionId);
    const truth = readTruth(join(dir, 'traces.jsonl'));
    const root = collected.find((s) => s.name === 'agent_session');
    const delivered = Number(/otlp \([^)]*\)\): \d+ spans handed over, (\d+) delivered/.exec(stderr)?.[1]);
    console.log(`[e2e sigterm] report.json written; traces.jsonl ${truth.length} spans; the Collector holds ${new Set(collected.map((s) => s.spanId)).size} (agent reported ${delivered} delivered); force-ended: ${collected.filter((s) => s.attributes['voicetrace.force_ended']?.value === true).map((s) => s.name).join(', ')}`);
    expect(root?.attributes['voicetrace.force_ended']?.value).toBe(true);
    expect(new Set(collected.map((s) => s.spanId))).toEqual(new Set(truth.map((s) => s.spanId)));
    expect(delivered).toBe(truth.length);
  });
});
