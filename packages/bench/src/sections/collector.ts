import { runChild } from '../child.js';
import { cachedCollectorBinary, startBenchCollector } from '../collector.js';
import type { BenchConfig } from '../config.js';
import type { PathName } from '../pipelines.js';
import { ratioRow, skippedRow, type Row, type Section } from '../rows.js';
import type { PushResult } from '../tasks/push.js';
import type { ThroughputResult } from '../tasks/throughput.js';

const THROUGHPUT_TARGET = '>= 1.0x at <= CPU';
const CAPACITY_TARGET = 'no refusals';

/**
 * The rows that need the real Collector: export throughput to it on loopback (each path in its own
 * process, the Collector pinned to the last CPU), and what the sidecar config sustains on one core.
 * Skipped, loudly, when the Collector binary is not built.
 */
export async function collectorSection(config: BenchConfig, log: (line: string) => void, parts: { throughput: boolean; capacity: boolean }): Promise<Section> {
  const binary = cachedCollectorBinary();
  if ('missing' in binary) {
    const why = `${binary.missing}`;
    log(`!!! Collector rows SKIPPED: ${why}`);
    const rows: Row[] = [];
    if (parts.throughput) rows.push(skippedRow('throughput', 'export throughput to the Collector', why, THROUGHPUT_TARGET));
    if (parts.capacity) rows.push(skippedRow('collector_capacity', 'Collector (sidecar.yaml) on one core', why, CAPACITY_TARGET));
    return { name: 'collector', rows, details: { skipped: why } };
  }
  const rows: Row[] = [];
  const details: Record<string, unknown> = { binary: binary.path };
  if (parts.throughput) {
    // the exporting process on the first CPU, the Collector (all its threads) on the last
    const collector = await startBenchCollector(binary.path, { gomaxprocs: 1 });
    try {
      const results = {} as Record<PathName, ThroughputResult>;
      for (const path of ['stock', 'voicetrace'] as PathName[]) {
        results[path] = await runChild<ThroughputResult>('throughput', { path, endpoint: collector.url, spans: config.throughputSpans }, { execArgv: [], env: {}, pin: 0 });
        log(`throughput, ${path}: ${results[path].spansPerSecond.toFixed(0)} spans/s, ${results[path].cpuUsPerSpan.toFixed(1)} µs CPU per span`);
      }
      const cpuRatio = results.voicetrace.cpuUsPerSpan / results.stock.cpuUsPerSpan;
      const row = ratioRow({
        id: 'throughput',
        label: 'export throughput to the Collector',
        unit: 'spans/s',
        stock: results.stock.spansPerSecond,
        voicetrace: results.voicetrace.spansPerSecond,
        digits: 0,
        target: THROUGHPUT_TARGET,
        min: 1.0,
        note: `the same ${config.throughputSpans} voicetrace spans through each exporter, 512 per request, one in flight, the Collector pinned to its own CPU; CPU per span ${results.stock.cpuUsPerSpan.toFixed(1)} / ${results.voicetrace.cpuUsPerSpan.toFixed(1)} µs (${cpuRatio.toFixed(2)}x)`,
      });
      row.met = row.met === true && cpuRatio <= 1;
      rows.push(row, { id: 'throughput_cpu', label: 'exporter CPU per span', unit: 'µs', stock: results.stock.cpuUsPerSpan, voicetrace: results.voicetrace.cpuUsPerSpan, ratio: cpuRatio, target: '<= 1.0x', met: cpuRatio <= 1, digits: 2 });
      details.throughput = results;
    } finally {
      await collector.stop();
    }
  }
  if (parts.capacity) {
    const collector = await startBenchCollector(binary.path, { gomaxprocs: 1 });
    try {
      const acceptedBefore = await collector.metric('otelcol_receiver_accepted_spans');
      const refusedBefore = await collector.metric('otelcol_receiver_refused_spans');
      const cpuBefore = collector.cpuSeconds();
      const started = performance.now();
      // two pushing processes, 16 requests in flight each, on the first CPU
      const pushes = await Promise.all([0, 1].map(() => runChild<PushResult>('push', { endpoint: collector.url, seconds: config.collectorSeconds, concurrency: 16, batch: 512 }, { pin: 0 })));
      const cpuSeconds = collector.cpuSeconds() - cpuBefore;
      const accepted = (await collector.metric('otelcol_receiver_accepted_spans')) - acceptedBefore;
      const refused = (await collector.metric('otelcol_receiver_refused_spans')) - refusedBefore;
      const refusedRequests = pushes.reduce((n, p) => n + p.refusedRequests, 0);
      const okSpans = pushes.reduce((n, p) => n + p.okSpans, 0);
      // the pushers' own start-up costs the Collector nothing: its CPU is over the pushing time
      const pushSeconds = Math.max(...pushes.map((p) => p.seconds));
      const seconds = pushSeconds;
      void started;
      const rate = accepted / pushSeconds;
      log(`Collector: ${rate.toFixed(0)} spans/s accepted, ${refused} refused, ${(cpuSeconds / seconds).toFixed(2)} CPU, ${collector.rssMiB().toFixed(0)} MiB RSS`);
      rows.push({
        id: 'collector_capacity',
        label: `Collector (sidecar.yaml) on one core${collector.cpu === undefined ? ' (not pinned)' : ''}`,
        unit: 'spans/s',
        voicetrace: rate,
        digits: 0,
        target: CAPACITY_TARGET,
        met: refused === 0 && refusedRequests === 0,
        note: `GOMAXPROCS=1${collector.cpu === undefined ? '' : `, pinned to CPU ${collector.cpu}`}, 32 requests of 512 spans in flight for ${config.collectorSeconds} s: ${accepted} spans accepted (${okSpans} acknowledged), ${refused} refused by the receiver, ${refusedRequests} requests refused; Collector CPU ${(cpuSeconds / seconds).toFixed(2)} cores, RSS ${collector.rssMiB().toFixed(0)} MiB`,
      });
      details.capacity = { accepted, refused, refusedRequests, okSpans, seconds: pushSeconds, cpuCores: cpuSeconds / seconds, rssMiB: collector.rssMiB(), statuses: pushes.map((p) => p.statuses) };
    } finally {
      await collector.stop();
    }
  }
  return { name: 'collector', rows, details };
}
