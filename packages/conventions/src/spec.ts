/** Where an attribute's name comes from. */
export type AttributeOrigin =
  /** defined by the OpenTelemetry semantic conventions registry (incl. GenAI) */
  | 'otel'
  /** follows an open OTel GenAI proposal; may be renamed when it is merged */
  | 'otel-proposal'
  /** voicetrace's own namespace: nothing in OTel covers it yet */
  | 'voicetrace';

/** The value type an attribute carries on the wire. */
export type AttributeType = 'string' | 'int' | 'double' | 'boolean' | 'string[]';

/** The pipeline stages voicetrace models; every stage span carries one of them in `voicetrace.stage`. */
export const STAGES = [
  'session',
  'user_turn',
  'vad',
  'stt',
  'eou',
  'agent_turn',
  'llm',
  'realtime',
  'tts',
  'interruption',
  'tool',
  'handoff',
  'artifact',
] as const;

/** A pipeline stage. */
export type Stage = (typeof STAGES)[number];

/** Everything known about one attribute: its name, type, unit and meaning. */
export interface AttributeSpec {
  readonly key: string;
  readonly type: AttributeType;
  /** UCUM-style unit: `s` (seconds), `{token}`, `{character}`, `USD`, `1` (ratio/count) ... */
  readonly unit?: string;
  /** Stages whose spans carry it; `all` for every span of an instrumented session. */
  readonly stages: readonly (Stage | 'all')[];
  readonly brief: string;
  readonly origin: AttributeOrigin;
  /** Carries conversation content or personal data: only exported when PII is allowed. */
  readonly pii?: boolean;
}
