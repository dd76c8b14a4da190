export { startLangfuseContractServer } from './server.js';
export { decodeExportTraceServiceRequest, encodeExportTraceServiceRequest } from './otlp-proto.js';
export type { ContractRequest, LangfuseContractServer, LangfuseContractServerOptions, ReceivedSpan, ReceivedValue } from './types.js';
export {
  LANGFUSE_SOURCE_COMMIT,
  LIVEKIT_DEBUG_SPAN_NAMES,
  TraceLedger,
  completionStartTimeOf,
  costDetailsOf,
  hasTraceUpdates,
  inputOutputOf,
  modelOf,
  nanosToIso,
  observationLevelOf,
  observationTypeOf,
  sessionIdOf,
  toObservation,
  usageDetailsOf,
  userIdOf,
  type IngestedObservation,
  type IngestedTrace,
  type ObservationLevel,
  type ObservationType,
} from './ingestion.js';
export { LANGFUSE_SCORES_PATH, validateScoreRequest, type ReceivedScore, type ScoreDataType, type ScoreIssue, type ScoreValidation } from './scores.js';
export { LANGFUSE_MEDIA_PATH, MEDIA_UPLOAD_PATH, MediaStore, mediaIdOf, type ReceivedMedia } from './media.js';
