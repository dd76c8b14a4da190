import { startCollector, repoRoot, type CollectorHandle } from '@voicetrace/test-backends';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The Collector binary scripts/build-collector.sh caches, when it is there: `VOICETRACE_OTELCOL`, else
 * what the script prints with `--cached` (it owns the cache key). Never builds (minutes): the bench
 * skips its Collector rows instead, and says so.
 */
export function cachedCollectorBinary(): { path: string } | { missing: string } {
  const preset = process.env.VOICETRACE_OTELCOL;
  if (preset) return existsSync(preset) ? { path: preset } : { missing: `VOICETRACE_OTELCOL=${preset} does not exist` };
  const cached = spawnSync('bash', [join(repoRoot(), 'scripts/build-collector.sh'), '--cached'], { encoding: 'utf8' });
  const path = cached.stdout?.trim();
  if (cached.status === 0 && path) return { path };
  return { missing: `${cached.stderr?.trim() || 'no cached Collector binary'}: run scripts/build-collector.sh (takes minutes) or set VOICETRACE_OTELCOL` };
}

/** A running Collector (collector-config/sidecar.yaml), optionally pinned to one CPU. */
export interface BenchCollector {
  handle: CollectorHandle;
  /** OTLP/HTTP base URL. */
  url: string;
  /** The CPU it is pinned to, when pinned. */
  cpu: number | undefined;
  /** CPU seconds the Collector process used so far (all threads, from /proc). */
  cpuSeconds(): number;
  /** Resident memory, MiB. */
  rssMiB(): number;
  /** A counter of its own metrics (summed over label sets), e.g. `otelcol_receiver_accepted_spans`. */
  metric(name: string): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Starts the sidecar Collector with `GOMAXPROCS` threads and, when the machine has more than one CPU,
 * pins all its threads to the last CPU (`taskset`), so what it sustains is one core's worth.
 */
export async function startBenchCollector(binary: string, options: { gomaxprocs?: number; pin?: boolean } = {}): Promise<BenchCollector> {
  process.env.VOICETRACE_OTELCOL = binary;
  const handle = await startCollector({
    configFiles: ['sidecar.yaml'],
    env: { GOMAXPROCS: String(options.gomaxprocs ?? 1), VOICETRACE_LOG_LEVEL: 'warn', VOICETRACE_INTERNAL_METRICS_LEVEL: 'detailed' },
  });
  const pid = handle.pid!;
  let cpu: number | undefined;
  const cpus = Number(spawnSync('nproc', { encoding: 'utf8' }).stdout.trim()) || 1;
  if (options.pin !== false && cpus > 1 && spawnSync('taskset', ['-a', '-cp', String(cpus - 1), String(pid)]).status === 0) cpu = cpus - 1;
  const ticks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  return {
    handle,
    url: handle.otlpHttpUrl,
    cpu,
    cpuSeconds: () => {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return (Number(fields[11]) + Number(fields[12])) / ticks;
    },
    rssMiB: () => {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
    },
    metric: async (name) => {
      const families = await handle.internalMetrics();
      return sumMetric(families, name);
    },
    stop: () => handle.stop(),
  };
}

/** Sums a Prometheus metric's samples over label sets (`name` or `name_total`). */
function sumMetric(samples: ReadonlyArray<{ metric: Record<string, string>; value: number }>, name: string): number {
  let total = 0;
  for (const s of samples) if (s.metric.__name__ === name || s.metric.__name__ === `${name}_total`) total += s.value;
  return total;
}
