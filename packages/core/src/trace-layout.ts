import { TraceFlags, type Link, type SpanContext } from '@opentelemetry/api';
import type { ReadableSpan, Span } from '@opentelemetry/sdk-trace-base';
import { RandomIdGenerator } from '@opentelemetry/sdk-trace-base';
import { ATTR } from '@voicetrace/conventions';
import type { SpanChanges } from './span-copy.js';

/** `session`: one trace per call. `turn`: one trace per user turn, linked to the session span. */
export type TraceMode = 'session' | 'turn';

const ids = new RandomIdGenerator();
/** Ended spans whose trace is remembered, for stage spans placed under them late. */
const KEEP_ENDED = 512;

/**
 * Decides in which trace each span of a session is exported. In turn mode every
 * user turn opens a new trace: the user_turn span becomes its root (linked to
 * the session span), and the session's other direct children until the next
 * user turn (the agent's reply, its speech) move under it. A W3C parent handed
 * in by the application becomes the parent of a root session span. When the
 * live spans already run in the parent's trace (voicetrace's id generator
 * started them there), nothing is rewritten; otherwise (a provider of the
 * user's own) the session's spans are moved into it at export.
 */
export class TraceLayout {
  private sessionSpan: SpanContext | undefined;
  private sessionIsRoot = false;
  /** The trace the session's spans are moved into at export, when it differs from the live one. */
  private rewriteTo: string | undefined;
  private readonly traceOf = new Map<string, string>();
  private readonly reparented = new Map<string, SpanContext>();
  private currentTurn: { traceId: string; root: SpanContext } | undefined;
  /** Spans that ended, oldest first: their entries go once enough newer ones ended (memory stays flat). */
  private readonly ended: string[] = [];

  constructor(
    private readonly mode: TraceMode,
    private readonly remoteParent?: SpanContext,
  ) {}

  /** Records where a starting span will be exported. */
  onStart(span: Span): void {
    const context = span.spanContext();
    const parentId = span.parentSpanContext?.spanId;
    if (!this.sessionSpan && span.name === 'agent_session') {
      this.sessionSpan = context;
      this.sessionIsRoot = !parentId;
      if (this.remoteParent && this.sessionIsRoot && this.remoteParent.traceId !== context.traceId) this.rewriteTo = this.remoteParent.traceId;
      if (this.rewriteTo) this.traceOf.set(context.spanId, this.rewriteTo);
      return;
    }
    if (this.mode === 'session' || !this.sessionSpan) {
      if (this.rewriteTo) this.traceOf.set(context.spanId, this.rewriteTo);
      return;
    }
    if (parentId === this.sessionSpan.spanId) {
      if (span.name === 'user_turn') {
        const traceId = ids.generateTraceId();
        this.currentTurn = { traceId, root: { ...context, traceId } };
        this.traceOf.set(context.spanId, traceId);
      } else if (this.currentTurn) {
        this.traceOf.set(context.spanId, this.currentTurn.traceId);
        this.reparented.set(context.spanId, this.currentTurn.root);
      } else if (this.rewriteTo) {
        this.traceOf.set(context.spanId, this.rewriteTo);
      }
      return;
    }
    const inherited = parentId ? this.traceOf.get(parentId) : undefined;
    if (inherited) this.traceOf.set(context.spanId, inherited);
  }

  /** The trace id `context`'s span is exported under. */
  exportedTraceId(context: SpanContext): string {
    return this.traceOf.get(context.spanId) ?? context.traceId;
  }

  /** The changes for the exported copy of `span`, or undefined when it is exported as is. */
  changesFor(span: ReadableSpan): SpanChanges | undefined {
    const context = span.spanContext();
    const traceId = this.traceOf.get(context.spanId);
    const isSession = this.sessionSpan?.spanId === context.spanId;
    if (isSession && this.remoteParent && this.sessionIsRoot) return { traceId: this.rewriteTo, parent: this.remoteParent };
    if (!traceId) return undefined;
    if (this.mode === 'turn' && span.name === 'user_turn' && span.parentSpanContext?.spanId === this.sessionSpan?.spanId) {
      return { traceId, parent: null, links: this.sessionLinks() };
    }
    const newParent = this.reparented.get(context.spanId);
    if (newParent) return { traceId, parent: newParent, attributes: { [ATTR.REPARENTED]: true } };
    return { traceId };
  }

  /**
   * A span ended and was exported. Its entries stay a while (a stage span placed late may still
   * start under it), then go: a 10,000-turn call keeps only the last few hundred.
   */
  forget(spanId: string): void {
    if (!this.traceOf.has(spanId) && !this.reparented.has(spanId)) return;
    this.ended.push(spanId);
    while (this.ended.length > KEEP_ENDED) {
      const old = this.ended.shift()!;
      this.traceOf.delete(old);
      this.reparented.delete(old);
    }
  }

  private sessionLinks(): Link[] {
    if (!this.sessionSpan) return [];
    const context = { ...this.sessionSpan, traceId: this.rewriteTo ?? this.sessionSpan.traceId, traceFlags: TraceFlags.SAMPLED };
    return [{ context, attributes: { 'voicetrace.link': 'session' } }];
  }
}
