import { diag, type Attributes, type Context, type SpanContext } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR } from '@voicetrace/conventions';
import { DropCounters } from './counters.js';
import type { RemoteParentIds } from './remote-parents.js';
import type { SessionEngine } from './session-engine.js';
import { copySpan, type SpanChanges } from './span-copy.js';
import type { SpanJournal } from './span-journal.js';
import { TraceLayout, type TraceMode } from './trace-layout.js';

/** Options of {@link VoiceTraceSpanProcessor}. */
export interface VoiceTraceSpanProcessorOptions {
  /** Where finished spans go (usually BatchSpanProcessors around exporters). */
  next: SpanProcessor[];
  /**
   * Destinations that get one trace per user turn whatever `traceMode` says (e.g. LangFuse, whose
   * trace view struggles past ~150 observations, while Jaeger keeps one trace per call).
   */
  nextPerTurn?: SpanProcessor[] | undefined;
  /** `session` (default): one trace per session. `turn`: one trace per user turn, linked to the session. */
  traceMode?: TraceMode | undefined;
  counters?: DropCounters | undefined;
  /** The provider's id generator when it starts roots under remote parents: those roots get their parent at export. */
  remoteParents?: RemoteParentIds | undefined;
  /** Records every open span so another process can end them if this one is killed (a job process). */
  journal?: SpanJournal | undefined;
  /**
   * Session mode: `exceeded` is called once per session when its trace (the whole call) passes `spans`
   * spans, e.g. to say that a backend with a per-trace limit (LangFuse) wants `traceMode: 'turn'`.
   * Counted as spans start, one increment each.
   */
  largeTrace?: { spans: number; exceeded: () => void } | undefined;
}

/**
 * A next processor that adds attributes of its own when a held span gets a late fact (the
 * processor's `onEnding` ran before the fact came). Optional on any next processor.
 */
export interface LateAttributesAware {
  lateAttributes(span: ReadableSpan, added: Attributes): Attributes;
}

interface BoundSession {
  engine: SessionEngine;
  layout: TraceLayout;
  /** The per-turn layout of the `nextPerTurn` destinations, when they differ from `layout`. */
  turnLayout?: TraceLayout | undefined;
  /** Spans started in the session's trace (for `largeTrace`). */
  spans: number;
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
  /** One trace per session or per turn. */
  readonly traceMode: TraceMode;
  private readonly next: SpanProcessor[];
  private readonly nextPerTurn: SpanProcessor[];
  private readonly all: SpanProcessor[];
  private readonly pending: BoundSession[] = [];
  private readonly byTrace = new Map<string, BoundSession>();
  private readonly remoteParents: RemoteParentIds | undefined;
  private readonly journal: SpanJournal | undefined;
  private readonly largeTrace: VoiceTraceSpanProcessorOptions['largeTrace'];
  private shutdownPromise: Promise<void> | undefined;
  /** Finished spans waiting for a late fact, with the copies each destination gets. */
  private readonly held = new Map<string, { exported: ReadableSpan; perTurn: ReadableSpan; timer: NodeJS.Timeout }>();

  constructor(options: VoiceTraceSpanProcessorOptions) {
    this.next = options.next;
    this.traceMode = options.traceMode ?? 'session';
    // in turn mode every destination already gets turn traces
    this.nextPerTurn = this.traceMode === 'turn' ? [] : (options.nextPerTurn ?? []);
    if (this.traceMode === 'turn') this.next = [...options.next, ...(options.nextPerTurn ?? [])];
    this.all = [...this.next, ...this.nextPerTurn];
    this.counters = options.counters ?? new DropCounters();
    this.remoteParents = options.remoteParents;
    this.journal = options.journal;
    // in turn mode a call is many small traces: nothing grows with the call
    this.largeTrace = this.traceMode === 'session' ? options.largeTrace : undefined;
  }

  /**
   * Binds the next `agent_session` span that starts (a root, or a child of the
   * job's entrypoint span) to `engine`. Call it right before the session starts.
   * A `remoteParent` (W3C traceparent) becomes the session's parent: the next
   * root span starts in its trace when the provider uses {@link RemoteParentIds}.
   */
  attach(engine: SessionEngine, options: { remoteParent?: SpanContext | undefined } = {}): void {
    const layout = new TraceLayout(this.traceMode, options.remoteParent);
    engine.locateTraces((context) => layout.exportedTraceId(context));
    if (options.remoteParent) this.remoteParents?.armNextRoot(options.remoteParent);
    const turnLayout = this.nextPerTurn.length ? new TraceLayout('turn', options.remoteParent) : undefined;
    engine.onLateFacts((spanIds, attributes) => this.release(spanIds, attributes));
    this.pending.push({ engine, layout, turnLayout, spans: 0 });
  }

  onStart(span: Span, parentContext: Context): void {
    if (this.shutdownPromise) {
      this.counters.count('after_shutdown', span.name);
    } else {
      try {
        const traceId = span.spanContext().traceId;
        let session = this.byTrace.get(traceId);
        if (span.name === 'agent_session' && this.pending.length && (!session || session.engine.model.ended)) {
          session = this.pending.shift()!;
          this.byTrace.set(traceId, session);
        }
        if (session) {
          session.layout.onStart(span);
          session.turnLayout?.onStart(span);
          session.engine.onSpanStart(span);
          if (this.largeTrace && ++session.spans === this.largeTrace.spans + 1) this.largeTrace.exceeded();
        }
        if (this.journal) this.journalStart(span, session);
      } catch (error) {
        this.counters.count('internal_error', String(error));
      }
    }
    for (const next of this.all) safely(() => next.onStart(span, parentContext), this.counters);
  }

  onEnding(span: Span): void {
    const session = this.byTrace.get(span.spanContext().traceId);
    if (session) session.engine.onSpanEnding(span);
    for (const next of this.all) safely(() => next.onEnding?.(span), this.counters);
  }

  onEnd(span: ReadableSpan): void {
    const traceId = span.spanContext().traceId;
    const session = this.byTrace.get(traceId);
    let exported = span;
    let perTurn = span;
    try {
      // the SDK's attributes the span also carries in voicetrace's form are left out of the export
      const omit = session?.engine.sentTwice(span);
      const changes = withOmissions(this.exportChanges(span, session), omit);
      if (changes) exported = copySpan(span, changes);
      if (this.nextPerTurn.length) {
        const turnChanges = withOmissions(this.exportChanges(span, session, session?.turnLayout), omit);
        perTurn = turnChanges ? copySpan(span, turnChanges) : span;
      }
      session?.layout.forget(span.spanContext().spanId);
      session?.turnLayout?.forget(span.spanContext().spanId);
      this.journal?.ended(span.spanContext().spanId);
    } catch (error) {
      this.counters.count('internal_error', String(error));
    }
    // a span waiting for a fact that comes late (a realtime transcript) is exported when it arrives
    if (session?.engine.holds(span.spanContext().spanId)) return this.hold(span.spanContext().spanId, exported, perTurn, session.engine);
    if (session && span.name === 'agent_session' && session.engine.sessionSpan()?.spanId === span.spanContext().spanId) {
      session.engine.close();
      // keep the mapping briefly: late synthesized spans of this session may still end
      setTimeout(() => {
        if (this.byTrace.get(traceId) === session) this.byTrace.delete(traceId);
      }, 5_000).unref();
    }
    for (const next of this.next) safely(() => next.onEnd(exported), this.counters);
    for (const next of this.nextPerTurn) safely(() => next.onEnd(perTurn), this.counters);
  }

  async forceFlush(): Promise<void> {
    await Promise.all(this.all.map((next) => next.forceFlush().catch((error) => diag.error('voicetrace: flush failed', error))));
  }

  /**
   * Ends spans still open (a process that is really going away: the session
   * root would otherwise be lost and orphan the whole call), then flushes and
   * shuts down the next processors. Idempotent.
   */
  shutdown(): Promise<void> {
    this.shutdownPromise ??= (async () => {
      // what still waits for a late fact goes as it is
      this.release([...this.held.keys()], { [ATTR.DATA_INCOMPLETE]: true });
      // each session's open spans, newest first, so children end before their parents
      const engines = new Set([...this.byTrace.values()].map((session) => session.engine));
      const open = [...engines].flatMap((engine) => engine.openSpans()).reverse();
      for (const span of open) {
        safely(() => {
          span.setAttribute(ATTR.FORCE_ENDED, true);
          span.end();
        }, this.counters);
      }
      await Promise.all(this.all.map((next) => next.shutdown().catch((error) => diag.error('voicetrace: shutdown failed', error))));
      this.journal?.close();
    })();
    return this.shutdownPromise;
  }

  private hold(spanId: string, exported: ReadableSpan, perTurn: ReadableSpan, engine: SessionEngine): void {
    // waited long enough: out with what came meanwhile, flagged
    const timer = setTimeout(() => this.release([spanId], { ...engine.expireHeld(spanId), [ATTR.DATA_INCOMPLETE]: true }), engine.lateFactsMs);
    timer.unref();
    this.held.set(spanId, { exported, perTurn, timer });
  }

  /**
   * Exports held spans with the attributes a late fact adds, plus what the next processors derive
   * from them (e.g. LangFuse's input from the user's words), at once: the spans ended already.
   */
  private release(spanIds: readonly string[], attributes: Attributes): void {
    for (const spanId of spanIds) {
      const held = this.held.get(spanId);
      if (!held) continue;
      this.held.delete(spanId);
      clearTimeout(held.timer);
      let added = attributes;
      for (const next of this.all) {
        const derive = (next as Partial<LateAttributesAware>).lateAttributes;
        if (derive) safely(() => void (added = { ...added, ...derive.call(next, held.exported, attributes) }), this.counters);
      }
      const exported = copySpan(held.exported, { attributes: added });
      const perTurn = held.perTurn === held.exported ? exported : copySpan(held.perTurn, { attributes: added });
      for (const next of this.next) safely(() => next.onEnd(exported), this.counters);
      for (const next of this.nextPerTurn) safely(() => next.onEnd(perTurn), this.counters);
    }
  }

  /** What the exported copy of `span` changes: its session's layout, or the remote parent of a root. */
  private exportChanges(span: ReadableSpan | Span, session: BoundSession | undefined, layout = session?.layout): SpanChanges | undefined {
    const changes = layout?.changesFor(span as ReadableSpan);
    if (changes || span.parentSpanContext) return changes;
    const remote = this.remoteParents?.parentOf(span.spanContext().traceId);
    return remote && remote.spanId !== span.spanContext().spanId ? { parent: remote } : undefined;
  }

  private journalStart(span: Span, session: BoundSession | undefined): void {
    const changes = this.exportChanges(span, session);
    const context = span.spanContext();
    const parent = changes?.parent === null ? undefined : (changes?.parent ?? span.parentSpanContext);
    this.journal!.started({
      traceId: changes?.traceId ?? context.traceId,
      spanId: context.spanId,
      parentSpanId: parent?.spanId,
      name: span.name,
      start: span.startTime,
      scope: span.instrumentationScope.name,
      // written now (synchronously): the live object is not kept
      attributes: span.attributes,
    });
  }
}

function withOmissions(changes: SpanChanges | undefined, omit: readonly string[] | undefined): SpanChanges | undefined {
  if (!omit?.length) return changes;
  return changes ? { ...changes, omit } : { omit };
}

function safely(action: () => void, counters: DropCounters): void {
  try {
    action();
  } catch (error) {
    counters.count('internal_error', String(error));
  }
}
