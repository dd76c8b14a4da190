// The LangFuse overlay (OTLP/HTTP + Basic auth from LANGFUSE_AUTH) against a stand-in for
// LangFuse's ingestion endpoint: the real Collector's OTLP receiver mounted at
// /api/public/otel/v1/traces behind basicauth (collector-config/testing/langfuse-receiver.yaml).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendsOrSkip, otlpTracesJson, postOtlpJson, randomTraceId, startCollector, type CollectorHandle } from '../src/index.js';

const bins = await backendsOrSkip('collector');

const PK = 'pk-lf-test';
const SK = 'sk-lf-test';

describe.skipIf(!bins)('LangFuse overlay', () => {
  let langfuse: CollectorHandle;
  let sidecar: CollectorHandle;
  let received: string;

  beforeAll(async () => {
    langfuse = await startCollector({
      configFiles: ['testing/langfuse-receiver.yaml'],
      env: { LANGFUSE_PUBLIC_KEY: PK, LANGFUSE_SECRET_KEY: SK, VOICETRACE_FILE_EXPORT_PATH: 'received.jsonl' },
    });
    received = join(langfuse.workDir, 'received.jsonl'); // relative paths resolve in the work dir
    sidecar = await startCollector({
      configFiles: ['sidecar.yaml', 'overlays/langfuse.yaml'],
      env: { LANGFUSE_BASE_URL: langfuse.otlpHttpUrl, LANGFUSE_AUTH: Buffer.from(`${PK}:${SK}`).toString('base64') },
    });
  }, 120_000);

  afterAll(async () => {
    await Promise.all([sidecar?.stop(), langfuse?.stop()]);
  });

  it('delivers spans with Basic auth at /api/public/otel/v1/traces', async () => {
    const traceId = randomTraceId();
    await postOtlpJson(sidecar.otlpHttpUrl, otlpTracesJson({ serviceName: 'vt-langfuse', spans: [{ traceId, name: 'llm_request', attributes: { 'voicetrace.stage': 'llm', 'langfuse.observation.input': 'secret prompt' } }] }));
    const deadline = Date.now() + 15_000;
    let text = '';
    while (Date.now() < deadline) {
      text = existsSync(received) ? readFileSync(received, 'utf8') : '';
      if (text.includes(traceId)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(text).toContain(traceId);
    expect(text).toContain('llm_request');
    expect(text).not.toContain('secret prompt'); // PII deletion is on by default
  }, 30_000);

  it('the stand-in rejects wrong credentials with 401', async () => {
    const res = await fetch(`${langfuse.otlpHttpUrl}/api/public/otel/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${PK}:wrong`).toString('base64')}` },
      body: JSON.stringify(otlpTracesJson({ serviceName: 'x', spans: [{ name: 'x' }] })),
    });
    await res.arrayBuffer();
    expect(res.status).toBe(401);
  });
});
