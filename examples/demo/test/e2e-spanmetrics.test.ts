// End to end (issue #4): span-derived metrics of the demo's real session through the sidecar's
// span_metrics connector, scraped by a real Prometheus and read back with PromQL; and what tail
// sampling does to a session-long trace (one trace per call, the default mode).
// One demo run (session mode) feeds two sidecars with overlays/tail-sampling.yaml + overlays/jaeger.yaml:
//   - "metrics": sample 0 %, no turn counts as slow; Prometheus scrapes its span metrics;
//   - "keep-all": sample 100 %.
import { ATTR } from '@voicetrace/conventions';
import {
  backendsOrSkip,
  startCollector,
  startJaeger,
  startPrometheus,
  type CollectorHandle,
  type JaegerHandle,
  type PrometheusHandle,
  type PromSample,
} from '@voicetrace/test-backends';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemo, type DemoResult } from '../src/run-demo.js';
import { otlpProtoExporter } from './e2e/recording.js';
import { attr, durationSeconds, readTruth, type TruthSpan } from './e2e/spans.js';
import { metricSum, sleep } from './e2e/util.js';

const bins = await backendsOrSkip('collector', 'jaeger', 'prometheus');

const SERVICE = 'voicetrace-demo';
/** Tail sampling decides this long after a trace's first span reached the Collector. */
const DECISION_WAIT_S = 5;
/** The span_metrics connector's explicit buckets (collector-config/sidecar.yaml), in seconds. */
const BUCKETS = [0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30];

const le = (v: string): number => (v === '+Inf' ? Number.POSITIVE_INFINITY : Number(v));
const stageOf = (s: TruthSpan): string => (attr(s, ATTR.STAGE) as string | undefined) ?? '';

describe.skipIf(!bins)('demo -> sidecar span_metrics -> Prometheus; tail sampling of a session-long trace', () => {
  let jaegerMetrics: JaegerHandle;
  let jaegerAll: JaegerHandle;
  let metrics: CollectorHandle;
  let keepAll: CollectorHandle;
  let prometheus: PrometheusHandle;
  let result: DemoResult;
  let truth: TruthSpan[];
  const countByStage = new Map<string, number>();

  beforeAll(async () => {
    [jaegerMetrics, jaegerAll] = await Promise.all([startJaeger(), startJaeger()]);
    const sampling = (jaeger: JaegerHandle, percent: string) => ({
      configFiles: ['sidecar.yaml', 'overlays/tail-sampling.yaml', 'overlays/jaeger.yaml'],
      env: {
        VOICETRACE_JAEGER_ENDPOINT: jaeger.otlpGrpcEndpoint,
        VOICETRACE_SPANMETRICS_FLUSH_INTERVAL: '1s',
        VOICETRACE_SAMPLE_PERCENT: percent,
        VOICETRACE_SLOW_TURN_SECONDS: '1000',
        VOICETRACE_SAMPLING_DECISION_WAIT: `${DECISION_WAIT_S}s`,
      },
    });
    [metrics, keepAll] = await Promise.all([startCollector(sampling(jaegerMetrics, '0')), startCollector(sampling(jaegerAll, '100'))]);
    prometheus = await startPrometheus({ scrapeTargets: [metrics.prometheusTarget] });
    result = await runDemo({
      out: mkdtempSync(join(tmpdir(), 'voicetrace-e2e-metrics-')),
      voicetrace: { otlp: { endpoint: metrics.otlpHttpUrl }, exporters: [otlpProtoExporter(keepAll.otlpHttpUrl)], batch: { scheduledDelayMillis: 200 } },
    });
    truth = readTruth(result.tracesPath);
    for (const s of truth) countByStage.set(stageOf(s), (countByStage.get(stageOf(s)) ?? 0) + 1);
  }, 170_000);

  afterAll(async () => {
    await Promise.all([metrics?.stop(), keepAll?.stop(), prometheus?.stop(), jaegerMetrics?.stop(), jaegerAll?.stop()]);
  });

  const byStage = (samples: readonly PromSample[]) => new Map(samples.map((s) => [s.metric.voicetrace_stage ?? '', s.value]));

  it('Prometheus has per-stage span counts equal to the demo spans per voicetrace.stage', async () => {
    const q = `sum by (voicetrace_stage) (traces_span_metrics_duration_seconds_count{service_name="${SERVICE}"})`;
    const want = Object.fromEntries([...countByStage].sort());
    const samples = await prometheus.waitForQuery(q, (s) => JSON.stringify(Object.fromEntries([...byStage(s)].sort())) === JSON.stringify(want), { timeoutMs: 40_000 });
    expect(Object.fromEntries(byStage(samples))).toEqual(want);
    expect(countByStage.get('agent_turn')).toBe(8);
    expect(countByStage.get('user_turn')).toBe(6);
    // calls_total is its own series: a new one can show 0 for one scrape before its first increment
    const cq = `sum by (voicetrace_stage) (traces_span_metrics_calls_total{service_name="${SERVICE}"})`;
    const calls = await prometheus.waitForQuery(cq, (s) => JSON.stringify(Object.fromEntries([...byStage(s)].sort())) === JSON.stringify(want), { timeoutMs: 20_000 });
    expect(Object.fromEntries(byStage(calls))).toEqual(want);
  }, 60_000);

  it('the metric names are the seconds-based ones (checked against the real server)', async () => {
    const names = (await prometheus.query(`count by (__name__) ({__name__=~"traces_span_metrics_.*", service_name="${SERVICE}"})`)).map((s) => s.metric.__name__).sort();
    console.log(`[e2e] span metric names in Prometheus: ${names.join(', ')}`);
    expect(names).toEqual([
      'traces_span_metrics_calls_total',
      'traces_span_metrics_duration_seconds_bucket',
      'traces_span_metrics_duration_seconds_count',
      'traces_span_metrics_duration_seconds_sum',
    ]);
    expect(await prometheus.query('{__name__=~"traces_span_metrics_duration_milliseconds.*"}')).toEqual([]);
  });

  it('the latency histograms match the span durations of traces.jsonl, bucket by bucket', { timeout: 30_000 }, async () => {
    const expected = (stage: string, bound: number) => truth.filter((s) => stageOf(s) === stage && durationSeconds(s) <= bound).length;
    const matches = (samples: readonly PromSample[]) =>
      [...countByStage.keys()].every((stage) => [...BUCKETS, Number.POSITIVE_INFINITY].every((bound) => samples.find((b) => (b.metric.voicetrace_stage ?? '') === stage && le(b.metric.le!) === bound)?.value === expected(stage, bound)));
    // bounded wait (a new series can lag one scrape), then the detailed comparison
    const buckets = await prometheus
      .waitForQuery(`sum by (voicetrace_stage, le) (traces_span_metrics_duration_seconds_bucket{service_name="${SERVICE}"})`, matches, { timeoutMs: 15_000 })
      .catch(() => prometheus.query(`sum by (voicetrace_stage, le) (traces_span_metrics_duration_seconds_bucket{service_name="${SERVICE}"})`));
    const les = [...new Set(buckets.map((b) => le(b.metric.le!)))].sort((a, b) => a - b);
    expect(les).toEqual([...BUCKETS, Number.POSITIVE_INFINITY]);
    for (const [stage, count] of countByStage) {
      const durations = truth.filter((s) => stageOf(s) === stage).map(durationSeconds);
      for (const bound of les) {
        const got = buckets.find((b) => (b.metric.voicetrace_stage ?? '') === stage && le(b.metric.le!) === bound)?.value;
        expect(got, `${stage || '(no stage)'} le=${bound}`).toBe(expected(stage, bound));
      }
      expect(durations).toHaveLength(count);
    }
    const sums = byStage(await prometheus.query(`sum by (voicetrace_stage) (traces_span_metrics_duration_seconds_sum{service_name="${SERVICE}"})`));
    for (const [stage] of countByStage) {
      const total = truth.filter((s) => stageOf(s) === stage).reduce((t, s) => t + durationSeconds(s), 0);
      expect(sums.get(stage), `${stage} sum of durations (seconds)`).toBeCloseTo(total, 4);
    }
    // usable as latency percentiles per stage
    const p50 = await prometheus.query(
      `histogram_quantile(0.5, sum by (le) (traces_span_metrics_duration_seconds_bucket{service_name="${SERVICE}",voicetrace_stage="agent_turn"}))`,
    );
    expect(p50[0]!.value).toBeGreaterThan(0);
    expect(p50[0]!.value).toBeLessThan(30);
  });

  it('dimensions are bounded: stage, provider, model, agent; never session or speech ids', async () => {
    const series = await prometheus.query(`traces_span_metrics_calls_total{service_name="${SERVICE}"}`);
    const labels = new Set(series.flatMap((s) => Object.keys(s.metric)));
    for (const banned of ['session_id', 'lk_speech_id', 'gen_ai_conversation_id', 'user_id']) expect(labels).not.toContain(banned);
    expect(labels).toContain('gen_ai_request_model');
    const models = new Set(series.filter((s) => s.metric.voicetrace_stage === 'llm').map((s) => s.metric.gen_ai_request_model));
    expect(models.size).toBeGreaterThan(0);
    expect(models).not.toContain(undefined);
  });

  it('session-long trace: decided on its first spans; later spans follow that decision (metrics still count them)', async () => {
    expect(new Set(truth.map((s) => s.traceId)).size).toBe(1);
    const traceId = truth[0]!.traceId;
    // the call holds an interrupted turn, which the interrupted-turns policy keeps...
    expect(truth.some((s) => attr(s, ATTR.TURN_INTERRUPTED) === true)).toBe(true);
    const firstEnd = Math.min(...truth.map((s) => Number(s.endNs / 1_000_000n)));
    const interruptedEnd = Math.max(...truth.filter((s) => attr(s, ATTR.TURN_INTERRUPTED) === true).map((s) => Number(s.endNs / 1_000_000n)));
    expect(interruptedEnd - firstEnd, 'the interrupted turn ends long after the decision').toBeGreaterThan((DECISION_WAIT_S + 5) * 1000);
    // ...but the trace was decided DECISION_WAIT after its first spans arrived, before that turn
    // existed: at 0 % the whole call is dropped, including the spans that arrived later
    const allKept = await jaegerAll.waitForTrace(traceId, { minSpans: truth.length, timeoutMs: 30_000 });
    await sleep(2000); // both sidecars saw the same spans at the same time
    expect(await jaegerMetrics.getTrace(traceId)).toBeUndefined();
    // at 100 % it was sampled on its first spans and every later span followed: the call is whole
    expect(allKept.spans).toHaveLength(truth.length);
    const m = await metrics.internalMetrics();
    const lateSpans = metricSum(m, 'otelcol_processor_tail_sampling_sampling_late_span_age_count');
    const decisions = m.filter((s) => /tail_sampling.*(count_traces_sampled|global_count_traces_sampled)/.test(s.metric.__name__!));
    console.log(
      `[e2e] session-long trace of ${truth.length} spans with tail sampling (decision_wait ${DECISION_WAIT_S}s): ` +
        `0 % sidecar kept ${(await jaegerMetrics.getTrace(traceId))?.spans.length ?? 0}, 100 % sidecar kept ${allKept.spans.length}; ` +
        `batches that arrived after the decision (late_span_age count): ${lateSpans}; ` +
        `decisions: ${decisions.map((s) => `${s.metric.__name__?.replace('otelcol_processor_tail_sampling_', '')}{${Object.entries(s.metric).filter(([k]) => k !== '__name__').map(([k, v]) => `${k}=${v}`).join(',')}}=${s.value}`).join('; ')}`,
    );
    expect(lateSpans).toBeGreaterThan(0);
  });
});
