/**
 * The voice-pipeline stage engine of voicetrace. It knows pipeline stages, not
 * any SDK: bindings (e.g. `@voicetrace/livekit`) feed it normalized events and
 * read span facts for it. This entry is the public API (README.md); what voicetrace's own packages
 * share beyond it is `@voicetrace/core/internal`.
 */
export { SessionEngine, type SessionEngineOptions, type RecordingInfo } from './session-engine.js';
export { SessionModel, type SessionModelOptions, type UserDelays } from './model/session-model.js';
export type * from './model/types.js';
export { SessionMetrics, observeVoiceTraceCounters, type SessionMetricsOptions, type VoiceTraceCountersOptions } from './views/metrics.js';
export { VoiceTraceSpanProcessor, type VoiceTraceSpanProcessorOptions, type LateAttributesAware } from './processor.js';
export type { TraceMode } from './trace-layout.js';
export { DropCounters, type DropReason } from './counters.js';
export { PriceBook, DEFAULT_PRICES, type ModelPrice, type PriceTable, type PricedUsage } from './prices.js';
export { UsageLedger, type ModelUsage, type LlmUsage, type TtsUsage, type SttUsage, type InterruptionUsage, type UsageDisagreement } from './usage.js';
export { computeLatency, type TurnTimeline, type LatencyBreakdown, type WaitContribution } from './latency.js';
export type { SpanFacts, SpanFactsReader, SpanView } from './span-facts.js';
export type * from './events.js';
