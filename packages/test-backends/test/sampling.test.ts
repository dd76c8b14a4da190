// Tail sampling overlay (collector-config/overlays/tail-sampling.yaml) against real binaries:
// slow, interrupted and failed turns and turns with a quality signal are kept, the rest sampled at
// VOICETRACE_SAMPLE_PERCENT.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendsOrSkip, otlpTracesJson, postOtlpJson, randomTraceId, startCollector, startJaeger, type CollectorHandle, type JaegerHandle } from '../src/index.js';

const bins = await backendsOrSkip('collector', 'jaeger');

describe.skipIf(!bins)('tail sampling overlay', () => {
  let jaeger: JaegerHandle;
  let collector: CollectorHandle;

  beforeAll(async () => {
    jaeger = await startJaeger();
    collector = await startCollector({
      configFiles: ['sidecar.yaml', 'overlays/tail-sampling.yaml', 'overlays/jaeger.yaml'],
      env: {
        VOICETRACE_JAEGER_ENDPOINT: jaeger.otlpGrpcEndpoint,
        VOICETRACE_SAMPLE_PERCENT: '0',
        VOICETRACE_SAMPLING_DECISION_WAIT: '2s',
        VOICETRACE_SLOW_TURN_SECONDS: '2', // an integer on purpose: compared with a double attribute
      },
    });
  }, 120_000);

  afterAll(async () => {
    await Promise.all([collector?.stop(), jaeger?.stop()]);
  });

  it('keeps slow, interrupted and failed turns and those with a quality signal, and drops the rest', async () => {
    const ids = { slow: randomTraceId(), interrupted: randomTraceId(), failed: randomTraceId(), flagged: randomTraceId(), fast: randomTraceId() };
    const turn = (traceId: string, attributes: Record<string, number | boolean | string[] | { double: number }>, status?: 'error') => ({
      traceId,
      name: 'agent_turn',
      attributes: { 'voicetrace.stage': 'agent_turn', ...attributes },
      ...(status ? { status } : {}),
    });
    await postOtlpJson(
      collector.otlpHttpUrl,
      otlpTracesJson({
        serviceName: 'vt-sampling',
        spans: [
          turn(ids.slow, { 'voicetrace.latency.e2e': { double: 3.5 } }),
          turn(ids.interrupted, { 'voicetrace.latency.e2e': { double: 0.5 }, 'voicetrace.turn.interrupted': true }),
          turn(ids.failed, { 'voicetrace.latency.e2e': { double: 0.7 } }, 'error'),
          turn(ids.flagged, { 'voicetrace.latency.e2e': { double: 0.9 }, 'voicetrace.turn.signals': ['repeated_user_request'] }),
          turn(ids.fast, { 'voicetrace.latency.e2e': { double: 0.8 }, 'voicetrace.turn.interrupted': false }),
        ],
      }),
    );
    for (const id of [ids.slow, ids.interrupted, ids.failed, ids.flagged]) {
      await jaeger.waitForTrace(id, { timeoutMs: 20_000 });
    }
    // The fast turn was decided in the same round; give it time to (wrongly) arrive.
    await new Promise((r) => setTimeout(r, 3000));
    expect(await jaeger.getTrace(ids.fast)).toBeUndefined();
  }, 40_000);
});
