// End to end (issue #12): the agent's own OTLP metrics, from the demo's real AgentSession through the
// real sidecar Collector (collector-config/sidecar.yaml, `metrics` pipeline -> Prometheus exporter)
// into a real Prometheus, read back with PromQL:
//   - the e2e histogram's p95 (histogram_quantile over the buckets) agrees with the demo's own p95
//     to within the width of the bucket it falls in, and the buckets hold exactly the demo's values;
//   - the usage, request and cost counters equal the demo's usage and cost;
//   - every expression of the shipped dashboard and rules returns data from the demo's metrics
//     (the implausible-values panel needs a value that failed validation: a second demo run emits
//     an SDK error and three bad metrics on the session, the way a misbehaving plugin would);
//   - cardinality: a process that ran 3 sessions exposes exactly the series of one that ran 1.
// Runs (each its own setup, so its own service.instance.id): 1 call; 1 short call with injected
// faults; 3 calls at once.
import { voice } from '@livekit/agents';
import { METRIC_SPECS, VOICE_LATENCY_BUCKETS, prometheusName, prometheusSeriesNames } from '@voicetrace/conventions';
import { backendsOrSkip, grafanaToPromQL, inlineRecordingRules, repoRoot, startCollector, startPrometheus, type CollectorHandle, type PrometheusHandle } from '@voicetrace/test-backends';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runDemo, runDemos, type DemoResult } from '../src/run-demo.js';

const bins = await backendsOrSkip('collector', 'prometheus');

const root = repoRoot();
const SERVICE = 'voicetrace-demo';
const ENV = 'demo';
const q = (promql: string, instance: string) => promql.replaceAll('{INSTANCE}', `exported_instance="${instance}"`);

interface Rule { record?: string; alert?: string; expr: string }
const rules = (parse(readFileSync(join(root, 'docker/prometheus/rules/voicetrace.rules.yml'), 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);
/**
 * The recording rules, inlined (the test Prometheus loads no rule files), with every threshold set
 * to -1: each alert's condition then holds whenever its series exist, so "the alert returns data"
 * means the demo's metrics feed it (the thresholds themselves are tested by promtool in docker/).
 */
const recorded = new Map(rules.filter((r) => r.record).map((r) => [r.record!, r.record!.startsWith('voicetrace:threshold:') ? 'vector(-1)' : r.expr]));

const expandRecorded = (expr: string): string => inlineRecordingRules(expr, recorded);
const toPromQL = (expr: string): string => grafanaToPromQL(expr, { service: SERVICE, environment: ENV }, recorded);

const dashboard = JSON.parse(readFileSync(join(root, 'docker/grafana/dashboards/voice-agent-metrics.json'), 'utf8')) as {
  panels: Array<{ title: string; targets?: Array<{ expr: string; refId: string }> }>;
  templating: { list: Array<{ name: string; definition: string }> };
};

/** Every dashboard query and rule that returns no finite value now (CostSpike aside: it needs a day of history). */
async function emptyExpressions(prometheus: PrometheusHandle): Promise<{ empty: string[]; checked: number; fired: string[] }> {
  const empty: string[] = [];
  const fired: string[] = [];
  let checked = 0;
  for (const panel of dashboard.panels) {
    for (const t of panel.targets ?? []) { // row headers have no query
      const promql = toPromQL(t.expr);
      const samples = await prometheus.query(promql);
      checked++;
      if (!samples.some((s) => Number.isFinite(s.value))) empty.push(`panel "${panel.title}" [${t.refId}]`);
    }
  }
  for (const v of dashboard.templating.list) {
    const m = /^label_values\((.+),\s*(\w+)\)$/.exec(v.definition)!;
    const samples = await prometheus.query(`count by (${m[2]}) (${toPromQL(m[1]!)})`);
    checked++;
    if (!samples.some((s) => s.metric[m[2]!])) empty.push(`variable ${v.name}`);
  }
  for (const rule of rules) {
    if (rule.record?.startsWith('voicetrace:threshold:') || rule.alert === 'VoiceAgentCostSpike') continue;
    const samples = await prometheus.query(expandRecorded(rule.expr));
    checked++;
    if (!samples.some((s) => Number.isFinite(s.value))) empty.push(`rule ${rule.record ?? rule.alert}`);
    else if (rule.alert) fired.push(rule.alert);
  }
  return { empty, checked, fired };
}

/** The label set of every series a process (instance) exposes, as sorted strings. */
async function seriesOf(prometheus: PrometheusHandle, instance: string): Promise<string[]> {
  const samples = await prometheus.query(`{service_name="${SERVICE}", exported_instance="${instance}"}`);
  return samples.map((s) => JSON.stringify(Object.entries(s.metric).filter(([k]) => k !== 'exported_instance').sort())).sort();
}

describe.skipIf(!bins)('demo -> agent OTLP metrics -> sidecar Collector -> Prometheus', () => {
  let collector: CollectorHandle;
  let prometheus: PrometheusHandle;
  let one: DemoResult;
  let instanceOne: string;
  let instanceFaults: string;
  let instanceThree: string;
  let afterFirstRun: { empty: string[]; checked: number; fired: string[] };
  const out = mkdtempSync(join(tmpdir(), 'voicetrace-e2e-agent-metrics-'));
  /** The agent's metrics to the Collector, exported every second so Prometheus sees them grow during the call. */
  const metricsTo = (c: CollectorHandle) => ({ metrics: { endpoint: c.otlpHttpUrl, exportIntervalMillis: 1_000 }, logs: false as const });
  const instances = async (): Promise<string[]> =>
    (await prometheus.query(`count by (exported_instance) (voicetrace_sessions_started_total{service_name="${SERVICE}"})`)).map((s) => s.metric.exported_instance!);
  const newInstance = async (known: string[]): Promise<string> => {
    await prometheus.waitForQuery(`count by (exported_instance) (voicetrace_sessions_started_total{service_name="${SERVICE}"})`, (s) => s.length > known.length, { timeoutMs: 30_000 });
    return (await instances()).find((i) => !known.includes(i))!;
  };

  beforeAll(async () => {
    collector = await startCollector({ configFiles: ['sidecar.yaml'] });
    prometheus = await startPrometheus({ scrapeTargets: [collector.prometheusTarget] });

    // run 1: the demo call
    one = await runDemo({ out: join(out, 'one'), voicetrace: metricsTo(collector) });
    instanceOne = await newInstance([]);
    const replies = one.summary.latency.e2e.count;
    await prometheus.waitForQuery(q(`sum(lk_agents_turn_e2e_latency_seconds_count{{INSTANCE}})`, instanceOne), (s) => s[0]?.value === replies, { timeoutMs: 30_000 });
    await prometheus.waitForQuery(q(`sum(voicetrace_sessions_active{{INSTANCE}})`, instanceOne), (s) => s[0]?.value === 0, { timeoutMs: 30_000 });
    afterFirstRun = await emptyExpressions(prometheus);

    // run 2: a short call during which a plugin misbehaves: an SDK error and three bad metrics reports
    await runDemo({
      out: join(out, 'faults'),
      turns: 2,
      voicetrace: metricsTo(collector),
      onSession: (session) => {
        setTimeout(() => {
          const llm = (session as unknown as { llm?: object }).llm;
          const metadata = { modelProvider: 'openai', modelName: 'gpt-4o-mini' };
          const base = { label: 'scripted', requestId: 'injected', timestamp: Date.now(), cancelled: true, promptTokens: 0, promptCachedTokens: 0, completionTokens: 0, totalTokens: 0, tokensPerSecond: 0, metadata };
          const emit = (metrics: object) => session.emit(voice.AgentSessionEventTypes.MetricsCollected, { type: 'metrics_collected', metrics, createdAt: Date.now() } as never);
          // a cancelled request's "no token came" (-1), a NaN, and an epoch timestamp passed as a duration
          emit({ type: 'llm_metrics', ...base, ttftMs: -1, durationMs: Date.now() });
          emit({ type: 'tts_metrics', label: 'scripted', requestId: 'injected-tts', timestamp: Date.now(), ttfbMs: Number.NaN, durationMs: 10, audioDurationMs: 0, charactersCount: 0, streamed: true, cancelled: true, metadata: { modelProvider: 'cartesia', modelName: 'sonic-2' } });
          session.emit(voice.AgentSessionEventTypes.Error, { type: 'error', error: { type: 'llm_error', error: new Error('503 upstream'), recoverable: true, label: 'scripted' }, source: llm, createdAt: Date.now() } as never);
        }, 3_000);
      },
    });
    instanceFaults = await newInstance([instanceOne]);
    await prometheus.waitForQuery(q(`sum(voicetrace_errors_total{{INSTANCE}})`, instanceFaults), (s) => s[0]?.value === 1, { timeoutMs: 30_000 });

    // run 3: three calls at once in one process
    await runDemos({ out: join(out, 'three'), sessions: 3, concurrency: 3, voicetrace: metricsTo(collector) });
    instanceThree = await newInstance([instanceOne, instanceFaults]);
    await prometheus.waitForQuery(q(`sum(voicetrace_sessions_started_total{{INSTANCE}})`, instanceThree), (s) => s[0]?.value === 3, { timeoutMs: 30_000 });
    await prometheus.waitForQuery(q(`sum(voicetrace_sessions_active{{INSTANCE}})`, instanceThree), (s) => s[0]?.value === 0, { timeoutMs: 30_000 });
  }, 400_000);

  afterAll(async () => {
    await Promise.all([collector?.stop(), prometheus?.stop()]);
  });

  it('the e2e histogram holds exactly the demo\'s replies, and its p95 agrees with the demo\'s p95 to within the bucket width', async () => {
    const values = one.summary.turns.flatMap((t) => t.replies).map((r) => r.latency?.e2e).filter((v): v is number => v !== undefined);
    expect(values.length).toBe(one.summary.latency.e2e.count);
    const buckets = await prometheus.query(q(`sum by (le) (lk_agents_turn_e2e_latency_seconds_bucket{{INSTANCE}})`, instanceOne));
    const bounds = [...VOICE_LATENCY_BUCKETS, Number.POSITIVE_INFINITY];
    for (const bound of bounds) {
      const got = buckets.find((b) => (b.metric.le === '+Inf' ? Infinity : Number(b.metric.le)) === bound)?.value;
      expect(got, `le=${bound}`).toBe(values.filter((v) => v <= bound).length);
    }
    const [sum] = await prometheus.query(q(`sum(lk_agents_turn_e2e_latency_seconds_sum{{INSTANCE}})`, instanceOne));
    expect(sum!.value).toBeCloseTo(values.reduce((a, b) => a + b, 0), 6);

    const demoP95 = one.summary.latency.e2e.p95!;
    // the whole run: the cumulative buckets are the increase since the process started (from 0)
    const [run] = await prometheus.query(q(`histogram_quantile(0.95, sum by (le) (lk_agents_turn_e2e_latency_seconds_bucket{{INSTANCE}}))`, instanceOne));
    // as the dashboard reads it: rate over the range (the first scrape's replies are its baseline)
    const [rated] = await prometheus.query(q(`histogram_quantile(0.95, sum by (le) (rate(lk_agents_turn_e2e_latency_seconds_bucket{{INSTANCE}}[1h])))`, instanceOne));
    // the two samples around the 95th percentile's rank: the demo interpolates between them, Prometheus
    // interpolates inside the buckets; both must land between the bucket of the lower and that of the upper
    const sorted = [...values].sort((a, b) => a - b);
    const rank = 0.95 * (sorted.length - 1);
    const bucketOf = (v: number) => ({ upper: bounds.find((b) => b >= v)!, lower: [0, ...bounds].filter((b) => b < bounds.find((x) => x >= v)!).pop()! });
    const lower = bucketOf(sorted[Math.floor(rank)]!).lower;
    const upper = bucketOf(sorted[Math.ceil(rank)]!).upper;
    console.log(`[agent-metrics] e2e p95: demo ${demoP95.toFixed(3)} s (${values.length} replies: ${values.map((v) => v.toFixed(3)).join(', ')}); PromQL histogram_quantile over the run ${run!.value.toFixed(3)} s, over rate[1h] ${rated?.value.toFixed(3)} s; buckets (${lower}, ${upper}]`);
    expect(demoP95).toBeGreaterThan(lower);
    expect(demoP95).toBeLessThanOrEqual(upper);
    expect(run!.value).toBeGreaterThan(lower);
    expect(run!.value).toBeLessThanOrEqual(upper);
  });

  it('the usage, request and cost counters equal the demo\'s usage and cost', async () => {
    const value = async (promql: string): Promise<number> => (await prometheus.query(q(promql, instanceOne)))[0]?.value ?? Number.NaN;
    const usage = one.summary.usage;
    const llmUsage = usage.find((u) => u.type === 'llm_usage');
    const ttsUsage = usage.find((u) => u.type === 'tts_usage');
    const sttUsage = usage.find((u) => u.type === 'stt_usage');
    if (llmUsage?.type !== 'llm_usage' || ttsUsage?.type !== 'tts_usage' || sttUsage?.type !== 'stt_usage') throw new Error('the demo reports LLM, TTS and STT usage');
    const llm = `model_provider="${llmUsage.provider}",model_name="${llmUsage.model}"`;
    expect(await value(`sum(lk_agents_usage_llm_input_tokens_total{{INSTANCE},${llm}})`)).toBe(llmUsage.inputTokens);
    expect(await value(`sum(lk_agents_usage_llm_input_cached_tokens_total{{INSTANCE},${llm}})`)).toBe(llmUsage.inputCachedTokens);
    expect(await value(`sum(lk_agents_usage_llm_output_tokens_total{{INSTANCE},${llm}})`)).toBe(llmUsage.outputTokens);
    expect(await value(`sum(lk_agents_usage_tts_characters_total{{INSTANCE},model_name="${ttsUsage.model}"})`)).toBe(ttsUsage.charactersCount);
    expect(await value(`sum(lk_agents_usage_tts_audio_duration_seconds_total{{INSTANCE}})`)).toBeCloseTo(ttsUsage.audioDuration, 6);
    expect(await value(`sum(lk_agents_usage_stt_audio_duration_seconds_total{{INSTANCE},model_name="${sttUsage.model}"})`)).toBeCloseTo(sttUsage.audioDuration, 6);
    for (const [stage, u] of [['llm', llmUsage], ['tts', ttsUsage], ['stt', sttUsage]] as const) {
      expect(await value(`sum(voicetrace_requests_total{{INSTANCE},voicetrace_stage="${stage}",gen_ai_request_model="${u.model}"})`), stage).toBe(u.requests);
      expect(await value(`sum(voicetrace_cost_USD_total{{INSTANCE},voicetrace_stage="${stage}"})`), stage).toBeCloseTo(u.cost ?? 0, 9);
    }
    const cost = await value(`sum(voicetrace_cost_USD_total{{INSTANCE}})`);
    console.log(`[agent-metrics] cost: demo $${one.summary.totalCost.toFixed(6)}, Prometheus $${cost.toFixed(6)}; LLM input tokens ${llmUsage.inputTokens}, TTS characters ${ttsUsage.charactersCount}`);
    expect(cost).toBeCloseTo(one.summary.totalCost, 9);
    expect(await value(`sum(voicetrace_turns_total{{INSTANCE}})`)).toBe(one.summary.turns.flatMap((t) => t.replies).filter((r) => r.latency || r.interruptions.some((i) => i.stoppedAgent)).length);
    expect(await value(`sum(voicetrace_interruptions_total{{INSTANCE}})`)).toBe(one.summary.interruptions);
    expect(await value(`sum(voicetrace_sessions_started_total{{INSTANCE}})`)).toBe(1);
  });

  it('every series is a METRICS.md instrument with bounded labels; the wait histograms exist for every key', async () => {
    // target_info is the Collector's copy of the resource, one per process
    const names = new Set((await prometheus.query(q(`count by (__name__) ({{INSTANCE},__name__!="target_info"})`, instanceOne))).map((s) => s.metric.__name__!));
    const known = new Set(METRIC_SPECS.flatMap(prometheusSeriesNames));
    for (const name of names) expect(known.has(name), name).toBe(true);
    for (const spec of METRIC_SPECS.filter((s) => s.name.startsWith('voicetrace.wait.'))) expect(names.has(`${prometheusName(spec)}_count`), spec.name).toBe(true);
    const perAgent = await prometheus.query(q(`count by (gen_ai_agent_name) ({{INSTANCE},gen_ai_agent_name!=""})`, instanceOne));
    const total = (await prometheus.query(q(`count({{INSTANCE},__name__!="target_info"})`, instanceOne)))[0]!.value;
    console.log(`[agent-metrics] one call: ${names.size} metric names, ${total} series; per agent: ${perAgent.map((s) => `${s.metric.gen_ai_agent_name} ${s.value}`).join(', ')}`);
    const labels = await prometheus.query(q(`{{INSTANCE}}`, instanceOne));
    for (const s of labels) expect(JSON.stringify(s.metric)).not.toMatch(/sess_|speech_|caller-42/);
  });

  it('every dashboard query and rule returns data from the demo\'s metrics (the implausible-values query once a value failed validation)', async () => {
    console.log(`[agent-metrics] after the demo call: ${afterFirstRun.checked} expressions, empty: ${afterFirstRun.empty.join('; ') || 'none'}`);
    // one call of a healthy agent has no implausible value: that query alone waits for the faulty run
    expect(afterFirstRun.empty).toEqual(['panel "voicetrace data quality and losses (per second)" [B]']);
    const now = await emptyExpressions(prometheus);
    console.log(`[agent-metrics] after the faulty call: ${now.checked} expressions, empty: ${now.empty.join('; ') || 'none'}; alerts whose condition holds at threshold -1: ${now.fired.join(', ')}`);
    expect(now.empty).toEqual([]);
    expect(now.fired.sort()).toEqual(rules.filter((r) => r.alert && r.alert !== 'VoiceAgentCostSpike').map((r) => r.alert!).sort());
  });

  it('a value that failed validation is counted by field and reason and never reaches a histogram; the SDK error is counted by stage and model', async () => {
    const implausible = await prometheus.query(q(`sum by (voicetrace_field, voicetrace_drop_reason, voicetrace_stage) (voicetrace_implausible_values_total{{INSTANCE}})`, instanceFaults));
    const got = implausible.map((s) => `${s.metric.voicetrace_stage}/${s.metric.voicetrace_field}/${s.metric.voicetrace_drop_reason}=${s.value}`).sort();
    console.log(`[agent-metrics] implausible values counted: ${got.join(', ')}`);
    expect(got).toEqual(expect.arrayContaining(['llm/duration/implausible_value=1', 'llm/ttft/sentinel_value=1', 'tts/ttfb/non_finite_value=1']));
    // no histogram holds anything but plausible durations
    const extremes = await prometheus.query(q(`{__name__=~"(lk_agents_turn|voicetrace_wait)_.*_seconds_sum",{INSTANCE}}`, instanceFaults));
    for (const s of extremes) expect(Number.isFinite(s.value) && s.value >= 0 && s.value < 600, `${s.metric.__name__} ${s.value}`).toBe(true);
    const [over] = await prometheus.query(q(`sum(lk_agents_turn_llm_ttft_seconds_bucket{{INSTANCE},le="+Inf"}) - sum(lk_agents_turn_llm_ttft_seconds_bucket{{INSTANCE},le="20"})`, instanceFaults));
    expect(over!.value).toBe(0);
    const errors = await prometheus.query(q(`voicetrace_errors_total{{INSTANCE}} > 0`, instanceFaults));
    expect(errors.map((s) => [s.metric.voicetrace_stage, s.metric.gen_ai_provider_name, s.metric.gen_ai_request_model, s.value])).toEqual([['llm', 'openai', 'gpt-4o-mini', 1]]);
  });

  it('cardinality: the process that ran 3 calls exposes exactly the series of the one that ran 1', async () => {
    const seriesOne = await seriesOf(prometheus, instanceOne);
    const seriesThree = await seriesOf(prometheus, instanceThree);
    // implausible values depend on timing (a barge-in can cancel a request before its first token): compared apart
    const stable = (series: string[]) => series.filter((s) => !s.includes('voicetrace_implausible_values_total'));
    console.log(`[agent-metrics] series: ${seriesOne.length} for 1 call, ${seriesThree.length} for 3 calls`);
    expect(stable(seriesThree)).toEqual(stable(seriesOne));
    const [sessions] = await prometheus.query(q(`sum(voicetrace_sessions_started_total{{INSTANCE}})`, instanceThree));
    expect(sessions!.value).toBe(3);
  });
});
