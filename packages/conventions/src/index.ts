/**
 * voicetrace's semantic conventions: every attribute name, its unit and meaning,
 * defined once. See ATTRIBUTES.md (generated from this package) for the table.
 */
export { ATTR, ATTRIBUTE_SPECS, PII_ATTRIBUTE_KEYS, WAIT_CONTRIBUTIONS, SESSION_LATENCY_METRICS, sessionLatencyKey, type WaitKey } from './attributes.js';
export { STAGES, type Stage, type AttributeSpec, type AttributeOrigin, type AttributeType } from './spec.js';
export { SPAN_NAME, SDK_SPAN_STAGE, LIVEKIT_SCOPE, VOICETRACE_SCOPE } from './spans.js';
export { renderAttributeTable } from './table.js';
