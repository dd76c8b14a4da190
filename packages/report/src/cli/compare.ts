import { LATENCY_STAGES, SIGNAL_NAMES, WAIT_CONTRIBUTIONS } from '@voicetrace/conventions';
import { formatLatency, formatLatencyChange, formatPercent, formatUsd } from '../html/format.js';
import type { SessionSetSummary, StageStats } from './summary.js';
import { textTable } from './table.js';

/** `rate`: a quality signal's occurrences per 100 user turns (`signal.<name>.rate`). */
export const QUANTILES = ['p50', 'p95', 'p99', 'max', 'mean', 'rate'] as const;
export type Quantile = (typeof QUANTILES)[number];

/** One limit on how much a figure may grow from the baseline to the candidate. */
export interface Threshold {
  /** A stage (`e2e`, `llm_ttft`, `wait.playout_start`, `cost`, `signal.dead_air`); absent: every latency stage. */
  stage?: string;
  quantile: Quantile;
  /** `relative`: a fraction of the baseline (0.15 for 15%); `absolute`: seconds (USD for `cost`). */
  kind: 'relative' | 'absolute';
  limit: number;
  /** As the user wrote it. */
  text: string;
}

/** A threshold the user wrote wrong. */
export class ThresholdError extends Error {}

/** The latency stages a general threshold (`p95=15%`) applies to, and the other known stage names. */
export const LATENCY_STAGE_NAMES: string[] = LATENCY_STAGES.map((s) => s.key);
export const WAIT_STAGE_NAMES: string[] = WAIT_CONTRIBUTIONS.map((c) => `wait.${c.key}`);
/** The quality signals, compared by their rate per 100 user turns. */
export const SIGNAL_STAGE_NAMES: string[] = SIGNAL_NAMES.map((name) => `signal.${name}`);

/**
 * Parses `--max-regression` values: `p95=15%` (every latency stage), `llm_ttft.p95=20%`,
 * `e2e.p50=+100ms`, `wait.playout_start.p95=+50ms`, `cost.mean=10%`, `cost.p95=+$0.01`,
 * `signal.dead_air.rate=+1` (a quality signal: at most 1 more per 100 user turns) or `signal.talk_over_user.rate=20%`;
 * several may be given comma-separated. Absolute values: `ms`, `s`, or a bare number of seconds (USD for cost,
 * occurrences per 100 user turns for a signal's rate).
 */
export function parseThresholds(specs: readonly string[]): Threshold[] {
  const out: Threshold[] = [];
  for (const spec of specs.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean)) {
    const eq = spec.indexOf('=');
    if (eq <= 0) throw new ThresholdError(`"${spec}": expected [stage.]quantile=limit, e.g. p95=15% or e2e.p50=+100ms`);
    const key = spec.slice(0, eq).trim();
    const value = spec.slice(eq + 1).trim();
    const dot = key.lastIndexOf('.');
    const quantile = (dot === -1 ? key : key.slice(dot + 1)) as Quantile;
    const stage = dot === -1 ? undefined : key.slice(0, dot);
    if (!QUANTILES.includes(quantile)) throw new ThresholdError(`"${spec}": "${quantile}" is not a quantile (one of ${QUANTILES.join(', ')})`);
    if (stage !== undefined && !/^[a-z0-9_.]+$/.test(stage)) throw new ThresholdError(`"${spec}": "${stage}" is not a stage name`);
    const signal = stage?.startsWith('signal.') === true;
    if (signal !== (quantile === 'rate')) throw new ThresholdError(`"${spec}": a quality signal is compared by its rate (signal.<name>.rate=...), a latency stage by a quantile`);
    const limit = signal && /ms|s$/.test(value) ? undefined : parseLimit(value, stage === 'cost' || signal);
    if (!limit) throw new ThresholdError(`"${spec}": "${value}" is not a limit (15%, +100ms, +0.1s, 0.1${stage === 'cost' ? ', +$0.01' : ''})`);
    out.push({ ...(stage !== undefined ? { stage } : {}), quantile, ...limit, text: spec });
  }
  return out;
}

function parseLimit(value: string, usd: boolean): { kind: Threshold['kind']; limit: number } | undefined {
  const m = /^\+?(\$)?(\d+(?:\.\d+)?|\.\d+)\s*(%|ms|s)?$/.exec(value);
  if (!m) return undefined;
  const [, dollar, number, unit] = m;
  const n = Number(number);
  if (unit === '%') return dollar ? undefined : { kind: 'relative', limit: n / 100 };
  if (dollar && !usd) return undefined; // dollars only for the cost stage
  if (usd) return unit ? undefined : { kind: 'absolute', limit: n };
  return { kind: 'absolute', limit: unit === 'ms' ? n / 1000 : n };
}

/** One figure of one stage in both sets. */
export interface StageDelta {
  stage: string;
  group: 'latency' | 'wait' | 'cost' | 'signal';
  quantile: Quantile;
  baseline?: number;
  candidate?: number;
  /** candidate - baseline. */
  delta?: number;
  /** delta / baseline (absent when the baseline is 0). */
  relative?: number;
  baselineCount: number;
  candidateCount: number;
}

/** A threshold applied to one stage. */
export interface Check extends StageDelta {
  threshold: Threshold;
  /** `fail`: past the limit, or the stage vanished from the candidate; `no-data`: nothing to compare. */
  status: 'ok' | 'fail' | 'no-data';
}

/** `voicetrace compare`'s result (its `--json` output). */
export interface Comparison {
  baseline: { sessions: number; replies: number; bad_files: number };
  candidate: { sessions: number; replies: number; bad_files: number };
  stages: StageDelta[];
  checks: Check[];
  failed: number;
}

/**
 * A relative limit on a latency figure fails only when the change is also larger than this (seconds):
 * a stage that takes 0-2 ms (your `onUserTurnCompleted`, playout start) moves by whole percents from
 * one millisecond of scheduling noise, which is no regression.
 */
export const DEFAULT_MIN_CHANGE_SECONDS = 0.005;

/** Options of {@link compareSummaries}. */
export interface CompareOptions {
  /** Seconds a latency figure must grow by, besides its relative limit, to fail (default 5 ms). Absolute limits and cost ignore it. */
  minChangeSeconds?: number | undefined;
}

/** Sets two summaries side by side and applies the thresholds. Throws ThresholdError for an unknown stage. */
export function compareSummaries(baseline: SessionSetSummary, candidate: SessionSetSummary, thresholds: readonly Threshold[], options: CompareOptions = {}): Comparison {
  const minChange = options.minChangeSeconds ?? DEFAULT_MIN_CHANGE_SECONDS;
  const groups = (s: SessionSetSummary): Map<string, { group: StageDelta['group']; stats: StageStats }> => {
    const m = new Map<string, { group: StageDelta['group']; stats: StageStats }>();
    for (const [k, v] of Object.entries(s.latency)) m.set(k, { group: 'latency', stats: v });
    for (const [k, v] of Object.entries(s.wait)) m.set(`wait.${k}`, { group: 'wait', stats: v });
    if (s.sessions) m.set('cost', { group: 'cost', stats: s.cost.per_session });
    // a signal that never fired over some user turns has a rate of 0, not no data
    if (s.user_turns) for (const name of SIGNAL_NAMES) {
      const x = s.signals?.[name];
      m.set(`signal.${name}`, { group: 'signal', stats: { count: x?.count ?? 0, rate: x?.per_100_turns ?? 0 } as StageStats });
    }
    return m;
  };
  const b = groups(baseline);
  const c = groups(candidate);
  const names = [...new Set([...b.keys(), ...c.keys()])];
  const order = [...LATENCY_STAGE_NAMES, ...WAIT_STAGE_NAMES, 'cost', ...SIGNAL_STAGE_NAMES];
  names.sort((x, y) => (order.indexOf(x) + 1 || 999) - (order.indexOf(y) + 1 || 999) || x.localeCompare(y));
  const delta = (stage: string, quantile: Quantile): StageDelta => {
    const bs = b.get(stage);
    const cs = c.get(stage);
    const group = (bs ?? cs)?.group ?? (stage === 'cost' ? 'cost' : stage.startsWith('wait.') ? 'wait' : stage.startsWith('signal.') ? 'signal' : 'latency');
    const bv = (bs?.stats as Record<string, number | undefined> | undefined)?.[quantile];
    const cv = (cs?.stats as Record<string, number | undefined> | undefined)?.[quantile];
    const out: StageDelta = { stage, group, quantile, baselineCount: bs?.stats.count ?? 0, candidateCount: cs?.stats.count ?? 0 };
    if (bv !== undefined) out.baseline = bv;
    if (cv !== undefined) out.candidate = cv;
    if (bv !== undefined && cv !== undefined) {
      out.delta = cv - bv;
      if (bv !== 0) out.relative = (cv - bv) / bv;
    }
    return out;
  };
  const stages = names.flatMap((stage) => (stage.startsWith('signal.') ? (['rate'] as const) : (['p50', 'p95', 'p99'] as const)).map((q) => delta(stage, q)));

  const known = new Set([...order, ...names]);
  const chosen = new Map<string, Threshold>(); // `${stage}|${quantile}` -> threshold; specific beats general
  for (const t of thresholds) {
    if (t.stage !== undefined && !known.has(t.stage)) {
      throw new ThresholdError(`"${t.text}": unknown stage "${t.stage}" (stages: ${[...LATENCY_STAGE_NAMES, 'wait.<contribution>', 'cost', 'signal.<signal>'].join(', ')})`);
    }
  }
  for (const t of thresholds.filter((t) => t.stage === undefined)) {
    // the pipeline's stages only: anchor_shift (in the latency table) is a diagnostic around 0, where a percentage means nothing
    for (const stage of names.filter((n) => LATENCY_STAGE_NAMES.includes(n))) chosen.set(`${stage}|${t.quantile}`, { ...t, stage });
  }
  for (const t of thresholds.filter((t) => t.stage !== undefined)) chosen.set(`${t.stage}|${t.quantile}`, t);
  const checks: Check[] = [];
  for (const t of chosen.values()) {
    const d = delta(t.stage!, t.quantile);
    let status: Check['status'];
    if (d.baseline === undefined && d.candidate === undefined) status = 'no-data';
    else if (d.candidate === undefined) status = 'fail'; // the stage vanished from the candidate
    else if (d.baseline === undefined) status = 'no-data';
    else if (t.kind === 'absolute') status = d.delta! > t.limit + 1e-12 ? 'fail' : 'ok';
    else if (d.group !== 'cost' && d.group !== 'signal' && d.delta! <= minChange + 1e-12) status = 'ok'; // within the noise floor
    else status = d.baseline > 0 ? (d.delta! / d.baseline > t.limit + 1e-12 ? 'fail' : 'ok') : d.delta! > 1e-12 ? 'fail' : 'ok';
    checks.push({ ...d, threshold: t, status });
  }
  checks.sort((x, y) => (order.indexOf(x.stage) + 1 || 999) - (order.indexOf(y.stage) + 1 || 999) || QUANTILES.indexOf(x.quantile) - QUANTILES.indexOf(y.quantile));
  return {
    baseline: { sessions: baseline.sessions, replies: baseline.replies, bad_files: baseline.inputs.bad_files },
    candidate: { sessions: candidate.sessions, replies: candidate.replies, bad_files: candidate.inputs.bad_files },
    stages,
    checks,
    failed: checks.filter((c) => c.status === 'fail').length,
  };
}

/** The comparison as text: every stage side by side, then the checks and the verdict. */
export function renderComparison(cmp: Comparison, names: { baseline: string; candidate: string }): string {
  const value = (d: StageDelta, v: number | undefined) => (d.group === 'cost' ? formatUsd(v) : d.group === 'signal' ? formatRate(v) : formatLatency(v));
  const change = (d: StageDelta) => {
    if (d.delta === undefined) return d.baseline === undefined ? 'new' : 'missing';
    const sign = d.delta > 0 ? '+' : d.delta < 0 ? '-' : '';
    const abs = d.group === 'cost' ? `${sign}${formatUsd(Math.abs(d.delta))}` : d.group === 'signal' ? `${sign}${formatRate(Math.abs(d.delta))}` : formatLatencyChange(d.delta);
    return d.relative !== undefined ? `${abs} (${d.relative > 0 ? '+' : ''}${formatPercent(d.relative)})` : abs;
  };
  const lines: string[] = [];
  lines.push(`voicetrace compare: baseline ${names.baseline} (${cmp.baseline.sessions} sessions, ${cmp.baseline.replies} replies) vs candidate ${names.candidate} (${cmp.candidate.sessions} sessions, ${cmp.candidate.replies} replies)`);
  const checkOf = new Map(cmp.checks.map((c) => [`${c.stage}|${c.quantile}`, c]));
  const headings = { latency: 'Latency per stage (every reply):', wait: 'Wait contributions (replies that had them):', cost: 'Cost per session:', signal: 'Quality signals (per 100 user turns):' } as const;
  for (const group of ['latency', 'wait', 'cost', 'signal'] as const) {
    const rows = cmp.stages.filter((s) => s.group === group);
    if (!rows.length) continue;
    lines.push('', headings[group]);
    const table: string[][] = [['stage', 'q', 'n base/cand', 'baseline', 'candidate', 'change', 'limit', 'result']];
    let last = '';
    for (const d of rows) {
      const check = checkOf.get(`${d.stage}|${d.quantile}`);
      table.push([
        d.stage === last ? '' : d.stage,
        d.quantile,
        d.stage === last ? '' : `${d.baselineCount}/${d.candidateCount}`,
        value(d, d.baseline),
        value(d, d.candidate),
        change(d),
        check ? limitText(check.threshold, d.group) : '',
        check ? (check.status === 'fail' ? 'FAIL' : check.status === 'ok' ? 'ok' : 'no data') : '',
      ]);
      last = d.stage;
    }
    lines.push(textTable(table, ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'l']));
  }
  // checks on quantiles not shown above (max, mean)
  const extra = cmp.checks.filter((c) => !['p50', 'p95', 'p99', 'rate'].includes(c.quantile));
  if (extra.length) {
    lines.push('', 'Other checks:');
    lines.push(
      textTable(
        [['stage', 'q', 'baseline', 'candidate', 'change', 'limit', 'result'], ...extra.map((c) => [c.stage, c.quantile, value(c, c.baseline), value(c, c.candidate), change(c), limitText(c.threshold, c.group), c.status === 'fail' ? 'FAIL' : c.status === 'ok' ? 'ok' : 'no data'])],
        ['l', 'l', 'r', 'r', 'r', 'r', 'l'],
      ),
    );
  }
  lines.push('');
  if (!cmp.checks.length) lines.push('No thresholds given (--max-regression): nothing to fail on.');
  else if (cmp.failed) {
    const failed = cmp.checks.filter((c) => c.status === 'fail').map((c) => `${c.stage} ${c.quantile} ${c.delta !== undefined ? change(c) : 'missing from the candidate'} > ${limitText(c.threshold, c.group)}`);
    lines.push(`REGRESSION: ${cmp.failed} of ${cmp.checks.length} checks past their limit: ${failed.join('; ')}`);
  } else {
    const noData = cmp.checks.filter((c) => c.status === 'no-data').length;
    lines.push(`OK: ${cmp.checks.length - noData} checks within their limits${noData ? ` (${noData} without data in both sets)` : ''}.`);
  }
  return lines.join('\n') + '\n';
}

function limitText(t: Threshold, group: StageDelta['group']): string {
  if (t.kind === 'relative') return `+${formatPercent(t.limit).replace(/\.0%$/, '%')}`;
  return group === 'cost' ? `+${formatUsd(t.limit)}` : group === 'signal' ? `+${formatRate(t.limit)}` : `+${formatLatency(t.limit)}`;
}

/** Occurrences per 100 user turns. */
function formatRate(v: number | undefined): string {
  return v === undefined ? '–' : `${v.toFixed(2)}/100`;
}
