import type { Attributes, Link, SpanContext } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ATTRIBUTE_PARTS, type AttributeParts } from '@voicetrace/conventions';

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
  const omit = changes.omit?.length ? changes.omit : undefined;
  const parts = omit || changes.attributes ? { base: span.attributes, omit, added: changes.attributes } : undefined;
  return new ExportedSpan(span, context, parent, parts, changes.links ? [...span.links, ...changes.links] : span.links);
}

/**
 * The copy. Its attributes are the live span's when nothing is left out or added; otherwise they
 * are kept as parts (ATTRIBUTE_PARTS in `@voicetrace/conventions`), which voicetrace's encoder
 * writes directly, and built into an object only when something reads `attributes` (another
 * exporter, a late fact's copy): most spans are exported without that copy.
 */
class ExportedSpan implements ReadableSpan {
  readonly name: string;
  readonly kind: ReadableSpan['kind'];
  readonly startTime: ReadableSpan['startTime'];
  readonly endTime: ReadableSpan['endTime'];
  readonly status: ReadableSpan['status'];
  readonly events: ReadableSpan['events'];
  readonly duration: ReadableSpan['duration'];
  readonly ended: boolean;
  readonly resource: ReadableSpan['resource'];
  readonly instrumentationScope: ReadableSpan['instrumentationScope'];
  readonly droppedAttributesCount: number;
  readonly droppedEventsCount: number;
  readonly droppedLinksCount: number;
  private built: Attributes | undefined;

  constructor(
    span: ReadableSpan,
    private readonly context: SpanContext,
    readonly parentSpanContext: SpanContext | undefined,
    private readonly parts: AttributeParts | undefined,
    readonly links: Link[],
  ) {
    this.name = span.name;
    this.kind = span.kind;
    this.startTime = span.startTime;
    this.endTime = span.endTime;
    this.status = span.status;
    this.events = span.events;
    this.duration = span.duration;
    this.ended = span.ended;
    this.resource = span.resource;
    this.instrumentationScope = span.instrumentationScope;
    this.droppedAttributesCount = span.droppedAttributesCount;
    this.droppedEventsCount = span.droppedEventsCount;
    this.droppedLinksCount = span.droppedLinksCount;
    if (!parts) this.built = span.attributes;
  }

  spanContext(): SpanContext {
    return this.context;
  }

  get attributes(): Attributes {
    return (this.built ??= buildAttributes(this.parts!));
  }

  /** On the prototype, not the object: a spread copy of the span (`{ ...span, attributes }`) does not take it along. */
  get [ATTRIBUTE_PARTS](): AttributeParts | undefined {
    return this.built === undefined ? this.parts : undefined;
  }
}

/**
 * The object the parts stand for: `base`'s own keys without `omit`, then `added` (a new object:
 * `base` is the live span's). Own keys, as the encoder reads them.
 */
function buildAttributes({ base, omit, added }: AttributeParts): Attributes {
  const out: Attributes = {};
  for (const key of Object.keys(base)) if (!omit?.includes(key)) put(out, key, base[key]);
  if (added) for (const key of Object.keys(added)) put(out, key, added[key]);
  return out;
}

/** `out[key] = value`, except that a key "__proto__" (a parsed or spread attribute object can hold one) becomes an attribute, not the object's prototype. */
function put(out: Attributes, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value as Attributes[string];
}
