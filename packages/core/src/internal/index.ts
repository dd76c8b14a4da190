/**
 * `@voicetrace/core/internal`: what voicetrace's own packages share beyond the public API (the
 * binding's input validation, crash journals, remote parents, the one quantile implementation, the
 * compact form of the records a call keeps, the names shared by every record that holds them). For `@voicetrace/*` packages only: no semver promise,
 * it changes with them.
 */
export { FieldValidator, DEFAULT_LIMITS, type ValueLimits } from '../validate.js';
export { SpanJournal, recoverJournals, type RecoverOptions } from '../span-journal.js';
export { RemoteParentIds } from '../remote-parents.js';
export { quantile, sortedQuantile } from '../model/stats.js';
export { knownStrings, packRecord, unpackRecord, type PackedRecord, type PackOptions } from '../packed-record.js';
export { sharedName } from '../names.js';
