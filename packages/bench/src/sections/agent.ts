import { runChild } from '../child.js';
import type { BenchConfig } from '../config.js';
import type { Row, Section } from '../rows.js';
import type { Sink } from '../sink.js';
import { median } from '../stats.js';
import type { AgentResult, AgentVariant } from '../tasks/agent.js';

/**
 * The whole agent: CPU per user turn of the demo's real AgentSession with no tracing, the SDK's
 * stock tracing, and voicetrace (report, session report, metrics and logs on). Each variant in its
 * own process; the three run at the same time (same machine conditions), `agentRounds` times; medians.
 * `tracingUsPerTurn`: voicetrace's CPU per turn from the CPU rows, for the share it is of the agent's.
 */
export async function agentSection(sink: Sink, config: BenchConfig, log: (line: string) => void, added: { stock: number; voicetrace: number } | undefined): Promise<Section> {
  const variants: AgentVariant[] = ['none', 'stock', 'voicetrace'];
  const rounds: Record<AgentVariant, number[]> = { none: [], stock: [], voicetrace: [] };
  for (let round = 0; round < config.agentRounds; round++) {
    const results = await Promise.all(
      variants.map((variant) => runChild<AgentResult>('agent', { variant, endpoint: sink.url, sessions: config.agentSessions, turns: config.agentTurns, seed: 42 + round * 100 }, { timeoutMs: 300_000 })),
    );
    variants.forEach((variant, i) => rounds[variant].push(results[i]!.cpuUs / results[i]!.turns));
    log(`agent round ${round + 1}/${config.agentRounds}: ${variants.map((v) => `${v} ${(rounds[v].at(-1)! / 1000).toFixed(1)} ms`).join(', ')} per turn`);
  }
  const none = median(rounds.none);
  const stock = median(rounds.stock);
  const vt = median(rounds.voicetrace);
  const share = (vt - none) / none;
  const overStock = (vt - stock) / none;
  const voicetraceUsPerTurn = added?.voicetrace;
  const fromMicro = voicetraceUsPerTurn !== undefined ? voicetraceUsPerTurn / none : undefined;
  const spread = (v: AgentVariant): string => `${(Math.min(...rounds[v]) / 1000).toFixed(1)}-${(Math.max(...rounds[v]) / 1000).toFixed(1)}`;
  const rows: Row[] = [
    {
      id: 'agent_cpu_per_turn',
      label: 'agent CPU per turn: none / stock / voicetrace',
      unit: 'ms',
      stock: stock / 1000,
      voicetrace: vt / 1000,
      digits: 1,
      note: `no tracing ${(none / 1000).toFixed(1)} ms (rounds ${spread('none')}), stock ${spread('stock')}, voicetrace ${spread('voicetrace')} ms; ${config.agentSessions} real AgentSessions at once x ${config.agentTurns} turns per variant, ${config.agentRounds} rounds`,
    },
    {
      id: 'agent_share',
      label: 'voicetrace share of the agent\'s CPU',
      unit: '%',
      voicetrace: (fromMicro ?? share) * 100,
      digits: 2,
      target: '< 1%',
      met: (fromMicro ?? share) < 0.01,
      note:
        (fromMicro !== undefined
          ? `what voicetrace adds per turn in the CPU rows (${voicetraceUsPerTurn!.toFixed(0)} µs over no tracing: the OTel SDK, voicetrace, export; the stock path adds ${added!.stock.toFixed(0)} µs) / the untraced agent's CPU per turn (${(none / 1000).toFixed(1)} ms); `
          : '') +
        `difference of process medians: voicetrace - none ${(share * 100).toFixed(2)}%, voicetrace - stock ${(overStock * 100).toFixed(2)}% (within the rounds' spread: process-to-process noise is a few %)`,
    },
  ];
  return { name: 'agent', rows, details: { rounds } };
}
