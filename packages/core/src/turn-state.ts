import type { SpanContext } from '@opentelemetry/api';
import type { EouMetric, SttMetric, VadMetric } from './events.js';

/** What the engine knows about one user turn while its metrics arrive. */
export interface UserTurn {
  index: number;
  context: SpanContext;
  start: number;
  end?: number;
  speechStart?: number;
  speechEnd?: number;
  finalTranscriptAt?: number;
  transcript?: string;
  stt: SttMetric[];
  vad: VadMetric[];
  eou?: EouMetric;
  hasSdkEou: boolean;
  eouEmitted?: boolean;
}
