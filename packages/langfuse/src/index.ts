export { langfuseConfigFromEnv, langfuseTracesUrl, langfuseAuthorization, DEFAULT_LANGFUSE_BASE_URL, LANGFUSE_OTEL_TRACES_PATH } from './config.js';
export { createLangfuseSpanExporter, LANGFUSE_RETRYABLE_STATUSES } from './exporter.js';
export { adviseLangfuseFailure } from './advice.js';
export { LangfuseConfigError } from './errors.js';
export type { LangfuseConfig, LangfuseExporterOptions } from './types.js';
export { langfuseAttributesFor, langfuseEnvironment, LANGFUSE_ATTR, type LangfuseMappingOptions, type MappableSpan } from './mapping.js';
export { LangfuseMappingProcessor } from './mapping-processor.js';
export { LangfuseScores, LANGFUSE_SCORE_NAMES, type LangfuseScoresOptions, type LangfuseScoresStats, type SessionScoreRecord, type TurnScoreRecord } from './scores.js';
