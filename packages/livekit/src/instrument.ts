import type { voice } from '@livekit/agents';
import { ROOT_CONTEXT, isSpanContextValid, trace, type Attributes, type SpanContext, type TextMapGetter, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { SessionEngine, type PriceBook, type SessionSnapshot, type VoiceTraceSpanProcessor } from '@voicetrace/core';
import { randomUUID } from 'node:crypto';
import { observeSession } from './observer.js';
import { LiveKitSpanFacts } from './span-facts.js';

/** Per-session options of {@link instrumentSession}. */
export interface InstrumentOptions {
  /** Session id on every span (default: a new `sess_<uuid>`; use the room name + job id in production). */
  sessionId?: string;
  /** Remote participant identity, exported as `user.id` when PII is allowed. */
  userId?: string;
  /**
   * A W3C `traceparent` (e.g. from job metadata or a participant attribute set by the
   * web app that created the room): it becomes the parent of the session span.
   */
  traceparent?: string;
  /** Extra attributes for the session span (room, job ...). */
  attributes?: Attributes;
}

/** A session being traced. */
export interface InstrumentedSession {
  readonly sessionId: string;
  /** The session model so far: turns, replies with their latency breakdown, usage and cost. */
  summary(): SessionSnapshot;
  /** Stops observing the session's events (spans already started are still completed). */
  detach(): void;
}

/** Shared context of one voicetrace setup. */
export interface InstrumentContext {
  processor: VoiceTraceSpanProcessor;
  tracer: Tracer;
  prices: PriceBook;
  allowPii: boolean;
  environment?: string;
}

/**
 * Instruments one `AgentSession`: call it right before `session.start()`. The
 * session's next root span and every span under it are routed to a new engine;
 * its events are observed.
 */
export function instrumentSession(
  session: voice.AgentSession,
  context: InstrumentContext,
  options: InstrumentOptions = {},
): InstrumentedSession {
  const sessionId = options.sessionId ?? `sess_${randomUUID()}`;
  const engine = new SessionEngine({
    sessionId,
    environment: context.environment,
    userId: options.userId,
    allowPii: context.allowPii,
    prices: context.prices,
    tracer: context.tracer,
    facts: new LiveKitSpanFacts(context.processor.counters),
    counters: context.processor.counters,
    sessionAttributes: options.attributes,
  });
  context.processor.attach(engine, { remoteParent: parseTraceparent(options.traceparent) });
  const detach = observeSession(session, engine);
  return { sessionId, summary: () => engine.summary(), detach };
}

const getter: TextMapGetter<Record<string, string>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

/** Parses a W3C traceparent into a remote span context, or undefined when it is invalid. */
export function parseTraceparent(traceparent: string | undefined): SpanContext | undefined {
  if (!traceparent) return undefined;
  const context = new W3CTraceContextPropagator().extract(ROOT_CONTEXT, { traceparent }, getter);
  const spanContext = trace.getSpanContext(context);
  return spanContext && isSpanContextValid(spanContext) ? spanContext : undefined;
}
