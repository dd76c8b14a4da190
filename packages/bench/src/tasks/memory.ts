import { setImmediate as nextTick } from 'node:timers/promises';
import { pipeline, type PathName } from '../pipelines.js';
import type { SimulatedCall } from '../workload.js';

export interface LiveArgs {
  path: PathName;
  endpoint: string;
  sessions: number;
  turns: number;
}

export interface LiveResult {
  /** Heap held per live call (after GC), bytes. */
  bytesPerSession: number;
  sessions: number;
}

/** Calls whose turn is run between two flushes. */
const FLUSH_EVERY_CALLS = 100;

const gc = (): void => {
  for (let i = 0; i < 3; i++) global.gc?.();
};

/**
 * Heap per live call: `sessions` calls, each `turns` turns in and still going, every ended span
 * exported; the heap after a full GC, minus the heap before the calls, per call. `measured` is
 * called right after each of the two readings (scripts/heap-owners.mjs takes its snapshots there).
 */
export async function liveTask(args: LiveArgs, measured?: (when: 'before' | 'after') => void): Promise<LiveResult> {
  const p = pipeline(args.path, { endpoint: args.endpoint, maxQueueSize: 100_000 });
  // one call first, ended: module state, instruments and JIT are not counted per call
  const warm = p.newCall(-1);
  warm.start();
  for (let t = 0; t < args.turns; t++) warm.runTurn();
  warm.end();
  await p.flush();
  gc();
  const before = process.memoryUsage().heapUsed;
  measured?.('before');
  const live: SimulatedCall[] = [];
  for (let i = 0; i < args.sessions; i++) {
    const call = p.newCall(i);
    call.start();
    live.push(call);
  }
  for (let t = 0; t < args.turns; t++) {
    // exported as it goes, 100 calls' turns at a time (a backlog of ended spans is not what a live
    // call holds, and a flush of thousands of calls' spans at once exceeds the stock exporter's 30
    // requests in flight)
    for (let i = 0; i < live.length; i += FLUSH_EVERY_CALLS) {
      for (const call of live.slice(i, i + FLUSH_EVERY_CALLS)) call.runTurn();
      await p.flush();
    }
  }
  await p.flush();
  gc();
  const after = process.memoryUsage().heapUsed;
  measured?.('after');
  const result = { bytesPerSession: (after - before) / args.sessions, sessions: live.length };
  for (const call of live) call.end();
  await p.shutdown();
  return result;
}

export interface LongArgs {
  endpoint: string;
  turns: number;
  /** Heap samples every this many turns. */
  every: number;
}

export interface LongResult {
  /** [turns done, heap MiB after GC]. */
  series: Array<[number, number]>;
  cpuUsPerTurn: number;
}

/**
 * One call of `turns` turns in trace-per-turn mode (voicetrace's path): the heap after a full GC
 * every `every` turns. The call's context keeps its newest 40 messages (an agent that trims it), so
 * the SDK side stays flat and the series shows voicetrace's.
 */
export async function longTask(args: LongArgs): Promise<LongResult> {
  const p = pipeline('voicetrace', { endpoint: args.endpoint, traceMode: 'turn', maxQueueSize: 100_000 });
  const call = p.newCall(0, { maxMessages: 40 });
  call.start();
  const series: Array<[number, number]> = [];
  const cpu = process.cpuUsage();
  for (let t = 1; t <= args.turns; t++) {
    for (const step of call.turn()) {
      step();
      await nextTick();
    }
    if (t % args.every === 0) {
      await p.flush();
      gc();
      series.push([t, process.memoryUsage().heapUsed / 2 ** 20]);
    }
  }
  const used = process.cpuUsage(cpu);
  call.end();
  await p.shutdown();
  return { series, cpuUsPerTurn: (used.user + used.system) / args.turns };
}
