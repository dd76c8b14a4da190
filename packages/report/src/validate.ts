import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import schema from './report.schema.json' with { type: 'json' };
import type { SessionReportJson } from './types.js';

/** The report's JSON Schema (draft 2020-12), as shipped at `@voicetrace/report/schema.json`. */
export const REPORT_SCHEMA: object = schema;

let compiled: ReturnType<Ajv2020['compile']> | undefined;

/** One way a report breaks the schema: where, and why. */
export interface SchemaProblem {
  /** JSON pointer into the report, e.g. `/voicetrace/turns/3/replies/0/cost`. */
  path: string;
  message: string;
}

/** Checks `report` against the schema; returns the problems (none when valid). */
export function validateReport(report: unknown): SchemaProblem[] {
  // ajv compiles the schema once per process; strict mode would reject the SDK's free-form objects
  compiled ??= new Ajv2020({ allErrors: true, strict: false }).compile(schema);
  if (compiled(report)) return [];
  return (compiled.errors ?? []).map((e: ErrorObject) => ({ path: e.instancePath || '/', message: e.message ?? 'invalid' }));
}

/** A report that passed {@link validateReport}. */
export function isSessionReport(report: unknown): report is SessionReportJson {
  return validateReport(report).length === 0;
}
