// The Prometheus rules users import (docker/prometheus/rules/voicetrace.rules.yml), checked with the
// real promtool (Debian's prometheus package, beside the prometheus binary):
//   - `promtool check rules` and `promtool check config` (docker/prometheus/prometheus.yml);
//   - `promtool test rules` (voicetrace.rules.test.yml): each alert fires on a slow / failing /
//     costly / lossy series and stays silent on a healthy one;
//   - statically: every alert is covered by both kinds of test case, every threshold is a
//     documented parameter, every series the rules read is one of METRICS.md.
// The rules' expressions are evaluated against live data in metrics-pipeline.test.ts.
import { METRIC_ATTRIBUTE_SPECS_LIST, METRIC_SPECS, prometheusLabel, prometheusSeriesNames } from '@voicetrace/conventions';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { backendOrSkip, repoRoot } from '../src/index.js';

const rulesDir = join(repoRoot(), 'docker/prometheus/rules');
const rulesFile = join(rulesDir, 'voicetrace.rules.yml');
const testFile = join(rulesDir, 'voicetrace.rules.test.yml');
const rulesText = readFileSync(rulesFile, 'utf8');

interface Rule { record?: string; alert?: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }
const rules = (parse(rulesText) as { groups: Array<{ name: string; rules: Rule[] }> }).groups.flatMap((g) => g.rules);
const alerts = rules.filter((r) => r.alert);
interface AlertCase { eval_time: string; alertname: string; exp_alerts: Array<{ exp_labels: Record<string, string> }> }
const unitTests = parse(readFileSync(testFile, 'utf8')) as { rule_files: string[]; tests: Array<{ name: string; alert_rule_test?: AlertCase[] }> };

const prometheus = await backendOrSkip('prometheus');
const promtool = prometheus ? join(dirname(prometheus), 'promtool') : undefined;

const run = (args: string[], cwd: string) => {
  const r = spawnSync(promtool!, args, { cwd, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
};

describe.skipIf(!promtool)('Prometheus rules: promtool', () => {
  it('promtool is installed beside prometheus', () => {
    expect(existsSync(promtool!), promtool).toBe(true);
  });

  it('promtool check rules accepts the rules', () => {
    const { code, out } = run(['check', 'rules', basename(rulesFile)], rulesDir);
    expect(code, out).toBe(0);
    expect(out).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  it('promtool check config accepts docker/prometheus/prometheus.yml', () => {
    const { code, out } = run(['check', 'config', 'prometheus.yml'], dirname(rulesDir));
    expect(code, out).toBe(0);
  });

  it('promtool test rules: every alert fires on the unhealthy series and stays silent on the healthy ones', () => {
    const { code, out } = run(['test', 'rules', basename(testFile)], rulesDir);
    console.log(`[alerts] promtool test rules: ${out.trim().split('\n').pop()}`);
    expect(code, out).toBe(0);
    expect(out).toContain('SUCCESS');
  });
});

describe('Prometheus rules: structure', () => {
  it('unit tests cover every alert both firing and silent', () => {
    expect(unitTests.rule_files).toEqual([basename(rulesFile)]);
    const cases = unitTests.tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const a of alerts) {
      const mine = cases.filter((c) => c.alertname === a.alert);
      expect(mine.some((c) => c.exp_alerts.length > 0), `${a.alert}: no case where it fires`).toBe(true);
      expect(mine.some((c) => c.exp_alerts.length === 0), `${a.alert}: no case where it is silent`).toBe(true);
    }
    // a silent case also exists for a healthy service next to a firing one (labels of other services never fire)
    const firing = cases.flatMap((c) => c.exp_alerts.map((e) => e.exp_labels.service_name));
    expect(new Set(firing)).not.toContain(undefined);
  });

  it('every threshold is a documented parameter, and every alert compares with one', () => {
    const thresholds = rules.filter((r) => r.record?.startsWith('voicetrace:threshold:'));
    expect(thresholds.length).toBeGreaterThanOrEqual(5);
    const header = rulesText.slice(0, rulesText.indexOf('groups:'));
    for (const t of thresholds) {
      const name = t.record!.replace('voicetrace:threshold:', '');
      const value = /^vector\(([\d.]+)\)$/.exec(t.expr)?.[1];
      expect(value, `${t.record}: a constant vector(<number>)`).toBeDefined();
      expect(header, `${name} is documented with its default in the header`).toMatch(new RegExp(`^#\\s+${name}\\s+${value!.replace('.', '\\.')}\\s`, 'm'));
    }
    for (const a of alerts) {
      expect(a.expr, a.alert).toMatch(/voicetrace:threshold:/);
      expect(a.labels?.severity, a.alert).toBeDefined();
      expect(a.annotations?.summary, a.alert).toBeDefined();
      expect(a.annotations?.description, a.alert).toBeDefined();
    }
    // "p95 wait above a threshold for N minutes"
    expect(alerts.find((a) => a.alert === 'VoiceAgentSlowTurns')?.for).toBe('10m');
  });

  it('reads only series of METRICS.md and its own recording rules', () => {
    const known = new Set([...METRIC_SPECS.flatMap(prometheusSeriesNames), ...rules.filter((r) => r.record).map((r) => r.record!)]);
    const labels = new Set(METRIC_ATTRIBUTE_SPECS_LIST.map((a) => prometheusLabel(a.key)));
    let seen = 0;
    for (const r of rules) {
      const names = [...r.expr.replace(/#.*$/gm, '').matchAll(/(?<![\w:"])((?:lk_agents|voicetrace)[\w:]*)/g)].map((m) => m[1]!).filter((n) => !labels.has(n));
      seen += names.length;
      for (const n of names) expect(known.has(n), `${r.record ?? r.alert}: unknown series ${n}`).toBe(true);
    }
    expect(seen).toBeGreaterThan(20);
  });

  it('docker/prometheus/prometheus.yml loads the rules (and not their unit tests) where compose.prometheus.yaml mounts them', () => {
    const prom = parse(readFileSync(join(repoRoot(), 'docker/prometheus/prometheus.yml'), 'utf8')) as { rule_files: string[] };
    const compose = readFileSync(join(repoRoot(), 'docker/compose.prometheus.yaml'), 'utf8');
    expect(compose).toContain('./prometheus/rules:/etc/prometheus/rules:ro');
    expect(prom.rule_files).toEqual(['/etc/prometheus/rules/*.rules.yml']);
    const glob = /^.*\.rules\.yml$/;
    expect(glob.test(basename(rulesFile))).toBe(true);
    expect(glob.test(basename(testFile))).toBe(false);
  });
});
