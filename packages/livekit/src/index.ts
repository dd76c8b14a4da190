/**
 * One-call OpenTelemetry tracing for LiveKit Agents (Node) voice sessions:
 * every pipeline stage as a semantic span, latency breakdowns, usage and cost.
 */
export { setupVoiceTrace, type VoiceTraceOptions, type VoiceTrace } from './setup.js';
export { createVoiceTraceProcessor, type VoiceTraceProcessorOptions, type VoiceTraceProcessorHandle } from './processors.js';
export { instrumentSession, parseTraceparent, type InstrumentOptions, type InstrumentedSession } from './instrument.js';
export { normalizeMetrics } from './normalize.js';
export { LiveKitSpanFacts } from './span-facts.js';
export { observeSession } from './observer.js';
