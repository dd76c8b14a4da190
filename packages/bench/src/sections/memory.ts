import { runChild } from '../child.js';
import type { BenchConfig } from '../config.js';
import type { PathName } from '../pipelines.js';
import type { Row, Section } from '../rows.js';
import type { Sink } from '../sink.js';
import type { LiveResult, LongResult } from '../tasks/memory.js';

const KiB = 1024;
const MiB = 1024 * 1024;

/**
 * Memory: heap per live 10-turn call (each path its own process; what voicetrace adds is the
 * difference), the heap of one 10,000-turn call in trace-per-turn mode over time (flat after
 * warm-up?), and the heap voicetrace adds for `budgetSessions` live calls against a stated budget.
 */
export async function memorySection(sink: Sink, config: BenchConfig, log: (line: string) => void): Promise<Section> {
  const live = {} as Record<PathName, LiveResult>;
  const many = {} as Record<PathName, LiveResult>;
  for (const path of ['stock', 'voicetrace'] as PathName[]) {
    live[path] = await runChild<LiveResult>('live', { path, endpoint: sink.url, sessions: config.memorySessions, turns: 10 });
    many[path] = await runChild<LiveResult>('live', { path, endpoint: sink.url, sessions: config.budgetSessions, turns: 10 });
    log(`memory, ${path}: ${(live[path].bytesPerSession / KiB).toFixed(1)} KiB per live 10-turn call, ${((many[path].bytesPerSession * config.budgetSessions) / MiB).toFixed(1)} MiB for ${config.budgetSessions} 10-turn calls`);
  }
  const long = await runChild<LongResult>('long', { endpoint: sink.url, turns: config.longTurns, every: Math.max(1, Math.round(config.longTurns / 20)) });
  // flat after warm-up: the heap at the end against the heap at a fifth of the call
  const warm = long.series[Math.floor(long.series.length / 5)] ?? long.series[0]!;
  const last = long.series.at(-1)!;
  const growth = last[1] - warm[1];
  log(`memory, ${config.longTurns}-turn call: ${warm[1].toFixed(1)} MiB at turn ${warm[0]}, ${last[1].toFixed(1)} MiB at turn ${last[0]}`);
  const addedPerSession = (live.voicetrace.bytesPerSession - live.stock.bytesPerSession) / KiB;
  const addedMany = ((many.voicetrace.bytesPerSession - many.stock.bytesPerSession) * config.budgetSessions) / MiB;
  const rows: Row[] = [
    {
      id: 'memory_per_session',
      label: 'heap per live 10-turn call',
      unit: 'KiB',
      stock: live.stock.bytesPerSession / KiB,
      voicetrace: live.voicetrace.bytesPerSession / KiB,
      note: `voicetrace adds ${addedPerSession.toFixed(1)} KiB per call (${config.memorySessions} calls live at once; the stock figure is the simulated SDK side: its spans, contexts and conversation)`,
    },
    {
      id: 'memory_long_call',
      label: `heap of one ${config.longTurns}-turn call (turn mode)`,
      unit: 'MiB',
      voicetrace: last[1],
      digits: 1,
      target: 'flat after warm-up',
      met: growth < Math.max(1, warm[1] * 0.05),
      note: `${warm[1].toFixed(2)} MiB at turn ${warm[0]} -> ${last[1].toFixed(2)} MiB at turn ${last[0]} (${growth >= 0 ? '+' : ''}${growth.toFixed(2)} MiB; flat = under 5% or 1 MiB); series in RESULTS.md`,
    },
    {
      id: 'memory_budget',
      label: `heap voicetrace adds, ${config.budgetSessions} live calls`,
      unit: 'MiB',
      voicetrace: addedMany,
      digits: 1,
      target: `<= ${config.budgetMiB} MiB`,
      met: addedMany <= config.budgetMiB,
      note: `${config.budgetSessions} calls of 10 turns live in one process: ${((many.stock.bytesPerSession * config.budgetSessions) / MiB).toFixed(1)} MiB stock, ${((many.voicetrace.bytesPerSession * config.budgetSessions) / MiB).toFixed(1)} MiB with voicetrace`,
    },
  ];
  return { name: 'memory', rows, details: { live, many, long } };
}
