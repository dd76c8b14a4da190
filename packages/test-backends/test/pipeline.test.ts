// End to end through the real binaries: agent spans (OTLP/JSON over HTTP) -> voicetrace's
// Collector (collector-config/sidecar.yaml + overlays) -> Jaeger v2 / Prometheus.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backendsOrSkip,
  otlpTracesJson,
  postOtlpJson,
  randomSpanId,
  randomTraceId,
  startCollector,
  startJaeger,
  startPrometheus,
  type CollectorHandle,
  type JaegerHandle,
  type PrometheusHandle,
} from '../src/index.js';

const bins = await backendsOrSkip('collector', 'jaeger', 'prometheus');

/** A span with content the sidecar must delete, plus attributes it must keep. */
function sensitiveSpan(traceId: string) {
  return {
    traceId,
    name: 'user_turn',
    attributes: {
      'voicetrace.stage': 'user_turn',
      'lk.pii.user_transcript': 'my card number is 4111 1111 1111 1111',
      'voicetrace.pii.participant_name': 'Alice',
      'gen_ai.input.messages': '[{"role":"user","content":"hello"}]',
      'gen_ai.output.messages': '[{"role":"assistant","content":"hi"}]',
      'langfuse.observation.input': 'hello',
      'input.value': 'hello',
      'gen_ai.request.model': 'gpt-test',
      'voicetrace.latency.e2e': { double: 1.25 },
    },
  };
}

const REDACTED_KEYS = [
  'lk.pii.user_transcript',
  'voicetrace.pii.participant_name',
  'gen_ai.input.messages',
  'gen_ai.output.messages',
  'langfuse.observation.input',
  'input.value',
];

describe.skipIf(!bins)('collector sidecar -> Jaeger / Prometheus (real binaries)', () => {
  let jaeger: JaegerHandle;
  let redacting: CollectorHandle;
  let prometheus: PrometheusHandle;

  beforeAll(async () => {
    jaeger = await startJaeger();
    redacting = await startCollector({
      configFiles: ['sidecar.yaml', 'overlays/jaeger.yaml'],
      env: { VOICETRACE_JAEGER_ENDPOINT: jaeger.otlpGrpcEndpoint, VOICETRACE_SPANMETRICS_FLUSH_INTERVAL: '1s' },
    });
    prometheus = await startPrometheus({ scrapeTargets: [redacting.prometheusTarget] });
  }, 120_000);

  afterAll(async () => {
    await Promise.all([redacting?.stop(), prometheus?.stop(), jaeger?.stop()]);
  });

  it('deletes PII attributes by default and keeps the rest', async () => {
    const traceId = randomTraceId();
    await postOtlpJson(redacting.otlpHttpUrl, otlpTracesJson({ serviceName: 'vt-redact-on', spans: [sensitiveSpan(traceId)] }));
    const trace = await jaeger.waitForTrace(traceId, { timeoutMs: 20_000 });
    const tags = trace.spans[0]!.tags;
    for (const key of REDACTED_KEYS) expect(tags, key).not.toHaveProperty([key]);
    expect(tags['voicetrace.stage']).toBe('user_turn');
    expect(tags['gen_ai.request.model']).toBe('gpt-test');
    expect(tags['voicetrace.latency.e2e']).toBe(1.25);
  }, 30_000);

  it('keeps PII attributes with VOICETRACE_REDACT_PII=false', async () => {
    const open = await startCollector({
      configFiles: ['sidecar.yaml', 'overlays/jaeger.yaml'],
      env: { VOICETRACE_JAEGER_ENDPOINT: jaeger.otlpGrpcEndpoint, VOICETRACE_REDACT_PII: 'false' },
    });
    try {
      const traceId = randomTraceId();
      await postOtlpJson(open.otlpHttpUrl, otlpTracesJson({ serviceName: 'vt-redact-off', spans: [sensitiveSpan(traceId)] }));
      const tags = (await jaeger.waitForTrace(traceId, { timeoutMs: 20_000 })).spans[0]!.tags;
      expect(tags['lk.pii.user_transcript']).toBe('my card number is 4111 1111 1111 1111');
      expect(tags['gen_ai.input.messages']).toBe('[{"role":"user","content":"hello"}]');
      expect(tags['voicetrace.stage']).toBe('user_turn');
    } finally {
      await open.stop();
    }
  }, 60_000);

  it('derives RED metrics (span_metrics) that reach Prometheus', async () => {
    const service = `vt-metrics-${randomSpanId()}`;
    const n = 7;
    const spans = Array.from({ length: n }, (_, i) => ({
      name: 'tts_request',
      durationMs: 200 + i * 100,
      attributes: { 'voicetrace.stage': 'tts', 'gen_ai.provider.name': 'fake-tts', 'lk.speech_id': `speech-${i}` },
    }));
    await postOtlpJson(redacting.otlpHttpUrl, otlpTracesJson({ serviceName: service, spans }));
    const q = `sum(traces_span_metrics_duration_seconds_count{service_name="${service}",voicetrace_stage="tts"})`;
    const samples = await prometheus.waitForQuery(q, (s) => s[0]?.value === n, { timeoutMs: 25_000 });
    expect(samples[0]!.value).toBe(n);
    // Unbounded ids never become labels.
    const series = await prometheus.query(`traces_span_metrics_calls_total{service_name="${service}"}`);
    expect(series.length).toBeGreaterThan(0);
    for (const s of series) {
      expect(Object.keys(s.metric)).not.toContain('lk_speech_id');
      expect(s.metric.gen_ai_provider_name).toBe('fake-tts');
    }
  }, 40_000);

  it('loses nothing across a Jaeger outage and a Collector restart (persistent queue)', async () => {
    const traceId = randomTraceId();
    await jaeger.stop();
    await postOtlpJson(redacting.otlpHttpUrl, otlpTracesJson({ serviceName: 'vt-outage', spans: [{ traceId, name: 'agent_turn', attributes: { 'voicetrace.stage': 'agent_turn' } }] }));
    await new Promise((r) => setTimeout(r, 2500)); // let the batch reach the on-disk queue and fail once
    await redacting.restart(); // the queued span must survive on disk
    await jaeger.restart(); // same ports, empty in-memory storage
    const trace = await jaeger.waitForTrace(traceId, { timeoutMs: 45_000 });
    expect(trace.spans[0]!.operationName).toBe('agent_turn');
  }, 90_000);
});
