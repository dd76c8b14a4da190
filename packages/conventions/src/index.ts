/**
 * voicetrace's semantic conventions: every attribute name, its unit and meaning,
 * defined once. See ATTRIBUTES.md (generated from this package) for the table.
 */
export {
  ATTR,
  ATTRIBUTE_SPECS,
  PII_ATTRIBUTE_KEYS,
  LATENCY_STAGES,
  WAIT_CONTRIBUTIONS,
  WAIT_OWNER_LABELS,
  SESSION_LATENCY_METRICS,
  sessionLatencyKey,
  type LatencyStage,
  type LatencyField,
  type SessionLatencyMetric,
  type WaitKey,
  type WaitOwner,
} from './attributes.js';
export { STAGES, type Stage, type AttributeSpec, type AttributeOrigin, type AttributeType } from './spec.js';
export { SPAN_NAME, SDK_SPAN_STAGE, SDK_ATTR, LIVEKIT_SCOPE, VOICETRACE_SCOPE } from './spans.js';
export { renderAttributeTable, renderMetricTable } from './table.js';
export { LEFT_OUT, SENT_TWICE, type LeftOut, type SentTwice } from './duplicates.js';
export { METRIC, METRIC_ATTR, METRIC_SPECS, METRIC_ATTRIBUTE_SPECS_LIST, WAIT_METRIC_SPECS, VOICE_LATENCY_BUCKETS, DROP_REASONS, DATA_LOSS_DROP_REASONS, EXPORTER_DROP_REASONS, FORBIDDEN_METRIC_ATTRIBUTES, waitMetricName, metricSpec, metricOptions, prometheusName, prometheusSeriesNames, prometheusLabel, type MetricSpec, type MetricKind, type MetricOrigin, type MetricAttributeSpec } from './metrics.js';
export { COUNT_DEFINITIONS, type CountName } from './counts.js';
export { SIGNALS, SIGNAL_NAMES, DEFAULT_SIGNAL_THRESHOLDS, type SignalName, type SignalSpec, type SignalThresholds } from './signals.js';
export { ATTRIBUTE_PARTS, attributePartsOf, type AttributeParts } from './attribute-parts.js';
