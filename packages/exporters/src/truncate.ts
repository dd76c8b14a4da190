import type { AttributeValue, Attributes } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';

/** The attribute that lists the keys whose values the size limiter cut. */
export const TRUNCATED_ATTRIBUTES_KEY = 'voicetrace.truncated';

/**
 * Cuts string values (and strings inside arrays) longer than `maxLength` and lists the cut keys under
 * `flagKey` (merged with a list already there). Returns `undefined` when nothing is too long, so the
 * common case allocates nothing. The span itself is never modified: a copy carries the new attributes.
 */
export function truncateSpanAttributes(
  span: ReadableSpan,
  maxLength: number,
  flagKey: string,
): { span: ReadableSpan; keys: string[] } | undefined {
  let attributes: Attributes | undefined;
  const keys: string[] = [];
  for (const key of Object.keys(span.attributes)) {
    const value = span.attributes[key];
    const cut = cutValue(value, maxLength);
    if (cut === value) continue;
    attributes ??= { ...span.attributes };
    attributes[key] = cut;
    keys.push(key);
  }
  if (!attributes) return undefined;
  const previous = span.attributes[flagKey];
  const listed = Array.isArray(previous) ? previous.filter((item): item is string => typeof item === 'string') : [];
  attributes[flagKey] = [...new Set([...listed, ...keys])];
  return { span: withAttributes(span, attributes), keys };
}

function cutValue(value: AttributeValue | undefined, maxLength: number): AttributeValue | undefined {
  if (typeof value === 'string') return value.length > maxLength ? cutString(value, maxLength) : value;
  if (!Array.isArray(value) || !value.some((item) => typeof item === 'string' && item.length > maxLength)) return value;
  return (value as Array<string | null | undefined>).map((item) => (typeof item === 'string' && item.length > maxLength ? cutString(item, maxLength) : item));
}

/** Cuts at a code-unit count without leaving half of a surrogate pair (which would not encode). */
function cutString(text: string, maxLength: number): string {
  const cut = text.slice(0, maxLength);
  const last = cut.charCodeAt(cut.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? cut.slice(0, -1) : cut;
}

/** A plain ReadableSpan equal to `span` but for its attributes (the original stays untouched). */
export function withAttributes(span: ReadableSpan, attributes: Attributes): ReadableSpan {
  return {
    name: span.name,
    kind: span.kind,
    spanContext: () => span.spanContext(),
    parentSpanContext: span.parentSpanContext,
    startTime: span.startTime,
    endTime: span.endTime,
    status: span.status,
    attributes,
    links: span.links,
    events: span.events,
    duration: span.duration,
    ended: span.ended,
    resource: span.resource,
    instrumentationScope: span.instrumentationScope,
    droppedAttributesCount: span.droppedAttributesCount,
    droppedEventsCount: span.droppedEventsCount,
    droppedLinksCount: span.droppedLinksCount,
  };
}
