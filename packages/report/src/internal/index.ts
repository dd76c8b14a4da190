/**
 * `@voicetrace/report/internal`: what voicetrace's own packages share beyond the public API (the
 * section `@voicetrace/livekit` builds from the session model, the atomic writer it writes reports
 * with, the schema object). For `@voicetrace/*` packages only: no semver promise, it changes with them.
 */
export { buildVoicetraceSection, type SectionOptions } from '../section.js';
export { writeFileAtomic, ReportWriteError } from '../write.js';
export { REPORT_SCHEMA } from '../validate.js';
