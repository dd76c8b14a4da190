import { runChild } from '../child.js';
import type { BenchConfig } from '../config.js';
import type { PathName } from '../pipelines.js';
import type { Section } from '../rows.js';
import type { Sink } from '../sink.js';
import type { LoopResult } from '../tasks/loop.js';

/** Event-loop delay p99 with many calls at once in one process, stock then voicetrace (each its own process). */
export async function loopSection(sink: Sink, config: BenchConfig, log: (line: string) => void): Promise<Section> {
  const results = {} as Record<PathName, LoopResult>;
  for (const path of ['stock', 'voicetrace'] as PathName[]) {
    results[path] = await runChild<LoopResult>('loop', { path, endpoint: sink.url, sessions: config.loopSessions, seconds: config.loopSeconds });
    log(`event loop, ${path}: p99 ${results[path].p99Ms.toFixed(2)} ms over ${results[path].turns} turns`);
  }
  const added = results.voicetrace.p99Ms - results.stock.p99Ms;
  return {
    name: 'loop',
    rows: [
      {
        id: 'loop_p99',
        label: `event-loop delay p99, ${config.loopSessions} sessions`,
        unit: 'ms',
        stock: results.stock.p99Ms,
        voicetrace: results.voicetrace.p99Ms,
        digits: 2,
        target: '< +2 ms',
        met: added < 2,
        note: `voicetrace adds ${added.toFixed(2)} ms (p50 ${results.stock.p50Ms.toFixed(2)} / ${results.voicetrace.p50Ms.toFixed(2)} ms, max ${results.stock.maxMs.toFixed(1)} / ${results.voicetrace.maxMs.toFixed(1)} ms; the delay histogram counts the 1 ms sampling interval)`,
      },
    ],
    details: { results },
  };
}
