import type { Attributes } from '@opentelemetry/api';
import type { Stage } from '@voicetrace/conventions';
import type { StageMetric } from './events.js';

/** What a binding can read off one span, already normalized (seconds, validated). */
export interface SpanFacts {
  stage?: Stage;
  /** The speech (reply) the span belongs to. */
  speechId?: string;
  /** The agent active on the span, when the span says so. */
  agentName?: string;
  /** The user-perceived latency the SDK measured for this reply (seconds). */
  e2e?: number;
  interrupted?: boolean;
  toolError?: boolean;
  /** The tool a tool span ran, and its arguments (JSON, content). */
  toolName?: string;
  toolArguments?: string;
  /** User turn: end of speech to final transcript, and to end-of-turn decision (seconds). */
  transcriptionDelay?: number;
  endOfTurnDelay?: number;
  /** Provider metrics the SDK attached to the span (LLM/TTS/realtime requests). */
  metric?: StageMetric;
  /** What the agent said (the SDK's response text on a turn or its output messages), when the span says. */
  responseText?: string;
  /** What the user said, as the SDK wrote it on an agent turn (its input), when the span says. */
  userText?: string;
  /** An LLM request whose output included speakable text (not only tool calls). */
  speakable?: boolean;
  /** The SDK's span of the user speaking: its start and end are when the user started and stopped (the SDK's anchors). */
  userSpeaking?: boolean;
  /**
   * The stage's provider and model as voicetrace names them everywhere (a span whose SDK attributes
   * name them otherwise, e.g. the STT's label on the user turn): written as `gen_ai.provider.name` and
   * `gen_ai.request.model` when the span ends.
   */
  model?: { provider: string; model: string } | undefined;
}

/** The minimal view of a span a binding needs to read facts. */
export interface SpanView {
  name: string;
  scope: string;
  attributes: Attributes;
}

/** Reads {@link SpanFacts} off spans; bindings implement it for their SDK. */
export interface SpanFactsReader {
  /** Facts known when the span starts (stage, speech id). */
  atStart(span: SpanView): SpanFacts;
  /** Facts known when the span ends (metrics, latency, flags). */
  atEnd(span: SpanView): SpanFacts;
  /**
   * The SDK's own attributes of an ended span that it also carries in voicetrace's form (the same
   * value parsed, validated, in seconds): left out of voicetrace's exported copy of the span (the
   * SDK's own processors still see them). Optional.
   */
  sentTwice?(span: SpanView): readonly string[];
}
