/** One group of the transform processor's `trace_statements` (span context). */
export interface StatementGroup {
  /** What the group does (a YAML comment above it). */
  readonly comment: string;
  /** ANDed with the Python-agent match into the group's one condition. */
  readonly condition?: string;
  /** Statements in order; a `{ comment }` entry becomes a YAML comment line before the next statement. */
  readonly statements: ReadonlyArray<string | { readonly comment: string }>;
}
