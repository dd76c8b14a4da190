import type { Attributes, Link, SpanContext } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';

/** What to change in an exported copy of a span. */
export interface SpanChanges {
  traceId?: string;
  /** New parent; `null` makes the span a root. */
  parent?: SpanContext | null;
  attributes?: Attributes;
  /** Attributes left out of the copy (sent in another form, see `SpanFactsReader.sentTwice`). */
  omit?: readonly string[] | undefined;
  links?: Link[];
}

/**
 * An exported copy of `span` with a different trace, parent, attributes or
 * links. The live span is left untouched: other processors (e.g. LiveKit
 * Cloud's) still see the SDK's original.
 */
export function copySpan(span: ReadableSpan, changes: SpanChanges): ReadableSpan {
  const original = span.spanContext();
  const context: SpanContext = { ...original, traceId: changes.traceId ?? original.traceId };
  let parent = span.parentSpanContext;
  if (changes.parent === null) parent = undefined;
  else if (changes.parent) parent = changes.parent;
  else if (parent && changes.traceId && !parent.isRemote) parent = { ...parent, traceId: changes.traceId };
  return {
    name: span.name,
    kind: span.kind,
    spanContext: () => context,
    parentSpanContext: parent,
    startTime: span.startTime,
    endTime: span.endTime,
    status: span.status,
    attributes: changes.omit?.length ? withoutKeys(span.attributes, changes.omit, changes.attributes) : { ...span.attributes, ...changes.attributes },
    links: changes.links ? [...span.links, ...changes.links] : span.links,
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

/** `attributes` without `omit`, plus `added` (a new object: the original is the live span's). */
function withoutKeys(attributes: Attributes, omit: readonly string[], added: Attributes | undefined): Attributes {
  const out: Attributes = {};
  for (const key in attributes) if (!omit.includes(key)) out[key] = attributes[key];
  return added ? Object.assign(out, added) : out;
}
