#!/usr/bin/env node
// Writes docker/grafana/dashboards/voice-agent-metrics.json, the Grafana dashboard of the agents'
// OTLP metrics (METRICS.md), from packages/conventions (metric names and wait keys come from
// there, so the dashboard cannot drift from the definitions). Needs the conventions package
// built (`pnpm build`).
//   node scripts/generate-metrics-dashboard.mjs           # write the file
//   node scripts/generate-metrics-dashboard.mjs --check   # exit 1 when the file is out of date
// packages/test-backends/test/dashboard.test.ts runs --check, and metrics-pipeline.test.ts
// evaluates every query of the dashboard against a real Collector + Prometheus.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { METRIC, WAIT_CONTRIBUTIONS, metricSpec, prometheusName, waitMetricName } from '../packages/conventions/dist/index.js';

const OUT = fileURLToPath(new URL('../docker/grafana/dashboards/voice-agent-metrics.json', import.meta.url));
const DS = { type: 'prometheus', uid: 'prometheus' };
const SEL = 'service_name=~"$service",deployment_environment_name=~"$environment"';
const RI = '$__rate_interval';

/** Prometheus name of an instrument (from its spec in packages/conventions). */
const prom = (name) => {
  const spec = metricSpec(name);
  if (!spec) throw new Error(`no metric ${name} in packages/conventions`);
  return prometheusName(spec);
};
const e2e = prom(METRIC.TURN_E2E_LATENCY);
const cost = prom(METRIC.COST);
const turns = prom(METRIC.TURNS);
const interruptions = prom(METRIC.INTERRUPTIONS);
const requests = prom(METRIC.REQUESTS);
const errors = prom(METRIC.ERRORS);
const signals = prom(METRIC.SIGNALS);
const signalSeconds = prom(METRIC.SIGNAL_SECONDS);

const quantile = (q, metric, by, range = RI) => `histogram_quantile(${q}, sum by (${['le', ...by].join(', ')}) (rate(${metric}_bucket{${SEL}}[${range}])))`;

let nextId = 1;
const target = (expr, legendFormat, refIndex) => ({
  datasource: DS,
  refId: String.fromCharCode(65 + refIndex),
  expr,
  ...(legendFormat ? { legendFormat } : {}),
});
const stat = (title, description, gridPos, unit, expr, thresholds) => ({
  type: 'stat',
  title,
  description,
  datasource: DS,
  gridPos,
  fieldConfig: {
    defaults: {
      unit,
      ...(thresholds ? { thresholds: { mode: 'absolute', steps: thresholds.map(([color, value]) => ({ color, value })) } } : {}),
    },
    overrides: [],
  },
  options: { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: thresholds ? 'background' : 'value' },
  targets: [target(expr, undefined, 0)],
  id: nextId++,
});
const series = (title, description, gridPos, unit, targets, { stack = false, overrides = [] } = {}) => ({
  type: 'timeseries',
  title,
  description,
  datasource: DS,
  gridPos,
  fieldConfig: {
    defaults: {
      unit,
      custom: { drawStyle: 'line', lineWidth: 1, fillOpacity: stack ? 60 : 10, stacking: { mode: stack ? 'normal' : 'none', group: 'A' } },
    },
    overrides,
  },
  options: { legend: { displayMode: 'table', placement: 'right', calcs: ['mean', 'lastNotNull', 'max'] }, tooltip: { mode: 'multi', sort: 'desc' } },
  targets: targets.map(([expr, legend], i) => target(expr, legend, i)),
  id: nextId++,
});

/** A row header (Grafana's `row` panel: no query). */
const row = (title, y) => ({ type: 'row', title, collapsed: false, gridPos: { x: 0, y, w: 24, h: 1 }, panels: [], id: nextId++ });

// Conversation quality signals (ATTRIBUTES.md, Signals): voicetrace.signals per 100 replies
// (voicetrace.turns), and the seconds of dead air / talk-over (voicetrace.signal.duration) per 100
// replies. Not per call: an agent runs one call per process, so each process's
// voicetrace.sessions.started first appears at 1 and increase() over it reads 0 calls. A signal that never fired has no series: `or 0 * <denominator>`
// makes those read 0 wherever there were replies or calls, as the alert rules do.
const TALK_OVER = 'talk_over_user|talk_over_agent|cut_off';
const TALK_OVER_SECONDS = 'talk_over_user|talk_over_agent';
const per100 = (signal, by, range) => {
  const g = by.length ? `sum by (${by.join(', ')})` : 'sum';
  const den = `${g} (increase(${turns}{${SEL}}[${range}]))`;
  return `100 * (${g} (increase(${signals}{${SEL},voicetrace_signal=~"${signal}"}[${range}])) or 0 * ${den}) / ${den}`;
};
const secondsPer100 = (signal, by, range) => {
  const g = by.length ? `sum by (${by.join(', ')})` : 'sum';
  const den = `${g} (increase(${turns}{${SEL}}[${range}]))`;
  return `100 * (${g} (increase(${signalSeconds}{${SEL},voicetrace_signal=~"${signal}"}[${range}])) or 0 * ${den}) / ${den}`;
};
const thresholdLine = (name) => ({ matcher: { id: 'byName', options: name }, properties: [{ id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } }, { id: 'color', value: { mode: 'fixed', fixedColor: 'red' } }] });

const waitTargets = WAIT_CONTRIBUTIONS.map((c) => {
  const m = prom(waitMetricName(c.key));
  return [`sum(rate(${m}_sum{${SEL}}[${RI}])) / sum(rate(${m}_count{${SEL}}[${RI}]))`, `${c.key} (${c.owner})`];
});
const meanWait = [`sum(rate(${e2e}_sum{${SEL}}[${RI}])) / sum(rate(${e2e}_count{${SEL}}[${RI}]))`, 'mean wait (e2e)'];

const panels = [
  stat('Wait p95 (time range)', 'p95 of the wait the user heard (lk.agents.turn.e2e_latency: end of speech to first audio of the reply) over the time range.', { x: 0, y: 0, w: 4, h: 5 }, 's',
    quantile(0.95, e2e, [], '$__range'), [['green', null], ['orange', 1.5], ['red', 2]]),
  stat('Turns per minute', 'Turns with a measured wait, per minute.', { x: 4, y: 0, w: 4, h: 5 }, 'short',
    `60 * sum(rate(${e2e}_count{${SEL}}[${RI}]))`),
  stat('Estimated cost per hour', 'Estimated spend at table prices (voicetrace.cost), USD per hour: an estimate, not a bill.', { x: 8, y: 0, w: 4, h: 5 }, 'currencyUSD',
    `3600 * sum(rate(${cost}{${SEL}}[${RI}]))`),
  stat('Interruption rate', 'Share of agent turns the user interrupted.', { x: 12, y: 0, w: 4, h: 5 }, 'percentunit',
    `sum(rate(${interruptions}{${SEL}}[${RI}])) / sum(rate(${turns}{${SEL}}[${RI}]))`, [['green', null], ['orange', 0.15], ['red', 0.3]]),
  stat('Active sessions', 'Calls in progress (voicetrace.sessions.active, summed over agent processes).', { x: 16, y: 0, w: 4, h: 5 }, 'short',
    `sum(${prom(METRIC.SESSIONS_ACTIVE)}{${SEL}})`),
  stat('Spans lost by agents (time range)', 'Spans the agents\' exporters dropped (voicetrace.exporter.dropped_spans): should be 0.', { x: 20, y: 0, w: 4, h: 5 }, 'short',
    `sum(increase(${prom(METRIC.EXPORTER_DROPPED_SPANS)}{${SEL}}[$__range]))`, [['green', null], ['red', 1]]),

  series('Wait p50 / p95 / p99 per agent', 'The wait the user heard (lk.agents.turn.e2e_latency), per service and agent (Python agents have no agent label), against the alert threshold voicetrace:threshold:turn_e2e_p95_seconds (recorded by docker/prometheus/rules).', { x: 0, y: 5, w: 12, h: 9 }, 's', [
    [quantile(0.5, e2e, ['service_name', 'gen_ai_agent_name']), 'p50 {{service_name}} {{gen_ai_agent_name}}'],
    [quantile(0.95, e2e, ['service_name', 'gen_ai_agent_name']), 'p95 {{service_name}} {{gen_ai_agent_name}}'],
    [quantile(0.99, e2e, ['service_name', 'gen_ai_agent_name']), 'p99 {{service_name}} {{gen_ai_agent_name}}'],
    ['voicetrace:threshold:turn_e2e_p95_seconds', 'p95 alert threshold'],
  ], { overrides: [{ matcher: { id: 'byName', options: 'p95 alert threshold' }, properties: [{ id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } }, { id: 'color', value: { mode: 'fixed', fixedColor: 'red' } }] }] }),
  series('Where the wait went (mean per turn, stacked)', 'Mean of each wait contribution (voicetrace.wait.*) per turn; the contributions of a turn sum to its wait, so the stack adds up to the mean wait (dashed line). The owner says who can fix it: provider, setting, agent code or pipeline.', { x: 12, y: 5, w: 12, h: 9 }, 's',
    [...waitTargets, meanWait],
    { stack: true, overrides: [{ matcher: { id: 'byName', options: meanWait[1] }, properties: [{ id: 'custom.stacking', value: { mode: 'none', group: 'A' } }, { id: 'custom.fillOpacity', value: 0 }, { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } }, { id: 'color', value: { mode: 'fixed', fixedColor: 'white' } }] }] }),

  series('LLM time to first token p95 by provider / model', 'lk.agents.turn.llm_ttft.', { x: 0, y: 14, w: 8, h: 8 }, 's', [
    [quantile(0.95, prom(METRIC.TURN_LLM_TTFT), ['model_provider', 'model_name']), '{{model_provider}} {{model_name}}'],
  ]),
  series('TTS time to first byte p95 by provider / model', 'lk.agents.turn.tts_ttfb.', { x: 8, y: 14, w: 8, h: 8 }, 's', [
    [quantile(0.95, prom(METRIC.TURN_TTS_TTFB), ['model_provider', 'model_name']), '{{model_provider}} {{model_name}}'],
  ]),
  series('Before the LLM: transcription, end of turn, callback (p95)', 'lk.agents.turn.transcription_delay and end_of_turn_delay by STT provider; on_user_turn_completed_delay (your callback) per service.', { x: 16, y: 14, w: 8, h: 8 }, 's', [
    [quantile(0.95, prom(METRIC.TURN_TRANSCRIPTION_DELAY), ['model_provider']), 'transcription {{model_provider}}'],
    [quantile(0.95, prom(METRIC.TURN_END_OF_TURN_DELAY), ['model_provider']), 'end of turn {{model_provider}}'],
    [quantile(0.95, prom(METRIC.TURN_ON_USER_TURN_COMPLETED_DELAY), ['service_name']), 'on_user_turn_completed {{service_name}}'],
  ]),

  series('Estimated cost per hour by provider / model (stacked)', 'voicetrace.cost in USD per hour, by stage, provider and model (estimates at table prices).', { x: 0, y: 22, w: 12, h: 8 }, 'currencyUSD', [
    [`3600 * sum by (voicetrace_stage, gen_ai_provider_name, gen_ai_request_model) (rate(${cost}{${SEL}}[${RI}]))`, '{{voicetrace_stage}} {{gen_ai_provider_name}} {{gen_ai_request_model}}'],
  ], { stack: true }),
  series('Interruption rate per agent', 'Interrupted agent turns / agent turns (voicetrace.interruptions / voicetrace.turns).', { x: 12, y: 22, w: 12, h: 8 }, 'percentunit', [
    [`sum by (service_name, gen_ai_agent_name) (rate(${interruptions}{${SEL}}[${RI}])) / sum by (service_name, gen_ai_agent_name) (rate(${turns}{${SEL}}[${RI}]))`, '{{service_name}} {{gen_ai_agent_name}}'],
  ]),

  series('Usage per minute', 'LLM tokens, TTS characters and STT audio seconds per minute, by model (LiveKit\'s lk.agents.usage.* counters, each usage counted once).', { x: 0, y: 30, w: 12, h: 8 }, 'short', [
    [`60 * sum by (model_name) (rate(${prom(METRIC.USAGE_LLM_INPUT_TOKENS)}{${SEL}}[${RI}]))`, 'input tokens {{model_name}}'],
    [`60 * sum by (model_name) (rate(${prom(METRIC.USAGE_LLM_INPUT_CACHED_TOKENS)}{${SEL}}[${RI}]))`, 'cached input tokens {{model_name}}'],
    [`60 * sum by (model_name) (rate(${prom(METRIC.USAGE_LLM_OUTPUT_TOKENS)}{${SEL}}[${RI}]))`, 'output tokens {{model_name}}'],
    [`60 * sum by (model_name) (rate(${prom(METRIC.USAGE_TTS_CHARACTERS)}{${SEL}}[${RI}]))`, 'TTS characters {{model_name}}'],
    [`60 * sum by (model_name) (rate(${prom(METRIC.USAGE_STT_AUDIO_DURATION)}{${SEL}}[${RI}]))`, 'STT audio seconds {{model_name}}'],
  ]),
  series('Provider error ratio by stage / provider', 'voicetrace.errors / voicetrace.requests per stage and provider (alert: VoiceAgentProviderErrors).', { x: 12, y: 30, w: 12, h: 8 }, 'percentunit', [
    [`sum by (voicetrace_stage, gen_ai_provider_name) (rate(${errors}{${SEL}}[${RI}])) / sum by (voicetrace_stage, gen_ai_provider_name) (rate(${requests}{${SEL}}[${RI}]))`, '{{voicetrace_stage}} {{gen_ai_provider_name}}'],
  ]),

  series('voicetrace data quality and losses (per second)', 'Inputs voicetrace dropped or corrected, by reason (losses: malformed_event, unknown_metric_type, after_shutdown, internal_error); implausible values left out, by field; spans the agents\' exporters lost.', { x: 0, y: 38, w: 24, h: 8 }, 'short', [
    [`sum by (voicetrace_drop_reason) (rate(${prom(METRIC.DROPPED_INPUTS)}{${SEL}}[${RI}]))`, 'dropped input: {{voicetrace_drop_reason}}'],
    [`sum by (voicetrace_field, voicetrace_drop_reason) (rate(${prom(METRIC.IMPLAUSIBLE_VALUES)}{${SEL}}[${RI}]))`, 'implausible {{voicetrace_field}}: {{voicetrace_drop_reason}}'],
    [`sum by (voicetrace_exporter, voicetrace_drop_reason) (rate(${prom(METRIC.EXPORTER_DROPPED_SPANS)}{${SEL}}[${RI}]))`, 'spans lost by {{voicetrace_exporter}}: {{voicetrace_drop_reason}}'],
  ]),

  row('Conversation quality', 46),
  stat('Dead air per 100 replies (time range)', 'Replies whose wait ran past the dead-air threshold (voicetrace.signals, dead_air) per 100 replies (voicetrace.turns) over the time range. Alert VoiceAgentDeadAir: above voicetrace:threshold:dead_air_per_100_turns (default 5) over 15 min.', { x: 0, y: 47, w: 6, h: 5 }, 'short',
    per100('dead_air', [], '$__range'), [['green', null], ['orange', 2], ['red', 5]]),
  stat('Dead-air seconds per 100 replies (time range)', 'Seconds of dead air (voicetrace.signal.duration, dead_air: the part of each wait beyond the threshold) per 100 replies over the time range. Per 100 replies, not per call: one call per agent process makes calls started unreadable with increase().', { x: 6, y: 47, w: 6, h: 5 }, 's',
    secondsPer100('dead_air', [], '$__range'), [['green', null], ['orange', 2], ['red', 5]]),
  stat('Talk-over per 100 replies (time range)', 'talk_over_user (the user over the agent, barge-ins), talk_over_agent (the agent over the user) and cut_off (the user\'s turn judged over too early) signals per 100 replies over the time range. Alert VoiceAgentTalkOver: above voicetrace:threshold:talk_over_per_100_turns (default 20) over 15 min.', { x: 12, y: 47, w: 6, h: 5 }, 'short',
    per100(TALK_OVER, [], '$__range'), [['green', null], ['orange', 15], ['red', 20]]),
  stat('Talk-over seconds per 100 replies (time range)', 'Seconds both parties spoke at once (voicetrace.signal.duration, talk_over_user and talk_over_agent) per 100 replies over the time range.', { x: 18, y: 47, w: 6, h: 5 }, 's',
    secondsPer100(TALK_OVER_SECONDS, [], '$__range')),
  series('Signals per 100 replies by signal', 'Each conversation quality signal (voicetrace.signals: dead_air, slow_turn, talk_over_user, talk_over_agent, cut_off, backchannel, repeated_user_request, agent_repetition, missed_speech, abandonment, error_turn; ATTRIBUTES.md, Signals) per 100 replies (voicetrace.turns). A signal that never fired has no line.', { x: 0, y: 52, w: 12, h: 9 }, 'short', [
    [`100 * sum by (voicetrace_signal) (increase(${signals}{${SEL}}[${RI}])) / on() group_left() sum(increase(${turns}{${SEL}}[${RI}]))`, '{{voicetrace_signal}}'],
  ]),
  series('Dead air and talk-over per 100 replies per service', 'What the alerts VoiceAgentDeadAir and VoiceAgentTalkOver read (docker/prometheus/rules, over 15 min there), per service, against their thresholds.', { x: 12, y: 52, w: 12, h: 9 }, 'short', [
    [per100('dead_air', ['service_name'], RI), 'dead air {{service_name}}'],
    [per100(TALK_OVER, ['service_name'], RI), 'talk-over {{service_name}}'],
    ['voicetrace:threshold:dead_air_per_100_turns', 'dead air alert threshold'],
    ['voicetrace:threshold:talk_over_per_100_turns', 'talk-over alert threshold'],
  ], { overrides: [thresholdLine('dead air alert threshold'), thresholdLine('talk-over alert threshold')] }),
  series('Dead-air and talk-over seconds per 100 replies per service', 'Seconds of dead air (dead_air) and of both parties speaking at once (talk_over_user, talk_over_agent) from voicetrace.signal.duration, per 100 replies (voicetrace.turns).', { x: 0, y: 61, w: 24, h: 8 }, 's', [
    [secondsPer100('dead_air', ['service_name'], RI), 'dead air {{service_name}}'],
    [secondsPer100(TALK_OVER_SECONDS, ['service_name'], RI), 'talk-over {{service_name}}'],
  ]),
];

const variable = (name, label, query) => ({
  name,
  label,
  type: 'query',
  datasource: DS,
  query: { query, refId: name },
  definition: query,
  includeAll: true,
  multi: true,
  allValue: '.*',
  current: { selected: true, text: ['All'], value: ['$__all'] },
  refresh: 2,
});

export function buildDashboard() {
  return {
    uid: 'voicetrace-metrics',
    title: 'Voice agent metrics (voicetrace)',
    description: 'The agents\' OTLP metrics (METRICS.md): LiveKit\'s lk.agents.* (Python and Node agents) and voicetrace.*. Generated by scripts/generate-metrics-dashboard.mjs.',
    tags: ['voicetrace', 'livekit', 'voice'],
    timezone: 'browser',
    schemaVersion: 39,
    version: 1,
    editable: false,
    refresh: '30s',
    time: { from: 'now-3h', to: 'now' },
    templating: {
      list: [
        variable('service', 'Service', `label_values(${e2e}_count, service_name)`),
        variable('environment', 'Environment', `label_values(${e2e}_count{service_name=~"$service"}, deployment_environment_name)`),
      ],
    },
    annotations: { list: [] },
    panels,
  };
}

const text = `${JSON.stringify(buildDashboard(), null, 2)}\n`;
if (process.argv.includes('--check')) {
  let current = '';
  try { current = readFileSync(OUT, 'utf8'); } catch { /* missing: out of date */ }
  if (current !== text) {
    console.error('docker/grafana/dashboards/voice-agent-metrics.json is out of date: run `node scripts/generate-metrics-dashboard.mjs`.');
    process.exit(1);
  }
  console.log('voice-agent-metrics.json is in sync with packages/conventions.');
} else {
  writeFileSync(OUT, text);
  console.log(`wrote ${OUT}`);
}
