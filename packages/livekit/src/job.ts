import { getJobContext, type JobContext } from '@livekit/agents';
import { basename } from 'node:path';

/**
 * Whether this process is a job process of a LiveKit agent worker. The SDK
 * forks each job into `job_proc_lazy_main` with an IPC channel; there it owns
 * the lifecycle (it ignores SIGTERM and drains the job on the worker's
 * request), so voicetrace follows the job's shutdown callbacks instead of
 * reacting to signals.
 */
export function isJobProcess(argv: readonly string[] = process.argv): boolean {
  return typeof process.send === 'function' && /^job_proc_lazy_main\.(c?js|mjs|ts)$/.test(basename(argv[1] ?? ''));
}

/** The job this code runs in (the SDK keeps it in async context), if any. */
export function currentJob(): JobContext | undefined {
  try {
    return getJobContext(false);
  } catch {
    return undefined;
  }
}

/**
 * The W3C `traceparent` the job was dispatched with: the job metadata as JSON
 * with a `traceparent` field (what `AgentDispatchClient.createDispatch(room,
 * agent, { metadata })` carries), or metadata that is a traceparent itself.
 */
export function traceparentOfJob(job: JobContext | undefined): string | undefined {
  const metadata = job?.job.metadata;
  if (!metadata) return undefined;
  const trimmed = metadata.trim();
  if (/^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/.test(trimmed)) return trimmed;
  try {
    const parsed = JSON.parse(trimmed) as { traceparent?: unknown };
    return typeof parsed?.traceparent === 'string' ? parsed.traceparent : undefined;
  } catch {
    return undefined;
  }
}
