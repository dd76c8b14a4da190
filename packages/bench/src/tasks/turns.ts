import { setImmediate as nextTick } from 'node:timers/promises';
import { writeFileSync } from 'node:fs';
import { mark } from '../child.js';
import { startProfiling } from '../profile.js';
import { pipeline, type PathName, type PipelineOptions } from '../pipelines.js';
import type { SimulatedCall } from '../workload.js';

export interface TurnsArgs {
  path: PathName;
  endpoint: string;
  /** Calls measured, `concurrency` at a time (their turns interleaved). */
  sessions: number;
  turns: number;
  concurrency: number;
  /** Calls run first, unmeasured (JIT, connections). */
  warmupSessions: number;
  /** Write a CPU profile of the measured part here. */
  profile?: string | undefined;
  /** setupVoiceTrace options over the bench's (voicetrace's path with features off). */
  setup?: PipelineOptions['setup'];
}

export interface TurnsResult {
  cpuUs: number;
  wallMs: number;
  turns: number;
  sdkSpans: number;
}

/**
 * CPU of tracing calls as fast as the process can: `sessions` calls of `turns` turns, ended, and
 * every span exported (the flush is inside the measurement). The parent reads the sink's counters
 * at the `start` and `end` marks.
 */
export async function turnsTask(args: TurnsArgs): Promise<TurnsResult> {
  const p = pipeline(args.path, { endpoint: args.endpoint, maxQueueSize: 1_000_000, setup: args.setup });
  let index = 0;
  const runCalls = async (count: number): Promise<{ turns: number; sdkSpans: number }> => {
    let turns = 0;
    let sdkSpans = 0;
    for (let done = 0; done < count; done += args.concurrency) {
      const calls: SimulatedCall[] = [];
      for (let i = 0; i < Math.min(args.concurrency, count - done); i++) {
        const call = p.newCall(index++);
        call.start();
        calls.push(call);
      }
      for (let t = 0; t < args.turns; t++) {
        // each step of the turn (the user speaks, stops, the reply starts, ends) in its own task, as
        // in a real call, where they are hundreds of milliseconds apart
        const steps = calls.map((call) => call.turn());
        for (let k = 0; k < steps[0]!.length; k++) {
          for (const turn of steps) turn[k]!();
          await nextTick();
        }
        turns += calls.length;
      }
      for (const call of calls) {
        call.end();
        sdkSpans += call.sdkSpans;
      }
      await nextTick();
    }
    return { turns, sdkSpans };
  };
  await runCalls(args.warmupSessions);
  await p.flush();
  global.gc?.();
  await mark('start');
  const stopProfiling = args.profile ? await startProfiling() : undefined;
  const cpu = process.cpuUsage();
  const started = performance.now();
  const { turns, sdkSpans } = await runCalls(args.sessions);
  await p.flush();
  const used = process.cpuUsage(cpu);
  const wallMs = performance.now() - started;
  if (stopProfiling) writeFileSync(args.profile!, JSON.stringify(await stopProfiling()));
  await mark('end');
  await p.shutdown();
  return { cpuUs: used.user + used.system, wallMs, turns, sdkSpans };
}
