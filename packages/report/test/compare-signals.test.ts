// compare --max-regression on the quality signals: a CI gate fails when a signal's rate per 100 user
// turns grows past its limit, and only that signal's check moves.
import { describe, expect, it } from 'vitest';
import { LATENCY_STAGES } from '@voicetrace/conventions';
import { compareSummaries, parseThresholds, ThresholdError } from '../src/cli/compare.js';
import { SessionAggregator } from '../src/cli/summary.js';
import type { SessionReportJson } from '../src/types.js';
import { demoReport } from './helpers/sessions.js';

/** The demo report `n` times (new session ids), with `deadAir` dead-air turns added to each. */
function set(n: number, deadAir: number) {
  const aggregator = new SessionAggregator();
  for (let i = 0; i < n; i++) {
    const report: SessionReportJson = demoReport();
    report.voicetrace.session_id = `s${i}`;
    report.voicetrace.signals = { ...report.voicetrace.signals, ...(deadAir ? { dead_air: { count: deadAir, seconds: 0.5 * deadAir } } : {}) };
    aggregator.add(report, `s${i}.json`);
  }
  return aggregator.summary({ files: n, report_files: n, traces_files: 0, bad_files: 0 }, []);
}

describe('compare: quality signal rates', () => {
  const baseline = set(10, 0);
  const turns = baseline.user_turns;

  it('summarize gives each signal\'s count, rate per 100 user turns and sessions', () => {
    const candidate = set(10, 1);
    expect(candidate.signals.dead_air).toEqual({ count: 10, per_100_turns: (100 * 10) / turns, sessions_with: 10, seconds: 5 });
    expect(baseline.signals.dead_air).toBeUndefined();
  });

  it('fails when dead air grows past +1 per 100 turns; the other signals\' checks stay ok', () => {
    const candidate = set(10, 1);
    const cmp = compareSummaries(baseline, candidate, parseThresholds(['signal.dead_air.rate=+1', 'signal.talk_over_user.rate=20%', 'signal.slow_turn.rate=+5']));
    const byStage = Object.fromEntries(cmp.checks.map((c) => [c.stage, [c.status, c.baseline, c.candidate]]));
    expect(byStage['signal.dead_air']).toEqual(['fail', 0, (100 * 10) / turns]);
    expect(byStage['signal.talk_over_user']![0]).toBe('ok');
    expect(byStage['signal.slow_turn']![0]).toBe('ok');
    expect(cmp.failed).toBe(1);
    expect(compareSummaries(baseline, set(10, 0), parseThresholds(['signal.dead_air.rate=+1'])).failed).toBe(0);
  });

  it('a signal is compared by its rate only, a latency by a quantile', () => {
    expect(() => parseThresholds(['signal.dead_air.p95=10%'])).toThrow(ThresholdError);
    expect(() => parseThresholds(['e2e.rate=10%'])).toThrow(ThresholdError);
    expect(() => parseThresholds(['signal.dead_air.rate=+100ms'])).toThrow(ThresholdError);
  });
});

describe('compare: a general threshold covers the pipeline\'s latency stages only', () => {
  /** The demo set with an anchor_shift figure (seconds) at every quantile, as summarize puts it in its latency table. */
  const withShift = (shift: number) => {
    const summary = set(4, 0);
    summary.latency.anchor_shift = { count: 3, p50: shift, p95: shift, p99: shift, max: shift, mean: shift };
    return summary;
  };

  it('p95=15% checks every LATENCY_STAGES stage and leaves anchor_shift (a diagnostic around 0) alone', () => {
    // -5 ms -> +60 ms: "+1300%", and no regression of any wait the user has
    const before = withShift(-0.005);
    const cmp = compareSummaries(before, withShift(0.06), parseThresholds(['p95=15%']));
    expect(cmp.checks.map((c) => c.stage)).toEqual(LATENCY_STAGES.map((s) => s.key).filter((k) => before.latency[k]));
    expect(cmp.checks.length).toBeGreaterThan(4);
    expect(cmp.failed).toBe(0);
  });

  it('named explicitly, anchor_shift is checked: +65 ms fails a +10 ms limit', () => {
    const cmp = compareSummaries(withShift(-0.005), withShift(0.06), parseThresholds(['anchor_shift.p95=+10ms']));
    expect(cmp.checks.map((c) => [c.stage, c.status])).toEqual([['anchor_shift', 'fail']]);
  });
});
