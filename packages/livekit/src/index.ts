/**
 * One-call OpenTelemetry tracing for LiveKit Agents (Node) voice sessions:
 * every pipeline stage as a semantic span, latency breakdowns, usage and cost.
 */
export { setupVoiceTrace, type ReportClipsOption, type VoiceTraceOptions, type VoiceTrace } from './setup.js';
export { createVoiceTraceProcessor, type VoiceTraceProcessorOptions, type VoiceTraceProcessorHandle } from './processors.js';
export { parseTraceparent } from './traceparent.js';
export { isJobProcess, traceparentOfJob } from './job.js';
export {
  instrumentSession,
  type InstrumentOptions,
  type InstrumentedSession,
  type WriteReportOptions,
  type WrittenReport,
  type ReportHtmlRenderer,
} from './instrument.js';
export { buildSessionReport, type ReportSources } from './report.js';
export { SessionEventLog, type SessionEventLogOptions } from './event-log.js';
export type { WarningSink } from './notices.js';
export { normalizeMetrics } from './normalize.js';
export { LiveKitSpanFacts } from './span-facts.js';
export { observeSession } from './observer.js';
// metrics and logs (issue #12)
export { createMetrics, CountingMetricExporter, type MetricsOptions, type MetricExportStats, type VoiceTraceMetrics } from './metrics.js';
export { createLogs, SessionLogProcessor, type LogsOptions, type LogExportStats, type VoiceTraceLogs } from './logs.js';
