// The gateway tier authenticates every OTLP sender (collector-config/gateway.yaml): TLS on both
// receivers, `Authorization: Bearer $VOICETRACE_GATEWAY_TOKEN` required (bearertokenauth). With
// the real Collector: an unauthenticated or wrongly authenticated sender is refused (HTTP 401 on
// OTLP/HTTP; gRPC Unauthenticated for a sidecar with the wrong token), an authenticated one is
// accepted (directly over HTTPS, and through sidecar-to-gateway.yaml over gRPC + TLS), and a
// gateway or sidecar without a token, or a gateway without a certificate, does not start.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendOrSkip, collectorConfigPath, makeTestCertificates, otlpTracesJson, randomTraceId, startCollector, type CollectorHandle, type TestCertificates } from '../src/index.js';

const bin = await backendOrSkip('collector');
const TOKEN = `gw-${randomTraceId()}`;

/** POSTs OTLP/JSON over HTTPS, trusting only the test CA; resolves to the status (0: no HTTP answer). */
function postTraces(url: string, ca: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request(`${url}/v1/traces`, { method: 'POST', ca: readFileSync(ca), headers: { 'content-type': 'application/json', ...headers }, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', (error) => resolve({ status: 0, body: error.message }));
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end(JSON.stringify(body));
  });
}

const spanFor = (traceId: string, name: string) => otlpTracesJson({ serviceName: 'vt-auth', spans: [{ traceId, name, attributes: { 'voicetrace.stage': 'tts' } }] });

describe.skipIf(!bin)('gateway.yaml: OTLP receivers behind TLS + bearer token', () => {
  let certs: TestCertificates;
  let gateway: CollectorHandle;
  let good: CollectorHandle;
  let bad: CollectorHandle;
  const exported = () => {
    const file = join(gateway.workDir, 'out.jsonl');
    return existsSync(file) ? readFileSync(file, 'utf8') : '';
  };
  const waitFor = async (predicate: () => boolean, ms: number) => {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline && !predicate()) await new Promise((r) => setTimeout(r, 200));
    return predicate();
  };

  beforeAll(async () => {
    certs = makeTestCertificates();
    gateway = await startCollector({
      configFiles: ['gateway.yaml', 'overlays/file.yaml'],
      env: { VOICETRACE_GATEWAY_TOKEN: TOKEN, VOICETRACE_GATEWAY_TLS_CERT: certs.cert, VOICETRACE_GATEWAY_TLS_KEY: certs.key, VOICETRACE_FILE_EXPORT_PATH: 'out.jsonl' },
    });
    const sidecar = (token: string) =>
      startCollector({
        configFiles: ['sidecar-to-gateway.yaml'],
        env: { VOICETRACE_GATEWAY_ENDPOINTS: gateway.otlpGrpcEndpoint, VOICETRACE_GATEWAY_TOKEN: token, VOICETRACE_GATEWAY_CA_FILE: certs.ca },
      });
    [good, bad] = await Promise.all([sidecar(TOKEN), sidecar(`${TOKEN}-wrong`)]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([good?.stop(), bad?.stop(), gateway?.stop()]);
  });

  it('OTLP/HTTP: refuses no token and a wrong token with 401, accepts the token; plaintext gets no service', async () => {
    const https = gateway.otlpHttpUrl.replace('http://', 'https://');
    const [none, wrong, basic, right] = await Promise.all([
      postTraces(https, certs.ca, spanFor(randomTraceId(), 'anonymous')),
      postTraces(https, certs.ca, spanFor(randomTraceId(), 'wrong-token'), { authorization: `Bearer ${TOKEN}x` }),
      postTraces(https, certs.ca, spanFor(randomTraceId(), 'basic'), { authorization: `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}` }),
      postTraces(https, certs.ca, spanFor(randomTraceId(), 'authenticated'), { authorization: `Bearer ${TOKEN}` }),
    ]);
    const plain = await fetch(`${gateway.otlpHttpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(spanFor(randomTraceId(), 'plaintext')) })
      .then((r) => r.status)
      .catch(() => 0);
    console.log(`[gateway-auth] OTLP/HTTP over TLS: no token -> ${none.status}, wrong token -> ${wrong.status}, Basic -> ${basic.status}, token -> ${right.status}; plaintext HTTP -> ${plain || 'no answer'}`);
    expect([none.status, wrong.status, basic.status]).toEqual([401, 401, 401]);
    expect(right.status).toBe(200);
    expect(plain).not.toBe(200);
    expect(await waitFor(() => exported().includes('"authenticated"'), 10_000)).toBe(true);
    const out = exported();
    for (const refused of ['anonymous', 'wrong-token', 'basic', 'plaintext']) expect(out, refused).not.toContain(`"${refused}"`);
  }, 30_000);

  it('OTLP/gRPC through sidecar-to-gateway.yaml: the sidecar with the token is accepted, the one with a wrong token is refused (Unauthenticated)', async () => {
    const accepted = randomTraceId();
    const refused = randomTraceId();
    await Promise.all([postPlain(good.otlpHttpUrl, spanFor(accepted, 'via-good-sidecar')), postPlain(bad.otlpHttpUrl, spanFor(refused, 'via-bad-sidecar'))]);
    expect(await waitFor(() => exported().includes(accepted), 20_000)).toBe(true);
    const refusedInLog = await waitFor(() => /Unauthenticated/.test(readFileSync(bad.logFile, 'utf8')), 20_000);
    const log = readFileSync(bad.logFile, 'utf8');
    console.log(`[gateway-auth] sidecar with the token: delivered; sidecar with a wrong token: ${log.match(/code = Unauthenticated[^"\n]*/)?.[0] ?? '(no Unauthenticated line)'}`);
    expect(refusedInLog).toBe(true);
    expect(exported()).not.toContain(refused);
    // the token is a credential: no Collector writes it to its log
    for (const c of [gateway, good, bad]) expect(readFileSync(c.logFile, 'utf8')).not.toContain(TOKEN);
  }, 60_000);

  it('fails closed: no token or no certificate, and the gateway does not start; a sidecar without a token neither', () => {
    const validate = (file: string, env: Record<string, string>) => spawnSync(bin!, ['validate', '--config', collectorConfigPath(file)], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' });
    const tls = { VOICETRACE_GATEWAY_TLS_CERT: certs.cert, VOICETRACE_GATEWAY_TLS_KEY: certs.key };
    expect(validate('gateway.yaml', { ...tls, VOICETRACE_GATEWAY_TOKEN: TOKEN }).status).toBe(0);
    const noToken = validate('gateway.yaml', tls);
    expect(noToken.status).not.toBe(0);
    expect(noToken.stderr + noToken.stdout).toContain('no bearer token provided');
    const noCert = validate('gateway.yaml', { VOICETRACE_GATEWAY_TOKEN: TOKEN });
    expect(noCert.status).not.toBe(0);
    expect(noCert.stderr + noCert.stdout).toContain('must include both certificate and key');
    const sidecar = validate('sidecar-to-gateway.yaml', { VOICETRACE_GATEWAY_ENDPOINTS: '127.0.0.1:1' });
    expect(sidecar.status).not.toBe(0);
    expect(sidecar.stderr + sidecar.stdout).toContain('no bearer token provided');
  });
});

async function postPlain(baseUrl: string, body: unknown): Promise<void> {
  const res = await fetch(`${baseUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`${baseUrl} -> ${res.status}`);
}
