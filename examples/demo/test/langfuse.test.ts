// The demo's voice session, as LangFuse would ingest it: sent directly by the agent and through the
// real Collector (sidecar + LangFuse overlay), each to a contract server that enforces exactly what
// LangFuse documents for its OTel endpoint (packages/langfuse/src/testing).
import { startLangfuseContractServer, type LangfuseContractServer, type ReceivedSpan } from '@voicetrace/langfuse/testing';
import { backendsOrSkip, startCollector, type CollectorHandle } from '@voicetrace/test-backends';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemo, type DemoResult } from '../src/run-demo.js';

const KEYS = { publicKey: 'pk-lf-demo', secretKey: 'sk-lf-demo' };
const bins = await backendsOrSkip('collector');

let direct: LangfuseContractServer;
let viaCollector: LangfuseContractServer;
let sidecar: CollectorHandle | undefined;
let result: DemoResult;

const json = (value: unknown) => JSON.parse(String(value)) as Record<string, number>;
const of = (server: LangfuseContractServer, name: string) => server.spans.filter((s) => s.name === name);
const type = (span: ReceivedSpan) => span.attributes['langfuse.observation.type'];

beforeAll(async () => {
  direct = await startLangfuseContractServer(KEYS);
  viaCollector = await startLangfuseContractServer(KEYS);
  if (bins) {
    sidecar = await startCollector({
      configFiles: ['sidecar.yaml', 'overlays/langfuse.yaml'],
      env: { LANGFUSE_BASE_URL: viaCollector.baseUrl, LANGFUSE_AUTH: Buffer.from(`${KEYS.publicKey}:${KEYS.secretKey}`).toString('base64') },
    });
  }
  result = await runDemo({
    out: mkdtempSync(join(tmpdir(), 'voicetrace-langfuse-')),
    voicetrace: {
      langfuse: { ...KEYS, baseUrl: direct.baseUrl },
      otlp: sidecar ? { endpoint: sidecar.otlpHttpUrl } : false,
      release: 'demo-1',
      batch: { scheduledDelayMillis: 200 },
    },
  });
  if (sidecar) {
    const deadline = Date.now() + 20_000;
    const expected = of(direct, 'agent_session').length;
    while (Date.now() < deadline && of(viaCollector, 'agent_session').length < expected) await new Promise((r) => setTimeout(r, 200));
  }
}, 180_000);

afterAll(async () => {
  await sidecar?.stop();
  await direct?.close();
  await viaCollector?.close();
});

describe('direct export: the demo session reads well in LangFuse', () => {
  it('every request was accepted (auth, content type, valid ids) and carried the ingestion header', () => {
    expect(direct.requests.length).toBeGreaterThan(0);
    expect(direct.requests.every((r) => r.status === 200)).toBe(true);
    expect(direct.spans.length).toBeGreaterThan(50);
  });

  it('one session: every observation carries the same session id, the root names the trace', () => {
    expect(new Set(direct.spans.map((s) => s.attributes['session.id']))).toEqual(new Set([result.sessionId]));
    const [root] = of(direct, 'agent_session');
    expect(root?.attributes['langfuse.trace.name']).toBe('voice-session');
    expect(root?.attributes['langfuse.trace.input']).toBe('Hi, what is the weather like in Paris today?');
    expect(root?.attributes['langfuse.release']).toBe('demo-1');
    expect(root?.attributes['user.id']).toBe('caller-42');
  });

  it('each LLM call is one generation with model, usage, cost and time to first token', () => {
    const llm = of(direct, 'llm_request');
    expect(llm.length).toBeGreaterThanOrEqual(8);
    for (const span of llm) {
      expect(type(span)).toBe('generation');
      expect(span.attributes['gen_ai.request.model']).toBe('gpt-4o-mini');
      const usage = json(span.attributes['langfuse.observation.usage_details']);
      expect(usage.input! + usage.input_cached_tokens!).toBe(span.attributes['gen_ai.usage.input_tokens']);
      expect(json(span.attributes['langfuse.observation.cost_details']).total).toBeGreaterThan(0);
      expect(typeof span.attributes['langfuse.observation.completion_start_time']).toBe('string');
      expect(span.attributes['gen_ai.response.time_to_first_chunk']).toBeGreaterThan(0);
    }
    // the SDK's wrappers are not second generations of the same request
    expect(of(direct, 'llm_node').every((s) => type(s) === 'span')).toBe(true);
  });

  it('STT and TTS are generations with their own usage units; tools are tools; turns carry the conversation', () => {
    for (const span of of(direct, 'tts_request')) {
      expect(type(span)).toBe('generation');
      expect(json(span.attributes['langfuse.observation.usage_details']).input).toBeGreaterThan(0);
    }
    for (const span of of(direct, 'stt_request')) expect(json(span.attributes['langfuse.observation.usage_details']).input_audio_ms).toBeGreaterThan(0);
    expect(of(direct, 'function_tool').every((s) => s.attributes['gen_ai.operation.name'] === 'execute_tool')).toBe(true);
    const replies = of(direct, 'agent_turn').filter((s) => s.attributes['langfuse.observation.output']);
    expect(replies.length).toBeGreaterThanOrEqual(6);
    expect(of(direct, 'agent_turn').filter((s) => s.attributes['langfuse.observation.level'] === 'WARNING')).toHaveLength(1);
  });
});

describe.skipIf(!bins)('through the real Collector (sidecar + LangFuse overlay)', () => {
  it('the same session arrives, generic collector, mapping intact, content deleted by the default redaction', () => {
    expect(viaCollector.requests.every((r) => r.status === 200)).toBe(true);
    const ids = (server: LangfuseContractServer) => new Set(server.spans.map((s) => s.spanId));
    expect(ids(viaCollector)).toEqual(ids(direct));
    const llm = of(viaCollector, 'llm_request');
    expect(llm.every((s) => type(s) === 'generation' && s.attributes['langfuse.observation.usage_details'])).toBe(true);
    expect(viaCollector.spans.some((s) => s.attributes['langfuse.observation.input'] !== undefined)).toBe(false);
  });
});
