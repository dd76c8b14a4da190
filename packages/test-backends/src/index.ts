/**
 * @voicetrace/test-backends: real backends for voicetrace's tests: observability (Collector,
 * Jaeger, Prometheus), a LiveKit media server, S3-compatible storage, a caller's voice and a
 * headless browser (Chromium).
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
  LivekitServerOptions,
  LivekitServerHandle,
  S3Options,
  S3Handle,
  SpeechTools,
} from './types.js';
export { ensureBinary, requireBinary, formatDuration, TEMPO_UNAVAILABLE_REASON, CHROMIUM_HEADLESS_ARGS, type EnsureBinaryOptions } from './binaries.js';
export { backendOrSkip, backendsOrSkip, isCI } from './skip.js';
export { startCollector } from './collector.js';
export { startJaeger } from './jaeger.js';
export { startPrometheus } from './prometheus.js';
export { startLivekitServer, rtcClientNetworkProblem, LIVEKIT_DEV_API_KEY, LIVEKIT_DEV_API_SECRET } from './livekit.js';
export { startS3 } from './s3.js';
export { speechTools, synthesizeSpeech, type SynthesizeOptions, type SynthesizedSpeech } from './speech.js';
export { stopAll, freePorts, ManagedProcess, makeWorkDir, hermeticEnv, type SpawnSpec } from './process.js';
export { parsePrometheusText } from './metrics-text.js';
export { repoRoot, collectorConfigPath } from './paths.js';
export { makeTestCertificates, type TestCertificates } from './tls.js';
export { otlpTracesJson, postOtlpJson, randomSpanId, randomTraceId, type AttrValue, type SimpleSpan } from './otlp.js';
export { grafanaToPromQL, inlineRecordingRules } from './promql.js';
export { ensurePythonEnv, pythonOrSkip, type PythonEnvResult } from './python.js';
