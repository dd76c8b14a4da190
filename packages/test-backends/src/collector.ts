import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinary } from './binaries.js';
import { parsePrometheusText } from './metrics-text.js';
import { collectorConfigPath } from './paths.js';
import { freePorts, hermeticEnv, httpStatus, makeWorkDir, ManagedProcess } from './process.js';
import type { CollectorHandle, CollectorOptions } from './types.js';

/**
 * Starts voicetrace's Collector with `configFiles` (default `sidecar.yaml`; overlays such as
 * `overlays/jaeger.yaml` are merged in order) on free loopback ports, with its persistent queue
 * in a fresh directory, and waits for its health_check. The harness sets the VOICETRACE_*
 * port variables and VOICETRACE_QUEUE_DIR; `env` adds backend endpoints and switches.
 */
export async function startCollector(opts: CollectorOptions = {}): Promise<CollectorHandle> {
  const bin = await requireBinary('collector');
  const [otlpGrpc, otlpHttp, health, prometheus, internalMetrics] = (await freePorts(5)) as [number, number, number, number, number];
  const workDir = makeWorkDir('collector');
  const queueDir = join(workDir, 'queue');
  mkdirSync(queueDir, { recursive: true });
  const configFiles = (opts.configFiles ?? ['sidecar.yaml']).map(collectorConfigPath);
  const env = hermeticEnv({
    VOICETRACE_OTLP_GRPC_ENDPOINT: `127.0.0.1:${otlpGrpc}`,
    VOICETRACE_OTLP_HTTP_ENDPOINT: `127.0.0.1:${otlpHttp}`,
    VOICETRACE_HEALTH_ENDPOINT: `127.0.0.1:${health}`,
    VOICETRACE_PROMETHEUS_ENDPOINT: `127.0.0.1:${prometheus}`,
    VOICETRACE_INTERNAL_METRICS_PORT: String(internalMetrics),
    VOICETRACE_QUEUE_DIR: queueDir,
    ...opts.env,
  });
  const proc = new ManagedProcess({
    label: 'collector',
    command: bin,
    args: configFiles.flatMap((f) => ['--config', f]),
    env,
    workDir,
    isReady: async () => (await httpStatus(`http://127.0.0.1:${health}/`)) === 200,
    readyTimeoutMs: opts.readyTimeoutMs ?? 30_000,
  });
  await proc.start();
  const readInternalMetrics = async () => {
    const res = await fetch(`http://127.0.0.1:${internalMetrics}/metrics`, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) throw new Error(`collector internal metrics -> ${res.status}`);
    return parsePrometheusText(await res.text());
  };
  return Object.assign(proc, {
    ports: { otlpGrpc, otlpHttp, health, prometheus, internalMetrics },
    otlpGrpcEndpoint: `127.0.0.1:${otlpGrpc}`,
    otlpHttpUrl: `http://127.0.0.1:${otlpHttp}`,
    prometheusTarget: `127.0.0.1:${prometheus}`,
    queueDir,
    configFiles,
    internalMetrics: readInternalMetrics,
  });
}
