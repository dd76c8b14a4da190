import { ATTR } from '@voicetrace/conventions';
import { attr, cache, float, set, spanNameIs, str, where } from '../ottl.js';
import { COPIES, LLM_METRICS, TTS_METRICS, type MetricsField, type MetricsJson } from '../sdk-shape.js';
import type { StatementGroup } from './group.js';

/** The parsed JSON lives in the span's scratch cache under this key. */
export const PARSED = 'metrics';

function convert(field: MetricsField, value: string): string {
  switch (field.as) {
    case 'double':
      return `Double(${value})`;
    case 'int':
      return `Int(${value})`;
    case 'bool':
      return value;
  }
}

function guards(field: MetricsField, value: string): string[] {
  if (field.as === 'bool') return [`IsBool(${value})`];
  const numeric = [`IsDouble(${value})`];
  if (field.atLeast !== undefined) numeric.push(`${value} >= ${float(field.atLeast)}`);
  if (field.above !== undefined) numeric.push(`${value} > ${float(field.above)}`);
  return numeric;
}

/**
 * Parses one metrics JSON into voicetrace's attributes (seconds, as the SDK's JSON has them). A
 * malformed JSON fails ParseJSON alone (error_mode: ignore logs it); every later statement finds no
 * parsed map and writes nothing, so the span keeps its other attributes and goes on.
 */
function metricsGroup(json: MetricsJson, extra: string[] = []): StatementGroup {
  const statements: Array<string | { comment: string }> = [
    where(set(cache(PARSED), `ParseJSON(${attr(json.attribute)})`), `IsString(${attr(json.attribute)})`),
    ...extra,
  ];
  for (const field of json.fields) {
    const value = cache(PARSED, field.field);
    statements.push(where(set(attr(field.attribute), convert(field, value)), `IsMap(${cache(PARSED)})`, ...guards(field, value)));
  }
  return { comment: `${json.span}: ${json.attribute} (${json.source}) parsed into voicetrace's attributes`, condition: spanNameIs(json.span), statements };
}

export function llmMetricsGroup(): StatementGroup {
  return metricsGroup(LLM_METRICS);
}

/** TTS requests are `text_to_speech` generations with speech output (semconv proposal #390), as on the Node path. */
export function ttsMetricsGroup(): StatementGroup {
  return metricsGroup(TTS_METRICS, [set(attr(ATTR.OPERATION_NAME), str('text_to_speech')), set(attr(ATTR.OUTPUT_TYPE), str('speech'))]);
}

/** The SDK's seconds under voicetrace's names (latency on agent_turn and user_turn, EOU delay, handoff agents). */
export function copiesGroup(): StatementGroup {
  return {
    comment: 'latency in seconds, EOU delay, interruption and handoff: the SDK\'s own values under voicetrace\'s names',
    statements: COPIES.map((copy) => where(set(attr(copy.to), attr(copy.from)), `span.name == ${str(copy.span)}`, `${attr(copy.from)} != nil`)),
  };
}
