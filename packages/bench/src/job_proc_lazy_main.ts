/**
 * The bench's child process. Its file name is the SDK's job process entry's, and it runs with an
 * IPC channel as job processes do, so `setupVoiceTrace` sets up exactly what it sets up in a
 * LiveKit job (the span journal included). The task comes in `BENCH_TASK`.
 */
import { TASKS } from './tasks/index.js';

const { task, args } = JSON.parse(process.env.BENCH_TASK ?? '{}') as { task: keyof typeof TASKS; args: unknown };
try {
  const run = TASKS[task] as ((args: unknown) => Promise<unknown>) | undefined;
  if (!run) throw new Error(`unknown task ${String(task)}`);
  const value = await run(args);
  process.send!({ type: 'result', ok: true, value }, () => process.exit(0));
} catch (error) {
  process.send!({ type: 'result', ok: false, error: (error as Error).stack ?? String(error) }, () => process.exit(1));
}
