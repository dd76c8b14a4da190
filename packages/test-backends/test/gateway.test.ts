// sidecar-to-gateway.yaml -> two gateway.yaml instances: the load_balancing exporter routes by
// trace id, so every span of a trace lands on the same gateway. The link is TLS with the
// gateways' bearer token (a throwaway CA; gateway-auth.test.ts tests the authentication itself).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendsOrSkip, makeTestCertificates, otlpTracesJson, postOtlpJson, randomSpanId, randomTraceId, startCollector, type CollectorHandle, type SimpleSpan } from '../src/index.js';

const bins = await backendsOrSkip('collector');

describe.skipIf(!bins)('sidecar -> load_balancing -> gateways', () => {
  const gateways: CollectorHandle[] = [];
  let sidecar: CollectorHandle;

  beforeAll(async () => {
    const certs = makeTestCertificates();
    const token = `gw-${randomTraceId()}`;
    const tls = { VOICETRACE_GATEWAY_TOKEN: token, VOICETRACE_GATEWAY_TLS_CERT: certs.cert, VOICETRACE_GATEWAY_TLS_KEY: certs.key };
    for (let i = 0; i < 2; i++) {
      gateways.push(await startCollector({ configFiles: ['gateway.yaml', 'overlays/file.yaml'], env: { ...tls, VOICETRACE_FILE_EXPORT_PATH: 'out.jsonl' } }));
    }
    sidecar = await startCollector({
      configFiles: ['sidecar-to-gateway.yaml'],
      env: { VOICETRACE_GATEWAY_ENDPOINTS: gateways.map((g) => g.otlpGrpcEndpoint).join(','), VOICETRACE_GATEWAY_TOKEN: token, VOICETRACE_GATEWAY_CA_FILE: certs.ca },
    });
  }, 120_000);

  afterAll(async () => {
    await Promise.all([sidecar?.stop(), ...gateways.map((g) => g.stop())]);
  });

  it('keeps each trace whole on one gateway, and deletes PII before it leaves the host', async () => {
    const traces = Array.from({ length: 12 }, () => randomTraceId());
    const spans: SimpleSpan[] = traces.flatMap((traceId) =>
      Array.from({ length: 3 }, (_, i) => ({ traceId, spanId: randomSpanId(), name: `stage-${i}`, attributes: { 'voicetrace.stage': 'tts', 'lk.pii.user_transcript': 'hello' } })),
    );
    await postOtlpJson(sidecar.otlpHttpUrl, otlpTracesJson({ serviceName: 'vt-lb', spans }));
    const read = (g: CollectorHandle) => {
      const f = join(g.workDir, 'out.jsonl');
      return existsSync(f) ? readFileSync(f, 'utf8') : '';
    };
    const count = (text: string, id: string) => text.split(id).length - 1;
    const deadline = Date.now() + 20_000;
    let outs: string[] = [];
    while (Date.now() < deadline) {
      outs = gateways.map(read);
      if (traces.every((t) => outs.reduce((n, o) => n + count(o, t), 0) >= 3)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    for (const t of traces) {
      const perGateway = outs.map((o) => count(o, t));
      expect(perGateway.filter((n) => n > 0), `trace ${t} split across gateways: ${perGateway}`).toHaveLength(1);
      expect(perGateway.reduce((a, b) => a + b, 0)).toBe(3);
    }
    expect(outs.every((o) => o.length > 0), 'both gateways received traffic').toBe(true);
    expect(outs.join('')).not.toContain('lk.pii.user_transcript');
  }, 40_000);
});
