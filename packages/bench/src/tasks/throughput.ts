import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { createOtlpTraceExporter } from '@voicetrace/exporters';
import type { PathName } from '../pipelines.js';
import { voicetraceSpans } from './spans.js';

export interface ThroughputArgs {
  path: PathName;
  /** OTLP/HTTP base URL (the Collector). */
  endpoint: string;
  spans: number;
}

export interface ThroughputResult {
  spansPerSecond: number;
  cpuUsPerSpan: number;
  spans: number;
}

/**
 * Export throughput: the same spans (voicetrace's, `args.spans` of them, copied from a set of
 * simulated calls) exported in batches of 512, one request in flight (as a batch processor sends
 * them), as fast as the exporter and the Collector take them. Stock: the stock OTLP/protobuf
 * exporter. voicetrace: its OTLP exporter as setupVoiceTrace builds it (size limiter, reporting,
 * retries, its protobuf encoder).
 */
export async function throughputTask(args: ThroughputArgs): Promise<ThroughputResult> {
  const pool = await voicetraceSpans(20, 12);
  const batches: ReadableSpan[][] = [];
  for (let i = 0; i < args.spans; i += 512) batches.push(Array.from({ length: Math.min(512, args.spans - i) }, (_, k) => pool[(i + k) % pool.length]!));
  const url = `${args.endpoint}/v1/traces`;
  const exporter: SpanExporter = args.path === 'stock' ? new OTLPTraceExporter({ url }) : createOtlpTraceExporter({ endpoint: url, env: {} });
  const send = (batch: ReadableSpan[]): Promise<void> =>
    new Promise((resolve, reject) => exporter.export(batch, (result) => (result.code === ExportResultCode.SUCCESS ? resolve() : reject(result.error ?? new Error('export failed')))));
  // warm-up: connection, JIT
  for (const batch of batches.slice(0, 4)) await send(batch);
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (const batch of batches) await send(batch);
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  await exporter.shutdown();
  return { spansPerSecond: args.spans / seconds, cpuUsPerSpan: (used.user + used.system) / args.spans, spans: args.spans };
}
