import { fork, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

/** A task's request for the parent to do something at a point of its run (e.g. read the sink's counters). */
export interface Mark {
  type: 'mark';
  name: string;
}

/** Options of {@link runChild}. */
export interface ChildOptions {
  /** Extra node flags (e.g. `--cpu-prof`). */
  execArgv?: string[] | undefined;
  env?: Record<string, string> | undefined;
  /** Answers the child's marks (the child waits for the answer). */
  onMark?: ((name: string) => unknown) | undefined;
  /** Kills the child after this long (default 10 min). */
  timeoutMs?: number | undefined;
  /** Pins the child (all its threads) to this CPU with `taskset`, on a machine with more than one. */
  pin?: number | undefined;
}

/** The child entry point: named like the SDK's job process, so setupVoiceTrace treats it as one (span journal on). */
const CHILD_ENTRY = fileURLToPath(new URL('./job_proc_lazy_main.js', import.meta.url));

/**
 * Runs one bench task in a fresh Node process (so module-level state, JIT and heap of one path
 * never leak into the other's figures) and resolves with its result.
 */
export function runChild<T>(task: string, args: unknown, options: ChildOptions = {}): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = fork(CHILD_ENTRY, [], {
      execArgv: ['--expose-gc', ...(options.execArgv ?? [])],
      env: { ...process.env, ...options.env, BENCH_TASK: JSON.stringify({ task, args }) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    if (options.pin !== undefined && availableParallelism() > 1 && child.pid) spawnSync('taskset', ['-a', '-cp', String(options.pin), String(child.pid)]);
    let result: { ok: true; value: T } | { ok: false; error: string } | undefined;
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 600_000);
    child.on('message', (message: Mark | { type: 'result'; ok: boolean; value?: T; error?: string }) => {
      if (message.type === 'mark') {
        Promise.resolve(options.onMark?.(message.name)).then((value) => child.send({ type: 'marked', name: message.name, value }));
        return;
      }
      result = message.ok ? { ok: true, value: message.value as T } : { ok: false, error: message.error ?? 'failed' };
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (result?.ok) resolve(result.value);
      else reject(new Error(`bench task ${task} failed (${signal ?? `exit ${code}`}): ${result && !result.ok ? result.error : 'no result'}`));
    });
  });
}

/** In a child: asks the parent to act at `name` and waits for its answer. */
export function mark<T = unknown>(name: string): Promise<T> {
  return new Promise((resolve) => {
    const onMessage = (message: { type: string; name: string; value: T }): void => {
      if (message.type !== 'marked' || message.name !== name) return;
      process.off('message', onMessage);
      resolve(message.value);
    };
    process.on('message', onMessage);
    process.send!({ type: 'mark', name });
  });
}
