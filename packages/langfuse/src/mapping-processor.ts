import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR } from '@voicetrace/conventions';
import { ChatMessagesCache, LANGFUSE_ATTR, langfuseAttributesFor, type LangfuseMappingOptions } from './mapping.js';

/**
 * Adds LangFuse's attributes to voicetrace's spans while they end, so the same
 * spans read well in LangFuse whether they go there directly or through a
 * generic collector. Put it among voicetrace's `spanProcessors` (it must run
 * after voicetrace's enrichment). Never throws.
 */
export class LangfuseMappingProcessor implements SpanProcessor {
  mapped = 0;
  failed = 0;
  // per session trace: the first thing the user said and the last reply, for the trace's input/output
  private readonly conversation = new Map<string, { input?: string; output?: string }>();
  /** Each call's requests as chat messages, converted in time proportional to what each request adds. */
  private readonly chats = new ChatMessagesCache();

  constructor(private readonly options: LangfuseMappingOptions) {}

  onStart(_span: Span, _context: Context): void {}

  onEnding(span: Span): void {
    // only spans of an instrumented voice session
    if (span.attributes[ATTR.SESSION_ID] === undefined) return;
    try {
      const attributes = langfuseAttributesFor(span, this.options, this.chats);
      if (this.options.allowPii) this.trackConversation(span, attributes);
      span.setAttributes(attributes);
      this.mapped += 1;
    } catch {
      this.failed += 1;
    }
  }

  onEnd(_span: ReadableSpan): void {}

  /**
   * A span voicetrace held for a late fact (a realtime turn's transcript, which comes after the
   * reply began) gets its LangFuse input from it when it is exported.
   */
  lateAttributes(span: ReadableSpan, added: Record<string, unknown>): Record<string, string> {
    const transcript = added[ATTR.PII_USER_TRANSCRIPT];
    const stage = span.attributes[ATTR.STAGE];
    if (!this.options.allowPii || typeof transcript !== 'string' || !transcript) return {};
    if (stage !== 'agent_turn' && stage !== 'realtime') return {};
    return span.attributes[LANGFUSE_ATTR.OBSERVATION_INPUT] === undefined ? { [LANGFUSE_ATTR.OBSERVATION_INPUT]: transcript } : {};
  }

  private trackConversation(span: Span, attributes: Record<string, unknown>): void {
    const traceId = span.spanContext().traceId;
    const turn = this.conversation.get(traceId) ?? {};
    const input = span.attributes['lk.pii.user_input'];
    const output = span.attributes['lk.pii.response.text'];
    if (span.attributes[ATTR.STAGE] === 'agent_turn') {
      if (typeof input === 'string' && input && turn.input === undefined) turn.input = input;
      if (typeof output === 'string' && output) turn.output = output;
      this.conversation.set(traceId, turn);
    }
    if (span.attributes[ATTR.STAGE] === 'session') {
      if (turn.input) attributes[LANGFUSE_ATTR.TRACE_INPUT] = turn.input;
      if (turn.output) attributes[LANGFUSE_ATTR.TRACE_OUTPUT] = turn.output;
      this.conversation.delete(traceId);
    }
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
