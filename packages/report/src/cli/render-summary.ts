import { WAIT_CONTRIBUTIONS, WAIT_OWNER_LABELS } from '@voicetrace/conventions';
import { formatCount, formatLatency, formatPercent, formatUsd } from '../html/format.js';
import type { SessionSetSummary } from './summary.js';
import { textTable } from './table.js';

/** Each wait contribution's owner, in words. */
const WAIT_OWNER: Readonly<Record<string, string>> = Object.fromEntries(WAIT_CONTRIBUTIONS.map((c) => [c.key, WAIT_OWNER_LABELS[c.owner]]));

/** `voicetrace summarize`'s table output. */
export function renderSummary(s: SessionSetSummary, problemLimit = 20): string {
  const lines: string[] = [];
  const i = s.inputs;
  lines.push(
    `voicetrace summarize: ${plural(s.sessions, 'session')} from ${plural(i.files, 'file')} (${plural(i.report_files, 'report')}, ${plural(i.traces_files, 'traces file')}); ` +
      `${plural(s.user_turns, 'user turn')}, ${plural(s.replies, 'reply', 'replies')}` +
      (i.bad_files ? `; ${plural(i.bad_files, 'bad file')} skipped (see below)` : '') +
      (i.duplicate_sessions ? `; ${plural(i.duplicate_sessions, 'duplicate session')} counted once` : ''),
  );
  // one session reads the model's percentiles over all its replies; across sessions, the retained turns are pooled
  if (s.turns_dropped && s.sessions > 1) lines.push(`note: ${formatCount(s.turns_dropped)} turns of long calls are not in the reports' per-turn detail, so not in the percentiles below`);
  const stats = (p: { count: number; p50?: number; p95?: number; p99?: number; max?: number; mean?: number }) => [formatCount(p.count), formatLatency(p.p50), formatLatency(p.p95), formatLatency(p.p99), formatLatency(p.max), formatLatency(p.mean)];
  if (Object.keys(s.latency).length) {
    lines.push('', 'Latency per stage (every reply):');
    lines.push(textTable([['stage', 'n', 'p50', 'p95', 'p99', 'max', 'mean'], ...Object.entries(s.latency).map(([k, p]) => [k, ...stats(p)])], ['l', 'r', 'r', 'r', 'r', 'r', 'r']));
  }
  if (Object.keys(s.wait).length) {
    lines.push('', 'Where the wait went (contributions to e2e; share of all e2e wait):');
    lines.push(
      textTable(
        [['contribution', 'owner', 'share', 'n', 'p50', 'p95', 'p99', 'max', 'mean'], ...Object.entries(s.wait).map(([k, p]) => [k, WAIT_OWNER[k] ?? '', formatPercent(p.share), ...stats(p)])],
        ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
      ),
    );
  }
  const c = s.cost;
  lines.push('', `Cost (estimates at list prices): ${formatUsd(c.total)} in total; per session p50 ${formatUsd(c.per_session.p50)}, p95 ${formatUsd(c.per_session.p95)}, p99 ${formatUsd(c.per_session.p99)}, max ${formatUsd(c.per_session.max)}, mean ${formatUsd(c.per_session.mean)}`);
  if (c.per_model.length) {
    const kind: Record<string, string> = { llm_usage: 'LLM', tts_usage: 'TTS', stt_usage: 'STT', interruption_usage: 'interruption' };
    lines.push(
      textTable(
        [['kind', 'provider/model', 'sessions', 'requests', 'cost', 'share'], ...c.per_model.map((m) => [kind[m.type] ?? m.type, `${m.provider}/${m.model}`, formatCount(m.sessions), formatCount(m.requests), formatUsd(m.cost), c.total > 0 ? formatPercent(m.cost / c.total) : '–'])],
        ['l', 'l', 'r', 'r', 'r', 'r'],
      ),
    );
  }
  const n = s.interruptions;
  lines.push('', `Interruptions: ${formatCount(n.count)} of ${formatCount(n.replies)} replies (${formatPercent(n.rate ?? undefined)}); ${formatCount(n.sessions_with)} of ${formatCount(s.sessions)} sessions had at least one`);
  const signals = Object.entries(s.signals);
  lines.push('', signals.length ? 'Conversation quality signals:' : 'Conversation quality signals: none fired');
  if (signals.length) {
    lines.push(
      textTable(
        [
          ['signal', 'count', 'per 100 turns', 'sessions', 'seconds'],
          ...signals.map(([name, x]) => [name, formatCount(x.count), x.per_100_turns === null ? '–' : x.per_100_turns.toFixed(1), formatCount(x.sessions_with), x.seconds !== undefined ? x.seconds.toFixed(2) : '']),
        ],
        ['l', 'r', 'r', 'r', 'r'],
      ),
    );
  }
  if (s.slowest.length) {
    lines.push('', `Slowest replies (e2e):`);
    lines.push(
      textTable(
        [
          ['e2e', 'session', 'turn', 'agent', 'trace id', 'span id', 'link'],
          ...s.slowest.map((t) => [formatLatency(t.e2e), t.session_id, String(t.turn_index), t.agent ?? '', t.trace_id ?? '', t.span_id ?? '', Object.values(t.links ?? {})[0] ?? '']),
        ],
        ['r', 'l', 'r', 'l', 'l', 'l', 'l'],
      ),
    );
  }
  if (s.problems.length) {
    lines.push('', `Problems (${formatCount(s.problems.length)}):`);
    for (const p of s.problems.slice(0, problemLimit)) lines.push(`  ${problemText(p)}`);
    if (s.problems.length > problemLimit) lines.push(`  ... and ${formatCount(s.problems.length - problemLimit)} more (--json lists them all)`);
  }
  return lines.join('\n') + '\n';
}

export function problemText(p: { file?: string | undefined; line?: number | undefined; session?: string | undefined; reason: string }): string {
  const where = p.file ? `${p.file}${p.line !== undefined ? `:${p.line}` : ''}: ` : '';
  return `${where}${p.session ? `session ${p.session}: ` : ''}${p.reason}`;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}
