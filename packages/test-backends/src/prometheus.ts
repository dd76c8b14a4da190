import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinary } from './binaries.js';
import { freePorts, hermeticEnv, httpStatus, makeWorkDir, ManagedProcess, sleep } from './process.js';
import type { PrometheusHandle, PrometheusOptions, PromSample } from './types.js';

/** Starts Prometheus on a free loopback port, scraping `scrapeTargets` every second, with its TSDB in a fresh directory. */
export async function startPrometheus(opts: PrometheusOptions): Promise<PrometheusHandle> {
  const bin = await requireBinary('prometheus');
  const [port] = (await freePorts(1)) as [number];
  const workDir = makeWorkDir('prometheus');
  const interval = opts.scrapeInterval ?? '1s';
  const config = {
    global: { scrape_interval: interval, evaluation_interval: interval },
    scrape_configs: [{ job_name: 'voicetrace', static_configs: [{ targets: [...opts.scrapeTargets] }] }],
  };
  const configFile = join(workDir, 'prometheus.yml');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const dataDir = join(workDir, 'data');
  mkdirSync(dataDir, { recursive: true });
  const url = `http://127.0.0.1:${port}`;
  const proc = new ManagedProcess({
    label: 'prometheus',
    command: bin,
    args: [`--config.file=${configFile}`, `--storage.tsdb.path=${dataDir}`, `--web.listen-address=127.0.0.1:${port}`],
    env: hermeticEnv({}),
    workDir,
    isReady: async () => (await httpStatus(`${url}/-/ready`)) === 200,
    readyTimeoutMs: opts.readyTimeoutMs ?? 30_000,
  });
  await proc.start();

  const query = async (promql: string): Promise<PromSample[]> => {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`, { signal: AbortSignal.timeout(5000) });
    const body = (await res.json()) as {
      status: string;
      error?: string;
      data?: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> | [number, string] };
    };
    if (body.status !== 'success' || !body.data) throw new Error(`prometheus query ${promql}: ${body.error ?? res.status}`);
    const { resultType, result } = body.data;
    if (resultType === 'scalar') return [{ metric: {}, value: Number((result as [number, string])[1]) }];
    if (resultType !== 'vector') throw new Error(`prometheus query ${promql}: unsupported result type ${resultType}`);
    return (result as Array<{ metric: Record<string, string>; value: [number, string] }>).map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  };

  const waitForQuery = async (promql: string, predicate: (s: PromSample[]) => boolean, o: { timeoutMs?: number } = {}): Promise<PromSample[]> => {
    const deadline = Date.now() + (o.timeoutMs ?? 20_000);
    let last: PromSample[] = [];
    while (Date.now() < deadline) {
      last = await query(promql).catch(() => []);
      if (predicate(last)) return last;
      await sleep(250);
    }
    throw new Error(`prometheus: ${promql} did not match within ${o.timeoutMs ?? 20_000} ms; last result ${JSON.stringify(last)}`);
  };

  return Object.assign(proc, { port, url, query, waitForQuery });
}
