import { SIGNAL_NAMES } from './signals.js';
import { ATTRIBUTE_SPECS, WAIT_CONTRIBUTIONS, type LatencyStage, type WaitKey } from './attributes.js';
import { STAGES } from './spec.js';

/**
 * Every OpenTelemetry metric instrument a voicetrace agent exports, defined once: name, kind,
 * unit, description, the attributes allowed on its data points and, for histograms, the bucket
 * boundaries. `METRICS.md` is generated from this table (`renderMetricTable`), the Collector
 * configs, the Grafana dashboard and the Prometheus rules use the Prometheus names derived from
 * it (`prometheusName`), and the test-backends tests check those names against a real
 * Collector + Prometheus.
 *
 * Two families:
 * - `lk.agents.*`: exactly the names, units, descriptions and attribute keys (`model_provider`,
 *   `model_name`) of LiveKit's Python SDK (livekit-agents `telemetry/otel_metrics.py`), so one
 *   dashboard serves Python and Node agents. voicetrace may add `gen_ai.agent.name` and
 *   `deployment.environment.name` on them (queries that aggregate them away stay valid for
 *   Python's series, which lack them).
 * - `voicetrace.*`: what the Python SDK does not export (the wait breakdown, requests, cost,
 *   turns, interruptions, errors, and voicetrace's own data-quality and drop counters), with
 *   the `gen_ai.*` keys the spans and span metrics use.
 *
 * Rules for the exporter (the agent side):
 * - Cumulative temporality (the `@opentelemetry/sdk-metrics` default): the Collector's
 *   Prometheus exporter exposes cumulative series; LiveKit Cloud's delta export is not for us.
 * - A unique `service.instance.id` resource attribute per process (e.g. a random UUID): every
 *   agent job runs in its own process and the Collector keeps one value per series identity;
 *   two processes sharing an identity overwrite each other's cumulative values (counters that
 *   go backwards). Put `deployment.environment.name` on the resource too: the Collector copies
 *   `service.name` and it onto every data point (`service_name`, `deployment_environment_name`).
 * - Attribute values are bounded (names of agents, providers, models, stages, reasons): never a
 *   session, speech, room, job, user or participant id (see FORBIDDEN_METRIC_ATTRIBUTES), which
 *   would make one series per call.
 * - A value that fails validation (NaN, negative, the -1 "none" sentinel, beyond what the turn's
 *   timestamps allow) is never recorded into a histogram: it is counted in
 *   `voicetrace.implausible_values` instead.
 */

/** The instrument kinds of the OpenTelemetry metrics API. */
export type MetricKind = 'histogram' | 'counter' | 'up_down_counter' | 'gauge';

/** Where a metric's (or metric attribute's) name comes from. */
export type MetricOrigin =
  /** LiveKit's Python SDK (livekit-agents telemetry/otel_metrics.py): same name, unit and keys */
  | 'livekit'
  /** the OpenTelemetry semantic conventions registry */
  | 'otel'
  /** voicetrace's own namespace */
  | 'voicetrace';

/** An attribute allowed on metric data points. */
export interface MetricAttributeSpec {
  readonly key: string;
  readonly origin: MetricOrigin;
  readonly brief: string;
  /** The complete set of values, when the attribute is an enumeration. */
  readonly values?: readonly string[];
}

/** Everything known about one instrument. */
export interface MetricSpec {
  /** The OTel instrument name (dots), as passed to `meter.createHistogram(name, ...)`. */
  readonly name: string;
  readonly kind: MetricKind;
  /** UCUM-style unit as passed to the SDK; `''` = none (LiveKit's usage counters have none). */
  readonly unit: string;
  /** `ValueType` of the instrument: `int` for counts, `double` for seconds and money. */
  readonly valueType: 'int' | 'double';
  /** The instrument's description as exported (LiveKit's own text for `lk.agents.*`, `''` where it has none). */
  readonly description: string;
  /** What the value is, when it is recorded, and what it is attributed to (docs). */
  readonly brief: string;
  /** Keys allowed on data points (a subset may be set; nothing else may). */
  readonly attributes: readonly string[];
  /** Explicit bucket boundaries (histograms only), passed as `advice.explicitBucketBoundaries`. */
  readonly buckets?: readonly number[];
  readonly origin: MetricOrigin;
  /**
   * A per-turn latency histogram: the figure of LATENCY_STAGES it records, once per agent turn
   * that has it, and whose model (provider/model_name) the value is attributed to, as LiveKit does.
   */
  readonly latency?: { readonly stage: LatencyStage; readonly attributedTo: 'llm' | 'tts' | 'stt' };
}

/**
 * Bucket boundaries of every latency histogram, in seconds (`lk.agents.turn.*` and
 * `voicetrace.wait.*`).
 *
 * Why these: `histogram_quantile` interpolates linearly inside a bucket, so a percentile is
 * only known to within the width of the bucket it falls in. Voice latency lives in a narrow
 * band and people hear differences of about 100 ms there:
 * - 10-50 ms at the bottom: playout start, sentence aggregation and callback waits are tens of
 *   ms; 0.01/0.025 keep them from collapsing into one bucket.
 * - 50 ms steps up to 0.2 s, then 100 ms steps up to 1 s: TTS time to first byte (0.05-0.4 s),
 *   transcription delay, LLM time to first token (0.2-1 s) and the end-to-end wait of a good
 *   agent (0.5-1.2 s) are resolved to 50-100 ms.
 * - 250 ms steps from 1 to 2 s, then 2.5 and 3 s: where SLO thresholds sit (1, 1.5, 2, 3 s are
 *   boundaries, so "share of turns under 2 s" is exact) and slow turns are told apart.
 * - 4, 5, 7.5, 10, 20 s: already bad; only counted. Above 20 s (+Inf) is a stall.
 * 25 boundaries = 26 buckets per series, against 15 in the SDK default, whose boundaries
 * (0, 5, 10, 25, ... 10000) are meant for milliseconds and would put every voice latency in
 * seconds into its first bucket.
 *
 * Why not exponential (native) histograms: Prometheus stores them only with native histograms
 * enabled and scraped over protobuf (a feature flag before 3.x), Grafana and PromQL need
 * different queries for them, and LiveKit's Python SDK exports explicit buckets: one set of
 * explicit boundaries keeps one query for every agent. Python agents should pass the same
 * boundaries (a View, see METRICS.md): `sum by (le)` over series with different boundaries gives
 * wrong quantiles.
 */
export const VOICE_LATENCY_BUCKETS = [
  0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.25, 1.5, 1.75, 2, 2.5, 3, 4, 5, 7.5, 10, 20,
] as const;

/**
 * Why voicetrace dropped or corrected an input: the reasons of `DropCounters` in
 * `@voicetrace/core` (packages/core/src/counters.ts, kept equal by a test). The first four are
 * implausible values (also counted per field in `voicetrace.implausible_values`).
 */
export const DROP_REASONS = [
  'non_finite_value',
  'negative_value',
  'sentinel_value',
  'implausible_value',
  'truncated_string',
  'malformed_event',
  'unknown_metric_type',
  'duplicate_event',
  'duplicate_usage',
  'unplaced_event',
  'usage_disagreement',
  'late_usage',
  'after_shutdown',
  'internal_error',
] as const;

/** Reasons that mean telemetry was lost (the others are corrections: duplicates removed, strings cut, values flagged). */
export const DATA_LOSS_DROP_REASONS = ['malformed_event', 'unknown_metric_type', 'after_shutdown', 'internal_error'] as const;

/**
 * Why an exporter of the agent lost spans (`voicetrace.exporter.dropped_spans`): every reason of its
 * export queue (`ExportStats.lostByReason` of `@voicetrace/exporters`, whose sum is `lostSpans`).
 */
export const EXPORTER_DROP_REASONS = [
  /** the backend refused the batch for good, after its retries (ExportStats.failedSpans) */
  'export_failed',
  /** a span alone exceeded the queue's byte bound or the request size budget */
  'oversized',
  /** the queue's span bound was reached: the oldest queued span was evicted */
  'queue_full',
  /** the queue's byte bound was reached: the oldest queued span was evicted */
  'queue_bytes_full',
  /** still queued or in flight when shutdown() ran out of time (a Collector down at exit) */
  'shutdown',
  /** the span ended after shutdown() */
  'after_shutdown',
] as const;

/** Keys that must never be metric attributes: one value per call, participant or request. */
export const FORBIDDEN_METRIC_ATTRIBUTES = [
  'session.id',
  'gen_ai.conversation.id',
  'user.id',
  'lk.speech_id',
  'speech_id',
  'lk.room_name',
  'lk.room_id',
  'lk.job_id',
  'lk.participant_identity',
  'gen_ai.response.id',
  'trace_id',
  'span_id',
] as const;

const METRIC_ATTRIBUTE_SPECS = {
  MODEL_PROVIDER: { key: 'model_provider', origin: 'livekit', brief: 'Provider of the model the value belongs to (LiveKit\'s key on `lk.agents.*`; same value as `gen_ai.provider.name`).' },
  MODEL_NAME: { key: 'model_name', origin: 'livekit', brief: 'Model the value belongs to (LiveKit\'s key on `lk.agents.*`; same value as `gen_ai.request.model`).' },
  PROVIDER: { key: 'gen_ai.provider.name', origin: 'otel', brief: 'Model provider.' },
  MODEL: { key: 'gen_ai.request.model', origin: 'otel', brief: 'Model name.' },
  AGENT: { key: 'gen_ai.agent.name', origin: 'otel', brief: 'Agent active when the value was produced.' },
  ENVIRONMENT: { key: 'deployment.environment.name', origin: 'otel', brief: 'Deployment environment. Prefer the resource attribute: the Collector copies it onto every data point.' },
  STAGE: { key: 'voicetrace.stage', origin: 'voicetrace', brief: 'Pipeline stage, as on spans.', values: STAGES },
  ERROR_TYPE: { key: 'error.type', origin: 'otel', brief: 'Class of the error: the SDK\'s error type (`APIStatusError`, `APITimeoutError`, ...) or an HTTP status as `http_<code>`; never the message.' },
  DROP_REASON: { key: 'voicetrace.drop.reason', origin: 'voicetrace', brief: 'Why the input or span was dropped or corrected (values per metric).' },
  FIELD: { key: 'voicetrace.field', origin: 'voicetrace', brief: 'Field whose value was implausible, as named in `voicetrace.implausible` (`ttft`, `e2e_latency`, `end_of_turn_delay`, ...).' },
  EXPORTER: { key: 'voicetrace.exporter', origin: 'voicetrace', brief: 'The agent-side span exporter: `otlp`, `file`, `langfuse`, or `exporter.<n>` for exporters passed in code.' },
  SIGNAL: { key: 'voicetrace.signal', origin: 'voicetrace', brief: 'Conversation quality signal (`SIGNALS`: dead_air, slow_turn, talk_over_user, cut_off, ...; see ATTRIBUTES.md, Signals).', values: SIGNAL_NAMES },
} as const satisfies Record<string, MetricAttributeSpec>;

/** Metric attribute keys, by constant: `METRIC_ATTR.MODEL_PROVIDER === 'model_provider'`. */
export const METRIC_ATTR: { readonly [K in keyof typeof METRIC_ATTRIBUTE_SPECS]: (typeof METRIC_ATTRIBUTE_SPECS)[K]['key'] } = Object.freeze(
  Object.fromEntries(Object.entries(METRIC_ATTRIBUTE_SPECS).map(([name, spec]) => [name, spec.key])),
) as { readonly [K in keyof typeof METRIC_ATTRIBUTE_SPECS]: (typeof METRIC_ATTRIBUTE_SPECS)[K]['key'] };

/** Every attribute allowed on metric data points. */
export const METRIC_ATTRIBUTE_SPECS_LIST: readonly MetricAttributeSpec[] = Object.values(METRIC_ATTRIBUTE_SPECS);

const A = METRIC_ATTR;
/** LiveKit's keys, plus the two voicetrace adds on every series. */
const LK_ATTRS = [A.MODEL_PROVIDER, A.MODEL_NAME, A.AGENT, A.ENVIRONMENT] as const;
const COMMON = [A.AGENT, A.ENVIRONMENT] as const;
const PER_MODEL = [A.STAGE, A.PROVIDER, A.MODEL, A.AGENT, A.ENVIRONMENT] as const;

const turnHistogram = <N extends string>(name: N, latency: NonNullable<MetricSpec['latency']>, description: string, brief: string): MetricSpec & { readonly name: N } => ({
  name, kind: 'histogram', unit: 's', valueType: 'double', description, brief, attributes: LK_ATTRS, buckets: VOICE_LATENCY_BUCKETS, origin: 'livekit', latency,
});
const usageCounter = <N extends string>(name: N, unit: '' | 's', brief: string): MetricSpec & { readonly name: N } => ({
  name, kind: 'counter', unit, valueType: unit === 's' ? 'double' : 'int', description: '', brief, attributes: LK_ATTRS, origin: 'livekit',
});

const SPECS = {
  // ---- LiveKit's per-turn latency histograms (seconds), recorded once per agent turn ----------
  TURN_E2E_LATENCY: turnHistogram('lk.agents.turn.e2e_latency', { stage: 'e2e', attributedTo: 'llm' }, 'End-to-end turn latency', 'The wait the user heard: end of user speech to the first audio of the reply (`voicetrace.latency.e2e`). Attributed to the reply\'s LLM (model_provider/model_name), as LiveKit does.'),
  TURN_LLM_TTFT: turnHistogram('lk.agents.turn.llm_ttft', { stage: 'llm_ttft', attributedTo: 'llm' }, 'Pipeline-level LLM time to first token', 'LLM time to first token of the reply (`voicetrace.latency.llm_ttft`); attributed to the LLM.'),
  TURN_TTS_TTFB: turnHistogram('lk.agents.turn.tts_ttfb', { stage: 'tts_ttfb', attributedTo: 'tts' }, 'Pipeline-level TTS time to first byte', 'TTS time to first audio byte of the reply (`voicetrace.latency.tts_ttfb`); attributed to the TTS.'),
  TURN_TRANSCRIPTION_DELAY: turnHistogram('lk.agents.turn.transcription_delay', { stage: 'transcription_delay', attributedTo: 'stt' }, 'Time from end of speech to transcript available', 'End of user speech to the final transcript (`voicetrace.latency.transcription_delay`); attributed to the STT.'),
  TURN_END_OF_TURN_DELAY: turnHistogram('lk.agents.turn.end_of_turn_delay', { stage: 'eou_delay', attributedTo: 'stt' }, 'Time from end of speech to turn decision', 'End of user speech to the end-of-turn decision (`voicetrace.latency.eou_delay`); attributed to the STT.'),
  TURN_ON_USER_TURN_COMPLETED_DELAY: turnHistogram('lk.agents.turn.on_user_turn_completed_delay', { stage: 'on_user_turn_completed_delay', attributedTo: 'stt' }, 'Time to invoke the on_user_turn_completed callback', 'Time spent in the agent\'s onUserTurnCompleted callback (`voicetrace.latency.on_user_turn_completed_delay`); attributed to the STT, as LiveKit does.'),

  // ---- LiveKit's usage counters (no unit for counts, as LiveKit), each usage counted once ------
  USAGE_LLM_INPUT_TOKENS: usageCounter('lk.agents.usage.llm_input_tokens', '', 'LLM (and realtime) input tokens.'),
  USAGE_LLM_INPUT_CACHED_TOKENS: usageCounter('lk.agents.usage.llm_input_cached_tokens', '', 'Input tokens served from the prompt cache (included in llm_input_tokens).'),
  USAGE_LLM_OUTPUT_TOKENS: usageCounter('lk.agents.usage.llm_output_tokens', '', 'LLM (and realtime) output tokens.'),
  USAGE_LLM_INPUT_AUDIO_TOKENS: usageCounter('lk.agents.usage.llm_input_audio_tokens', '', 'Realtime model audio input tokens.'),
  USAGE_LLM_INPUT_TEXT_TOKENS: usageCounter('lk.agents.usage.llm_input_text_tokens', '', 'Realtime model text input tokens.'),
  USAGE_LLM_OUTPUT_AUDIO_TOKENS: usageCounter('lk.agents.usage.llm_output_audio_tokens', '', 'Realtime model audio output tokens.'),
  USAGE_LLM_OUTPUT_TEXT_TOKENS: usageCounter('lk.agents.usage.llm_output_text_tokens', '', 'Realtime model text output tokens.'),
  USAGE_LLM_SESSION_DURATION: usageCounter('lk.agents.usage.llm_session_duration', 's', 'Seconds of realtime model connection (session-billed providers).'),
  USAGE_TTS_CHARACTERS: usageCounter('lk.agents.usage.tts_characters', '', 'Characters synthesized, counted once (the SDK\'s stream adapter reports them twice; voicetrace does not).'),
  USAGE_TTS_AUDIO_DURATION: usageCounter('lk.agents.usage.tts_audio_duration', 's', 'Seconds of audio synthesized, counted once.'),
  USAGE_STT_AUDIO_DURATION: usageCounter('lk.agents.usage.stt_audio_duration', 's', 'Seconds of audio sent to the STT provider.'),
  USAGE_INTERRUPTION_NUM_REQUESTS: usageCounter('lk.agents.usage.interruption_num_requests', '', 'Requests to the interruption-detection model.'),

  // ---- voicetrace: calls, turns, requests, cost, errors ---------------------------------------
  SESSIONS_STARTED: { name: 'voicetrace.sessions.started', kind: 'counter', unit: '{session}', valueType: 'int', description: 'Sessions instrumented', brief: 'Sessions (calls) instrumented, counted when instrument() starts one.', attributes: COMMON, origin: 'voicetrace' },
  SESSIONS_ACTIVE: { name: 'voicetrace.sessions.active', kind: 'up_down_counter', unit: '{session}', valueType: 'int', description: 'Sessions in progress', brief: 'Sessions in progress in this process (+1 at start, -1 when the session ends, before the final flush).', attributes: COMMON, origin: 'voicetrace' },
  TURNS: { name: 'voicetrace.turns', kind: 'counter', unit: '{turn}', valueType: 'int', description: 'Agent turns', brief: 'Agent turns (replies), one per `agent_turn` span; the denominator of the interruption rate.', attributes: COMMON, origin: 'voicetrace' },
  INTERRUPTIONS: { name: 'voicetrace.interruptions', kind: 'counter', unit: '{interruption}', valueType: 'int', description: 'Agent turns interrupted by the user', brief: 'Agent turns the user interrupted (`voicetrace.turn.interrupted`), counted when the turn ends; never more than `voicetrace.turns`.', attributes: COMMON, origin: 'voicetrace' },
  REQUESTS: { name: 'voicetrace.requests', kind: 'counter', unit: '{request}', valueType: 'int', description: 'Provider requests', brief: 'Requests to a provider, one per `llm`, `realtime`, `stt`, `tts` or `interruption` stage span (duplicate TTS spans of the stream adapter not counted), by stage, provider and model.', attributes: PER_MODEL, origin: 'voicetrace' },
  COST: { name: 'voicetrace.cost', kind: 'counter', unit: 'USD', valueType: 'double', description: 'Estimated cost', brief: 'Estimated cost in USD at the price table\'s prices (an estimate, not a bill), added per request by stage, provider and model; the same amounts as `voicetrace.cost` on spans.', attributes: PER_MODEL, origin: 'voicetrace' },
  SIGNALS: { name: 'voicetrace.signals', kind: 'counter', unit: '{signal}', valueType: 'int', description: 'Conversation quality signals', brief: 'Conversation quality signals by signal and agent, one per turn it fired on (the turn records of the session model; see ATTRIBUTES.md, Signals). A rate per 100 replies: divide by `voicetrace.turns`.', attributes: [A.SIGNAL, ...COMMON], origin: 'voicetrace' },
  SIGNAL_SECONDS: { name: 'voicetrace.signal.duration', kind: 'counter', unit: 's', valueType: 'double', description: 'Seconds of dead air and talk-over', brief: 'The size of the signals measured in seconds (dead_air, talk_over_user, talk_over_agent), summed by signal and agent: dead-air seconds per call is this over the calls.', attributes: [A.SIGNAL, ...COMMON], origin: 'voicetrace' },
  ERRORS: { name: 'voicetrace.errors', kind: 'counter', unit: '{error}', valueType: 'int', description: 'Errors', brief: 'Errors reported by the SDK (LLM, STT, TTS, realtime errors, failed tool calls), by stage, provider, model and error class, counted once per error event.', attributes: [...PER_MODEL, A.ERROR_TYPE], origin: 'voicetrace' },

  // ---- voicetrace: data quality and its own losses --------------------------------------------
  IMPLAUSIBLE_VALUES: { name: 'voicetrace.implausible_values', kind: 'counter', unit: '{value}', valueType: 'int', description: 'Implausible metric values left out', brief: 'Values that failed validation and were therefore not recorded (nor put on spans): by field, reason (`non_finite_value`, `negative_value`, `sentinel_value`, `implausible_value`) and, when known, provider and model.', attributes: [A.FIELD, A.DROP_REASON, ...PER_MODEL], origin: 'voicetrace' },
  DROPPED_INPUTS: { name: 'voicetrace.dropped_inputs', kind: 'counter', unit: '{input}', valueType: 'int', description: 'Inputs dropped or corrected by voicetrace', brief: `Every count of voicetrace's drop counters (\`vt.counters\`), by reason (${DROP_REASONS.map((r) => `\`${r}\``).join(', ')}). Data is lost only for ${DATA_LOSS_DROP_REASONS.map((r) => `\`${r}\``).join(', ')}; the others are corrections.`, attributes: [A.DROP_REASON, ...COMMON], origin: 'voicetrace' },
  EXPORTER_DROPPED_SPANS: { name: 'voicetrace.exporter.dropped_spans', kind: 'counter', unit: '{span}', valueType: 'int', description: 'Spans the agent failed to export', brief: `Spans lost by an agent-side exporter, by exporter and reason (${EXPORTER_DROP_REASONS.map((r) => `\`${r}\``).join(', ')}).`, attributes: [A.EXPORTER, A.DROP_REASON, ...COMMON], origin: 'voicetrace' },
} as const satisfies Record<string, MetricSpec>;

/** The wait-breakdown histogram of one contribution, e.g. `voicetrace.wait.llm_ttft`. */
export function waitMetricName<K extends WaitKey>(key: K): `voicetrace.wait.${K}` {
  return `voicetrace.wait.${key}`;
}

/**
 * One histogram per wait contribution (WAIT_CONTRIBUTIONS, in order). Recorded once per agent
 * turn that has a breakdown, for EVERY key (0 when the contribution did not occur), so the
 * per-key means stack up to the mean end-to-end wait.
 */
export const WAIT_METRIC_SPECS: readonly MetricSpec[] = WAIT_CONTRIBUTIONS.map((c) => ({
  name: waitMetricName(c.key),
  kind: 'histogram',
  unit: 's',
  valueType: 'double',
  description: `Wait contribution ${c.key}`,
  brief: `${ATTRIBUTE_SPECS.find((s) => s.key === c.attribute)?.brief ?? c.key} Owner: \`${c.owner}\`. 0 when absent from the turn.`,
  attributes: c.owner.startsWith('provider:') ? [A.PROVIDER, A.MODEL, ...COMMON] : COMMON,
  buckets: VOICE_LATENCY_BUCKETS,
  origin: 'voicetrace',
}));

type Specs = typeof SPECS;

/** Instrument names, by constant: `METRIC.TURN_E2E_LATENCY === 'lk.agents.turn.e2e_latency'` (wait histograms: {@link waitMetricName}). */
export const METRIC: { readonly [K in keyof Specs]: Specs[K]['name'] } = Object.freeze(
  Object.fromEntries(Object.entries(SPECS).map(([name, spec]) => [name, spec.name])),
) as { readonly [K in keyof Specs]: Specs[K]['name'] };

/** Every instrument, in documentation order (the wait histograms after the turn histograms). */
export const METRIC_SPECS: readonly MetricSpec[] = (() => {
  const all = Object.values(SPECS) as MetricSpec[];
  const afterTurns = all.findIndex((s) => s.origin !== 'livekit' || s.kind !== 'histogram');
  return [...all.slice(0, afterTurns), ...WAIT_METRIC_SPECS, ...all.slice(afterTurns)];
})();

/** The spec of an instrument by name. */
export function metricSpec(name: string): MetricSpec | undefined {
  return METRIC_SPECS.find((s) => s.name === name);
}

/**
 * The options to create the instrument with, in the shape of `@opentelemetry/api`'s
 * `MetricOptions` (add `valueType: ValueType.INT` / `DOUBLE` from `spec.valueType`):
 * `meter.createHistogram(spec.name, metricOptions(spec))`.
 */
export function metricOptions(spec: MetricSpec): { description: string; unit: string; advice?: { explicitBucketBoundaries: number[] } } {
  return {
    description: spec.description,
    unit: spec.unit,
    ...(spec.buckets ? { advice: { explicitBucketBoundaries: [...spec.buckets] } } : {}),
  };
}

/** Unit suffixes the Collector's Prometheus exporter appends (UnderscoreEscapingWithSuffixes), for the units used here. */
const PROMETHEUS_UNIT_SUFFIX: Readonly<Record<string, string>> = { s: 'seconds', USD: 'USD', '': '' };

/**
 * The metric name Prometheus stores after the Collector's translation (checked against a real
 * Collector and Prometheus by packages/test-backends/test/metrics-pipeline.test.ts): dots become
 * underscores, the unit becomes a suffix (`s` -> `_seconds`, `USD` -> `_USD`; `{annotations}`
 * and no unit add nothing), counters end in `_total`. Histograms are this name plus
 * `_bucket`/`_sum`/`_count`; up-down counters and gauges are plain gauges.
 */
export function prometheusName(spec: Pick<MetricSpec, 'name' | 'kind' | 'unit'>): string {
  const unit = /^\{.*\}$/.test(spec.unit) ? '' : spec.unit;
  const suffix = PROMETHEUS_UNIT_SUFFIX[unit];
  if (suffix === undefined) throw new Error(`prometheusName: no known Prometheus suffix for unit "${spec.unit}" of ${spec.name}`);
  let name = spec.name.replace(/[^a-zA-Z0-9_:]/g, '_');
  if (suffix && !name.endsWith(`_${suffix}`)) name += `_${suffix}`;
  if (spec.kind === 'counter') name += '_total';
  return name;
}

/** Every series name Prometheus shows for the instrument (`_bucket`, `_sum`, `_count` for histograms). */
export function prometheusSeriesNames(spec: Pick<MetricSpec, 'name' | 'kind' | 'unit'>): string[] {
  const base = prometheusName(spec);
  return spec.kind === 'histogram' ? [`${base}_bucket`, `${base}_count`, `${base}_sum`] : [base];
}

/** The Prometheus label a metric attribute becomes (dots to underscores). */
export function prometheusLabel(key: string): string {
  return key.replace(/[^a-zA-Z0-9_]/g, '_');
}
