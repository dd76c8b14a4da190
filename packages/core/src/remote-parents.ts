import type { SpanContext } from '@opentelemetry/api';
import { RandomIdGenerator, type IdGenerator } from '@opentelemetry/sdk-trace-base';

/**
 * Makes a call's live spans carry the trace id of the W3C `traceparent` it
 * was started under (the web app's or caller's span), instead of rewriting
 * ids only at export. Used as the provider's `idGenerator`: OTel asks it for a
 * trace id only for new root spans, and it answers with the remote parent's
 * trace id when one applies, so anything reading the live context (log
 * correlation, a `traceparent` header a tool sends) names the trace the
 * backends receive. It remembers which trace ids came from which remote
 * parent, so the processor can give those roots their parent at export.
 */
export class RemoteParentIds implements IdGenerator {
  private readonly random = new RandomIdGenerator();
  private readonly parents = new Map<string, SpanContext>();
  private armed: SpanContext | undefined;

  /**
   * @param ambient the remote parent that applies where a root span starts now, if any
   *   (a binding reads it from the job it runs in, e.g. the job metadata's `traceparent`).
   */
  constructor(private readonly ambient: () => SpanContext | undefined = () => undefined) {}

  /** The next root span (and only it) starts in `parent`'s trace. */
  armNextRoot(parent: SpanContext): void {
    this.armed = parent;
  }

  generateTraceId(): string {
    let parent: SpanContext | undefined;
    try {
      parent = this.armed ?? this.ambient();
    } catch {
      parent = undefined;
    }
    this.armed = undefined;
    if (!parent) return this.random.generateTraceId();
    if (this.parents.size > 1000) this.parents.clear();
    this.parents.set(parent.traceId, parent);
    return parent.traceId;
  }

  generateSpanId(): string {
    return this.random.generateSpanId();
  }

  /** The remote parent a root span of `traceId` was started under, if any. */
  parentOf(traceId: string): SpanContext | undefined {
    return this.parents.get(traceId);
  }
}
