/**
 * The post-call session report of voicetrace: the SDK's report fields plus a `voicetrace` section
 * built from the session model, its JSON Schema, an offline HTML page and the `voicetrace` CLI. This
 * entry is what README.md documents for library users; the CLI's plumbing stays inside the package,
 * and what voicetrace's own packages share beyond it is `@voicetrace/report/internal`.
 */
export type * from './types.js';
export { validateReport, type SchemaProblem } from './validate.js';
export { attachClips, type TurnClipInput } from './clips.js';
export { reportsFromTraces, reportFromTraces, TracesError, type TracesInput, type FromTracesOptions, type TraceProblem, type TracesReports } from './traces/from-traces.js';
export { renderReportHtml, type RenderOptions } from './html/render.js';
export { runCli, EXIT, type CliIo } from './cli/run.js';
export type { CliStream } from './cli/progress.js';
export type { InputProblem, ReadLimits } from './cli/inputs.js';
export { summarizePaths, SessionAggregator, type SessionSetSummary, type StageStats, type WaitStats, type SlowTurn, type ModelCost, type SummarizeOptions } from './cli/summary.js';
export { compareSummaries, parseThresholds, ThresholdError, type Threshold, type CompareOptions, type Comparison, type Check, type StageDelta, type Quantile } from './cli/compare.js';
