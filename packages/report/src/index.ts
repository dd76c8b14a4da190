/**
 * The post-call session report of voicetrace: the SDK's report fields plus a
 * `voicetrace` section built from the session model, its JSON Schema, an
 * atomic writer, an offline HTML page and the `voicetrace` CLI.
 */
export type * from './types.js';
export { buildVoicetraceSection, latencyFigures, fillTemplate, REPORT_GENERATOR, type SectionOptions } from './section.js';
export { validateReport, isSessionReport, REPORT_SCHEMA, type SchemaProblem } from './validate.js';
export { writeFileAtomic, ReportWriteError } from './write.js';
export { percentiles, quantileSorted } from './stats.js';
export {
  reportsFromTraces,
  reportFromTraces,
  formatProblem,
  TraceCollector,
  TracesError,
  type TracesInput,
  type FromTracesOptions,
  type TraceProblem,
  type TracesReports,
} from './traces/from-traces.js';
export { renderReportHtml, LATENCY_STAGES, WAIT_LABELS, OWNER_LABELS, type RenderOptions } from './html/render.js';
export { formatLatency, formatUsd, formatDuration, formatOffset } from './html/format.js';
export { runCli, EXIT, type CliIo } from './cli/run.js';
export type { CliStream } from './cli/progress.js';
export { summarizePaths, SessionAggregator, type SessionSetSummary, type StageStats, type WaitStats, type SlowTurn, type ModelCost, type SummarizeOptions } from './cli/summary.js';
export { compareSummaries, parseThresholds, DEFAULT_MIN_CHANGE_SECONDS, renderComparison, ThresholdError, type Threshold, type CompareOptions, type Comparison, type Check, type StageDelta, type Quantile } from './cli/compare.js';
export { findInputs, loadFile, type InputFile, type InputProblem, type ReadLimits, type LoadedFile } from './cli/inputs.js';
export { renderSummary } from './cli/render-summary.js';
