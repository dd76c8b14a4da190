// Security (issue #13): fake secrets put everywhere a user might put them never come out. A demo
// call runs in its own process, configured from its environment as a deployed agent is:
//   - OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer <token>, and an endpoint URL with userinfo;
//   - LANGFUSE_PUBLIC_KEY / LANGFUSE_SECRET_KEY (direct export to LangFuse, Basic auth);
//   - AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, LIVEKIT_API_KEY / LIVEKIT_API_SECRET (present, unused).
// Twice: once against backends that accept (the real Collector, PII deletion off so that nothing is
// hidden from the scan, and the LangFuse contract server), once against servers that refuse with 401
// and 500 and echo the request's headers and URL back in their error bodies. Then every output is
// scanned for every secret, raw and as the Basic credential it becomes on the wire: the spans the
// Collector wrote and the contract server received, the process's stdout and stderr, traces.jsonl,
// report.json and report.html. Job metadata (it may carry keys next to the traceparent) is read for
// its traceparent only.
//
// Tool arguments are content, not configuration: the caller and the LLM chose them, and voicetrace
// exports them only as content (gen_ai.tool.call.arguments), governed by the PII switch
// (LIVEKIT_TELEMETRY_ALLOW_PII=false keeps them in the process) and the Collector's PII deletion (on
// by default). It does not scan content for key-like strings: a pattern would miss most secrets and
// mangle real content. The last test pins that behaviour down.
import { startLangfuseContractServer, type LangfuseContractServer } from '@voicetrace/langfuse-contract';
import { traceparentOfJob } from '@voicetrace/livekit';
import { backendsOrSkip, startCollector, type CollectorHandle } from '@voicetrace/test-backends';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSpans } from './otlp-json.js';

const bins = await backendsOrSkip('collector');
const here = dirname(fileURLToPath(import.meta.url));

const SECRETS = {
  bearer: 'vtsecret-bearer-5f1c9a7e2b4d',
  urlPassword: 'vtsecret-urlpw-8c3e1a',
  langfuseSecret: 'sk-lf-vtsecret-0d9b7c6a5e4f',
  awsSecret: 'vtsecret-aws-wJalrXUtnFEMIK7MDENGbPxRfiCY',
  livekitSecret: 'vtsecret-livekit-3a2b1c0d9e8f',
  jobMetadataKey: 'vtsecret-jobmeta-7e6d5c4b',
};
const PUBLIC_KEY = 'pk-lf-vtpublic';
/** Each secret as it may appear: raw, and as the Basic credential it becomes in a header. */
const FORMS: Array<[string, string]> = [
  ...Object.entries(SECRETS),
  ['langfuse basic credential', Buffer.from(`${PUBLIC_KEY}:${SECRETS.langfuseSecret}`).toString('base64')],
  ['url userinfo basic credential', Buffer.from(`agent:${SECRETS.urlPassword}`).toString('base64')],
];

interface CallOutput {
  stdout: string;
  stderr: string;
  out: string;
  result?: { sessionId: string; tracesPath: string; report: { json?: string; html?: string } };
}

/** Runs the demo call in a child process with `env` over a hermetic base. */
async function runCall(env: Record<string, string>): Promise<CallOutput> {
  const out = mkdtempSync(join(tmpdir(), 'voicetrace-secrets-'));
  const base: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^(VOICETRACE_|LANGFUSE_|OTEL_|AWS_|LIVEKIT_|VITEST)/.test(key)) base[key] = value;
  const child = spawn(process.execPath, [join(here, 'e2e/secrets-call.mjs'), out], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const last = stdout.trim().split('\n').pop() ?? '';
  let result: CallOutput['result'];
  try {
    result = JSON.parse(last);
  } catch {
    result = undefined;
  }
  return { stdout, stderr, out, result };
}

/** A server that refuses every request with `status` and echoes its headers and URL back. */
async function startEchoServer(status: number): Promise<{ url: string; requests: number; close: () => Promise<void> }> {
  const state = { requests: 0 };
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      state.requests++;
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'denied', youSent: { url: req.url, headers: req.headers } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    get requests() {
      return state.requests;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The environment of a deployed agent: credentials everywhere a user puts them. */
function secretEnv(otlpBase: string, langfuseBase: string): Record<string, string> {
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: otlpBase.replace('http://', `http://agent:${SECRETS.urlPassword}@`),
    OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer%20${SECRETS.bearer}`,
    LANGFUSE_PUBLIC_KEY: PUBLIC_KEY,
    LANGFUSE_SECRET_KEY: SECRETS.langfuseSecret,
    LANGFUSE_BASE_URL: langfuseBase,
    AWS_ACCESS_KEY_ID: 'AKIAVTSECRETEXAMPLE',
    AWS_SECRET_ACCESS_KEY: SECRETS.awsSecret,
    AWS_REGION: 'eu-west-1',
    LIVEKIT_URL: 'ws://127.0.0.1:7880',
    LIVEKIT_API_KEY: 'APIvtsecret',
    LIVEKIT_API_SECRET: SECRETS.livekitSecret,
  };
}

/** Every artifact of a call, by name, as text. */
function outputsOf(call: CallOutput): Record<string, string> {
  const texts: Record<string, string> = { stdout: call.stdout, stderr: call.stderr };
  const r = call.result;
  if (r) {
    if (existsSync(r.tracesPath)) texts['traces.jsonl'] = readFileSync(r.tracesPath, 'utf8');
    if (r.report.json && existsSync(r.report.json)) texts['report.json'] = readFileSync(r.report.json, 'utf8');
    if (r.report.html && existsSync(r.report.html)) texts['report.html'] = readFileSync(r.report.html, 'utf8');
  }
  return texts;
}

/** Each secret found, with where and the line it is on (for the failure message). */
function leaks(texts: Record<string, string>): string[] {
  const found: string[] = [];
  for (const [where, text] of Object.entries(texts)) {
    for (const [name, secret] of FORMS) {
      if (!text.includes(secret)) continue;
      const line = text.split('\n').find((l) => l.includes(secret)) ?? '';
      const at = line.indexOf(secret);
      found.push(`${name} in ${where}: …${line.slice(Math.max(0, at - 160), at + secret.length + 40)}…`);
    }
  }
  return found;
}

describe.skipIf(!bins)('fake secrets in the environment never reach any output', () => {
  let collector: CollectorHandle;
  let langfuse: LangfuseContractServer;
  let refuse401: Awaited<ReturnType<typeof startEchoServer>>;
  let refuse500: Awaited<ReturnType<typeof startEchoServer>>;
  let accepted: CallOutput;
  let refused: CallOutput;

  beforeAll(async () => {
    [collector, langfuse, refuse401, refuse500] = await Promise.all([
      startCollector({ configFiles: ['sidecar.yaml', 'overlays/file.yaml'], env: { VOICETRACE_FILE_EXPORT_PATH: 'out.jsonl', VOICETRACE_REDACT_PII: 'false' } }),
      startLangfuseContractServer({ publicKey: PUBLIC_KEY, secretKey: SECRETS.langfuseSecret }),
      startEchoServer(401),
      startEchoServer(500),
    ]);
    accepted = await runCall(secretEnv(collector.otlpHttpUrl, langfuse.baseUrl));
    refused = await runCall(secretEnv(refuse401.url, refuse500.url));
  }, 240_000);

  afterAll(async () => {
    await Promise.all([collector?.stop(), langfuse?.close(), refuse401?.close(), refuse500?.close()]);
  });

  it('backends that accept: the spans at the Collector and at LangFuse, stdout, stderr, traces.jsonl, report.json and report.html hold none', async () => {
    expect(accepted.result, accepted.stderr).toBeDefined();
    const file = join(collector.workDir, 'out.jsonl');
    for (let i = 0; i < 50 && !(existsSync(file) && readFileSync(file, 'utf8').includes('agent_session')); i++) await new Promise((r) => setTimeout(r, 200));
    const texts = { ...outputsOf(accepted), 'Collector output': readFileSync(file, 'utf8'), 'LangFuse spans': JSON.stringify(langfuse.spans), 'LangFuse scores': JSON.stringify(langfuse.scores) };
    console.log(`[secrets] accepting backends: scanned ${Object.entries(texts).map(([k, v]) => `${k} ${(v.length / 1024).toFixed(0)} KiB`).join(', ')}`);
    // the scan is real: the call went through, with its credentials on the wire
    expect(langfuse.spans.length).toBeGreaterThan(20);
    expect(langfuse.requests.filter((r) => r.status !== (r.path === '/api/public/media' ? 201 : 200))).toEqual([]);
    expect(readSpans(file).some((s) => s.name === 'agent_session')).toBe(true);
    expect(leaks(texts)).toEqual([]);
  });

  it('backends that refuse (401, 500) and echo the request headers: every error message holds none', () => {
    expect(refused.result, refused.stderr).toBeDefined();
    expect(refuse401.requests).toBeGreaterThan(0);
    expect(refuse500.requests).toBeGreaterThan(0);
    const texts = outputsOf(refused);
    const errors = refused.stderr.split('\n').filter((l) => /fail|denied|HTTP [45]\d\d/i.test(l));
    console.log(`[secrets] refusing backends: ${errors.length} error line(s) on stderr, e.g.\n  ${errors.slice(0, 4).map((l) => l.slice(0, 400)).join('\n  ')}`);
    // the servers' echoes made it into the messages (so the scan has something to find), scrubbed
    expect(refused.stderr).toMatch(/HTTP 401/);
    expect(refused.stderr).toContain('[REDACTED]');
    expect(leaks(texts)).toEqual([]);
  });

  it('job metadata: only its traceparent is read, never its other keys', () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const job = { job: { metadata: JSON.stringify({ traceparent, apiKey: SECRETS.jobMetadataKey, customer: 'acme' }) } };
    expect(traceparentOfJob(job as never)).toBe(traceparent);
  });

  it('tool arguments are content: exported as gen_ai.tool.call.arguments while PII is allowed (the default; the PII switch and the Collector\'s deletion govern them)', () => {
    const spans = readSpans(accepted.result!.tracesPath);
    const args = spans.map((s) => s.attributes['gen_ai.tool.call.arguments']).filter((a) => a !== undefined);
    expect(args.join(' ')).toContain('"city":"Paris"');
  });
});
