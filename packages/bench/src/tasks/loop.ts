import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { pipeline, type PathName } from '../pipelines.js';
import type { SimulatedCall } from '../workload.js';

export interface LoopArgs {
  path: PathName;
  endpoint: string;
  sessions: number;
  /** Seconds measured, after the calls are under way. */
  seconds: number;
}

export interface LoopResult {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  turns: number;
  cpuUsPerTurn: number;
}

/** A turn's steps as a call paces them, in ms before each: the user speaks 1.8 s, the reply starts 0.6 s after, plays 3.4 s, the user waits 1 s. */
const STEP_DELAYS_MS = [1000, 1800, 600, 3400];

/**
 * Event-loop delay with `sessions` calls at once in this process, each at a real call's pace
 * (a turn every ~7 s, steps spread out, calls out of phase), exporting as usual.
 */
export async function loopTask(args: LoopArgs): Promise<LoopResult> {
  const p = pipeline(args.path, { endpoint: args.endpoint, maxQueueSize: 100_000 });
  let stopping = false;
  let turns = 0;
  let counting = false;
  const runCall = async (index: number): Promise<void> => {
    await sleep(Math.random() * 7000);
    const call: SimulatedCall = p.newCall(index);
    call.start();
    while (!stopping) {
      for (const [k, step] of call.turn().entries()) {
        await sleep(STEP_DELAYS_MS[k]! * (0.8 + Math.random() * 0.4));
        step();
      }
      if (counting) turns++;
    }
    call.end();
  };
  const calls = Array.from({ length: args.sessions }, (_, i) => runCall(i));
  // every call started and in its stride
  await sleep(8000);
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  counting = true;
  const cpu = process.cpuUsage();
  histogram.enable();
  await sleep(args.seconds * 1000);
  histogram.disable();
  const used = process.cpuUsage(cpu);
  counting = false;
  stopping = true;
  await Promise.all(calls);
  await p.shutdown();
  return {
    p50Ms: histogram.percentile(50) / 1e6,
    p99Ms: histogram.percentile(99) / 1e6,
    maxMs: histogram.max / 1e6,
    turns,
    cpuUsPerTurn: turns ? (used.user + used.system) / turns : 0,
  };
}
