import { diag, type Meter } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPMetricExporter as OtlpHttpJsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as OtlpProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  MeterProvider,
  PeriodicExportingMetricReader,
  type AggregationOption,
  type InstrumentType,
  type MetricReader,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { VOICETRACE_SCOPE } from '@voicetrace/conventions';
import { redactUrl, requestSecrets, scrubSecrets } from '@voicetrace/exporters';
import { randomUUID } from 'node:crypto';

/**
 * The agent's OpenTelemetry metrics (issue #12): a `MeterProvider` of its own
 * (never the global one: the SDK's own event-loop histogram carries room and
 * job ids, one series per call) with the stock OTLP/HTTP metrics exporter,
 * read periodically off the hot path. The instruments and what they record are
 * `@voicetrace/core`'s `SessionMetrics` (METRICS.md); this module only decides
 * where they go, as the OTel environment variables say.
 */

/** `metrics` option of `setupVoiceTrace`. */
export interface MetricsOptions {
  /**
   * OTLP/HTTP URL: a base (`/v1/metrics` is appended) or the full `.../v1/metrics` URL. Default:
   * `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` as is, else `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/metrics`,
   * else the `otlp` option's endpoint, else `http://localhost:4318/v1/metrics`.
   */
  endpoint?: string | undefined;
  /** Headers on every export (added to `OTEL_EXPORTER_OTLP_[METRICS_]HEADERS`). */
  headers?: Record<string, string> | undefined;
  /** How often the metrics are exported (default `OTEL_METRIC_EXPORT_INTERVAL`, else 15000 ms). */
  exportIntervalMillis?: number | undefined;
  /** How long one export may take (default `OTEL_METRIC_EXPORT_TIMEOUT`, else 10000 ms; at most the interval). */
  exportTimeoutMillis?: number | undefined;
  /** Export with this exporter instead of OTLP (it is read periodically all the same). */
  exporter?: PushMetricExporter | undefined;
  /** More readers (e.g. an in-memory reader in tests, a Prometheus pull exporter). */
  readers?: MetricReader[] | undefined;
}

/** What the metrics exporter did so far. */
export interface MetricExportStats {
  /** Exports that succeeded. */
  exports: number;
  /** Exports that failed (the Collector down, refusing, or too slow): that interval's update is late, not lost. */
  failedExports: number;
  /** Exports sent and not answered yet. */
  pendingExports: number;
  /** The most recent failure, if any. */
  lastFailure?: string | undefined;
}

/** The metrics of a setup (`vt.metrics`). */
export interface VoiceTraceMetrics {
  readonly provider: MeterProvider;
  /** The meter voicetrace's instruments live on. */
  readonly meter: Meter;
  /** `service.instance.id` of this process: unique, so two processes never overwrite each other's series. */
  readonly serviceInstanceId: string;
  /** Where the metrics go, for people. */
  readonly target: string;
  stats(): MetricExportStats;
  /** Exports now (bounded by the export timeout). */
  forceFlush(): Promise<void>;
  /** Exports a last time and stops, within `timeoutMillis` (default: the export timeout). Idempotent. */
  shutdown(timeoutMillis?: number): Promise<void>;
}

/** What {@link createMetrics} needs from the setup. */
export interface MetricsSetup {
  option: boolean | MetricsOptions | undefined;
  /** The `otlp` option of the setup (its endpoint is the default base). */
  otlp?: boolean | { endpoint?: string | undefined; headers?: Record<string, string> | undefined } | undefined;
  /** The resource, with a unique `service.instance.id` (see {@link agentResource}). */
  resource: Resource;
  serviceInstanceId: string;
  env: NodeJS.ProcessEnv;
  warn: (key: string, message: string) => void;
  version?: string | undefined;
}

const DEFAULT_INTERVAL_MS = 15_000;
const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * The metrics of a setup, or undefined when off. On when asked (`metrics: true` or options), else
 * when an OTLP endpoint is configured (`OTEL_EXPORTER_OTLP_[METRICS_]ENDPOINT`, the `otlp` option,
 * `OTEL_METRICS_EXPORTER=otlp`); `OTEL_METRICS_EXPORTER=none` or `metrics: false` turns it off.
 */
export function createMetrics(setup: MetricsSetup): VoiceTraceMetrics | undefined {
  const { env, warn } = setup;
  if (!signalWanted('metrics', setup.option, setup.otlp, env)) return undefined;
  const options: MetricsOptions = typeof setup.option === 'object' ? setup.option : {};
  const interval = positive(options.exportIntervalMillis, env.OTEL_METRIC_EXPORT_INTERVAL, DEFAULT_INTERVAL_MS, 'OTEL_METRIC_EXPORT_INTERVAL', warn);
  const timeout = Math.min(interval, positive(options.exportTimeoutMillis, env.OTEL_METRIC_EXPORT_TIMEOUT, DEFAULT_TIMEOUT_MS, 'OTEL_METRIC_EXPORT_TIMEOUT', warn));
  let target: string;
  let exporter: PushMetricExporter | undefined;
  let secrets: string[] = [];
  if (options.exporter) {
    exporter = options.exporter;
    target = options.exporter.constructor.name;
  } else if (options.readers?.length && options.endpoint === undefined) {
    target = 'your readers';
  } else {
    const endpoint = resolveSignalEndpoint('metrics', options.endpoint, setup.otlp, env);
    for (const w of endpoint.warnings) warn(`metrics:${w}`, `voicetrace: ${w}`);
    const temporality = (env.OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE ?? 'cumulative').trim().toLowerCase();
    if (temporality && temporality !== 'cumulative') {
      warn('metrics:temporality', `voicetrace: OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=${temporality}: the voicetrace Collector exposes cumulative series to Prometheus; delta counters from many job processes are not summed correctly there. Use cumulative (the default).`);
    }
    const config = { url: endpoint.url, headers: options.headers ?? otlpHeaders(setup.otlp), timeoutMillis: timeout };
    exporter = endpoint.protocol === 'http/json' ? new OtlpHttpJsonMetricExporter(config) : new OtlpProtoMetricExporter(config);
    // messages name the endpoint without its credentials, and never repeat what a server echoed of them
    target = `${redactUrl(endpoint.url)} (OTLP ${endpoint.protocol})`;
    secrets = requestSecrets(endpoint.url, config.headers ?? {});
  }
  const counting = exporter ? new CountingMetricExporter(exporter, warn, target, secrets) : undefined;
  const readers: MetricReader[] = [
    // exports on its own timer (unref'd), off the agent's hot path; a slow or dead Collector only delays the next update
    ...(counting ? [new PeriodicExportingMetricReader({ exporter: counting, exportIntervalMillis: interval, exportTimeoutMillis: timeout })] : []),
    ...(options.readers ?? []),
  ];
  const provider = new MeterProvider({ resource: setup.resource, readers });
  const meter = provider.getMeter(VOICETRACE_SCOPE, setup.version);
  let shutdownPromise: Promise<void> | undefined;
  return {
    provider,
    meter,
    serviceInstanceId: setup.serviceInstanceId,
    target,
    stats: () => counting?.stats() ?? { exports: 0, failedExports: 0, pendingExports: 0 },
    forceFlush: () => provider.forceFlush({ timeoutMillis: timeout }).catch((error: unknown) => diag.debug(`voicetrace: metrics flush: ${String(error)}`)),
    shutdown: (timeoutMillis?: number) =>
      (shutdownPromise ??= provider.shutdown({ timeoutMillis: Math.min(timeout, timeoutMillis ?? timeout) }).catch((error: unknown) => diag.debug(`voicetrace: metrics shutdown: ${String(error)}`))),
  };
}

/**
 * Counts what the exporter did (its callback's result), and says the first failure once: a
 * Collector that is down must not go unnoticed, nor fill the log.
 */
export class CountingMetricExporter implements PushMetricExporter {
  private exports = 0;
  private failed = 0;
  private pending = 0;
  private lastFailure: string | undefined;
  readonly selectAggregationTemporality?: (instrumentType: InstrumentType) => AggregationTemporality;
  readonly selectAggregation?: (instrumentType: InstrumentType) => AggregationOption;

  constructor(
    private readonly inner: PushMetricExporter,
    private readonly warn: (key: string, message: string) => void = () => {},
    private readonly target = 'metrics exporter',
    /** Credentials the exporter sends (header values, URL password): scrubbed from failure messages. */
    private readonly secrets: readonly string[] = [],
  ) {
    // the reader asks the exporter for its temporality: cumulative unless the environment says otherwise
    if (inner.selectAggregationTemporality) this.selectAggregationTemporality = inner.selectAggregationTemporality.bind(inner);
    if (inner.selectAggregation) this.selectAggregation = inner.selectAggregation.bind(inner);
  }

  export(metrics: ResourceMetrics, resultCallback: (result: ExportResult) => void): void {
    this.pending += 1;
    let settled = false;
    const done = (result: ExportResult): void => {
      if (settled) return;
      settled = true;
      this.pending -= 1;
      if (result.code === ExportResultCode.SUCCESS) this.exports += 1;
      else this.fail(result.error);
      resultCallback(result);
    };
    try {
      this.inner.export(metrics, done);
    } catch (error) {
      done({ code: ExportResultCode.FAILED, error: error as Error });
    }
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  stats(): MetricExportStats {
    return { exports: this.exports, failedExports: this.failed, pendingExports: this.pending, lastFailure: this.lastFailure };
  }

  private fail(error: Error | undefined): void {
    this.failed += 1;
    this.lastFailure = scrubSecrets(redactUrl(error?.message ?? 'export failed'), this.secrets);
    this.warn('metrics:export_failed', `voicetrace: exporting metrics to ${this.target} failed (${this.lastFailure}); the agent is unaffected, further failures are only counted (vt.metrics.stats())`);
  }
}

/** Whether a signal (`metrics`, `logs`) is exported over OTLP, by the rules of the OTel environment variables. */
export function signalWanted(
  signal: 'metrics' | 'logs',
  option: boolean | object | undefined,
  otlp: boolean | { endpoint?: string | undefined } | undefined,
  env: NodeJS.ProcessEnv,
): boolean {
  if (option === false) return false;
  if (option === true || typeof option === 'object') return true;
  const upper = signal.toUpperCase();
  const exporters = (env[`OTEL_${upper}_EXPORTER`] ?? '').toLowerCase().split(',').map((s) => s.trim());
  if (exporters.includes('none')) return false;
  return Boolean(env[`OTEL_EXPORTER_OTLP_${upper}_ENDPOINT`] || env.OTEL_EXPORTER_OTLP_ENDPOINT || exporters.includes('otlp') || (otlp !== undefined && otlp !== false));
}

/** Where a signal goes over OTLP/HTTP and in which encoding. */
export function resolveSignalEndpoint(
  signal: 'metrics' | 'logs',
  option: string | undefined,
  otlp: boolean | { endpoint?: string | undefined } | undefined,
  env: NodeJS.ProcessEnv,
): { url: string; protocol: 'http/protobuf' | 'http/json'; warnings: string[] } {
  const upper = signal.toUpperCase();
  const path = `v1/${signal}`;
  const warnings: string[] = [];
  const read = (name: string): string | undefined => (env[name]?.trim() ? env[name]!.trim() : undefined);
  let url: string;
  if (option?.trim()) url = ensurePath(option.trim(), path);
  else if (read(`OTEL_EXPORTER_OTLP_${upper}_ENDPOINT`)) url = read(`OTEL_EXPORTER_OTLP_${upper}_ENDPOINT`)!;
  else if (read('OTEL_EXPORTER_OTLP_ENDPOINT')) url = appendPath(read('OTEL_EXPORTER_OTLP_ENDPOINT')!, path);
  else if (typeof otlp === 'object' && otlp.endpoint?.trim()) url = ensurePath(otlp.endpoint.trim().replace(/\/v1\/traces\/?$/, ''), path);
  else url = `http://localhost:4318/${path}`;
  const raw = (read(`OTEL_EXPORTER_OTLP_${upper}_PROTOCOL`) ?? read('OTEL_EXPORTER_OTLP_PROTOCOL') ?? 'http/protobuf').toLowerCase();
  let protocol: 'http/protobuf' | 'http/json' = 'http/protobuf';
  if (raw === 'http/json') protocol = 'http/json';
  else if (raw !== 'http/protobuf') warnings.push(`OTLP protocol ${raw} is not supported for ${signal} (only http/protobuf and http/json are bundled); using http/protobuf on ${url}`);
  return { url, protocol, warnings };
}

function appendPath(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path}`;
}

function ensurePath(url: string, path: string): string {
  const trimmed = url.replace(/\/+$/, '');
  return trimmed.endsWith(`/${path}`) ? trimmed : `${trimmed}/${path}`;
}

function otlpHeaders(otlp: MetricsSetup['otlp']): Record<string, string> | undefined {
  return typeof otlp === 'object' ? otlp.headers : undefined;
}

/** A positive number of ms from the option, else the variable, else the default (a bad variable is said once). */
function positive(option: number | undefined, variable: string | undefined, fallback: number, name: string, warn: (key: string, message: string) => void): number {
  if (option !== undefined && Number.isFinite(option) && option > 0) return option;
  if (variable === undefined || variable.trim() === '') return fallback;
  const n = Number(variable);
  if (Number.isFinite(n) && n > 0) return n;
  warn(`metrics:${name}`, `voicetrace: ${name}=${variable} is not a positive number of milliseconds; using ${fallback}`);
  return fallback;
}

/**
 * The resource of the agent's metrics and logs: the setup's, with the environment and a
 * `service.instance.id` unique to this process (a random UUID, also when
 * `OTEL_RESOURCE_ATTRIBUTES` sets one: every job process inherits that variable, and two
 * processes with one identity overwrite each other's cumulative series in the Collector).
 */
export function agentResource(base: Resource, environment: string | undefined, warn: (key: string, message: string) => void): { resource: Resource; serviceInstanceId: string } {
  const serviceInstanceId = randomUUID();
  const given = base.attributes['service.instance.id'];
  if (given !== undefined) warn('metrics:instance', `voicetrace: service.instance.id=${String(given)} is replaced by a unique id per process for metrics and logs (processes sharing one overwrite each other's series)`);
  const attributes: Record<string, string> = { 'service.instance.id': serviceInstanceId };
  if (environment) attributes['deployment.environment.name'] = environment;
  return { resource: base.merge(resourceFromAttributes(attributes)), serviceInstanceId };
}

