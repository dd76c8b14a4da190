// The agents' OTLP metrics and logs through the real Collector (issue #12):
//   - the metric definitions (packages/conventions/src/metrics.ts) and METRICS.md agree;
//   - synthetic metrics carrying every defined instrument, made with @opentelemetry/sdk-metrics and
//     the stock OTLP/HTTP (protobuf) exporter, go through the real sidecar Collector into a real
//     Prometheus, under exactly the names prometheusName() predicts;
//   - histogram_quantile(0.95) of the e2e histogram matches the p95 of the pushed values to within
//     one bucket;
//   - every PromQL expression of the dashboard and of the rules returns data from that Prometheus;
//   - an OTLP log record keeps its trace and span ids through the logs pipeline (file overlay),
//     with PII deleted like on spans;
//   - behind sidecar-to-gateway.yaml (TLS + bearer token to the gateways), each series is exposed
//     by exactly one gateway.
import { ValueType, type Attributes } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import {
  DROP_REASONS,
  FORBIDDEN_METRIC_ATTRIBUTES,
  METRIC,
  METRIC_ATTRIBUTE_SPECS_LIST,
  METRIC_SPECS,
  VOICE_LATENCY_BUCKETS,
  WAIT_CONTRIBUTIONS,
  metricOptions,
  prometheusLabel,
  prometheusName,
  prometheusSeriesNames,
  renderMetricTable,
  waitMetricName,
  type MetricSpec,
} from '@voicetrace/conventions';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  backendsOrSkip,
  grafanaToPromQL,
  inlineRecordingRules,
  makeTestCertificates,
  postOtlpJson,
  randomSpanId,
  randomTraceId,
  repoRoot,
  startCollector,
  startPrometheus,
  type CollectorHandle,
  type PrometheusHandle,
  type PromSample,
} from '../src/index.js';

const root = repoRoot();

// ---- static: the definitions ---------------------------------------------------------------------

/** LiveKit's Python SDK (livekit-agents/livekit/agents/telemetry/otel_metrics.py, read at livekit/agents@da6af86): name -> [kind, unit]. */
const LIVEKIT_PYTHON: Record<string, [MetricSpec['kind'], string]> = {
  'lk.agents.turn.e2e_latency': ['histogram', 's'],
  'lk.agents.turn.llm_ttft': ['histogram', 's'],
  'lk.agents.turn.tts_ttfb': ['histogram', 's'],
  'lk.agents.turn.transcription_delay': ['histogram', 's'],
  'lk.agents.turn.end_of_turn_delay': ['histogram', 's'],
  'lk.agents.turn.on_user_turn_completed_delay': ['histogram', 's'],
  'lk.agents.usage.llm_input_tokens': ['counter', ''],
  'lk.agents.usage.llm_input_cached_tokens': ['counter', ''],
  'lk.agents.usage.llm_output_tokens': ['counter', ''],
  'lk.agents.usage.llm_input_audio_tokens': ['counter', ''],
  'lk.agents.usage.llm_input_text_tokens': ['counter', ''],
  'lk.agents.usage.llm_output_audio_tokens': ['counter', ''],
  'lk.agents.usage.llm_output_text_tokens': ['counter', ''],
  'lk.agents.usage.llm_session_duration': ['counter', 's'],
  'lk.agents.usage.tts_characters': ['counter', ''],
  'lk.agents.usage.tts_audio_duration': ['counter', 's'],
  'lk.agents.usage.stt_audio_duration': ['counter', 's'],
  'lk.agents.usage.interruption_num_requests': ['counter', ''],
};

describe('metric definitions (packages/conventions/src/metrics.ts)', () => {
  it('METRICS.md is generated from them (node packages/conventions/dist/generate-table.js metrics > METRICS.md)', () => {
    const file = join(root, 'METRICS.md');
    expect(existsSync(file), 'METRICS.md missing').toBe(true);
    expect(readFileSync(file, 'utf8') === renderMetricTable(), 'METRICS.md is out of date: run `node packages/conventions/dist/generate-table.js metrics > METRICS.md`').toBe(true);
  });

  it('defines every instrument of LiveKit\'s Python SDK under its exact name, kind and unit, with its attribute keys', () => {
    for (const [name, [kind, unit]] of Object.entries(LIVEKIT_PYTHON)) {
      const spec = METRIC_SPECS.find((s) => s.name === name);
      expect(spec, name).toBeDefined();
      expect([spec!.kind, spec!.unit, spec!.origin], name).toEqual([kind, unit, 'livekit']);
      expect(spec!.attributes.slice(0, 2), name).toEqual(['model_provider', 'model_name']);
    }
    expect(METRIC_SPECS.filter((s) => s.name.startsWith('lk.')).map((s) => s.name).sort()).toEqual(Object.keys(LIVEKIT_PYTHON).sort());
    expect(METRIC_SPECS.find((s) => s.name === 'lk.agents.turn.e2e_latency')!.description).toBe('End-to-end turn latency');
  });

  it('has unique names, a histogram per wait contribution, latency buckets on every histogram', () => {
    const names = METRIC_SPECS.map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    expect(new Set(METRIC_SPECS.map(prometheusName)).size).toBe(names.length);
    for (const c of WAIT_CONTRIBUTIONS) expect(names).toContain(waitMetricName(c.key));
    for (const s of METRIC_SPECS) {
      if (s.kind === 'histogram') {
        expect(s.unit, s.name).toBe('s');
        expect(s.buckets, s.name).toEqual(VOICE_LATENCY_BUCKETS);
        expect(metricOptions(s).advice?.explicitBucketBoundaries).toEqual([...VOICE_LATENCY_BUCKETS]);
      } else {
        expect(s.buckets, s.name).toBeUndefined();
      }
    }
    expect([...VOICE_LATENCY_BUCKETS]).toEqual([...VOICE_LATENCY_BUCKETS].sort((a, b) => a - b));
    for (const t of [1, 1.5, 2, 3]) expect(VOICE_LATENCY_BUCKETS as readonly number[]).toContain(t);
  });

  it('allows only defined, bounded attributes: never session, speech, room, job or user ids', () => {
    const defined = new Set(METRIC_ATTRIBUTE_SPECS_LIST.map((a) => a.key));
    for (const s of METRIC_SPECS) {
      for (const key of s.attributes) {
        expect(defined.has(key), `${s.name}: ${key} is not a defined metric attribute`).toBe(true);
        expect(FORBIDDEN_METRIC_ATTRIBUTES as readonly string[], `${s.name}: ${key}`).not.toContain(key);
        expect(key, s.name).not.toMatch(/(^|[._])(id|session|speech|user|room|participant|job|trace|span)($|[._])/);
      }
    }
  });

  it('lists the drop reasons of @voicetrace/core DropCounters', () => {
    // without comments: a member's doc comment may contain ';', which would end the union early
    const source = readFileSync(join(root, 'packages/core/src/counters.ts'), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
    const union = /export type DropReason =([\s\S]*?);/.exec(source)?.[1] ?? '';
    const reasons = [...union.matchAll(/\|\s*'([a-z_]+)'/g)].map((m) => m[1]);
    expect(reasons.length).toBeGreaterThan(5);
    expect([...DROP_REASONS].sort()).toEqual(reasons.sort());
  });
});

// ---- live: the real Collector and Prometheus ---------------------------------------------------

const bins = await backendsOrSkip('collector', 'prometheus');

const SERVICE = 'vt-metrics-agent';
const ENV = 'metrics-test';
const TURNS = 400;
const FIRST_PHASE_TURNS = 40;

/** Deterministic pseudo-random numbers (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An unhealthy but realistic call: waits mostly 0.7-2 s with a slow tail (p95 just above the 2 s alert threshold). */
function makeTurns(): Array<{ e2e: number; parts: number[]; agent: string }> {
  const rand = prng(12);
  return Array.from({ length: TURNS }, (_, i) => {
    const u = rand();
    const e2e = Math.round((u < 0.88 ? 0.7 + 1.3 * rand() : 2 + 0.45 * rand()) * 1e6) / 1e6;
    // split the wait into the ten contributions (random shares that sum exactly to e2e)
    const weights = WAIT_CONTRIBUTIONS.map(() => rand());
    const total = weights.reduce((a, b) => a + b, 0);
    const parts = weights.map((w) => (w / total) * e2e);
    parts[parts.length - 1] = e2e - parts.slice(0, -1).reduce((a, b) => a + b, 0);
    return { e2e, parts: parts.map((p) => Math.max(0, p)), agent: i % 3 === 0 ? 'billing' : 'support' };
  });
}

/** The exact p95 of the values (nearest-rank definition). */
function p95(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil(0.95 * sorted.length) - 1]!;
}

interface Rule { record?: string; alert?: string; expr: string }
const rules = (parse(readFileSync(join(root, 'docker/prometheus/rules/voicetrace.rules.yml'), 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);
const recorded = new Map(rules.filter((r) => r.record).map((r) => [r.record!, r.expr]));

const expandRecorded = (expr: string): string => inlineRecordingRules(expr, recorded);
const toPromQL = (expr: string): string => grafanaToPromQL(expr, { service: SERVICE, environment: ENV }, recorded);

describe.skipIf(!bins)('agent OTLP metrics -> sidecar Collector -> Prometheus', () => {
  let collector: CollectorHandle;
  let prometheus: PrometheusHandle;
  let provider: MeterProvider;
  const turns = makeTurns();
  const e2eValues = turns.map((t) => t.e2e);

  beforeAll(async () => {
    collector = await startCollector({ configFiles: ['sidecar.yaml', 'overlays/file.yaml'], env: { VOICETRACE_FILE_EXPORT_PATH: 'telemetry.jsonl' } });
    prometheus = await startPrometheus({ scrapeTargets: [collector.prometheusTarget] });
    provider = new MeterProvider({
      resource: resourceFromAttributes({ 'service.name': SERVICE, 'service.instance.id': randomUUID(), 'deployment.environment.name': ENV }),
      readers: [
        new PeriodicExportingMetricReader({
          exporter: new OTLPMetricExporter({ url: `${collector.otlpHttpUrl}/v1/metrics` }),
          exportIntervalMillis: 600_000, // exported by forceFlush only: the test decides when
          exportTimeoutMillis: 10_000,
        }),
      ],
    });
    const meter = provider.getMeter('voicetrace');
    const instrument = new Map<string, { record(v: number, a?: Attributes): void }>();
    for (const spec of METRIC_SPECS) {
      const opts = { ...metricOptions(spec), valueType: spec.valueType === 'int' ? ValueType.INT : ValueType.DOUBLE };
      if (spec.kind === 'histogram') {
        const h = meter.createHistogram(spec.name, opts);
        instrument.set(spec.name, { record: (v, a) => h.record(v, a) });
      } else if (spec.kind === 'counter') {
        const c = meter.createCounter(spec.name, opts);
        instrument.set(spec.name, { record: (v, a) => c.add(v, a) });
      } else if (spec.kind === 'up_down_counter') {
        const c = meter.createUpDownCounter(spec.name, opts);
        instrument.set(spec.name, { record: (v, a) => c.add(v, a) });
      } else {
        const g = meter.createGauge(spec.name, opts);
        instrument.set(spec.name, { record: (v, a) => g.record(v, a) });
      }
    }
    const rec = (name: string, v: number, a: Attributes) => instrument.get(name)!.record(v, a);
    const llm = { model_provider: 'openai', model_name: 'gpt-4o-mini' };
    const tts = { model_provider: 'cartesia', model_name: 'sonic-2' };
    const stt = { model_provider: 'deepgram', model_name: 'nova-3' };
    const stage = (s: string, p: { model_provider: string; model_name: string }) => ({ 'voicetrace.stage': s, 'gen_ai.provider.name': p.model_provider, 'gen_ai.request.model': p.model_name });

    /** Records turns [from, to) and, scaled by `share`, every counter: run twice (two scrapes apart) so rate() sees increases. */
    const record = (from: number, to: number, share: number) => {
      for (const turn of turns.slice(from, to)) {
        const agent = { 'gen_ai.agent.name': turn.agent };
        rec(METRIC.TURN_E2E_LATENCY, turn.e2e, { ...llm, ...agent });
        rec(METRIC.TURN_LLM_TTFT, turn.parts[5]!, { ...llm, ...agent });
        rec(METRIC.TURN_TTS_TTFB, turn.parts[7]!, { ...tts, ...agent });
        rec(METRIC.TURN_TRANSCRIPTION_DELAY, turn.parts[0]!, { ...stt, ...agent });
        rec(METRIC.TURN_END_OF_TURN_DELAY, turn.parts[0]! + turn.parts[1]!, { ...stt, ...agent });
        rec(METRIC.TURN_ON_USER_TURN_COMPLETED_DELAY, turn.parts[2]!, { ...stt, ...agent });
        WAIT_CONTRIBUTIONS.forEach((c, i) => {
          const owner = c.owner === 'provider:stt' ? stt : c.owner === 'provider:llm' ? llm : c.owner === 'provider:tts' ? tts : undefined;
          const attrs = owner ? { 'gen_ai.provider.name': owner.model_provider, 'gen_ai.request.model': owner.model_name, ...agent } : agent;
          rec(waitMetricName(c.key), turn.parts[i]!, attrs);
        });
        rec(METRIC.TURNS, 1, agent);
      }
      const n = (total: number) => Math.round(total * share);
      const support = { 'gen_ai.agent.name': 'support' };
      rec(METRIC.INTERRUPTIONS, n(60), support);
      // quality signals of an unhealthy service: 10 dead airs and 40 talk-overs per 100 of the turns
      rec(METRIC.SIGNALS, n(TURNS * 0.1), { 'voicetrace.signal': 'dead_air', ...support });
      rec(METRIC.SIGNAL_SECONDS, TURNS * 0.1 * 1.5 * share, { 'voicetrace.signal': 'dead_air', ...support });
      rec(METRIC.SIGNALS, n(TURNS * 0.4), { 'voicetrace.signal': 'talk_over_user', ...support });
      rec(METRIC.SIGNAL_SECONDS, TURNS * 0.4 * 0.5 * share, { 'voicetrace.signal': 'talk_over_user', ...support });
      rec(METRIC.SESSIONS_STARTED, n(20), support);
      rec(METRIC.SESSIONS_ACTIVE, share < 0.5 ? 3 : -1, support); // three calls, then one ends
      for (const [name, v, p] of [
        [METRIC.USAGE_LLM_INPUT_TOKENS, 120_000, llm], [METRIC.USAGE_LLM_INPUT_CACHED_TOKENS, 40_000, llm], [METRIC.USAGE_LLM_OUTPUT_TOKENS, 9_000, llm],
        [METRIC.USAGE_LLM_INPUT_AUDIO_TOKENS, 5_000, llm], [METRIC.USAGE_LLM_INPUT_TEXT_TOKENS, 700, llm], [METRIC.USAGE_LLM_OUTPUT_AUDIO_TOKENS, 3_000, llm],
        [METRIC.USAGE_LLM_OUTPUT_TEXT_TOKENS, 400, llm], [METRIC.USAGE_LLM_SESSION_DURATION, 900.5, llm], [METRIC.USAGE_TTS_CHARACTERS, 30_000, tts],
        [METRIC.USAGE_TTS_AUDIO_DURATION, 1_800.25, tts], [METRIC.USAGE_STT_AUDIO_DURATION, 2_400.75, stt], [METRIC.USAGE_INTERRUPTION_NUM_REQUESTS, 80, stt],
      ] as const) rec(name, name.endsWith('duration') ? v * share : n(v), { ...p, ...support });
      for (const [s, p, requests, errors, cost] of [['llm', llm, 400, 4, 60], ['tts', tts, 400, 40, 30], ['stt', stt, 20, 0, 20]] as const) {
        rec(METRIC.REQUESTS, n(requests), { ...stage(s, p), ...support });
        rec(METRIC.ERRORS, n(errors), { ...stage(s, p), ...support, 'error.type': 'APIStatusError' });
        rec(METRIC.COST, cost * share, { ...stage(s, p), ...support });
      }
      rec(METRIC.IMPLAUSIBLE_VALUES, n(10), { 'voicetrace.field': 'ttft', 'voicetrace.drop.reason': 'sentinel_value', ...stage('llm', llm), ...support });
      rec(METRIC.DROPPED_INPUTS, n(10), { 'voicetrace.drop.reason': 'sentinel_value', ...support });
      rec(METRIC.DROPPED_INPUTS, n(2), { 'voicetrace.drop.reason': 'internal_error', ...support });
      rec(METRIC.EXPORTER_DROPPED_SPANS, n(30), { 'voicetrace.exporter': 'otlp', 'voicetrace.drop.reason': 'export_failed', ...support });
    };

    // phase 1: every series exists, at a low value, for a few scrapes
    record(0, FIRST_PHASE_TURNS, 0.1);
    await provider.forceFlush();
    const expectedNames = METRIC_SPECS.flatMap(prometheusSeriesNames).sort();
    await prometheus.waitForQuery(`count by (__name__) ({service_name="${SERVICE}"})`, (s) => s.length === expectedNames.length, { timeoutMs: 30_000 })
      .catch(async () => prometheus.query(`count by (__name__) ({service_name="${SERVICE}"})`));
    await new Promise((r) => setTimeout(r, 3000)); // two or three more scrapes of phase 1
    // phase 2: the rest; cumulative totals reach the full numbers
    record(FIRST_PHASE_TURNS, TURNS, 1 - 0.1);
    await provider.forceFlush();
    await prometheus.waitForQuery(`sum(lk_agents_turn_e2e_latency_seconds_count{service_name="${SERVICE}"})`, (s) => s[0]?.value === TURNS, { timeoutMs: 30_000 });
    await prometheus.waitForQuery(`sum(voicetrace_cost_USD_total{service_name="${SERVICE}"})`, (s) => Math.abs((s[0]?.value ?? 0) - 110) < 1e-6, { timeoutMs: 30_000 });
  }, 120_000);

  afterAll(async () => {
    await provider?.shutdown().catch(() => undefined);
    await Promise.all([collector?.stop(), prometheus?.stop()]);
  });

  it('Prometheus stores every instrument under the name prometheusName() gives (units, _total, dots to underscores)', async () => {
    const got = (await prometheus.query(`count by (__name__) ({service_name="${SERVICE}"})`)).map((s) => s.metric.__name__!).sort();
    const expected = METRIC_SPECS.flatMap(prometheusSeriesNames).sort();
    console.log(`[metrics] ${got.length} series names in Prometheus, e.g. ${got.filter((n) => /e2e|cost|sessions_active|stt_audio/.test(n)).join(', ')}`);
    expect(got).toEqual(expected);
    // spot checks of the translation, spelled out
    expect(got).toEqual(expect.arrayContaining([
      'lk_agents_turn_e2e_latency_seconds_bucket', 'lk_agents_usage_llm_input_tokens_total', 'lk_agents_usage_stt_audio_duration_seconds_total',
      'voicetrace_wait_llm_ttft_seconds_sum', 'voicetrace_cost_USD_total', 'voicetrace_sessions_active', 'voicetrace_turns_total',
    ]));
  });

  it('series carry the defined attributes as labels, service_name and environment from the resource, and nothing unbounded', async () => {
    const e2e = await prometheus.query(`lk_agents_turn_e2e_latency_seconds_count{service_name="${SERVICE}"}`);
    expect(e2e.length).toBe(2); // two agents
    for (const s of e2e) {
      expect(s.metric).toMatchObject({ model_provider: 'openai', model_name: 'gpt-4o-mini', deployment_environment_name: ENV, exported_job: SERVICE });
      expect(['support', 'billing']).toContain(s.metric.gen_ai_agent_name);
    }
    const all = await prometheus.query(`{service_name="${SERVICE}"}`);
    const allowed = new Set([
      ...METRIC_ATTRIBUTE_SPECS_LIST.map((a) => prometheusLabel(a.key)),
      '__name__', 'le', 'service_name', 'job', 'instance', 'exported_job', 'exported_instance', 'otel_scope_name', 'otel_scope_version', 'otel_scope_schema_url',
    ]);
    for (const s of all) {
      const spec = METRIC_SPECS.find((m) => prometheusSeriesNames(m).includes(s.metric.__name__!))!;
      const mine = new Set(spec.attributes.map(prometheusLabel));
      for (const label of Object.keys(s.metric)) {
        expect(allowed.has(label), `${s.metric.__name__}: label ${label}`).toBe(true);
        if (!['__name__', 'le', 'service_name', 'deployment_environment_name', 'job', 'instance', 'exported_job', 'exported_instance'].includes(label) && !label.startsWith('otel_scope_')) {
          expect(mine.has(label), `${s.metric.__name__}: ${label} is not among its attributes`).toBe(true);
        }
      }
    }
  });

  it('the e2e histogram: buckets hold the pushed values, and histogram_quantile(0.95) is within one bucket of their p95', async () => {
    const sel = `lk_agents_turn_e2e_latency_seconds_bucket{service_name="${SERVICE}"}`;
    const buckets = await prometheus.query(`sum by (le) (${sel})`);
    const bounds = [...VOICE_LATENCY_BUCKETS, Number.POSITIVE_INFINITY];
    expect(buckets.map((b) => (b.metric.le === '+Inf' ? Infinity : Number(b.metric.le))).sort((a, b) => a - b)).toEqual(bounds);
    for (const bound of bounds) {
      const got = buckets.find((b) => (b.metric.le === '+Inf' ? Infinity : Number(b.metric.le)) === bound)!.value;
      expect(got, `le=${bound}`).toBe(e2eValues.filter((v) => v <= bound).length);
    }
    const [sum] = await prometheus.query(`sum(lk_agents_turn_e2e_latency_seconds_sum{service_name="${SERVICE}"})`);
    expect(sum!.value).toBeCloseTo(e2eValues.reduce((a, b) => a + b, 0), 6);

    const exact = p95(e2eValues);
    const [q] = await prometheus.query(`histogram_quantile(0.95, sum by (le) (${sel}))`);
    const upper = bounds.find((b) => b >= exact)!;
    const lower = [0, ...bounds].filter((b) => b < upper).pop()!;
    console.log(`[metrics] e2e p95: pushed values ${exact.toFixed(3)} s, histogram_quantile ${q!.value.toFixed(3)} s, bucket (${lower}, ${upper}]`);
    expect(Math.abs(q!.value - exact)).toBeLessThanOrEqual(upper - lower);
    expect(exact).toBeGreaterThan(2); // the call is slow: the latency alert must fire below
  });

  it('the wait contributions stack up to the mean wait', async () => {
    const mean = async (metric: string) => (await prometheus.query(`sum(${metric}_sum{service_name="${SERVICE}"}) / sum(${metric}_count{service_name="${SERVICE}"})`))[0]!.value;
    let stacked = 0;
    for (const c of WAIT_CONTRIBUTIONS) stacked += await mean(prometheusName({ name: waitMetricName(c.key), kind: 'histogram', unit: 's' }));
    expect(stacked).toBeCloseTo(await mean('lk_agents_turn_e2e_latency_seconds'), 6);
  });

  it('every query of the Grafana dashboard returns data', async () => {
    const dash = JSON.parse(readFileSync(join(root, 'docker/grafana/dashboards/voice-agent-metrics.json'), 'utf8')) as {
      panels: Array<{ title: string; targets?: Array<{ expr: string; refId: string }> }>;
      templating: { list: Array<{ name: string; definition: string }> };
    };
    const empty: string[] = [];
    let checked = 0;
    for (const panel of dash.panels) {
      for (const t of panel.targets ?? []) {
        const promql = toPromQL(t.expr);
        const samples = await prometheus.query(promql);
        checked++;
        if (!samples.some((s) => Number.isFinite(s.value))) empty.push(`${panel.title} [${t.refId}]: ${promql} -> ${JSON.stringify(samples)}`);
      }
    }
    // template variables: label_values(metric, label)
    for (const v of dash.templating.list) {
      const m = /^label_values\((.+),\s*(\w+)\)$/.exec(v.definition);
      expect(m, v.definition).not.toBeNull();
      const samples = await prometheus.query(`count by (${m![2]}) (${toPromQL(m![1]!)})`);
      checked++;
      if (!samples.some((s) => s.metric[m![2]!])) empty.push(`variable ${v.name}: ${v.definition}`);
    }
    console.log(`[metrics] ${checked} dashboard queries evaluated`);
    expect(empty).toEqual([]);
  });

  it('every recording rule returns data, and every alert fires on this unhealthy call (the cost spike needs a day of history)', async () => {
    const empty: string[] = [];
    const fired: string[] = [];
    for (const rule of rules) {
      const promql = expandRecorded(rule.expr);
      const samples: PromSample[] = await prometheus.query(promql);
      if (rule.alert === 'VoiceAgentCostSpike') {
        // compares with the average of the day before (offset 15m) and requires an hour of history:
        // a Prometheus started seconds ago has neither (promtool test rules covers it with 25 h of series)
        expect(samples).toEqual([]);
        for (const input of ['voicetrace:cost_usd_per_hour:rate15m', 'voicetrace:threshold:cost_spike_factor', 'voicetrace:threshold:cost_spike_min_usd_per_hour']) {
          expect((await prometheus.query(expandRecorded(input))).length, input).toBeGreaterThan(0);
        }
        continue;
      }
      if (rule.alert === 'VoiceAgentProviderErrors') {
        // TTS fails 10 % of its requests; the LLM's 1 % and the STT's 0 % stay below the threshold
        expect(samples.map((s) => `${s.metric.voicetrace_stage}/${s.metric.gen_ai_provider_name}`)).toEqual(['tts/cartesia']);
      }
      if (samples.length === 0) empty.push(`${rule.record ?? rule.alert}: ${promql}`);
      else if (rule.alert) fired.push(`${rule.alert}{${Object.entries(samples[0]!.metric).filter(([k]) => k !== '__name__').map(([k, v]) => `${k}="${v}"`).join(',')}}`);
    }
    console.log(`[metrics] alerts whose condition holds: ${fired.join(' ')}`);
    expect(empty).toEqual([]);
    expect(rules.filter((r) => r.alert).length).toBe(fired.length + 1);
  });

  it('an OTLP log record keeps its trace and span ids through the logs pipeline (file overlay); PII deleted as on spans', async () => {
    const { traceId, spanId } = await postLog(collector);
    const record = await readLog(collector, traceId);
    expect(record, `no log record with trace id ${traceId} in the file overlay's output`).toBeDefined();
    expect(record!.spanId).toBe(spanId);
    expect(record!.body.stringValue).toBe('agent turn finished');
    expect(record!.attributes.map((a) => a.key)).toEqual(['voicetrace.stage']);
    expect(readFileSync(join(collector.workDir, 'telemetry.jsonl'), 'utf8')).not.toContain('4242');
  });

  it('VOICETRACE_REDACT_PII=false keeps the PII of log records, as of spans (one switch)', async () => {
    const open = await startCollector({ configFiles: ['sidecar.yaml', 'overlays/file.yaml'], env: { VOICETRACE_FILE_EXPORT_PATH: 'telemetry.jsonl', VOICETRACE_REDACT_PII: 'false' } });
    try {
      const { traceId } = await postLog(open);
      const record = await readLog(open, traceId);
      expect(record?.attributes.map((a) => a.key)).toEqual(['voicetrace.stage', 'lk.pii.user_transcript', 'user.id']);
    } finally {
      await open.stop();
    }
  });
});

type LogRecord = { traceId: string; spanId: string; body: { stringValue: string }; attributes: Array<{ key: string }> };

/** POSTs one OTLP/JSON log record, as the agent's pino logs arrive: with trace and span ids and some PII. */
async function postLog(collector: CollectorHandle): Promise<{ traceId: string; spanId: string }> {
  const traceId = randomTraceId();
  const spanId = randomSpanId();
  const attr = (key: string, stringValue: string) => ({ key, value: { stringValue } });
  await postOtlpJson(collector.otlpHttpUrl, {
    resourceLogs: [{
      resource: { attributes: [attr('service.name', SERVICE)] },
      scopeLogs: [{
        scope: { name: 'pino' },
        logRecords: [{
          timeUnixNano: String(BigInt(Date.now()) * 1_000_000n),
          severityNumber: 9,
          severityText: 'info',
          body: { stringValue: 'agent turn finished' },
          traceId,
          spanId,
          flags: 1,
          attributes: [attr('voicetrace.stage', 'agent_turn'), attr('lk.pii.user_transcript', 'my card number is 4242'), attr('user.id', 'caller-7')],
        }],
      }],
    }],
  }, { path: '/v1/logs' });
  return { traceId, spanId };
}

/** The log record with `traceId` from the file overlay's output (OTLP/JSON lines), waiting up to 15 s. */
async function readLog(collector: CollectorHandle, traceId: string): Promise<LogRecord | undefined> {
  const file = join(collector.workDir, 'telemetry.jsonl');
  type LogLine = { resourceLogs?: Array<{ scopeLogs: Array<{ logRecords: LogRecord[] }> }> };
  const deadline = Date.now() + 15_000;
  for (;;) {
    const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as LogLine) : [];
    const record = lines.flatMap((l) => l.resourceLogs ?? []).flatMap((r) => r.scopeLogs).flatMap((s) => s.logRecords).find((r) => r.traceId === traceId);
    if (record || Date.now() > deadline) return record;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.skipIf(!bins)('agent metrics behind sidecar-to-gateway.yaml: one gateway per series', () => {
  const gateways: CollectorHandle[] = [];
  let sidecar: CollectorHandle;
  let prometheus: PrometheusHandle;
  let provider: MeterProvider;

  beforeAll(async () => {
    // The gateways require TLS and a bearer token (gateway.yaml): a throwaway CA and token.
    const certs = makeTestCertificates();
    const token = `gw-${randomUUID()}`;
    const gatewayEnv = { VOICETRACE_GATEWAY_TOKEN: token, VOICETRACE_GATEWAY_TLS_CERT: certs.cert, VOICETRACE_GATEWAY_TLS_KEY: certs.key };
    for (let i = 0; i < 2; i++) gateways.push(await startCollector({ configFiles: ['gateway.yaml'], env: gatewayEnv }));
    sidecar = await startCollector({
      configFiles: ['sidecar-to-gateway.yaml'],
      env: { VOICETRACE_GATEWAY_ENDPOINTS: gateways.map((g) => g.otlpGrpcEndpoint).join(','), VOICETRACE_GATEWAY_TOKEN: token, VOICETRACE_GATEWAY_CA_FILE: certs.ca },
    });
    prometheus = await startPrometheus({ scrapeTargets: gateways.map((g) => g.prometheusTarget) });
    provider = new MeterProvider({
      resource: resourceFromAttributes({ 'service.name': 'vt-lb-agent', 'service.instance.id': randomUUID() }),
      readers: [new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter({ url: `${sidecar.otlpHttpUrl}/v1/metrics` }), exportIntervalMillis: 600_000, exportTimeoutMillis: 10_000 })],
    });
  }, 120_000);

  afterAll(async () => {
    await provider?.shutdown().catch(() => undefined);
    await Promise.all([sidecar?.stop(), prometheus?.stop(), ...gateways.map((g) => g.stop())]);
  });

  it('routes by stream: every series reaches exactly one gateway, and sums over the gateways are the pushed totals', async () => {
    const requests = provider.getMeter('voicetrace').createCounter(METRIC.REQUESTS, { ...metricOptions(METRIC_SPECS.find((s) => s.name === METRIC.REQUESTS)!), valueType: ValueType.INT });
    const models = Array.from({ length: 24 }, (_, i) => `model-${i}`);
    for (let round = 1; round <= 3; round++) {
      models.forEach((model, i) => requests.add(i + 1, { 'voicetrace.stage': 'llm', 'gen_ai.provider.name': 'p', 'gen_ai.request.model': model }));
      await provider.forceFlush(); // cumulative: each export carries the running total of every series
    }
    const total = 3 * models.reduce((t, _m, i) => t + i + 1, 0);
    const q = 'sum(voicetrace_requests_total{service_name="vt-lb-agent"})';
    await prometheus.waitForQuery(q, (s) => s[0]?.value === total, { timeoutMs: 30_000 });
    const perSeries = await prometheus.query('count by (gen_ai_request_model) (voicetrace_requests_total{service_name="vt-lb-agent"})');
    expect(perSeries).toHaveLength(models.length);
    for (const s of perSeries) expect(s.value, `${s.metric.gen_ai_request_model} exposed by ${s.value} gateways`).toBe(1);
    const perGateway = await prometheus.query('count by (instance) (voicetrace_requests_total{service_name="vt-lb-agent"})');
    expect(perGateway.map((s) => s.metric.instance).sort(), 'both gateways got series').toEqual(gateways.map((g) => g.prometheusTarget).sort());
  }, 60_000);
});
