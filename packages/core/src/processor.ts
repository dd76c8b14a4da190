import { diag, type Context, type SpanContext } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR } from '@voicetrace/conventions';
import { DropCounters } from './counters.js';
import type { SessionEngine } from './session-engine.js';
import { copySpan } from './span-copy.js';
import { TraceLayout, type TraceMode } from './trace-layout.js';

/** Options of {@link VoiceTraceSpanProcessor}. */
export interface VoiceTraceSpanProcessorOptions {
  /** Where finished spans go (usually BatchSpanProcessors around exporters). */
  next: SpanProcessor[];
  /** `session` (default): one trace per session. `turn`: one trace per user turn, linked to the session. */
  traceMode?: TraceMode;
  counters?: DropCounters;
}

/**
 * The span processor of voicetrace. It routes every span of an instrumented
 * voice session to that session's {@link SessionEngine} (which stamps identity
 * and stage attributes at start and adds the stage's metrics while the span
 * ends), lays the spans out in traces (per session or per turn, under an
 * optional W3C parent), and hands them to the next processors. It composes:
 * the SDK's span is never patched, and other processors see it unchanged
 * but for the added attributes. It never throws into the caller.
 */
export class VoiceTraceSpanProcessor implements SpanProcessor {
  readonly counters: DropCounters;
  private readonly next: SpanProcessor[];
  private readonly pending: Array<{ engine: SessionEngine; layout: TraceLayout }> = [];
  private readonly byTrace = new Map<string, { engine: SessionEngine; layout: TraceLayout }>();
  private readonly traceMode: TraceMode;
  private shutdownPromise: Promise<void> | undefined;

  constructor(options: VoiceTraceSpanProcessorOptions) {
    this.next = options.next;
    this.traceMode = options.traceMode ?? 'session';
    this.counters = options.counters ?? new DropCounters();
  }

  /**
   * Binds the next `agent_session` root span that starts to `engine`. Call it
   * right before the session starts.
   */
  attach(engine: SessionEngine, options: { remoteParent?: SpanContext } = {}): void {
    this.pending.push({ engine, layout: new TraceLayout(this.traceMode, options.remoteParent) });
  }

  onStart(span: Span, parentContext: Context): void {
    if (this.shutdownPromise) return this.counters.count('after_shutdown', span.name);
    try {
      const traceId = span.spanContext().traceId;
      let session = this.byTrace.get(traceId);
      if (!session && span.name === 'agent_session' && !span.parentSpanContext) {
        session = this.pending.shift();
        if (session) this.byTrace.set(traceId, session);
      }
      if (session) {
        session.layout.onStart(span);
        session.engine.onSpanStart(span);
      }
    } catch (error) {
      this.counters.count('internal_error', String(error));
    }
    for (const next of this.next) safely(() => next.onStart(span, parentContext), this.counters);
  }

  onEnding(span: Span): void {
    const session = this.byTrace.get(span.spanContext().traceId);
    if (session) session.engine.onSpanEnding(span);
    for (const next of this.next) safely(() => next.onEnding?.(span), this.counters);
  }

  onEnd(span: ReadableSpan): void {
    const traceId = span.spanContext().traceId;
    const session = this.byTrace.get(traceId);
    let exported = span;
    if (session) {
      try {
        const changes = session.layout.changesFor(span);
        if (changes) exported = copySpan(span, changes);
      } catch (error) {
        this.counters.count('internal_error', String(error));
      }
      if (span.name === 'agent_session' && !span.parentSpanContext) {
        session.engine.close();
        // keep the mapping briefly: late synthesized spans of this session may still end
        setTimeout(() => this.byTrace.delete(traceId), 5_000).unref();
      }
    }
    for (const next of this.next) safely(() => next.onEnd(exported), this.counters);
  }

  async forceFlush(): Promise<void> {
    await Promise.all(this.next.map((next) => next.forceFlush().catch((error) => diag.error('voicetrace: flush failed', error))));
  }

  /**
   * Ends spans still open (a crash or SIGTERM mid-call: the session root would
   * otherwise be lost and orphan the whole call), then flushes and shuts down
   * the next processors. Idempotent.
   */
  shutdown(): Promise<void> {
    this.shutdownPromise ??= (async () => {
      // each session's open spans, newest first, so children end before their parents
      const engines = new Set([...this.byTrace.values()].map((session) => session.engine));
      const open = [...engines].flatMap((engine) => engine.openSpans()).reverse();
      for (const span of open) {
        safely(() => {
          span.setAttribute(ATTR.FORCE_ENDED, true);
          span.end();
        }, this.counters);
      }
      await Promise.all(this.next.map((next) => next.shutdown().catch((error) => diag.error('voicetrace: shutdown failed', error))));
    })();
    return this.shutdownPromise;
  }
}

function safely(action: () => void, counters: DropCounters): void {
  try {
    action();
  } catch (error) {
    counters.count('internal_error', String(error));
  }
}

