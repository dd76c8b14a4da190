// The Grafana dashboard of the agents' metrics (docker/grafana/dashboards/voice-agent-metrics.json),
// checked statically: generated from packages/conventions (no drift), provisioned for Grafana in
// docker/, wired to the provisioned Prometheus datasource, reading only series of METRICS.md, and
// showing what issue #12 asks for. Every query is evaluated against a real Collector + Prometheus
// in metrics-pipeline.test.ts.
import { METRIC, METRIC_ATTRIBUTE_SPECS_LIST, METRIC_SPECS, WAIT_CONTRIBUTIONS, metricSpec, prometheusLabel, prometheusName, prometheusSeriesNames, waitMetricName } from '@voicetrace/conventions';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from '../src/index.js';

const root = repoRoot();
const dashFile = join(root, 'docker/grafana/dashboards/voice-agent-metrics.json');
interface Panel { type: string; title: string; datasource: { uid: string }; gridPos: { x: number; y: number; w: number; h: number }; targets: Array<{ expr: string; datasource: { uid: string } }>; fieldConfig: { defaults: { custom?: { stacking?: { mode: string } } } } }
const dash = JSON.parse(readFileSync(dashFile, 'utf8')) as { uid: string; panels: Panel[]; templating: { list: Array<{ name: string; definition: string }> } };
/** The panels with queries (row headers have none). */
const queried = dash.panels.filter((p) => p.type !== 'row');
const exprs = queried.flatMap((p) => p.targets.map((t) => t.expr));
const panel = (re: RegExp) => queried.find((p) => re.test(p.title));
const name = (metric: string) => prometheusName(metricSpec(metric)!);

describe('Grafana dashboard: voice-agent-metrics.json', () => {
  it('is what scripts/generate-metrics-dashboard.mjs generates from packages/conventions', () => {
    const r = spawnSync(process.execPath, [join(root, 'scripts/generate-metrics-dashboard.mjs'), '--check'], { encoding: 'utf8' });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
  });

  it('is provisioned for the compose Grafana, next to the span-metrics dashboard, on the provisioned Prometheus', () => {
    const compose = readFileSync(join(root, 'docker/compose.tempo.yaml'), 'utf8');
    expect(compose).toContain('./grafana/dashboards:/var/lib/grafana/dashboards:ro');
    const providers = parse(readFileSync(join(root, 'docker/grafana/provisioning/dashboards/dashboards.yaml'), 'utf8')) as { providers: Array<{ options: { path: string } }> };
    expect(providers.providers[0]!.options.path).toBe('/var/lib/grafana/dashboards');
    const ds = parse(readFileSync(join(root, 'docker/grafana/provisioning/datasources/datasources.yaml'), 'utf8')) as { datasources: Array<{ uid: string; type: string }> };
    const promUid = ds.datasources.find((d) => d.type === 'prometheus')!.uid;
    const other = JSON.parse(readFileSync(join(root, 'docker/grafana/dashboards/voice-agent-latency.json'), 'utf8')) as { uid: string };
    expect(dash.uid).not.toBe(other.uid);
    for (const p of queried) {
      expect(p.datasource.uid, p.title).toBe(promUid);
      expect(p.targets.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets) expect(t.datasource.uid, p.title).toBe(promUid);
    }
    const ids = dash.panels.map((p) => (p as unknown as { id: number }).id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('reads only series of METRICS.md (and the rules\' recorded thresholds), filtered by the service and environment variables', () => {
    const known = new Set(METRIC_SPECS.flatMap(prometheusSeriesNames));
    const labels = new Set(METRIC_ATTRIBUTE_SPECS_LIST.map((a) => prometheusLabel(a.key)));
    for (const e of exprs) {
      const names = [...e.matchAll(/(?<![\w:"])((?:lk_agents|voicetrace)[\w:]*)/g)].map((m) => m[1]!).filter((n) => !labels.has(n));
      expect(names.length, e).toBeGreaterThan(0);
      for (const n of names) expect(known.has(n) || n.startsWith('voicetrace:threshold:'), `${n} in ${e}`).toBe(true);
      for (const selector of e.matchAll(/(?:lk_agents|voicetrace)_\w+\{([^}]*)\}/g)) {
        expect(selector[1], e).toContain('service_name=~"$service"');
        expect(selector[1], e).toContain('deployment_environment_name=~"$environment"');
      }
    }
    expect(dash.templating.list.map((v) => v.name)).toEqual(['service', 'environment']);
  });

  it('shows p50/p95/p99 of the wait per agent, the wait breakdown stacked, TTFT/TTFB per provider, cost per hour, interruption rate and drops', () => {
    const e2e = name(METRIC.TURN_E2E_LATENCY);
    const wait = panel(/^Wait p50/)!;
    for (const q of ['0.5', '0.95', '0.99']) {
      expect(wait.targets.some((t) => t.expr.startsWith(`histogram_quantile(${q}, sum by (le, service_name, gen_ai_agent_name) (rate(${e2e}_bucket{`)), q).toBe(true);
    }
    const breakdown = panel(/^Where the wait went/)!;
    expect(breakdown.fieldConfig.defaults.custom?.stacking?.mode).toBe('normal');
    for (const c of WAIT_CONTRIBUTIONS) {
      const m = prometheusName({ name: waitMetricName(c.key), kind: 'histogram', unit: 's' });
      expect(breakdown.targets.some((t) => t.expr.includes(`${m}_sum{`) && t.expr.includes(`${m}_count{`)), c.key).toBe(true);
    }
    expect(panel(/time to first token/)!.targets[0]!.expr).toContain(`by (le, model_provider, model_name) (rate(${name(METRIC.TURN_LLM_TTFT)}_bucket`);
    expect(panel(/time to first byte/)!.targets[0]!.expr).toContain(`by (le, model_provider, model_name) (rate(${name(METRIC.TURN_TTS_TTFB)}_bucket`);
    expect(panel(/^Estimated cost per hour by/)!.targets[0]!.expr).toMatch(new RegExp(`^3600 \\* sum by \\(.*\\) \\(rate\\(${name(METRIC.COST)}\\{`));
    expect(panel(/^Interruption rate per agent/)!.targets[0]!.expr).toContain(name(METRIC.INTERRUPTIONS));
    const drops = panel(/data quality and losses/)!.targets.map((t) => t.expr).join('\n');
    for (const m of [METRIC.DROPPED_INPUTS, METRIC.IMPLAUSIBLE_VALUES, METRIC.EXPORTER_DROPPED_SPANS]) expect(drops).toContain(name(m));
  });

  it('has a Conversation quality row: signals per 100 replies by signal, dead air and talk-over per 100 replies against the alert thresholds, dead-air seconds per 100 replies', () => {
    const signals = name(METRIC.SIGNALS);
    const seconds = name(METRIC.SIGNAL_SECONDS);
    const turns = name(METRIC.TURNS);
    const rowIndex = dash.panels.findIndex((p) => p.type === 'row' && p.title === 'Conversation quality');
    expect(rowIndex).toBeGreaterThan(0);
    const rowY = dash.panels[rowIndex]!.gridPos.y;
    const below = dash.panels.slice(rowIndex + 1);
    expect(below.length).toBeGreaterThanOrEqual(5);
    for (const p of below) expect(p.gridPos.y, p.title).toBeGreaterThan(rowY);
    for (const p of dash.panels.slice(0, rowIndex)) expect(p.gridPos.y + p.gridPos.h, p.title).toBeLessThanOrEqual(rowY);
    const bySignal = panel(/^Signals per 100 replies by signal/)!;
    expect(bySignal.type).toBe('timeseries');
    expect(bySignal.targets[0]!.expr).toMatch(new RegExp(`^100 \\* sum by \\(voicetrace_signal\\) \\(increase\\(${signals}\\{.*/ on\\(\\) group_left\\(\\) sum\\(increase\\(${turns}\\{`));
    // dead air and talk-over: per 100 replies, 0 (not "no data") when the signal never fired
    const deadAir = panel(/^Dead air per 100 replies/)!.targets[0]!.expr;
    expect(deadAir).toContain(`${signals}{service_name=~"$service",deployment_environment_name=~"$environment",voicetrace_signal=~"dead_air"}`);
    expect(deadAir).toContain(`or 0 * sum (increase(${turns}{`);
    const talkOver = panel(/^Talk-over per 100 replies/)!.targets[0]!.expr;
    expect(talkOver).toContain('voicetrace_signal=~"talk_over_user|talk_over_agent|cut_off"');
    // dead-air seconds per 100 replies (not per call: one call per process, its sessions.started first appears at 1)
    const deadAirSeconds = panel(/^Dead-air seconds per 100 replies/)!;
    expect(deadAirSeconds.type).toBe('stat');
    expect(deadAirSeconds.targets[0]!.expr).toMatch(new RegExp(`^100 \\* \\(sum \\(increase\\(${seconds}\\{[^}]*voicetrace_signal=~"dead_air"\\}.* or 0 \\* sum \\(increase\\(${turns}\\{.*\\) / sum \\(increase\\(${turns}\\{`));
    const vsThresholds = panel(/^Dead air and talk-over per 100 replies per service/)!.targets.map((t) => t.expr);
    expect(vsThresholds).toEqual(expect.arrayContaining(['voicetrace:threshold:dead_air_per_100_turns', 'voicetrace:threshold:talk_over_per_100_turns']));
  });
});
