/**
 * @voicetrace/test-backends: real observability backends for voicetrace's tests.
 *
 * Binaries are built once per version into ${VOICETRACE_CACHE:-~/.cache/voicetrace}/bin by the
 * repository's scripts; servers run on free loopback ports, each in its own process group, and
 * are killed when the test process ends, however it ends.
 */
export type {
  BackendName,
  BinaryResult,
  ProcessHandle,
  CollectorOptions,
  CollectorHandle,
  JaegerOptions,
  JaegerHandle,
  JaegerSpan,
  JaegerTrace,
  JaegerSearch,
  PrometheusOptions,
  PrometheusHandle,
  PromSample,
} from './types.js';
export { ensureBinary, requireBinary, TEMPO_UNAVAILABLE_REASON, type EnsureBinaryOptions } from './binaries.js';
export { backendOrSkip, backendsOrSkip, isCI } from './skip.js';
export { startCollector } from './collector.js';
export { startJaeger } from './jaeger.js';
export { startPrometheus } from './prometheus.js';
export { stopAll, freePorts } from './process.js';
export { parsePrometheusText } from './metrics-text.js';
export { repoRoot, collectorConfigPath } from './paths.js';
export { otlpTracesJson, postOtlpJson, randomSpanId, randomTraceId, type AttrValue, type SimpleSpan } from './otlp.js';
